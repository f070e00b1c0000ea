//! Cancellation-aware waiting: how a task *sees* that it was cancelled.
//!
//! Cancelling a task sets a flag and polls the task once more
//! (see [`JoinHandle::cancel`](super::JoinHandle::cancel)). During that poll,
//! the first **cancellation-aware** await returns [`Cancelled`] and marks the
//! cancel as observed; the task may then run async cleanup (send a goodbye,
//! cancel its helpers) within the grace period. A task that awaits nothing
//! cancellation-aware never notices and is dropped at once.
//!
//! [`cancelled()`] is the explicit form: select on it next to other work.
//! The app and websocket layers build their aware waits (events, `recv`)
//! on [`take_cancel`], the crate-internal hook.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
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
