//! Small single-threaded synchronisation primitives for tasks on one loop.
//!
//! They use `Rc<RefCell<..>>`, not locks and atomics: every party lives on
//! the same thread, so there is nothing to race with. (To reach another
//! loop, use [`RuntimeHandle::spawn`](super::RuntimeHandle::spawn).)
//!
//! - [`oneshot`]: one value, once, from one task to another.
//! - [`mpsc`]: an unbounded queue with many senders and one receiver.
//! - [`Notify`]: wake one waiter or all of them, like asyncio's `Event` and
//!   `Condition` rolled into one.

pub mod mpsc;
mod notify;
pub mod oneshot;

pub use notify::{Notified, Notify};

/// The error of a send whose receiver is gone; gives the value back.
///
/// # Examples
///
/// ```
/// let (tx, rx) = sanio::rt::sync::oneshot::channel();
/// drop(rx);
/// let err = tx.send(5).unwrap_err();
/// assert_eq!(err.0, 5);
/// assert_eq!(err.to_string(), "the receiver is gone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> std::fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the receiver is gone")
    }
}

impl<T: std::fmt::Debug> std::error::Error for SendError<T> {}

/// The error of a receive whose senders are all gone with nothing queued.
///
/// # Examples
///
/// ```
/// let (tx, rx) = sanio::rt::sync::oneshot::channel::<u8>();
/// drop(tx);
/// let rt = sanio::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(rx), Err(sanio::rt::sync::RecvError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the sender is gone")
    }
}

impl std::error::Error for RecvError {}
