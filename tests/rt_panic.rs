//! A panicking task ends as panicked; the loop and its siblings go on.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sanio::rt::TaskState;
use sanio::Runtime;
use support::rt::{run, run_on, yield_times, DropFlag};

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor panicked");
    }
}

#[test]
fn a_panicking_task_yields_join_error_and_siblings_go_on() {
    let rt = Runtime::new().unwrap();
    run_on(&rt, async {
        let ticks = Rc::new(Cell::new(0));
        let sibling = sanio::spawn({
            let ticks = Rc::clone(&ticks);
            async move {
                for _ in 0..5 {
                    sanio::sleep(Duration::from_millis(1)).await;
                    ticks.set(ticks.get() + 1);
                }
                "sibling done"
            }
        });
        let (dropped, guard) = DropFlag::new();
        let bad = sanio::rt::spawn_named("bad", async move {
            let _guard = guard;
            sanio::sleep(Duration::from_millis(1)).await;
            let n = 42;
            if n == 42 {
                panic!("boom {n}");
            }
        });
        let err = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert_eq!(err.message(), Some("boom 42"));
        assert_eq!(err.to_string(), "task panicked: boom 42");
        assert!(dropped.get(), "the panicked future was dropped");
        assert_eq!(sibling.await, Ok("sibling done"));
        assert_eq!(ticks.get(), 5);
        // The loop still spawns and runs new work.
        assert_eq!(sanio::spawn(async { 1 }).await, Ok(1));
    });
    assert_eq!(rt.stats().live_tasks, 0);
    assert_eq!(rt.stats().task_slots, 0);
    // And it can be driven again.
    assert_eq!(
        run_on(&rt, async { sanio::spawn(async { 2 }).await }),
        Ok(2)
    );
}

#[test]
fn panic_on_first_poll_and_non_string_payloads() {
    run(async {
        let first = sanio::spawn(async { panic!("at once") });
        let any = sanio::spawn(async { std::panic::panic_any(17_u32) });
        let err = first.await.unwrap_err();
        assert_eq!(err.message(), Some("at once"));
        let err = any.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.message(), Some("non-string panic payload"));
    });
}

#[test]
fn task_ref_sees_panicked_state_and_message() {
    run(async {
        let task = sanio::spawn(async {
            sanio::rt::yield_now().await;
            panic!("observed");
        })
        .task_ref();
        assert_eq!(task.finished().await, TaskState::Panicked);
        assert_eq!(task.state(), TaskState::Panicked);
        assert!(task.is_finished());
        assert_eq!(task.end_message().as_deref(), Some("observed"));
    });
}

#[test]
fn many_panics_do_not_disturb_the_loop() {
    run(async {
        let handles: Vec<_> = (0..200)
            .map(|i| {
                sanio::spawn(async move {
                    sanio::rt::yield_now().await;
                    if i % 2 == 0 {
                        panic!("even {i}");
                    }
                    i
                })
            })
            .collect();
        let mut panics = 0;
        let mut sum = 0;
        for handle in handles {
            match handle.await {
                Ok(i) => sum += i,
                Err(err) => {
                    assert!(err.is_panic());
                    panics += 1;
                }
            }
        }
        assert_eq!(panics, 100);
        assert_eq!(sum, (1..200).step_by(2).sum::<i32>());
    });
}

#[test]
fn a_destructor_panicking_while_a_cancelled_task_is_dropped_is_contained() {
    run(async {
        let task = sanio::spawn(async {
            let _bomb = PanicOnDrop;
            std::future::pending::<()>().await;
        });
        let sibling = sanio::spawn(async {
            yield_times(5).await;
            "alive"
        });
        yield_times(2).await;
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(sibling.await, Ok("alive"));
    });
}

#[test]
fn a_panic_in_the_block_on_future_itself_propagates() {
    let rt = Runtime::new().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main future") })
    }));
    assert!(result.is_err());
    // The runtime is still usable afterwards.
    assert_eq!(
        run_on(&rt, async { sanio::spawn(async { 3 }).await }),
        Ok(3)
    );
}

/// Runs `fut` on `rt`, then checks the loop lives on and freed every slot.
fn assert_loop_lives_on(rt: &Runtime) {
    assert_eq!(run_on(rt, async { sanio::spawn(async { 5 }).await }), Ok(5));
    assert_eq!(rt.stats().live_tasks, 0);
    assert_eq!(rt.stats().task_slots, 0);
}

/// A hand-written future that holds a [`PanicOnDrop`] in its own fields (not
/// in the stack of `poll`, which a panic would unwind): the loop drops it
/// after the poll, outside the poll's unwinding.
struct HoldsABomb {
    _bomb: PanicOnDrop,
    /// Whether `poll` panics (`true`) or returns 7.
    panics: bool,
}

impl std::future::Future for HoldsABomb {
    type Output = u32;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u32> {
        if self.panics {
            panic!("first");
        }
        std::task::Poll::Ready(7)
    }
}

#[test]
fn a_destructor_panicking_while_a_panicked_task_is_dropped_is_contained() {
    let rt = Runtime::new().unwrap();
    let err = run_on(&rt, async {
        let bomb = HoldsABomb {
            _bomb: PanicOnDrop,
            panics: true,
        };
        sanio::spawn(bomb).await.unwrap_err()
    });
    assert!(err.is_panic());
    assert_eq!(err.message(), Some("first"));
    assert_loop_lives_on(&rt);
}

#[test]
fn a_destructor_panicking_when_a_finished_future_is_dropped_is_contained() {
    let rt = Runtime::new().unwrap();
    let result = run_on(&rt, async {
        let bomb = HoldsABomb {
            _bomb: PanicOnDrop,
            panics: false,
        };
        sanio::spawn(bomb).await
    });
    // The output was made; the destructor's panic is logged, not raised.
    assert_eq!(result, Ok(7));
    assert_loop_lives_on(&rt);
}

#[test]
fn a_destructor_panicking_in_an_unclaimed_output_is_contained() {
    let rt = Runtime::new().unwrap();
    run_on(&rt, async {
        // Detached: nobody claims the output, so the loop drops it.
        drop(sanio::spawn(async { PanicOnDrop }));
        yield_times(3).await;
    });
    assert_loop_lives_on(&rt);
}

#[test]
fn a_destructor_panicking_in_a_future_spawned_from_another_thread_never_run() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    std::thread::spawn(move || {
        struct SendBomb;
        impl Drop for SendBomb {
            fn drop(&mut self) {
                panic!("remote destructor");
            }
        }
        let bomb = SendBomb;
        handle
            .spawn(async move {
                let _bomb = bomb;
            })
            .unwrap();
    })
    .join()
    .unwrap();
    drop(rt); // the queued future is dropped unrun: its panic is contained
}
