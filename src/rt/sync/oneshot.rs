//! A channel for one value, sent once.
//!
//! # Examples
//!
//! ```
//! let rt = sanio::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (tx, rx) = sanio::rt::sync::oneshot::channel();
//!     sanio::spawn(async move { tx.send("pong").unwrap() });
//!     assert_eq!(rx.await, Ok("pong"));
//! });
//! ```

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{RecvError, SendError};

/// State shared by the two ends.
struct Inner<T> {
    /// The value, once sent.
    value: Option<T>,
    /// The receiver's waker.
    waker: Option<Waker>,
    /// Whether the sender is gone (sent or dropped).
    sender_gone: bool,
    /// Whether the receiver is gone.
    receiver_gone: bool,
}

/// Makes a sender and a receiver for one value.
///
/// # Examples
///
/// ```
/// let (tx, rx) = sanio::rt::sync::oneshot::channel::<u32>();
/// tx.send(1).unwrap();
/// let rt = sanio::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(rx), Ok(1));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Rc::new(RefCell::new(Inner {
        value: None,
        waker: None,
        sender_gone: false,
        receiver_gone: false,
    }));
    (
        Sender {
            inner: Rc::clone(&inner),
        },
        Receiver { inner },
    )
}

/// Sends the value. Dropping it unsent makes the receiver fail with
/// [`RecvError`].
///
/// # Examples
///
/// ```
/// let (tx, _rx) = sanio::rt::sync::oneshot::channel();
/// tx.send(()).unwrap();
/// ```
pub struct Sender<T> {
    /// Shared state.
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver.
    ///
    /// # Errors
    ///
    /// Gives the value back in [`SendError`] when the receiver is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = sanio::rt::sync::oneshot::channel();
    /// assert!(tx.send(3).is_ok());
    /// # drop(rx);
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let waker = {
            let mut inner = self.inner.borrow_mut();
            if inner.receiver_gone {
                return Err(SendError(value));
            }
            inner.value = Some(value);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = sanio::rt::sync::oneshot::channel::<()>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.borrow().receiver_gone
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut inner = self.inner.borrow_mut();
            inner.sender_gone = true;
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

/// Awaits the value. Dropping it makes a later `send` fail.
///
/// # Examples
///
/// ```
/// let (tx, rx) = sanio::rt::sync::oneshot::channel();
/// tx.send('x').unwrap();
/// assert_eq!(sanio::Runtime::new().unwrap().block_on(rx), Ok('x'));
/// ```
pub struct Receiver<T> {
    /// Shared state.
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.inner.borrow_mut();
        if let Some(value) = inner.value.take() {
            return Poll::Ready(Ok(value));
        }
        if inner.sender_gone {
            return Poll::Ready(Err(RecvError));
        }
        inner.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let value = {
            let mut inner = self.inner.borrow_mut();
            inner.receiver_gone = true;
            inner.value.take()
        };
        drop(value); // outside the borrow
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
