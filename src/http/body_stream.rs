//! Streamed request bodies: [`RequestBody`], the handler's end, and
//! `BodyFeed`, the connection's end.
//!
//! For a route registered as streaming, the connection does not read the
//! body before calling the handler: it hands the handler a `RequestBody`
//! and feeds it while the handler runs, one decoded chunk at a time. The
//! slot holds one chunk, and the connection reads the socket only when the
//! slot is empty, so an upload never sits whole in memory: at most one
//! chunk here and one read buffer in the connection. The request body
//! limit still applies, counted as the chunks pass.
//!
//! The slot is behind a `Mutex` (not a `RefCell`) so that a `RequestBody`
//! is `Send`: parsers such as `multer` require a `Send` stream, even though
//! both ends live on one loop.

use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::error::ParseError;
use super::status::StatusCode;

/// Why a streamed body ended before its end.
///
/// # Examples
///
/// ```
/// use sanio::http::BodyError;
/// assert_eq!(BodyError::TooLarge.status().as_u16(), 413);
/// assert_eq!(BodyError::TooLarge.to_string(), "request body too large");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// Over the request body limit. 413.
    TooLarge,
    /// Broken chunked framing. 400.
    Malformed,
    /// The connection ended (client gone, timeout, shutdown). 400.
    Closed,
}

impl BodyError {
    /// The status that answers this error.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::BodyError::Malformed.status().as_u16(), 400);
    /// ```
    pub fn status(self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Malformed | BodyError::Closed => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyError::TooLarge => "request body too large",
            BodyError::Malformed => "invalid chunked body",
            BodyError::Closed => "request body ended early",
        })
    }
}

impl std::error::Error for BodyError {}

impl From<ParseError> for BodyError {
    fn from(err: ParseError) -> Self {
        match err {
            ParseError::BodyTooLarge => BodyError::TooLarge,
            _ => BodyError::Malformed,
        }
    }
}

impl From<BodyError> for super::HttpError {
    fn from(err: BodyError) -> Self {
        super::HttpError::new(err.status(), err.to_string())
    }
}

/// State shared by the two ends.
#[derive(Default)]
struct Slot {
    /// The chunk waiting to be read.
    chunk: Option<Vec<u8>>,
    /// Set once the body is complete (`Ok`) or failed.
    end: Option<Result<(), BodyError>>,
    /// The handler dropped its end: feeding stops.
    reader_gone: bool,
    /// The handler waiting for a chunk.
    read_waker: Option<Waker>,
    /// The connection waiting for room.
    write_waker: Option<Waker>,
}

/// The body of a request to a streaming route, read chunk by chunk as it
/// arrives (see `App::route_streaming`).
///
/// # Examples
///
/// ```
/// use sanio::{App, HttpError, Method, Request};
///
/// let app = App::new("uploads");
/// app.route_streaming(Method::Post, "/count", |mut req: Request| async move {
///     let mut body = req.body_stream().expect("a streaming route");
///     let mut total = 0;
///     while let Some(chunk) = body.chunk().await? {
///         total += chunk.len(); // never the whole body at once
///     }
///     Ok::<_, HttpError>(format!("{total} bytes"))
/// })
/// .unwrap();
/// ```
pub struct RequestBody {
    /// The shared slot.
    slot: Arc<Mutex<Slot>>,
}

/// The connection's end of a streamed request body.
pub(crate) struct BodyFeed {
    /// The shared slot.
    slot: Arc<Mutex<Slot>>,
}

/// Locks the slot (the data stay valid after a panic elsewhere).
fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connected feed and body.
pub(crate) fn body_channel() -> (BodyFeed, RequestBody) {
    let slot = Arc::new(Mutex::new(Slot::default()));
    (
        BodyFeed {
            slot: Arc::clone(&slot),
        },
        RequestBody { slot },
    )
}

impl RequestBody {
    /// The next chunk, `Ok(None)` at the end of the body.
    ///
    /// # Errors
    ///
    /// [`BodyError`] when the body passes the limit, is malformed, or the
    /// connection ends first.
    ///
    /// # Examples
    ///
    /// See [`RequestBody`].
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, BodyError> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Polls for the next chunk.
    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Vec<u8>>, BodyError>> {
        let (result, waker) = {
            let mut slot = lock(&self.slot);
            match (slot.chunk.take(), slot.end) {
                (Some(chunk), _) => (Poll::Ready(Ok(Some(chunk))), slot.write_waker.take()),
                (None, Some(Ok(()))) => (Poll::Ready(Ok(None)), None),
                (None, Some(Err(err))) => (Poll::Ready(Err(err)), None),
                (None, None) => {
                    slot.read_waker = Some(cx.waker().clone());
                    (Poll::Pending, slot.write_waker.take())
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        result
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let waker = {
            let mut slot = lock(&self.slot);
            slot.reader_gone = true;
            slot.chunk = None;
            slot.write_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}

impl BodyFeed {
    /// True once the handler dropped its end.
    pub(crate) fn reader_gone(&self) -> bool {
        lock(&self.slot).reader_gone
    }

    /// Puts `chunk` in the slot if it is empty; otherwise hands it back and
    /// waits for the handler to take the one there.
    pub(crate) fn poll_put(&mut self, cx: &mut Context<'_>, chunk: Vec<u8>) -> Result<(), Vec<u8>> {
        let waker = {
            let mut slot = lock(&self.slot);
            if slot.reader_gone {
                return Ok(()); // nobody reads: drop it
            }
            if slot.chunk.is_some() {
                slot.write_waker = Some(cx.waker().clone());
                return Err(chunk);
            }
            slot.chunk = Some(chunk);
            slot.read_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Ends the body with `result` (after any chunk still in the slot).
    pub(crate) fn finish(self, result: Result<(), BodyError>) {
        let waker = {
            let mut slot = lock(&self.slot);
            slot.end = Some(result);
            slot.read_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        // Drop sees `end` set and adds nothing.
    }
}

impl Drop for BodyFeed {
    fn drop(&mut self) {
        let waker = {
            let mut slot = lock(&self.slot);
            if slot.end.is_some() {
                return;
            }
            slot.end = Some(Err(BodyError::Closed));
            slot.read_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_chunk(body: &mut RequestBody) -> Poll<Result<Option<Vec<u8>>, BodyError>> {
        let waker = futures_task::noop_waker();
        body.poll_chunk(&mut Context::from_waker(&waker))
    }

    #[test]
    fn one_chunk_at_a_time_then_the_end() {
        let (mut feed, mut body) = body_channel();
        let waker = futures_task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(poll_chunk(&mut body).is_pending());
        assert_eq!(feed.poll_put(&mut cx, b"ab".to_vec()), Ok(()));
        // The slot is full: the next chunk comes back.
        assert_eq!(feed.poll_put(&mut cx, b"cd".to_vec()), Err(b"cd".to_vec()));
        assert_eq!(poll_chunk(&mut body), Poll::Ready(Ok(Some(b"ab".to_vec()))));
        assert_eq!(feed.poll_put(&mut cx, b"cd".to_vec()), Ok(()));
        feed.finish(Ok(()));
        assert_eq!(poll_chunk(&mut body), Poll::Ready(Ok(Some(b"cd".to_vec()))));
        assert_eq!(poll_chunk(&mut body), Poll::Ready(Ok(None)));
    }

    #[test]
    fn a_feed_dropped_early_is_an_error_and_a_dropped_body_stops_feeding() {
        let (feed, mut body) = body_channel();
        drop(feed);
        assert_eq!(poll_chunk(&mut body), Poll::Ready(Err(BodyError::Closed)));
        let (mut feed, body) = body_channel();
        drop(body);
        assert!(feed.reader_gone());
        let waker = futures_task::noop_waker();
        assert_eq!(
            feed.poll_put(&mut Context::from_waker(&waker), vec![1]),
            Ok(())
        );
    }
}
