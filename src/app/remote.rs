//! Asking every worker of a running app a question through its loop's
//! remote queue, with a bound on how long the answers may take.
//!
//! Workers are threads, each with its own loop, so a question is a small
//! `Send` closure spawned on every worker's loop (`RuntimeHandle::spawn`).
//! On its loop the closure finds that worker's state and answers through a
//! [`Reply`]: a one-value, cross-thread slot that wakes the asker. The
//! asker waits for all answers, or until the timeout, so one stuck worker
//! delays a question by at most the timeout and never hangs it.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::local::{try_local, Local};
use super::App;
use crate::rt;

/// How long a cross-worker question waits when no run's config says
/// otherwise.
pub(crate) const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// The answers of every worker so far, and the asker's waker.
struct Slots<T> {
    /// One answer per worker that answered (worker index, answer).
    answers: Vec<(usize, T)>,
    /// Workers that answered or can no longer answer.
    settled: usize,
    /// The asker, woken on every answer.
    waker: Option<Waker>,
}

/// The cross-thread half an answering worker holds. Dropping it unanswered
/// (the loop closed, the worker had no state) still settles its share.
struct Reply<T> {
    /// Shared with the asker.
    slots: Arc<Mutex<Slots<T>>>,
    /// Whether this reply was given.
    given: bool,
}

impl<T> Reply<T> {
    /// Gives the answer of `worker`.
    fn give(mut self, worker: usize, answer: T) {
        self.given = true;
        let waker = {
            let mut slots = super::lock(&self.slots);
            slots.answers.push((worker, answer));
            slots.settled += 1;
            slots.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if !self.given {
            let waker = {
                let mut slots = super::lock(&self.slots);
                slots.settled += 1;
                slots.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// Resolves once `expected` workers settled.
struct AllSettled<T> {
    /// Shared with the replies.
    slots: Arc<Mutex<Slots<T>>>,
    /// How many workers were asked.
    expected: usize,
}

impl<T> Future for AllSettled<T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut slots = super::lock(&self.slots);
        if slots.settled >= self.expected {
            return Poll::Ready(());
        }
        slots.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// What a question runs on each worker's loop: given the app and that
/// worker's state, a future of its answer.
pub(crate) type Question<T> =
    Arc<dyn Fn(App, Rc<Local>) -> Pin<Box<dyn Future<Output = T>>> + Send + Sync>;

impl App {
    /// The timeout for a cross-worker question in this run.
    pub(crate) fn query_timeout(&self) -> Duration {
        self.running_config()
            .map_or(DEFAULT_QUERY_TIMEOUT, |config| config.task_query_timeout)
    }

    /// Asks every worker `question` on its own loop and gathers the
    /// answers given within `timeout`, sorted by worker. Workers that do
    /// not answer in time are left out (and logged).
    pub(crate) async fn ask_workers<T: Send + 'static>(
        &self,
        timeout: Duration,
        question: Question<T>,
    ) -> Vec<(usize, T)> {
        let slots = Arc::new(Mutex::new(Slots {
            answers: Vec::new(),
            settled: 0,
            waker: None,
        }));
        let mut loops = self.loops();
        // A loop that is no worker (a test's `block_on`) answers for its
        // own tasks too.
        if let Some(here) = super::local::existing(self) {
            if here.worker().is_none() {
                loops.push(here.handle().clone());
            }
        }
        let expected = loops.len();
        for handle in loops {
            let reply = Reply {
                slots: Arc::clone(&slots),
                given: false,
            };
            let app = self.clone();
            let question = Arc::clone(&question);
            // The closure is `Send`; the future it makes is not, so it is
            // made and spawned on the worker's own thread.
            let _ = handle.spawn(async move {
                let Some(local) = try_local(&app) else {
                    return; // the worker is gone: the reply settles unanswered
                };
                let worker = local.index();
                let answer = question(app, local);
                rt::spawn(async move {
                    let answer = answer.await;
                    reply.give(worker, answer);
                });
            });
        }
        let all = AllSettled {
            slots: Arc::clone(&slots),
            expected,
        };
        if rt::timeout(timeout, all).await.is_err() {
            log::warn!("some workers did not answer within {timeout:?}");
        }
        let mut answers = std::mem::take(&mut super::lock(&slots).answers);
        answers.sort_by_key(|(worker, _)| *worker);
        answers
    }
}
