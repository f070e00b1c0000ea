//! The seam between a connection and the application: [`Service`] answers
//! requests, [`Shutdown`] tells every connection of a worker to wind down.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use super::request::Request;
use super::response::Response;
use crate::rt::sync::Notify;
use crate::rt::PooledFuture;

/// Answers requests; implemented by the application layer.
pub(crate) trait Service: 'static {
    /// Answers one request. Runs on the connection's task; may be `!Send`.
    /// The future's box comes from a per-thread pool (see
    /// [`PooledFuture`]), so a warm loop does not allocate for it.
    fn call(self: Rc<Self>, request: Request) -> PooledFuture<Response>;

    /// Whether `request` (its head only; the body not yet read) goes to a
    /// handler that reads its body as a stream.
    fn streams_body(&self, _request: &Request) -> bool {
        false
    }
}

/// Shared state of a [`Shutdown`].
#[derive(Default)]
struct Flag {
    /// Set once by `trigger`.
    triggered: Cell<bool>,
    /// Wakes every waiter of `triggered()`.
    notify: Notify,
}

/// Graceful-stop signal shared by every connection of a worker. Once
/// triggered, idle connections close and in-flight requests are answered
/// with `Connection: close`.
#[derive(Clone, Default)]
pub(crate) struct Shutdown {
    /// The flag and its waiters.
    inner: Rc<Flag>,
}

impl Shutdown {
    /// A signal not yet triggered.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Triggers it and wakes every waiter; later calls do nothing.
    pub(crate) fn trigger(&self) {
        if !self.inner.triggered.replace(true) {
            self.inner.notify.notify_waiters();
        }
    }

    /// True once triggered.
    pub(crate) fn is_triggered(&self) -> bool {
        self.inner.triggered.get()
    }

    /// Completes once triggered.
    pub(crate) async fn triggered(&self) {
        while !self.is_triggered() {
            self.inner.notify.notified().await;
        }
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}
