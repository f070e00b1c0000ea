//! Timers: sleep, sleep_until, timeout, interval, their bookkeeping, and an
//! idle loop that sleeps in epoll rather than spinning.
//!
//! Tests about *when* things happen run on the paused clock (exact, no real
//! waiting); tests about the real loop (a blocked turn, an idle loop's CPU)
//! run on real time.

mod support;

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use sanio::rt::{self, Elapsed, MissedTickBehavior};
use sanio::Runtime;
use support::rt::{poll_once, run, run_on, run_paused, thread_cpu_time};

/// Timer entries of the current loop.
fn timers() -> usize {
    rt::stats().unwrap().timers
}

#[test]
fn sleep_waits_at_least_its_duration() {
    run(async {
        let start = Instant::now();
        sanio::sleep(Duration::from_millis(10)).await;
        assert!(start.elapsed() >= Duration::from_millis(10));
        let at = Instant::now() + Duration::from_millis(5);
        sanio::sleep_until(at).await;
        assert!(Instant::now() >= at);
    });
}

#[test]
fn sleep_waits_exactly_its_duration_on_the_paused_clock() {
    run_paused(async {
        let start = rt::now();
        sanio::sleep(Duration::from_millis(10)).await;
        assert_eq!(rt::now() - start, Duration::from_millis(10));
        let at = rt::now() + Duration::from_millis(5);
        sanio::sleep_until(at).await;
        assert_eq!(rt::now(), at);
    });
}

#[test]
fn timers_fire_in_deadline_order() {
    let order = run_paused(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let base = rt::now() + Duration::from_millis(20);
        let offsets = [30u64, 10, 20, 10, 0, 25, 5];
        let handles: Vec<_> = offsets
            .iter()
            .enumerate()
            .map(|(i, &ms)| {
                let order = Rc::clone(&order);
                sanio::spawn(async move {
                    sanio::sleep_until(base + Duration::from_millis(ms)).await;
                    assert_eq!(rt::now(), base + Duration::from_millis(ms));
                    order.borrow_mut().push((ms, i));
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        let order = order.borrow().clone();
        order
    });
    // Deadline order; equal deadlines in the order they were registered.
    assert_eq!(
        order,
        [(0, 4), (5, 6), (10, 1), (10, 3), (20, 2), (25, 5), (30, 0)]
    );
}

#[test]
fn all_due_timers_fire_in_deadline_order_after_a_blocked_turn() {
    let order = run(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let base = Instant::now() + Duration::from_millis(5);
        let handles: Vec<_> = [4u64, 1, 3, 0, 2]
            .into_iter()
            .map(|ms| {
                let order = Rc::clone(&order);
                sanio::spawn(async move {
                    sanio::sleep_until(base + Duration::from_millis(ms)).await;
                    order.borrow_mut().push(ms);
                })
            })
            .collect();
        sanio::rt::yield_now().await; // every sleep registers
        std::thread::sleep(Duration::from_millis(30)); // all become due at once
        for handle in handles {
            handle.await.unwrap();
        }
        let order = order.borrow().clone();
        order
    });
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn a_sleep_in_the_past_completes_without_a_timer() {
    run(async {
        let before = timers();
        let mut past = pin!(sanio::sleep_until(
            Instant::now() - Duration::from_millis(1)
        ));
        assert_eq!(poll_once(&mut past).await, Poll::Ready(()));
        let mut zero = pin!(sanio::sleep(Duration::ZERO));
        assert_eq!(poll_once(&mut zero).await, Poll::Ready(()));
        assert_eq!(timers(), before);
    });
}

#[test]
fn timeout_elapses_with_elapsed() {
    run_paused(async {
        let slow = sanio::timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
        assert_eq!(slow, Err(Elapsed));
        let slow_sleep = sanio::timeout(
            Duration::from_millis(5),
            sanio::sleep(Duration::from_secs(60)),
        )
        .await;
        assert_eq!(slow_sleep, Err(Elapsed));
        let quick = sanio::timeout(Duration::from_secs(60), async { 5 }).await;
        assert_eq!(quick, Ok(5));
        let ready_beats_zero = sanio::timeout(Duration::ZERO, async { 6 }).await;
        assert_eq!(ready_beats_zero, Ok(6));
        let in_time = sanio::timeout(Duration::from_secs(60), async {
            sanio::sleep(Duration::from_millis(1)).await;
            7
        })
        .await;
        assert_eq!(in_time, Ok(7));
    });
}

#[test]
fn timeout_drops_the_inner_future_when_it_elapses() {
    run(async {
        let (dropped, guard) = support::rt::DropFlag::new();
        let result = sanio::timeout(Duration::from_millis(5), async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        })
        .await;
        assert_eq!(result, Err(Elapsed));
        assert!(dropped.get());
    });
}

#[test]
fn a_dropped_sleep_leaves_no_timer_entry() {
    run(async {
        let baseline = timers();
        {
            let mut sleep = pin!(sanio::sleep(Duration::from_secs(60)));
            assert_eq!(poll_once(&mut sleep).await, Poll::Pending);
            assert_eq!(timers(), baseline + 1);
            // Polling again reuses the entry.
            assert_eq!(poll_once(&mut sleep).await, Poll::Pending);
            assert_eq!(timers(), baseline + 1);
            // Resetting moves it: still one entry.
            sleep
                .as_mut()
                .get_mut()
                .reset(Instant::now() + Duration::from_secs(120));
            assert_eq!(poll_once(&mut sleep).await, Poll::Pending);
            assert_eq!(timers(), baseline + 1);
        }
        assert_eq!(timers(), baseline);

        // Sleeps dropped with a cancelled task go too.
        let sleepers: Vec<_> = (0..50)
            .map(|_| sanio::spawn(sanio::sleep(Duration::from_secs(60))))
            .collect();
        sanio::rt::yield_now().await;
        assert_eq!(timers(), baseline + 50);
        for sleeper in &sleepers {
            sleeper.cancel();
        }
        for sleeper in sleepers {
            assert!(sleeper.await.is_err());
        }
        assert_eq!(timers(), baseline);

        // An unpolled sleep never registered anything.
        drop(sanio::sleep(Duration::from_secs(60)));
        assert_eq!(timers(), baseline);
    });
}

#[test]
fn a_million_timeouts_completing_in_time_leave_no_entries() {
    const TASKS: usize = 1_000;
    const EACH: usize = 1_000;
    let rt = Runtime::new().unwrap();
    let (completed, peak) = run_on(&rt, async {
        let baseline = timers();
        let peak = Rc::new(std::cell::Cell::new(0));
        let handles: Vec<_> = (0..TASKS)
            .map(|t| {
                let peak = Rc::clone(&peak);
                sanio::spawn(async move {
                    let mut ok = 0;
                    for i in 0..EACH {
                        // Pending on the first poll, so the timeout's sleep
                        // does register, then completes on the next one.
                        let result =
                            sanio::timeout(Duration::from_secs(60), sanio::rt::yield_now()).await;
                        ok += usize::from(result.is_ok());
                        if t == 0 && i % 100 == 0 {
                            peak.set(peak.get().max(timers()));
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut completed = 0;
        for handle in handles {
            completed += handle.await.unwrap();
        }
        assert_eq!(timers(), baseline, "no timer entry left behind");
        (completed, peak.get() - baseline)
    });
    assert_eq!(completed, TASKS * EACH);
    assert!(peak <= TASKS, "at most one live entry per task, saw {peak}");
    assert_eq!(rt.stats().timers, 0);
}

#[test]
fn interval_ticks_on_a_fixed_schedule() {
    run_paused(async {
        let period = Duration::from_millis(5);
        let created = rt::now();
        let mut ticks = sanio::interval(period);
        assert_eq!(ticks.period(), period);
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        let first = ticks.tick().await;
        assert_eq!(first, created);
        let mut dues = vec![first];
        for _ in 0..4 {
            let due = ticks.tick().await;
            assert_eq!(rt::now(), due, "a tick comes exactly when due");
            dues.push(due);
        }
        for (k, due) in dues.iter().enumerate() {
            assert_eq!(*due, first + period * k as u32);
        }
    });
}

#[test]
#[should_panic(expected = "period must be non-zero")]
fn interval_with_a_zero_period_panics() {
    let _ = sanio::interval(Duration::ZERO);
}

/// What an interval does after the loop was blocked for several periods:
/// the first due instant, the instant the block ended, every tick that was
/// ready at once afterwards, and the next tick that had to be waited for.
struct AfterBlock {
    first: Instant,
    block_end: Instant,
    ready_now: Vec<Instant>,
    next: Instant,
}

const PERIOD: Duration = Duration::from_millis(50);
/// Five and a half periods: at least five ticks are missed.
const BLOCK: Duration = Duration::from_millis(275);

fn block_an_interval(behavior: MissedTickBehavior) -> AfterBlock {
    run_paused(async {
        let mut ticks = sanio::interval(PERIOD);
        ticks.set_missed_tick_behavior(behavior);
        let first = ticks.tick().await;
        // The task is busy elsewhere: the clock moves, the interval is not
        // polled (it has no timer registered between ticks).
        rt::advance(BLOCK).await;
        let block_end = rt::now();
        let mut ready_now = Vec::new();
        // A zero timeout polls the tick once: Ok if it was due already.
        while let Ok(due) = sanio::timeout(Duration::ZERO, ticks.tick()).await {
            ready_now.push(due);
            assert!(ready_now.len() < 1000, "ticks never stop coming");
        }
        let next = ticks.tick().await;
        AfterBlock {
            first,
            block_end,
            ready_now,
            next,
        }
    })
}

/// How many of `dues` were due by `instant`.
fn due_by(dues: &[Instant], instant: Instant) -> usize {
    dues.iter().filter(|&&due| due <= instant).count()
}

#[test]
fn interval_burst_fires_every_missed_tick_at_once() {
    let r = block_an_interval(MissedTickBehavior::Burst);
    // 275 ms blocked: the five ticks due at 50..=250 ms come back at once,
    // each with its scheduled instant, and the schedule is kept.
    let expected: Vec<_> = (1..=5).map(|k| r.first + PERIOD * k).collect();
    assert_eq!(r.ready_now, expected);
    assert_eq!(r.next, r.first + PERIOD * 6);
}

#[test]
fn interval_delay_fires_one_missed_tick_then_restarts_the_period() {
    let r = block_an_interval(MissedTickBehavior::Delay);
    // One missed tick at once; the others are forgotten, and the schedule
    // restarts one period after the loop caught up.
    assert_eq!(r.ready_now, [r.first + PERIOD]);
    assert_eq!(r.next, r.block_end + PERIOD);
    assert_eq!(due_by(&r.ready_now, r.block_end), 1);
}

#[test]
fn interval_skip_fires_one_missed_tick_then_keeps_the_schedule() {
    let r = block_an_interval(MissedTickBehavior::Skip);
    // One missed tick at once; the ticks at 100..=250 ms are skipped, not
    // delivered late; the next is the first scheduled one after 275 ms.
    assert_eq!(r.ready_now, [r.first + PERIOD]);
    assert_eq!(r.next, r.first + PERIOD * 6);
}

#[test]
fn a_dropped_interval_leaves_no_timer_entry() {
    run(async {
        let baseline = timers();
        let mut ticks = sanio::interval(Duration::from_secs(60));
        ticks.tick().await;
        {
            let mut next = pin!(ticks.tick());
            assert_eq!(poll_once(&mut next).await, Poll::Pending);
            assert_eq!(timers(), baseline + 1);
        }
        assert_eq!(timers(), baseline + 1, "the interval keeps its sleep");
        drop(ticks);
        assert_eq!(timers(), baseline);
    });
}

#[test]
fn an_idle_runtime_sleeping_one_second_uses_almost_no_cpu() {
    // A busy-loop detector, not a timing assertion: a loop that spins while
    // it waits would burn close to the whole second.
    let used = std::thread::spawn(|| {
        let rt = Runtime::new().unwrap();
        let before = thread_cpu_time();
        rt.block_on(async {
            let _listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let _idle = sanio::spawn(std::future::pending::<()>());
            sanio::sleep(Duration::from_secs(1)).await;
        });
        thread_cpu_time() - before
    })
    .join()
    .unwrap();
    assert!(used < Duration::from_millis(200), "used {used:?} of CPU");
}

#[test]
fn a_sleep_reset_earlier_wakes_its_task_at_the_new_deadline_unpolled() {
    let took = run_paused(async {
        let t0 = rt::now();
        let sleep = Rc::new(RefCell::new(Box::pin(sanio::sleep(Duration::from_secs(
            60,
        )))));
        let sleeper = sanio::spawn({
            let sleep = Rc::clone(&sleep);
            std::future::poll_fn(move |cx| {
                std::future::Future::poll(sleep.borrow_mut().as_mut(), cx)
            })
        });
        sanio::rt::yield_now().await; // the sleeper registers the 60 s timer
        assert_eq!(timers(), 1);
        // Moved earlier from outside the sleeper's poll: the timer moves now.
        sleep
            .borrow_mut()
            .as_mut()
            .reset(t0 + Duration::from_secs(5));
        assert_eq!(timers(), 1);
        sleeper.await.unwrap();
        rt::now() - t0
    });
    assert_eq!(took, Duration::from_secs(5));
}
