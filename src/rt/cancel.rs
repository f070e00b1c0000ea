//! Cancellation-aware waiting: how a task *sees* that it was cancelled.
//!
//! Cancelling a task sets a flag and polls the task once more
//! (see [`JoinHandle::cancel`](super::JoinHandle::cancel)). During that poll,
//! the first **cancellation-aware** await returns [`Cancelled`] and marks the
//! cancel as observed; the task may then run async cleanup (send a goodbye,
//! cancel its helpers) within the grace period. A task that awaits nothing
//! cancellation-aware never notices and is dropped at once.
//!
//! [`cancellable`] makes any future aware: `cancellable(fut).await` is
//! `Err(Cancelled)` when the task is cancelled while it waits, the Rust form
//! of asyncio's `except CancelledError:`. [`cancelled()`] is the bare form:
//! select on it next to other work. The app and websocket layers build their
//! aware waits (events, `recv`) on [`take_cancel`], the crate-internal hook.
//!
//! A cancel is delivered **once**: after one aware await returned
//! `Cancelled`, the task is in its grace period and later aware awaits
//! behave as if no cancel had come (so cleanup can await freely); the grace
//! period bounds it. Outside a task (the future given to `block_on`) nothing
//! can cancel, so they never report one.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use super::context;

/// The error of a cancellation-aware await in a task that was cancelled.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let task = sanio::spawn(async {
///         let cancelled = sanio::cancelled().await;
///         cancelled.to_string()
///     });
///     sanio::rt::yield_now().await;
///     task.cancel_with("shutting down");
///     assert_eq!(task.await.unwrap(), "cancelled: shutting down");
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cancelled {
    /// The message given to `cancel_with`, if any.
    message: Option<String>,
}

impl Cancelled {
    /// The message passed to `cancel_with`, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::rt::Cancelled::default().message(), None);
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "cancelled: {message}"),
            None => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Cancelled {}

/// Takes the pending cancel of the task being polled, if it has one: the
/// hook every cancellation-aware await calls first.
///
/// Returns `None` outside a task, when no cancel is pending, and after the
/// cancel was taken once.
pub(crate) fn take_cancel() -> Option<Cancelled> {
    context::with_current(|core| core.take_cancel())
        .ok()
        .flatten()
        .map(|message| Cancelled { message })
}

/// Whether the current task has been asked to stop, whether or not it
/// observed the cancel yet (a supervisor asks this before a restart).
/// `false` outside a task.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let task = sanio::spawn(async {
///         let _ = sanio::cancelled().await;
///         sanio::rt::is_cancel_requested()
///     });
///     sanio::rt::yield_now().await;
///     task.cancel();
///     assert_eq!(task.await, Ok(true));
/// });
/// ```
pub fn is_cancel_requested() -> bool {
    context::with_current(|core| core.cancel_requested()).unwrap_or(false)
}

/// Completes when the current task is cancelled (and marks the cancel as
/// observed); pending forever otherwise.
///
/// "Otherwise" includes two cases that are easy to miss: awaited in the
/// future given to `block_on` (not a task: nothing can cancel it), and
/// awaited after this task already observed its cancel (a cancel is
/// delivered once; the task is then in its grace period, which ends it).
/// Select on it next to other work, or use [`cancellable`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let worker = sanio::spawn(async {
///         sanio::cancelled().await;
///         // Async cleanup is allowed here, within the grace period.
///         sanio::sleep(Duration::from_millis(1)).await;
///         "cleaned up"
///     });
///     sanio::rt::yield_now().await;
///     worker.cancel();
///     assert_eq!(worker.await, Ok("cleaned up"));
/// });
/// ```
pub fn cancelled() -> WaitCancelled {
    WaitCancelled { _private: () }
}

/// The future returned by [`cancelled()`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitCancelled {
    /// Not constructible outside this module.
    _private: (),
}

impl Future for WaitCancelled {
    type Output = Cancelled;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Cancelled> {
        // No waker to store: `cancel()` schedules the task itself.
        match take_cancel() {
            Some(cancelled) => Poll::Ready(cancelled),
            None => Poll::Pending,
        }
    }
}

/// Runs `future` unless the current task is cancelled first: `Ok(output)`
/// when it completes, `Err(Cancelled)` when a cancel arrives while it waits
/// (the cancel is then observed, and the task may clean up within its grace
/// period; `future` is dropped, unpolled, when this returns).
///
/// This is asyncio's `try: await ... except CancelledError:` in Rust. A
/// task sitting in a plain `sleep` is dropped at once when cancelled and
/// never learns it; one sitting in `cancellable(sleep(..))` gets the error
/// and runs its cleanup. A cancel pending before the first poll wins over
/// a future that would be ready at once. Outside a task it never returns
/// `Err`, and after the task observed its cancel once it only runs `future`
/// (see [`cancelled()`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let worker = sanio::spawn(async {
///         match sanio::cancellable(sanio::sleep(Duration::from_secs(3600))).await {
///             Ok(()) => "slept",
///             Err(_cancelled) => {
///                 // Cleanup may await, within the grace period.
///                 sanio::sleep(Duration::from_millis(1)).await;
///                 "cleaned up"
///             }
///         }
///     });
///     sanio::rt::yield_now().await;
///     worker.cancel();
///     assert_eq!(worker.await, Ok("cleaned up"));
/// });
/// ```
pub async fn cancellable<F: Future>(future: F) -> Result<F::Output, Cancelled> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Some(cancelled) = take_cancel() {
            return Poll::Ready(Err(cancelled));
        }
        future.as_mut().poll(cx).map(Ok)
    })
    .await
}
