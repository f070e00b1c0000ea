//! oneshot, mpsc and Notify between tasks of one loop.

mod support;

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use sanio::rt::sync::{mpsc, oneshot, Notify, RecvError, SendError};
use support::rt::{poll_once, run, yield_times};

/// Whether `fut` completes when polled once, right now.
async fn ready_now<F: std::future::Future>(fut: F) -> bool {
    sanio::timeout(Duration::ZERO, fut).await.is_ok()
}

#[test]
fn oneshot_delivers_a_value_sent_before_or_after_the_wait() {
    run(async {
        let (tx, rx) = oneshot::channel();
        tx.send(1).unwrap();
        assert_eq!(rx.await, Ok(1));

        let (tx, rx) = oneshot::channel();
        let waiter = sanio::spawn(rx);
        yield_times(2).await;
        assert!(!waiter.is_finished());
        tx.send("later").unwrap();
        assert_eq!(waiter.await.unwrap(), Ok("later"));
    });
}

#[test]
fn oneshot_reports_a_gone_peer() {
    run(async {
        let (tx, rx) = oneshot::channel::<u8>();
        let waiter = sanio::spawn(rx);
        yield_times(2).await;
        drop(tx);
        assert_eq!(waiter.await.unwrap(), Err(RecvError));

        let (tx, rx) = oneshot::channel();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(vec![7]), Err(SendError(vec![7])));
    });
}

#[test]
fn mpsc_keeps_order_and_ends_when_senders_are_gone() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded();
        let producers: Vec<_> = (0..3)
            .map(|p| {
                let tx = tx.clone();
                sanio::spawn(async move {
                    for i in 0..100 {
                        tx.send((p, i)).unwrap();
                        if i % 10 == 0 {
                            sanio::rt::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut got: Vec<Vec<i32>> = vec![Vec::new(); 3];
        while let Some((p, i)) = rx.recv().await {
            got[p].push(i);
        }
        for per_producer in &got {
            assert_eq!(*per_producer, (0..100).collect::<Vec<_>>());
        }
        for producer in producers {
            producer.await.unwrap();
        }
        assert_eq!(rx.recv().await, None);
        assert!(rx.is_empty());
    });
}

#[test]
fn mpsc_receiver_waits_then_wakes() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded::<&str>();
        let receiver = sanio::spawn(async move {
            let first = rx.recv().await;
            let second = rx.recv().await;
            (first, second)
        });
        yield_times(2).await;
        assert!(!receiver.is_finished());
        tx.send("a").unwrap();
        yield_times(2).await;
        assert!(!receiver.is_finished());
        drop(tx);
        assert_eq!(receiver.await.unwrap(), (Some("a"), None));
    });
}

#[test]
fn mpsc_send_fails_once_the_receiver_is_gone() {
    let (tx, mut rx) = mpsc::unbounded();
    tx.send(1).unwrap();
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv(), Some(1));
    assert_eq!(rx.try_recv(), None);
    drop(rx);
    assert_eq!(tx.send(2), Err(SendError(2)));
}

#[test]
fn mpsc_drops_queued_values_with_the_receiver() {
    let (dropped, guard) = support::rt::DropFlag::new();
    let (tx, rx) = mpsc::unbounded();
    tx.send(guard).unwrap();
    assert!(!dropped.get());
    drop(rx);
    assert!(dropped.get());
}

#[test]
fn notify_one_without_waiters_leaves_one_permit() {
    run(async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one(); // permits do not add up
        assert!(ready_now(notify.notified()).await, "the permit is taken");
        assert!(!ready_now(notify.notified()).await, "only one permit");
        assert_eq!(notify.waiters(), 0, "the abandoned waiter unregistered");
    });
}

#[test]
fn notify_one_wakes_exactly_one_waiter() {
    run(async {
        let notify = Notify::new();
        let woken = Rc::new(RefCell::new(Vec::new()));
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let notify = notify.clone();
                let woken = Rc::clone(&woken);
                sanio::spawn(async move {
                    notify.notified().await;
                    woken.borrow_mut().push(i);
                })
            })
            .collect();
        yield_times(2).await;
        assert_eq!(notify.waiters(), 3);
        notify.notify_one();
        yield_times(3).await;
        assert_eq!(woken.borrow().len(), 1);
        assert_eq!(notify.waiters(), 2);
        notify.notify_one();
        notify.notify_one();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        let mut woken = woken.borrow().clone();
        woken.sort();
        assert_eq!(woken, [0, 1, 2]);
    });
}

#[test]
fn notify_waiters_wakes_all_current_waiters_and_leaves_no_permit() {
    run(async {
        let notify = Notify::new();
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let notify = notify.clone();
                sanio::spawn(async move { notify.notified().await })
            })
            .collect();
        yield_times(2).await;
        assert_eq!(notify.waiters(), 10);
        notify.notify_waiters();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(notify.waiters(), 0);
        assert!(!ready_now(notify.notified()).await, "no permit was left");
    });
}

#[test]
fn a_dropped_notified_passes_a_notify_one_on() {
    run(async {
        let notify = Notify::new();
        let mut first = Box::pin(notify.notified());
        let mut second = pin!(notify.notified());
        assert_eq!(poll_once(&mut first).await, Poll::Pending);
        assert_eq!(poll_once(&mut second).await, Poll::Pending);
        assert_eq!(notify.waiters(), 2);
        notify.notify_one(); // aimed at `first`, the older waiter
        drop(first); // never consumed it
        assert_eq!(poll_once(&mut second).await, Poll::Ready(()));
        assert_eq!(notify.waiters(), 0);
    });
}

#[test]
fn a_dropped_notified_with_no_other_waiter_restores_the_permit() {
    run(async {
        let notify = Notify::new();
        let mut only = Box::pin(notify.notified());
        assert_eq!(poll_once(&mut only).await, Poll::Pending);
        notify.notify_one();
        drop(only);
        assert!(ready_now(notify.notified()).await, "the notify was kept");
    });
}

#[test]
fn a_dropped_notified_does_not_pass_on_notify_waiters() {
    run(async {
        let notify = Notify::new();
        let mut first = Box::pin(notify.notified());
        assert_eq!(poll_once(&mut first).await, Poll::Pending);
        notify.notify_waiters();
        drop(first);
        // A later waiter was not there for notify_waiters.
        assert!(!ready_now(notify.notified()).await);
    });
}

#[test]
fn a_cancelled_waiter_is_unregistered() {
    run(async {
        let notify = Notify::new();
        let spawn_waiter = || {
            let notify = notify.clone();
            sanio::spawn(async move { notify.notified().await })
        };
        let first = spawn_waiter();
        let second = spawn_waiter();
        yield_times(2).await;
        assert_eq!(notify.waiters(), 2);
        first.cancel();
        assert!(first.await.unwrap_err().is_cancelled());
        assert_eq!(notify.waiters(), 1);
        notify.notify_one(); // reaches the remaining waiter
        assert_eq!(second.await, Ok(()));
    });
}

#[test]
fn a_waiter_notified_in_the_turn_it_is_cancelled_ends_by_itself() {
    run(async {
        let notify = Notify::new();
        let spawn_waiter = || {
            let notify = notify.clone();
            sanio::spawn(async move { notify.notified().await })
        };
        let first = spawn_waiter();
        let second = spawn_waiter();
        yield_times(2).await;
        // The poll that delivers the cancel finds the notify ready (a
        // Notified is not cancellation-aware), so the task ends by itself
        // and has consumed the notify.
        first.cancel();
        notify.notify_one();
        assert_eq!(first.await, Ok(()));
        assert_eq!(notify.waiters(), 1);
        assert!(!second.is_finished());
        notify.notify_one();
        assert_eq!(second.await, Ok(()));
    });
}
