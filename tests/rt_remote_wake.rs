//! Wakes and spawns that come from other threads.

mod support;

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use sanio::rt::{RuntimeClosed, RuntimeHandle};
use sanio::Runtime;
use support::rt::{run, run_on, yield_times};

/// A task that sends its waker to `wakers` and completes once `flag` is set.
fn wait_for_flag(
    flag: Arc<AtomicBool>,
    wakers: mpsc::Sender<std::task::Waker>,
) -> impl std::future::Future<Output = u32> {
    let mut sent = false;
    let mut polls = 0;
    poll_fn(move |cx| {
        polls += 1;
        if flag.load(Ordering::Acquire) {
            return Poll::Ready(polls);
        }
        if !sent {
            sent = true;
            wakers.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    })
}

#[test]
fn a_wake_from_another_thread_resumes_a_task_on_an_idle_loop() {
    run(async {
        let flag = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let waker_thread = thread::spawn({
            let flag = Arc::clone(&flag);
            move || {
                let waker: std::task::Waker = rx.recv().unwrap();
                // Give the loop time to go to sleep in epoll_wait; the hang
                // guard's 30 s timer is the only other thing that could
                // wake it, and that fails the test.
                thread::sleep(Duration::from_millis(50));
                flag.store(true, Ordering::Release);
                waker.wake();
            }
        });
        let task = sanio::spawn(wait_for_flag(flag, tx));
        let polls = task.await.unwrap();
        assert_eq!(polls, 2, "polled at spawn and once after the wake");
        waker_thread.join().unwrap();
    });
}

#[test]
fn many_remote_wakes_before_the_loop_runs_poll_once() {
    run(async {
        let polls = Rc::new(Cell::new(0));
        let (tx, rx) = mpsc::channel();
        let task = sanio::spawn({
            let polls = Rc::clone(&polls);
            poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                if polls.get() == 1 {
                    tx.send(cx.waker().clone()).unwrap();
                }
                Poll::<()>::Pending
            })
        });
        yield_times(2).await;
        assert_eq!(polls.get(), 1);
        let waker = rx.recv().unwrap();
        // The loop is blocked in this very poll while the threads wake.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let waker = waker.clone();
                thread::spawn(move || {
                    for _ in 0..1000 {
                        waker.wake_by_ref();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        yield_times(5).await;
        assert_eq!(polls.get(), 2, "4000 wakes, one poll");
        // A wake after that poll schedules it again.
        thread::spawn(move || waker.wake()).join().unwrap();
        yield_times(5).await;
        assert_eq!(polls.get(), 3);
        task.cancel();
    });
}

#[test]
fn wakes_from_many_threads_resume_every_task() {
    const TASKS: usize = 200;
    run(async {
        let (tx, rx) = mpsc::channel();
        let flags: Vec<_> = (0..TASKS)
            .map(|_| Arc::new(AtomicBool::new(false)))
            .collect();
        let handles: Vec<_> = flags
            .iter()
            .map(|flag| sanio::spawn(wait_for_flag(Arc::clone(flag), tx.clone())))
            .collect();
        yield_times(2).await;
        let wakers: Vec<_> = rx.try_iter().collect();
        assert_eq!(wakers.len(), TASKS);
        let wakers = Arc::new(std::sync::Mutex::new(
            wakers.into_iter().zip(flags).collect::<Vec<_>>(),
        ));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let wakers = Arc::clone(&wakers);
                thread::spawn(move || loop {
                    let next = wakers.lock().unwrap().pop();
                    let Some((waker, flag)) = next else { break };
                    flag.store(true, Ordering::Release);
                    waker.wake();
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.await, Ok(2));
        }
        for thread in threads {
            thread.join().unwrap();
        }
    });
}

#[test]
fn runtime_handle_spawn_from_another_thread_runs_on_the_loop() {
    let rt = Runtime::new().unwrap();
    let loop_thread = thread::current().id();
    let handle = rt.handle();
    let (tx, rx) = futures::channel::oneshot::channel();
    let ran = Arc::new(AtomicUsize::new(0));
    let spawner = thread::spawn({
        let ran = Arc::clone(&ran);
        move || {
            thread::sleep(Duration::from_millis(20)); // the loop is idle by now
            handle
                .spawn(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    sanio::rt::yield_now().await; // a real task: it can wait
                    tx.send(thread::current().id()).unwrap();
                })
                .unwrap();
        }
    });
    let ran_on = run_on(&rt, rx).unwrap();
    assert_eq!(ran_on, loop_thread);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    spawner.join().unwrap();
}

#[test]
fn runtime_handle_spawns_queued_before_block_on_run_there() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let handle = handle.clone();
            let count = Arc::clone(&count);
            thread::spawn(move || {
                for _ in 0..100 {
                    let count = Arc::clone(&count);
                    handle
                        .spawn(async move {
                            count.fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(rt.stats().remote_queue, 400);
    run_on(&rt, async {
        while count.load(Ordering::SeqCst) < 400 {
            sanio::rt::yield_now().await;
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), 400);
    assert_eq!(rt.stats().remote_queue, 0);
    assert_eq!(rt.stats().live_tasks, 0);
}

#[test]
fn a_closed_runtime_refuses_remote_work() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    assert!(handle.is_open());
    assert!(handle.same_loop(&rt.handle()));
    let other = Runtime::new().unwrap();
    assert!(!handle.same_loop(&other.handle()));
    drop(rt);
    assert!(!handle.is_open());
    let err = thread::spawn(move || handle.spawn(async {}))
        .join()
        .unwrap()
        .unwrap_err();
    assert_eq!(err, RuntimeClosed);
}

#[test]
fn a_waker_outliving_its_runtime_is_harmless() {
    let (tx, rx) = mpsc::channel();
    {
        let rt = Runtime::new().unwrap();
        let task = rt.spawn(poll_fn(move |cx| {
            tx.send(cx.waker().clone()).unwrap();
            Poll::<()>::Pending
        }));
        run_on(&rt, yield_times(2));
        drop(task);
    }
    let waker = rx.recv().unwrap();
    thread::spawn(move || waker.wake()).join().unwrap();
}

#[test]
fn runtime_handle_current_reaches_this_loop() {
    let rt = Runtime::new().unwrap();
    let inside = run_on(&rt, async { RuntimeHandle::current().unwrap() });
    assert!(inside.same_loop(&rt.handle()));
    assert!(RuntimeHandle::current().is_err());
}

#[test]
fn loops_on_several_threads_run_independently() {
    let threads: Vec<_> = (0..4u64)
        .map(|n| {
            thread::spawn(move || {
                run(async move {
                    let handles: Vec<_> = (0..100u64)
                        .map(|i| {
                            sanio::spawn(async move {
                                sanio::sleep(Duration::from_micros(i)).await;
                                i * n
                            })
                        })
                        .collect();
                    let mut sum = 0;
                    for handle in handles {
                        sum += handle.await.unwrap();
                    }
                    sum
                })
            })
        })
        .collect();
    let sums: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(sums, [0, 4950, 9900, 14850]);
}

#[test]
fn a_remote_wake_runs_the_task_in_the_turn_it_interrupts() {
    // Counted in turns, not timed: the turn whose poll a remote wake
    // interrupts takes the wake right after the poll and runs the task.
    let rt = Runtime::new().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let task = rt.spawn(wait_for_flag(Arc::clone(&flag), tx));
    let first = rt.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(first.tasks_polled, 1);
    let waker: std::task::Waker = rx.recv().unwrap();
    let waker_thread = thread::spawn(move || {
        flag.store(true, Ordering::Release);
        waker.wake();
    });
    // Waits (as long as it takes: no timer, no other work) for the wake.
    let woken = rt.turn(None).unwrap();
    waker_thread.join().unwrap();
    assert_eq!(woken.remote_items, 1);
    assert_eq!(woken.tasks_polled, 1, "the task ran in the same turn");
    assert!(task.is_finished());
    assert_eq!(rt.block_on(task), Ok(2));
}

#[test]
fn a_handle_spawns_from_another_thread_before_the_first_turn() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    thread::spawn({
        let ran = Arc::clone(&ran);
        move || {
            for _ in 0..3 {
                let ran = Arc::clone(&ran);
                handle
                    .spawn(async move {
                        ran.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap();
            }
        }
    })
    .join()
    .unwrap();
    let turn = rt.turn(None).unwrap();
    assert_eq!(turn.remote_items, 3);
    assert_eq!(turn.tasks_polled, 3);
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    // And once the runtime is gone, an error value, never a panic.
    let handle = rt.handle();
    drop(rt);
    assert_eq!(handle.spawn(async {}), Err(RuntimeClosed));
}
