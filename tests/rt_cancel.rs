//! Cancellation: a flag, delivered once, then a drop (DESIGN, "The loop").

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sanio::rt::{TaskRef, TaskState};
use sanio::Runtime;
use support::rt::{run, run_on, run_paused_on, yield_times, DropFlag};

/// A grace period no test waits for: if it applied, the hang guard would
/// fail the test first.
const ENDLESS_GRACE: Duration = Duration::from_secs(3600);

#[test]
fn cancel_drops_the_future_before_the_awaiter_resumes() {
    run(async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        yield_times(2).await;
        assert!(!dropped.get());
        task.cancel();
        let result = task.await;
        assert!(
            dropped.get(),
            "the future was dropped before the handle resolved"
        );
        let err = result.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
        assert_eq!(err.message(), None);
    });
}

#[test]
fn cancel_before_the_first_poll_drops_the_future() {
    run(async {
        let (dropped, guard) = DropFlag::new();
        let polled = Rc::new(Cell::new(false));
        let task = sanio::spawn({
            let polled = Rc::clone(&polled);
            async move {
                let _guard = guard;
                polled.set(true);
                std::future::pending::<()>().await;
            }
        });
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(dropped.get());
    });
}

#[test]
fn other_awaiters_resume_only_after_the_drop() {
    run(async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            sanio::sleep(Duration::from_secs(60)).await;
        });
        let watcher = {
            let task = task.task_ref();
            let dropped = Rc::clone(&dropped);
            sanio::spawn(async move {
                let state = task.finished().await;
                (state, dropped.get())
            })
        };
        yield_times(2).await;
        task.task_ref().cancel_with("bye");
        assert_eq!(watcher.await.unwrap(), (TaskState::Cancelled, true));
        assert_eq!(task.state(), TaskState::Cancelled);
        assert_eq!(task.task_ref().end_message().as_deref(), Some("bye"));
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancel_of_a_finished_task_is_a_no_op() {
    run(async {
        let task = sanio::spawn(async { 5 });
        yield_times(2).await;
        assert_eq!(task.state(), TaskState::Done);
        task.cancel();
        task.cancel_with("too late");
        task.cancel_with_grace("too late", Duration::ZERO);
        assert_eq!(task.state(), TaskState::Done);
        assert_eq!(task.await, Ok(5));

        let panicked = sanio::spawn(async { panic!("first") });
        yield_times(2).await;
        panicked.cancel_with("late");
        let err = panicked.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.message(), Some("first"));
    });
}

#[test]
fn cancel_twice_keeps_the_first_message() {
    run(async {
        let task = sanio::spawn(std::future::pending::<()>());
        task.cancel_with("first");
        task.cancel_with("second");
        assert_eq!(task.await.unwrap_err().message(), Some("first"));
    });
}

#[test]
fn cancel_message_is_in_the_join_error() {
    run(async {
        let task = sanio::spawn(sanio::sleep(Duration::from_secs(60)));
        yield_times(1).await;
        task.cancel_with("shutting down");
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.message(), Some("shutting down"));
        assert_eq!(err.to_string(), "task was cancelled: shutting down");
    });
}

#[test]
fn a_task_in_a_plain_sleep_is_dropped_at_once() {
    let rt = Runtime::new().unwrap().with_grace_period(ENDLESS_GRACE);
    run_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            sanio::sleep(Duration::from_secs(60)).await;
        });
        yield_times(2).await;
        task.cancel();
        // No timer needs to fire: the next turns poll the task and drop it.
        yield_times(5).await;
        assert!(dropped.get(), "dropped without waiting for any grace");
        assert_eq!(task.state(), TaskState::Cancelled);
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_task_observing_the_cancel_runs_async_cleanup() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(ENDLESS_GRACE);
    run_paused_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let cleaned = Rc::new(Cell::new(false));
        let task = sanio::spawn({
            let cleaned = Rc::clone(&cleaned);
            async move {
                let _guard = guard;
                let cancelled = sanio::cancelled().await;
                // Later awaits behave normally: a sleep, then a return.
                sanio::sleep(Duration::from_millis(20)).await;
                assert!(sanio::rt::stats().is_ok());
                cleaned.set(true);
                format!("cleaned up after {cancelled}")
            }
        });
        yield_times(2).await;
        task.cancel_with("stop");
        yield_times(3).await;
        assert!(!task.is_finished(), "still in its cleanup sleep");
        assert!(!dropped.get());
        let result = task.await;
        assert!(cleaned.get());
        assert!(dropped.get());
        assert_eq!(result.as_deref(), Ok("cleaned up after cancelled: stop"));
    });
}

#[test]
fn cancelled_is_delivered_once() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(ENDLESS_GRACE);
    run_paused_on(&rt, async {
        let task = sanio::spawn(async {
            let first = sanio::cancelled().await;
            // The flag was taken: a second wait does not complete.
            let second = sanio::timeout(Duration::from_millis(10), sanio::cancelled()).await;
            (first.message().map(str::to_owned), second.is_err())
        });
        yield_times(2).await;
        task.cancel_with("once");
        assert_eq!(task.await, Ok((Some("once".to_owned()), true)));
    });
}

#[test]
fn cleanup_overrunning_the_runtime_grace_period_is_dropped() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(Duration::from_millis(50));
    run_paused_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(60)).await; // cleanup that overruns
            "never"
        });
        yield_times(2).await;
        task.cancel_with("stop");
        let err = task.await.unwrap_err();
        assert!(dropped.get());
        assert!(err.is_cancelled());
        assert_eq!(err.message(), Some("stop"));
    });
}

#[test]
fn cleanup_overrunning_cancel_with_grace_is_dropped() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(ENDLESS_GRACE);
    run_paused_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(60)).await;
        });
        yield_times(2).await;
        task.cancel_with_grace("hurry", Duration::from_millis(20));
        let err = task.await.unwrap_err();
        assert!(dropped.get());
        assert_eq!(err.message(), Some("hurry"));
    });
}

#[test]
fn a_task_that_cancels_itself_and_observes_it_gets_the_grace_period_only() {
    let rt = Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(Duration::from_millis(20));
    run_paused_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            TaskRef::current()
                .expect("inside a task")
                .cancel_with("self");
            let cancelled = sanio::cancelled().await;
            assert_eq!(cancelled.message(), Some("self"));
            sanio::sleep(Duration::from_secs(60)).await; // overruns the grace
        });
        let err = task.await.unwrap_err();
        assert!(dropped.get());
        assert!(err.is_cancelled());
        assert_eq!(err.message(), Some("self"));
    });
}

#[test]
fn a_task_that_cancels_itself_without_observing_is_dropped() {
    run(async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            TaskRef::current().expect("inside a task").cancel();
            sanio::sleep(Duration::from_secs(60)).await;
        });
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(dropped.get());
    });
}

#[test]
fn cancelling_through_a_task_ref_and_dropping_handles() {
    run(async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let task_ref = task.task_ref();
        drop(task); // detached: keeps running
        yield_times(2).await;
        assert!(!dropped.get());
        assert_eq!(task_ref.state(), TaskState::Running);
        task_ref.cancel();
        assert_eq!(task_ref.finished().await, TaskState::Cancelled);
        assert!(dropped.get());
        drop(task_ref);
        assert_eq!(sanio::rt::stats().unwrap().task_slots, 0);
    });
}

#[test]
fn a_task_cancelling_a_sibling_in_cleanup() {
    let rt = Runtime::new().unwrap().with_grace_period(ENDLESS_GRACE);
    run_on(&rt, async {
        let (helper_dropped, guard) = DropFlag::new();
        let helper = sanio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let parent = sanio::spawn(async move {
            sanio::cancelled().await;
            helper.cancel();
            helper.await.unwrap_err().is_cancelled()
        });
        yield_times(2).await;
        parent.cancel();
        assert_eq!(parent.await, Ok(true));
        assert!(helper_dropped.get());
    });
}

#[test]
fn dropping_the_runtime_drops_live_tasks() {
    let rt = Runtime::new().unwrap();
    let (dropped, guard) = DropFlag::new();
    let handle = rt.spawn(async move {
        let _guard = guard;
        sanio::sleep(Duration::from_secs(60)).await;
    });
    run_on(&rt, yield_times(2));
    assert!(!dropped.get());
    let remote = rt.handle();
    drop(handle);
    drop(rt);
    assert!(dropped.get());
    assert!(!remote.is_open());
    assert!(remote.spawn(async {}).is_err());
}

#[test]
fn a_task_that_cleans_up_in_time_leaves_no_grace_timer_behind() {
    run(async {
        let baseline = sanio::rt::stats().unwrap().timers;
        let task = sanio::spawn(async {
            sanio::cancelled().await;
            sanio::rt::yield_now().await; // a moment of async cleanup
        });
        sanio::rt::yield_now().await;
        task.cancel();
        task.await.unwrap();
        assert_eq!(sanio::rt::stats().unwrap().timers, baseline);
    });
}

#[test]
fn a_later_cancel_with_a_shorter_grace_shortens_a_cleanup_under_way() {
    let rt = Runtime::new().unwrap().with_grace_period(ENDLESS_GRACE);
    run_on(&rt, async {
        let (dropped, guard) = DropFlag::new();
        let task = sanio::spawn(async move {
            let _guard = guard;
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(3600)).await; // a stubborn cleanup
            "never"
        });
        yield_times(2).await;
        task.cancel_with("first");
        yield_times(3).await;
        assert!(!task.is_finished(), "in its cleanup, with an endless grace");
        // "Cancel now" means now: the cleanup loses what is left of its grace.
        task.cancel_with_grace("now", Duration::ZERO);
        yield_times(3).await;
        assert!(task.is_finished(), "dropped at the next turn");
        assert!(dropped.get());
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.message(), Some("first"), "the first message stays");
    });
}

#[test]
fn cancellable_turns_a_cancel_into_an_error_the_task_can_handle() {
    let rt = Runtime::new().unwrap().with_paused_clock();
    run_paused_on(&rt, async {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let task = sanio::spawn({
            let log = Rc::clone(&log);
            async move {
                // asyncio: try: await sleep(3600) except CancelledError: ...
                match sanio::cancellable(sanio::sleep(Duration::from_secs(3600))).await {
                    Ok(()) => log.borrow_mut().push("slept".to_owned()),
                    Err(cancelled) => {
                        log.borrow_mut().push(cancelled.to_string());
                        sanio::sleep(Duration::from_secs(1)).await; // async cleanup
                        log.borrow_mut().push("cleaned up".to_owned());
                    }
                }
            }
        });
        yield_times(2).await;
        let t0 = sanio::rt::now();
        task.cancel_with("bye");
        assert_eq!(task.await, Ok(()), "it handled the cancel and returned");
        assert_eq!(*log.borrow(), ["cancelled: bye", "cleaned up"]);
        assert_eq!(sanio::rt::now() - t0, Duration::from_secs(1));
    });
}

#[test]
fn a_shorter_grace_before_the_cancel_is_seen_applies_once_it_is() {
    let rt = Runtime::new().unwrap().with_grace_period(ENDLESS_GRACE);
    run_on(&rt, async {
        let task = sanio::spawn(async {
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(3600)).await;
            "never"
        });
        yield_times(2).await;
        // Both cancels land before the task runs again.
        task.cancel_with_grace("long", ENDLESS_GRACE);
        task.cancel_with_grace("short", Duration::ZERO);
        yield_times(4).await;
        assert!(task.is_finished(), "the shorter grace won");
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_later_cancel_with_a_longer_grace_changes_nothing() {
    let rt = Runtime::new().unwrap().with_grace_period(ENDLESS_GRACE);
    run_on(&rt, async {
        let task = sanio::spawn(async {
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(3600)).await;
            "never"
        });
        yield_times(2).await;
        task.cancel_with_grace("short", Duration::ZERO);
        task.cancel_with_grace("long", ENDLESS_GRACE);
        yield_times(4).await;
        assert!(task.is_finished());
    });
}

#[test]
fn cancellable_passes_the_output_through_when_nobody_cancels() {
    run_paused_on(&Runtime::new().unwrap().with_paused_clock(), async {
        let task = sanio::spawn(sanio::cancellable(async {
            sanio::sleep(Duration::from_secs(1)).await;
            5
        }));
        assert_eq!(task.await, Ok(Ok(5)));
        // Outside a task (the block_on future) it can never be cancelled.
        assert_eq!(sanio::cancellable(async { 6 }).await, Ok(6));
    });
}

#[test]
fn a_cancel_before_the_first_poll_wins_over_a_ready_future() {
    run(async {
        let task = sanio::spawn(sanio::cancellable(async { 1 }));
        task.cancel();
        let result = task.await;
        // The wrapper observed the cancel and returned it as its output.
        assert_eq!(result.map(|r| r.is_err()), Ok(true));
    });
}

#[test]
fn cancelled_in_block_on_or_after_the_cancel_was_observed_never_completes() {
    let rt = Runtime::new().unwrap().with_paused_clock();
    run_paused_on(&rt, async {
        // The block_on future is no task: nothing can cancel it.
        let waited = sanio::timeout(Duration::from_secs(60), sanio::cancelled()).await;
        assert!(waited.is_err());
        // A second aware await after the first observed the cancel: pends,
        // and the grace period (5 s by default) ends the task.
        let task = sanio::spawn(async {
            let _first = sanio::cancelled().await;
            sanio::cancelled().await;
            "never"
        });
        yield_times(2).await;
        let t0 = sanio::rt::now();
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(sanio::rt::now() - t0, Duration::from_secs(5));
    });
}
