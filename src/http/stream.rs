//! Streamed response bodies: [`BodySender`], the handler's end, and
//! `BodyStream`, the connection's end.
//!
//! The channel holds at most one chunk. `send` waits while the previous
//! chunk has not been taken by the connection, and the connection takes the
//! next chunk only after it wrote the previous one, so a handler producing
//! faster than the client reads is held back (back-pressure) instead of
//! filling memory.

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// State shared by the two ends.
#[derive(Default)]
struct Channel {
    /// The chunk waiting to be written.
    chunk: Option<Vec<u8>>,
    /// The sender was dropped: the body ends after `chunk`.
    sender_gone: bool,
    /// The connection dropped its end (client gone, HEAD, shutdown).
    receiver_gone: bool,
    /// The sender waiting for room.
    send_waker: Option<Waker>,
    /// The connection waiting for a chunk.
    recv_waker: Option<Waker>,
}

/// The error of [`BodySender::send`]: the connection is gone, and nothing
/// more will be written.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::http::Closed.to_string(), "response stream closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response stream closed")
    }
}

impl std::error::Error for Closed {}

/// Writes the body of a streamed response (made by
/// [`Response::stream`](super::Response::stream)) over time; each send is
/// one chunk. **Dropping it ends the body.**
///
/// # Examples
///
/// ```
/// use sanio::Response;
///
/// let (response, mut events) = Response::stream("text/event-stream");
/// assert!(response.body_bytes().is_none());
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async move {
///     drop(response); // nobody will read: the sender sees it
///     assert!(events.send_event("hello").await.is_err());
/// });
/// ```
pub struct BodySender {
    /// The shared channel.
    chan: Rc<RefCell<Channel>>,
}

/// The connection's end of a streamed body.
pub(crate) struct BodyStream {
    /// The shared channel.
    chan: Rc<RefCell<Channel>>,
    /// The body's length when known in advance (a file): it is then sent
    /// with `Content-Length` rather than chunked.
    length: Option<u64>,
}

/// A connected sender and stream.
pub(crate) fn channel() -> (BodySender, BodyStream) {
    let chan = Rc::new(RefCell::new(Channel::default()));
    (
        BodySender {
            chan: Rc::clone(&chan),
        },
        BodyStream { chan, length: None },
    )
}

/// A connected sender and stream for a body of exactly `length` bytes.
pub(crate) fn sized_channel(length: u64) -> (BodySender, BodyStream) {
    let (sender, mut stream) = channel();
    stream.length = Some(length);
    (sender, stream)
}

impl BodySender {
    /// Sends one chunk; waits while the previous one is not yet taken.
    /// An empty chunk is skipped.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the connection has gone away.
    ///
    /// # Examples
    ///
    /// See [`BodySender`].
    pub async fn send(&mut self, chunk: impl Into<Vec<u8>>) -> Result<(), Closed> {
        let mut chunk = Some(chunk.into()).filter(|c| !c.is_empty());
        poll_fn(|cx| self.poll_put(cx, &mut chunk)).await
    }

    /// Sends a server-sent event: each line of `data` as a `data:` line,
    /// then a blank line.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the connection has gone away.
    ///
    /// # Examples
    ///
    /// See [`BodySender`].
    pub async fn send_event(&mut self, data: &str) -> Result<(), Closed> {
        let mut event = String::with_capacity(data.len() + 8);
        for line in data.split('\n') {
            event.push_str("data: ");
            event.push_str(line.strip_suffix('\r').unwrap_or(line));
            event.push('\n');
        }
        event.push('\n');
        self.send(event).await
    }

    /// Sends a server-sent events comment (`: text`), which clients ignore:
    /// a keep-alive.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the connection has gone away.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_response, mut sender) = sanio::Response::stream("text/event-stream");
    /// assert!(!sender.is_closed());
    /// # let _ = &mut sender;
    /// ```
    pub async fn comment(&mut self, text: &str) -> Result<(), Closed> {
        self.send(format!(": {text}\n\n")).await
    }

    /// True once the connection has gone away.
    ///
    /// # Examples
    ///
    /// ```
    /// let (response, sender) = sanio::Response::stream("text/plain");
    /// drop(response);
    /// assert!(sender.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.borrow().receiver_gone
    }

    /// Puts `chunk` in the channel when there is room.
    fn poll_put(
        &mut self,
        cx: &mut Context<'_>,
        chunk: &mut Option<Vec<u8>>,
    ) -> Poll<Result<(), Closed>> {
        let waker = {
            let mut chan = self.chan.borrow_mut();
            if chan.receiver_gone {
                return Poll::Ready(Err(Closed));
            }
            if chunk.is_none() {
                return Poll::Ready(Ok(()));
            }
            if chan.chunk.is_some() {
                chan.send_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            chan.chunk = chunk.take();
            chan.recv_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        let waker = {
            let mut chan = self.chan.borrow_mut();
            chan.sender_gone = true;
            chan.recv_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for BodySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl BodyStream {
    /// The length announced in advance, if any.
    pub(crate) fn length(&self) -> Option<u64> {
        self.length
    }

    /// The next chunk, or `None` once the sender is dropped and every chunk
    /// was taken.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let (result, waker) = {
            let mut chan = self.chan.borrow_mut();
            match chan.chunk.take() {
                Some(chunk) => (Poll::Ready(Some(chunk)), chan.send_waker.take()),
                None if chan.sender_gone => (Poll::Ready(None), None),
                None => {
                    chan.recv_waker = Some(cx.waker().clone());
                    (Poll::Pending, None)
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        result
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        let waker = {
            let mut chan = self.chan.borrow_mut();
            chan.receiver_gone = true;
            chan.chunk = None;
            chan.send_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream").finish_non_exhaustive()
    }
}
