//! The paused test clock: sleeps, intervals, timeouts and grace periods on
//! virtual time; auto-advance and `advance`; how it meets real I/O.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sanio::rt::{self, Elapsed};
use sanio::Runtime;
use support::rt::{run_paused, run_paused_on, yield_times, DropFlag};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn an_hour_of_sleep_is_exactly_an_hour_on_the_clock() {
    let real_start = Instant::now();
    let slept = run_paused(async {
        let start = rt::now();
        sanio::sleep(SECOND * 3600).await;
        rt::now() - start
    });
    assert_eq!(slept, SECOND * 3600);
    assert!(real_start.elapsed() < SECOND * 3600, "no real hour passed");
}

#[test]
fn auto_advance_fires_every_timer_at_its_own_deadline_in_order() {
    let fired = run_paused(async {
        let t0 = rt::now();
        let fired = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = [30u64, 10, 20, 10, 0, 25]
            .into_iter()
            .map(|secs| {
                let fired = Rc::clone(&fired);
                sanio::spawn(async move {
                    sanio::sleep_until(t0 + SECOND * secs as u32).await;
                    fired.borrow_mut().push((secs, rt::now() - t0));
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        let fired = fired.borrow().clone();
        fired
    });
    let expected: Vec<_> = [0u64, 10, 10, 20, 25, 30]
        .into_iter()
        .map(|secs| (secs, Duration::from_secs(secs)))
        .collect();
    assert_eq!(fired, expected);
}

#[test]
fn advance_stops_at_every_deadline_on_the_way() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_auto_advance(false);
    let ticks = run_paused_on(&rt, async {
        let t0 = rt::now();
        let ticks = Rc::new(RefCell::new(Vec::new()));
        let _ticker = sanio::spawn({
            let ticks = Rc::clone(&ticks);
            async move {
                let mut every = sanio::interval(SECOND);
                loop {
                    let due = every.tick().await;
                    ticks.borrow_mut().push((due - t0, rt::now() - t0));
                }
            }
        });
        yield_times(3).await;
        assert_eq!(ticks.borrow().len(), 1, "the first tick is immediate");
        rt::advance(Duration::from_millis(4500)).await;
        assert_eq!(rt::now() - t0, Duration::from_millis(4500));
        let ticks = ticks.borrow().clone();
        ticks
    });
    // Each tick ran with the clock at its own due time.
    let expected: Vec<_> = (0..=4u32).map(|k| (SECOND * k, SECOND * k)).collect();
    assert_eq!(ticks, expected);
}

#[test]
fn runtime_advance_drives_the_loop_from_outside() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_auto_advance(false);
    let t0 = rt.now();
    let sleeper = rt.spawn(async {
        sanio::sleep(SECOND * 10).await;
        rt::now()
    });
    rt.advance(SECOND * 9);
    assert!(!sleeper.is_finished());
    assert_eq!(rt.now() - t0, SECOND * 9);
    rt.advance(SECOND);
    assert!(sleeper.is_finished());
    assert_eq!(rt.block_on(sleeper).map(|at| at - t0), Ok(SECOND * 10));
}

#[test]
fn a_timeout_elapses_exactly_at_its_deadline() {
    let (result, took) = run_paused(async {
        let t0 = rt::now();
        let result = sanio::timeout(SECOND * 30, std::future::pending::<()>()).await;
        (result, rt::now() - t0)
    });
    assert_eq!(result, Err(Elapsed));
    assert_eq!(took, SECOND * 30);
}

#[test]
fn a_grace_period_ends_exactly_on_the_clock() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(SECOND * 5);
    run_paused_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            sanio::cancelled().await;
            sanio::sleep(SECOND * 60).await; // cleanup that overruns
        });
        yield_times(2).await;
        let cancelled_at = rt::now();
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(dropped.get());
        assert_eq!(rt::now() - cancelled_at, SECOND * 5);

        // Cleanup that fits in a per-cancel grace completes at its own pace.
        let task = sanio::spawn(async {
            sanio::cancelled().await;
            sanio::sleep(SECOND * 2).await;
            rt::now()
        });
        yield_times(2).await;
        let cancelled_at = rt::now();
        task.cancel_with_grace("tidy", SECOND * 3);
        assert_eq!(task.await.map(|at| at - cancelled_at), Ok(SECOND * 2));
    });
}

#[test]
fn auto_advance_does_not_wait_for_io_that_has_not_happened() {
    let (accepted, took) = run_paused(async {
        let listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let t0 = rt::now();
        let accepted = sanio::timeout(SECOND, listener.accept()).await;
        (accepted.is_ok(), rt::now() - t0)
    });
    assert!(!accepted, "nobody connects: the timeout fires at once");
    assert_eq!(took, SECOND);
}

#[test]
fn without_auto_advance_the_loop_waits_for_real_io_and_time_stands_still() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_auto_advance(false);
    let (accepted, took) = run_paused_on(&rt, async {
        let listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20)); // the loop is waiting by now
            std::net::TcpStream::connect(addr).unwrap()
        });
        let t0 = rt::now();
        let accepted = sanio::timeout(SECOND, listener.accept()).await;
        drop(client.join());
        (accepted.is_ok(), rt::now() - t0)
    });
    assert!(accepted, "the connection came before the (paused) deadline");
    assert_eq!(took, Duration::ZERO);
}

#[test]
fn advance_on_a_real_clock_is_a_sleep() {
    support::rt::run(async {
        let start = Instant::now();
        rt::advance(Duration::from_millis(2)).await;
        assert!(start.elapsed() >= Duration::from_millis(2));
    });
}
