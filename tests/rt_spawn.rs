//! Spawning and joining tasks, yield_now, stale wakers, and the loop's
//! bookkeeping (stats) after work ends.

mod support;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use sanio::rt::{self, TaskState};
use sanio::Runtime;
use support::rt::{run, run_on, yield_times};

#[test]
fn spawn_and_join_return_values() {
    let (a, b, text) = run(async {
        let a = sanio::spawn(async { 40 + 2 });
        let b = sanio::spawn(async {
            sanio::sleep(Duration::from_millis(1)).await;
            vec![1, 2, 3]
        });
        let text = sanio::spawn(async { String::from("owned") });
        (a.await, b.await, text.await)
    });
    assert_eq!(a, Ok(42));
    assert_eq!(b, Ok(vec![1, 2, 3]));
    assert_eq!(text.as_deref(), Ok("owned"));
}

#[test]
fn non_send_futures_can_be_spawned() {
    let shared = Rc::new(RefCell::new(Vec::new()));
    let got = run({
        let shared = Rc::clone(&shared);
        async move {
            let handles: Vec<_> = (0..5)
                .map(|i| {
                    let shared = Rc::clone(&shared);
                    sanio::spawn(async move { shared.borrow_mut().push(i) })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            shared.borrow().clone()
        }
    });
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn one_hundred_thousand_tasks_all_complete() {
    const N: usize = 100_000;
    let rt = Runtime::new().unwrap();
    let done = Rc::new(Cell::new(0usize));
    let sum = run_on(&rt, {
        let done = Rc::clone(&done);
        async move {
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let done = Rc::clone(&done);
                    sanio::spawn(async move {
                        sanio::rt::yield_now().await;
                        done.set(done.get() + 1);
                        i as u64
                    })
                })
                .collect();
            assert_eq!(sanio::rt::stats().unwrap().live_tasks, N);
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        }
    });
    assert_eq!(done.get(), N);
    assert_eq!(sum, (N as u64 - 1) * N as u64 / 2);
    let stats = rt.stats();
    assert_eq!(stats.live_tasks, 0);
    assert_eq!(stats.task_slots, 0);
}

#[test]
fn detached_tasks_run_to_completion() {
    let done = Rc::new(Cell::new(0));
    run({
        let done = Rc::clone(&done);
        async move {
            for _ in 0..100 {
                let done = Rc::clone(&done);
                drop(sanio::spawn(async move {
                    sanio::sleep(Duration::from_millis(1)).await;
                    done.set(done.get() + 1);
                }));
            }
            while done.get() < 100 {
                sanio::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    assert_eq!(done.get(), 100);
}

#[test]
fn try_spawn_outside_a_runtime_is_no_runtime() {
    let err = rt::try_spawn(async { 1 }).unwrap_err();
    assert_eq!(err, rt::NoRuntime);
    assert!(rt::stats().is_err());
    assert!(rt::RuntimeHandle::current().is_err());
    // And inside one it works.
    let value = run(async { rt::try_spawn(async { 1 }).unwrap().await });
    assert_eq!(value, Ok(1));
}

#[test]
fn spawn_outside_a_runtime_panics() {
    let result = std::panic::catch_unwind(|| {
        drop(sanio::spawn(async {}));
    });
    assert!(result.is_err());
}

#[test]
fn runtime_spawn_runs_at_next_block_on() {
    let rt = Runtime::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let task = rt.spawn({
        let ran = Rc::clone(&ran);
        async move {
            ran.set(true);
            7
        }
    });
    assert!(!ran.get());
    assert_eq!(task.state(), TaskState::Pending);
    assert_eq!(run_on(&rt, task), Ok(7));
    assert!(ran.get());
}

#[test]
fn task_states_progress() {
    run(async {
        let (tx, rx) = rt::sync::oneshot::channel::<()>();
        let task = rt::spawn_named("stepper", async move { rx.await.unwrap() });
        assert_eq!(task.state(), TaskState::Pending);
        assert_eq!(task.name().as_deref(), Some("stepper"));
        yield_times(2).await;
        assert_eq!(task.state(), TaskState::Running);
        assert!(!task.is_finished());
        tx.send(()).unwrap();
        let watcher = task.task_ref();
        assert_eq!(watcher.finished().await, TaskState::Done);
        assert!(task.is_finished());
        assert_eq!(task.await, Ok(()));
    });
}

#[test]
fn task_ids_are_distinct() {
    run(async {
        let handles: Vec<_> = (0..100).map(|_| sanio::spawn(async {})).collect();
        let mut ids: Vec<_> = handles.iter().map(|h| h.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 100);
    });
}

#[test]
fn yield_now_lets_other_tasks_run() {
    let log = run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let ran = Rc::new(Cell::new(false));
        let flag = Rc::clone(&ran);
        let _task = sanio::spawn(async move { flag.set(true) });
        assert!(!ran.get());
        sanio::rt::yield_now().await;
        assert!(ran.get(), "the spawned task ran while we yielded");

        // Two tasks yielding to each other interleave in strict turns.
        let workers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let log = Rc::clone(&log);
                sanio::spawn(async move {
                    for i in 0..3 {
                        log.borrow_mut().push(format!("{name}{i}"));
                        sanio::rt::yield_now().await;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        let log = log.borrow().clone();
        log
    });
    assert_eq!(log, ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn a_busy_yielding_task_does_not_starve_timers_or_others() {
    run(async {
        let stop = Rc::new(Cell::new(false));
        let spinner = sanio::spawn({
            let stop = Rc::clone(&stop);
            async move {
                let mut spins = 0u64;
                while !stop.get() {
                    spins += 1;
                    sanio::rt::yield_now().await;
                }
                spins
            }
        });
        sanio::sleep(Duration::from_millis(5)).await;
        stop.set(true);
        assert!(spinner.await.unwrap() > 0);
    });
}

/// The slab key part of a task id (`as_u64` puts the key in the low bits).
fn slot_of(id: rt::TaskId) -> u64 {
    id.as_u64() & 0xffff_ffff
}

/// A stale waker (one made for a task that has ended) must never poll the
/// task that later reuses the slot, whether it is woken on the loop's thread
/// or from another one.
#[test]
fn stale_waker_never_polls_the_slot_s_new_owner() {
    run(async {
        let captured: Rc<RefCell<Option<Waker>>> = Rc::default();
        let old = sanio::spawn({
            let captured = Rc::clone(&captured);
            poll_fn(move |cx| {
                *captured.borrow_mut() = Some(cx.waker().clone());
                Poll::Ready(())
            })
        });
        let old_id = old.id();
        old.await.unwrap(); // the handle is gone, so the slot is free again
        let stale = captured.borrow_mut().take().expect("waker captured");

        let polls = Rc::new(Cell::new(0));
        let own: Rc<RefCell<Option<Waker>>> = Rc::default();
        let counter = sanio::spawn({
            let polls = Rc::clone(&polls);
            let own = Rc::clone(&own);
            poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                *own.borrow_mut() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
        });
        let new_id = counter.id();
        assert_eq!(slot_of(old_id), slot_of(new_id), "the slot was reused");
        assert_ne!(old_id, new_id, "but under a new generation");
        yield_times(3).await;
        assert_eq!(polls.get(), 1, "polled once, after spawn");

        stale.wake_by_ref();
        yield_times(3).await;
        assert_eq!(polls.get(), 1, "a stale wake on this thread polled nothing");

        std::thread::spawn(move || stale.wake()).join().unwrap();
        yield_times(3).await;
        assert_eq!(
            polls.get(),
            1,
            "a stale wake from another thread polled nothing"
        );
        // Let any remote wake arrive through epoll, then look again.
        sanio::sleep(Duration::from_millis(20)).await;
        assert_eq!(polls.get(), 1);

        // The counter does count: its own waker polls it.
        let waker = own.borrow_mut().take().expect("counter polled");
        waker.wake();
        yield_times(3).await;
        assert_eq!(polls.get(), 2, "the task's own waker polls it");
        counter.cancel();
        assert!(counter.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn stale_handle_state_after_runtime_reuse() {
    run(async {
        // A handle keeps its ended task's slot: a new task gets another slot
        // and the old handle still reads its own final state.
        let first = sanio::spawn(async { 1 });
        yield_times(2).await;
        assert!(first.is_finished());
        let second = sanio::spawn(std::future::pending::<()>());
        assert_ne!(slot_of(first.id()), slot_of(second.id()));
        assert_eq!(first.state(), TaskState::Done);
        assert_eq!(second.state(), TaskState::Pending);
        second.cancel();
        assert_eq!(first.await, Ok(1));
        assert!(second.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn stats_return_to_baseline_after_work_ends() {
    let rt = Runtime::new().unwrap();
    let baseline = rt.stats();
    assert_eq!(baseline.live_tasks, 0);
    assert_eq!(baseline.task_slots, 0);
    assert_eq!(baseline.timers, 0);
    assert_eq!(baseline.io_registrations, 0);
    run_on(&rt, async {
        let inside = sanio::rt::stats().unwrap();
        let listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sanio::spawn(async move {
            for _ in 0..10 {
                let (stream, _) = listener.accept().await.unwrap();
                sanio::spawn(async move {
                    let mut buf = [0; 16];
                    let n = stream.read(&mut buf).await.unwrap();
                    stream.write_all(&buf[..n]).await.unwrap();
                });
            }
        });
        let mut handles = Vec::new();
        for i in 0..10u8 {
            handles.push(sanio::spawn(async move {
                let stream = sanio::net::TcpStream::connect(addr).await.unwrap();
                stream.write_all(&[i; 4]).await.unwrap();
                let mut buf = [0; 4];
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf, [i; 4]);
            }));
        }
        for i in 0..100u64 {
            handles.push(sanio::spawn(async move {
                sanio::sleep(Duration::from_micros(i)).await;
                let _ = sanio::timeout(Duration::from_secs(60), sanio::rt::yield_now()).await;
            }));
        }
        let sleepers: Vec<_> = (0..10)
            .map(|_| sanio::spawn(sanio::sleep(Duration::from_secs(60))))
            .collect();
        let mut ticks = sanio::interval(Duration::from_millis(1));
        ticks.tick().await;
        ticks.tick().await;
        drop(ticks);
        for handle in handles {
            handle.await.unwrap();
        }
        server.await.unwrap();
        for sleeper in &sleepers {
            sleeper.cancel();
        }
        for sleeper in sleepers {
            assert!(sleeper.await.unwrap_err().is_cancelled());
        }
        // Echo tasks drop their streams when they end; wait for that.
        while sanio::rt::stats().unwrap().live_tasks > inside.live_tasks {
            sanio::rt::yield_now().await;
        }
        let after = sanio::rt::stats().unwrap();
        assert_eq!(after.live_tasks, inside.live_tasks);
        assert_eq!(after.task_slots, inside.task_slots);
        assert_eq!(after.timers, inside.timers);
        assert_eq!(after.io_registrations, inside.io_registrations);
    });
    let after = rt.stats();
    assert_eq!(after.live_tasks, baseline.live_tasks);
    assert_eq!(after.task_slots, baseline.task_slots);
    assert_eq!(after.timers, baseline.timers);
    assert_eq!(after.io_registrations, baseline.io_registrations);
    assert_eq!(after, baseline);
}

#[test]
fn block_on_can_be_called_again_on_the_same_runtime() {
    let rt = Runtime::new().unwrap();
    assert_eq!(rt.block_on(async { 1 }), 1);
    // A second and third call must poll their futures too.
    assert_eq!(run_on(&rt, async { 2 }), 2);
    let task = rt.spawn(async { 3 });
    assert_eq!(run_on(&rt, task), Ok(3));
    let value = run_on(&rt, async {
        sanio::sleep(Duration::from_millis(1)).await;
        4
    });
    assert_eq!(value, 4);
}
