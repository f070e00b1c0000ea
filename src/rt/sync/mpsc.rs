//! An unbounded queue: many senders, one receiver.
//!
//! Unbounded means a fast sender can grow memory without limit; use it where
//! the producer is trusted or naturally paced (control messages, events).
//!
//! # Examples
//!
//! ```
//! let rt = sanio::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = sanio::rt::sync::mpsc::unbounded();
//!     for i in 0..3 {
//!         let tx = tx.clone();
//!         sanio::spawn(async move { tx.send(i).unwrap() });
//!     }
//!     drop(tx);
//!     let mut got = Vec::new();
//!     while let Some(i) = rx.recv().await {
//!         got.push(i);
//!     }
//!     assert_eq!(got, [0, 1, 2]);
//! });
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::SendError;

/// State shared by all ends.
struct Inner<T> {
    /// Values sent and not yet received.
    queue: VecDeque<T>,
    /// The receiver's waker.
    waker: Option<Waker>,
    /// How many senders are alive.
    senders: usize,
    /// Whether the receiver is gone.
    receiver_gone: bool,
}

/// Makes an unbounded channel.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = sanio::rt::sync::mpsc::unbounded::<&str>();
/// tx.send("a").unwrap();
/// assert_eq!(rx.try_recv(), Some("a"));
/// ```
pub fn unbounded<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let inner = Rc::new(RefCell::new(Inner {
        queue: VecDeque::new(),
        waker: None,
        senders: 1,
        receiver_gone: false,
    }));
    (
        UnboundedSender {
            inner: Rc::clone(&inner),
        },
        UnboundedReceiver { inner },
    )
}

/// Sends values; clone it for more senders. When the last one drops, the
/// receiver sees the end of the stream.
///
/// # Examples
///
/// ```
/// let (tx, _rx) = sanio::rt::sync::mpsc::unbounded();
/// tx.clone().send(1).unwrap();
/// ```
pub struct UnboundedSender<T> {
    /// Shared state.
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T> UnboundedSender<T> {
    /// Queues `value` and wakes the receiver. Never waits.
    ///
    /// # Errors
    ///
    /// Gives the value back when the receiver is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = sanio::rt::sync::mpsc::unbounded();
    /// drop(rx);
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let waker = {
            let mut inner = self.inner.borrow_mut();
            if inner.receiver_gone {
                return Err(SendError(value));
            }
            inner.queue.push_back(value);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.inner.borrow_mut().senders += 1;
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut inner = self.inner.borrow_mut();
            inner.senders -= 1;
            if inner.senders > 0 {
                return;
            }
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

/// Receives values in the order they were sent.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = sanio::rt::sync::mpsc::unbounded();
/// tx.send(9).unwrap();
/// drop(tx);
/// let rt = sanio::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(rx.recv()), Some(9));
/// assert_eq!(rt.block_on(rx.recv()), None);
/// ```
pub struct UnboundedReceiver<T> {
    /// Shared state.
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T> UnboundedReceiver<T> {
    /// Waits for the next value; `None` once every sender is gone and the
    /// queue is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = sanio::rt::sync::mpsc::unbounded();
    /// tx.send("x").unwrap();
    /// assert_eq!(rx.recv().await, Some("x"));
    /// # });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next value.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = sanio::rt::sync::mpsc::unbounded();
    /// tx.send(1).unwrap();
    /// assert_eq!(std::future::poll_fn(|cx| rx.poll_recv(cx)).await, Some(1));
    /// # });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut inner = self.inner.borrow_mut();
        if let Some(value) = inner.queue.pop_front() {
            return Poll::Ready(Some(value));
        }
        if inner.senders == 0 {
            return Poll::Ready(None);
        }
        inner.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Takes the next value if one is queued; never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, mut rx) = sanio::rt::sync::mpsc::unbounded::<u8>();
    /// assert_eq!(rx.try_recv(), None);
    /// ```
    pub fn try_recv(&mut self) -> Option<T> {
        self.inner.borrow_mut().queue.pop_front()
    }

    /// How many values are queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = sanio::rt::sync::mpsc::unbounded();
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.borrow().queue.len()
    }

    /// Whether nothing is queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = sanio::rt::sync::mpsc::unbounded::<()>();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        let queued = {
            let mut inner = self.inner.borrow_mut();
            inner.receiver_gone = true;
            std::mem::take(&mut inner.queue)
        };
        drop(queued); // outside the borrow
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("queued", &self.len())
            .finish()
    }
}
