//! `Notify`: wake one waiter, or all of them.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// One registered waiter.
struct Waiter {
    /// Its waker, once polled.
    waker: Option<Waker>,
    /// Set by a notify; the waiter completes on its next poll.
    notified: bool,
    /// Set by `notify_one` only: such a wake must not be lost if the waiter
    /// is dropped before it completes.
    by_one: bool,
}

/// State shared by a `Notify` and its `Notified` futures.
#[derive(Default)]
struct Inner {
    /// Waiters registered and not yet completed.
    waiters: Slab<Waiter>,
    /// A `notify_one` with nobody waiting, kept for the next waiter.
    permit: bool,
}

impl Inner {
    /// Notifies one un-notified waiter; returns its waker.
    fn notify_one(&mut self) -> Option<Waker> {
        match self.waiters.iter_mut().find(|(_, w)| !w.notified) {
            Some((_, waiter)) => {
                waiter.notified = true;
                waiter.by_one = true;
                waiter.waker.take()
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

/// Wakes tasks waiting on it: one ([`notify_one`](Self::notify_one), which
/// is kept as a permit if nobody waits) or every current waiter
/// ([`notify_waiters`](Self::notify_waiters)). Cloning shares the same
/// waiters.
///
/// # Examples
///
/// ```
/// use sanio::rt::sync::Notify;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let ready = Notify::new();
///     let waiter = {
///         let ready = ready.clone();
///         sanio::spawn(async move { ready.notified().await; "woken" })
///     };
///     sanio::rt::yield_now().await;
///     ready.notify_waiters();
///     assert_eq!(waiter.await, Ok("woken"));
/// });
/// ```
#[derive(Clone, Default)]
pub struct Notify {
    /// Shared state.
    inner: Rc<RefCell<Inner>>,
}

impl Notify {
    /// A `Notify` with no waiters and no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// let notify = sanio::rt::sync::Notify::new();
    /// assert_eq!(notify.waiters(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A future that completes at the next notify aimed at it. It counts as
    /// a waiter from its first poll; dropping it unregisters it (and passes a
    /// `notify_one` it received but did not consume to another waiter).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let notify = sanio::rt::sync::Notify::new();
    /// notify.notify_one(); // kept as a permit
    /// notify.notified().await; // takes it at once
    /// # });
    /// ```
    pub fn notified(&self) -> Notified {
        Notified {
            inner: Rc::clone(&self.inner),
            key: None,
        }
    }

    /// Wakes one waiter, or leaves a permit for the next one if none waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let notify = sanio::rt::sync::Notify::new();
    /// notify.notify_one();
    /// ```
    pub fn notify_one(&self) {
        let waker = self.inner.borrow_mut().notify_one();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every current waiter; leaves no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// let notify = sanio::rt::sync::Notify::new();
    /// notify.notify_waiters(); // nobody waits: nothing happens
    /// assert_eq!(notify.waiters(), 0);
    /// ```
    pub fn notify_waiters(&self) {
        let wakers: Vec<Waker> = {
            let mut inner = self.inner.borrow_mut();
            inner
                .waiters
                .iter_mut()
                .filter_map(|(_, waiter)| {
                    waiter.notified = true;
                    waiter.waker.take()
                })
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// How many futures are registered and waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::rt::sync::Notify::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner.borrow().waiters.len()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Notify")
            .field("waiters", &inner.waiters.len())
            .field("permit", &inner.permit)
            .finish()
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Notified {
    /// Shared state.
    inner: Rc<RefCell<Inner>>,
    /// This waiter's slot, once registered.
    key: Option<usize>,
}

impl Future for Notified {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut inner = this.inner.borrow_mut();
        match this.key {
            None if inner.permit => {
                inner.permit = false;
                Poll::Ready(())
            }
            None => {
                this.key = Some(inner.waiters.insert(Waiter {
                    waker: Some(cx.waker().clone()),
                    notified: false,
                    by_one: false,
                }));
                Poll::Pending
            }
            Some(key) if inner.waiters[key].notified => {
                inner.waiters.remove(key);
                this.key = None;
                Poll::Ready(())
            }
            Some(key) => {
                inner.waiters[key].waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let waker = {
            let mut inner = self.inner.borrow_mut();
            let waiter = inner.waiters.remove(key);
            // A notify_one this waiter received but never consumed goes on.
            waiter.by_one.then(|| inner.notify_one()).flatten()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for Notified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("registered", &self.key.is_some())
            .finish()
    }
}
