//! The connection driver: read → parse → body → call → encode → write,
//! looping for keep-alive and pipelining. The only file of this module that
//! touches a socket.
//!
//! Fast path: every request already in the read buffer is parsed and
//! answered before anything is written, and all the responses that are
//! ready go out in one write. Waiting happens only when the buffer runs dry
//! (flush, then read), when a handler is pending (flush, then wait for it
//! while watching the socket for a disconnect) or when the socket is full.
//!
//! Timeouts use one timer per connection that is re-armed lazily: moving a
//! deadline later costs nothing until the old one fires, so a busy
//! keep-alive connection touches the loop's timer table about once per
//! timeout period, not once per request.

use std::borrow::Cow;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown as Direction, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use httparse::Status;

use super::body::BodyDecoder;
use super::body_stream::{body_channel, BodyError};
use super::buf::{give_body_buf, give_write_buf, take_write_buf, ReadBuf};
use super::encode::{encode_chunk, encode_head, encode_last_chunk, Framing, Persist};
use super::error::ParseError;
use super::limits::Limits;
use super::method::{Method, Version};
use super::parse::{parse_head, BodyKind, Head};
use super::request::Request;
use super::response::{Body, OnUpgrade, Response};
use super::service::{Service, Shutdown};
use super::status::StatusCode;
use super::stream::BodyStream;
use crate::net::Stream;
use crate::rt::{PooledFuture, Sleep};

/// Responses buffered beyond this many bytes are written at once.
const FLUSH_AT: usize = 64 * 1024;
/// After an error response, how long unread input is drained so that the
/// close is a FIN the client can read the response before, not a reset.
const LINGER: Duration = Duration::from_secs(2);
/// And how many bytes at most.
const LINGER_BYTES: usize = 256 * 1024;

/// How a connection ends.
#[must_use]
enum End {
    /// Close without writing more: EOF, idle timeout, shutdown, I/O error.
    Quiet,
    /// Answer with this status, then close.
    Fail(StatusCode, &'static str),
    /// All answered; close after draining unread input.
    Close,
    /// Hand the socket to the upgrade callback.
    Upgrade(OnUpgrade),
}

impl From<ParseError> for End {
    fn from(err: ParseError) -> End {
        End::Fail(err.status(), err.message())
    }
}

/// Serves one connection until it closes (or is upgraded).
pub(crate) async fn serve_connection<S: Service>(
    stream: impl Into<Stream>,
    peer: SocketAddr,
    service: Rc<S>,
    limits: Rc<Limits>,
    shutdown: Shutdown,
) {
    let head_deadline = Some(crate::rt::coarse_now() + limits.request_timeout);
    let mut conn = Conn {
        io: stream.into(),
        peer,
        limits,
        shutdown,
        rbuf: ReadBuf::default(),
        wbuf: Vec::new(),
        timer: crate::rt::sleep_until(far_future()),
        head_deadline,
        served: 0,
        read_closed: false,
    };
    let end = conn.run(&service).await;
    match end {
        End::Quiet => {}
        End::Fail(status, message) => conn.fail(status, message).await,
        End::Close => conn.close_gracefully().await,
        End::Upgrade(on_upgrade) => {
            let leftover = conn.rbuf.take_rest();
            give_write_buf(std::mem::take(&mut conn.wbuf));
            return on_upgrade(conn.io, leftover);
        }
    }
    conn.rbuf.consume(usize::MAX);
    conn.rbuf.release_if_empty();
    give_write_buf(std::mem::take(&mut conn.wbuf));
}

/// About thirty years from now.
fn far_future() -> Instant {
    crate::rt::coarse_now() + Duration::from_secs(86_400 * 365 * 30)
}

/// One connection's state.
struct Conn {
    /// The socket.
    io: Stream,
    /// The client's address.
    peer: SocketAddr,
    /// Sizes and timeouts.
    limits: Rc<Limits>,
    /// The worker's stop signal.
    shutdown: Shutdown,
    /// Bytes read and not yet used.
    rbuf: ReadBuf,
    /// Responses encoded and not yet written; no capacity while idle.
    wbuf: Vec<u8>,
    /// The connection's one timer (see the module doc).
    timer: Sleep,
    /// When the head being read must be complete.
    head_deadline: Option<Instant>,
    /// Requests answered so far.
    served: u64,
    /// The client half-closed (sent its FIN) while a request was being
    /// answered: answer what it sent, read no more, then close.
    read_closed: bool,
}

impl Conn {
    /// Answers requests until the connection should end.
    ///
    /// The blocks are there for the future's size: a local's room in it is
    /// kept until its block ends (moved or not), so the head and the
    /// request end before the response is written.
    async fn run<S: Service>(&mut self, service: &Rc<S>) -> End {
        loop {
            let (response, version, is_head, close) = {
                let (request, version, is_head, close, kind, expect_continue) = {
                    let head = match self.next_head().await {
                        Ok(head) => head,
                        Err(end) => return end,
                    };
                    let close = !head.keep_alive;
                    let (version, is_head) = (head.version, head.method == Method::Head);
                    let (kind, expect_continue) = (head.body, head.expect_continue);
                    if matches!(kind, BodyKind::Length(n) if n > self.limits.max_body_bytes) {
                        return ParseError::BodyTooLarge.into();
                    }
                    let request = Request::from_head(head, Vec::new(), self.peer);
                    (request, version, is_head, close, kind, expect_continue)
                };
                // A streaming route reads the body as it comes; others get
                // it whole.
                let streamed = !matches!(kind, BodyKind::Empty | BodyKind::Length(0))
                    && service.streams_body(&request);
                let answer = if streamed {
                    // Boxed, like `stream_body` below: a connection's
                    // future is as large as its largest state and is kept
                    // while the connection is idle, and these rare paths
                    // would make it larger for every connection.
                    Box::pin(self.call_streaming(service, request, kind, expect_continue)).await
                } else {
                    let body = match self.read_body(kind, expect_continue).await {
                        Ok(body) => body,
                        Err(end) => return end,
                    };
                    let request = request.with_body(body);
                    self.call(service, request)
                        .await
                        .map(|(response, panicked)| (response, panicked, true))
                };
                let (response, panicked, body_read) = match answer {
                    Ok(answer) => answer,
                    Err(end) => return end,
                };
                self.served += 1;
                let close = close
                    || panicked
                    || (self.read_closed && self.rbuf.is_empty())
                    || !body_read
                    || self.shutdown.is_triggered()
                    || wants_close(&response);
                (response, version, is_head, close)
            };
            if let Err(end) = self.respond(response, version, is_head, close).await {
                return end;
            }
            if close {
                return End::Close;
            }
        }
    }

    /// The next request head, reading (and flushing first) as needed.
    async fn next_head(&mut self) -> Result<Head, End> {
        loop {
            if !self.rbuf.is_empty() {
                if let Status::Complete(head) = parse_head(self.rbuf.bytes(), &self.limits)? {
                    self.rbuf.consume(head.len);
                    self.head_deadline = None;
                    return Ok(head);
                }
            }
            self.flush().await?;
            give_write_buf(std::mem::take(&mut self.wbuf));
            self.read_more_head().await?;
        }
    }

    /// Waits for more bytes of a head, or for the connection to end.
    async fn read_more_head(&mut self) -> Result<(), End> {
        let idle = self.rbuf.is_empty();
        if self.read_closed || (idle && self.shutdown.is_triggered()) {
            return Err(End::Quiet);
        }
        let deadline = match (idle && self.served > 0, self.head_deadline) {
            (true, _) => crate::rt::coarse_now() + self.limits.keep_alive_timeout,
            (false, Some(deadline)) => deadline,
            (false, None) => *self
                .head_deadline
                .insert(crate::rt::coarse_now() + self.limits.request_timeout),
        };
        let shutdown = self.shutdown.clone();
        let mut stop = std::pin::pin!(shutdown.triggered());
        let outcome = poll_fn(|cx| {
            if let Poll::Ready(read) = self.poll_read_some(cx) {
                return Poll::Ready(Some(read));
            }
            if poll_expired(&mut self.timer, cx, deadline) {
                return Poll::Ready(None);
            }
            if self.rbuf.is_empty() && stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Ok(0)));
            }
            Poll::Pending
        })
        .await;
        match outcome {
            Some(Ok(0)) | Some(Err(_)) => Err(End::Quiet),
            Some(Ok(_)) => Ok(()),
            None if idle && self.served > 0 => Err(End::Quiet),
            None => Err(End::Fail(
                StatusCode::REQUEST_TIMEOUT,
                "request head not received in time",
            )),
        }
    }

    /// Reads the whole body of kind `kind` (its length already checked).
    async fn read_body(&mut self, kind: BodyKind, expect_continue: bool) -> Result<Vec<u8>, End> {
        let max = self.limits.max_body_bytes;
        let mut decoder = BodyDecoder::new(kind);
        let mut body = match kind {
            BodyKind::Length(n) => Vec::with_capacity(usize::try_from(n.min(1 << 20)).unwrap_or(0)),
            _ => Vec::new(),
        };
        let mut continue_sent = !expect_continue;
        while !decoder.is_done() {
            let progress = decoder.decode(self.rbuf.bytes(), &mut body, max)?;
            self.rbuf.consume(progress.consumed);
            if progress.done {
                break;
            }
            if !continue_sent {
                continue_sent = true;
                self.wbuf_mut()
                    .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            self.flush().await?;
            self.read_more_body().await?;
        }
        Ok(body)
    }

    /// Runs the handler of a streaming route, feeding it the body as it
    /// arrives (see `body_stream.rs`): one decoded chunk waits in the
    /// handler's slot and at most one more here, and the socket is read
    /// only when this one is gone. The third value says whether the whole
    /// body was read (else the connection closes after the response).
    async fn call_streaming<S: Service>(
        &mut self,
        service: &Rc<S>,
        mut request: Request,
        kind: BodyKind,
        expect_continue: bool,
    ) -> Result<(Response, bool, bool), End> {
        if expect_continue {
            self.wbuf_mut()
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        self.flush().await?;
        let (feed, body) = body_channel();
        request.set_body_stream(body);
        let max = self.limits.max_body_bytes;
        let timeout = self.limits.body_timeout;
        let mut decoder = BodyDecoder::new(kind);
        let mut feed = Some(feed);
        let mut pending: Option<Vec<u8>> = None;
        let mut received: u64 = 0;
        let mut failed = false;
        let mut deadline = crate::rt::coarse_now() + timeout;
        let mut handler = Rc::clone(service).call(request);
        let outcome = poll_fn(|cx| loop {
            if let Poll::Ready(result) = poll_handler(&mut handler, cx) {
                return Poll::Ready(Ok(result));
            }
            let Some(slot) = feed.as_mut() else {
                // Fed (or given up): only a client that leaves matters now.
                if self.poll_client_gone(cx) {
                    return Poll::Ready(Err(End::Quiet));
                }
                return Poll::Pending;
            };
            if slot.reader_gone() {
                feed = None; // the handler dropped the body: stop feeding
                continue;
            }
            if let Some(chunk) = pending.take() {
                match slot.poll_put(cx, chunk) {
                    Ok(()) => continue,
                    Err(chunk) => {
                        pending = Some(chunk);
                        return Poll::Pending; // woken when the handler takes one
                    }
                }
            }
            if decoder.is_done() {
                if let Some(slot) = feed.take() {
                    slot.finish(Ok(()));
                }
                continue;
            }
            if !self.rbuf.is_empty() {
                let mut chunk = Vec::new();
                match decoder.decode(self.rbuf.bytes(), &mut chunk, max - received) {
                    Ok(progress) => {
                        self.rbuf.consume(progress.consumed);
                        received += chunk.len() as u64;
                        if !chunk.is_empty() {
                            pending = Some(chunk);
                            continue;
                        }
                        if progress.done {
                            continue;
                        }
                    }
                    Err(err) => {
                        failed = true;
                        if let Some(slot) = feed.take() {
                            slot.finish(Err(BodyError::from(err)));
                        }
                        continue;
                    }
                }
            }
            match self.poll_read_some(cx) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Err(End::Quiet)),
                Poll::Ready(Ok(_)) => deadline = crate::rt::coarse_now() + timeout,
                Poll::Pending if poll_expired(&mut self.timer, cx, deadline) => {
                    return Poll::Ready(Err(End::Fail(
                        StatusCode::REQUEST_TIMEOUT,
                        "request body not received in time",
                    )));
                }
                Poll::Pending => return Poll::Pending,
            }
        })
        .await?;
        let body_read = decoder.is_done() && !failed;
        match outcome {
            Ok(response) => Ok((response, false, body_read)),
            Err(()) => {
                log::error!("a handler panicked while answering {}", self.peer);
                Ok((
                    Response::new(StatusCode::INTERNAL_SERVER_ERROR),
                    true,
                    false,
                ))
            }
        }
    }

    /// Reads some bytes, or gives up at `deadline` (`None`).
    async fn read_by(&mut self, deadline: Instant) -> Option<io::Result<usize>> {
        poll_fn(|cx| {
            if let Poll::Ready(read) = self.poll_read_some(cx) {
                return Poll::Ready(Some(read));
            }
            if poll_expired(&mut self.timer, cx, deadline) {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    /// Waits for more bytes of a body.
    async fn read_more_body(&mut self) -> Result<(), End> {
        if self.read_closed {
            return Err(End::Quiet);
        }
        let deadline = crate::rt::coarse_now() + self.limits.body_timeout;
        match self.read_by(deadline).await {
            Some(Ok(0)) | Some(Err(_)) => Err(End::Quiet),
            Some(Ok(_)) => Ok(()),
            None => Err(End::Fail(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time",
            )),
        }
    }

    /// Runs the handler. While it is pending, earlier responses are written
    /// and the socket is watched: a reset or a socket error drops the
    /// handler (the client is gone); a FIN does not (see
    /// [`poll_client_gone`](Self::poll_client_gone)). A panic that reaches
    /// this far gives a 500 and the flag closes the connection; the app's
    /// service catches its handlers' panics itself and answers with its
    /// error handler's 500, so a connection served by the app stays open.
    async fn call<S: Service>(
        &mut self,
        service: &Rc<S>,
        request: Request,
    ) -> Result<(Response, bool), End> {
        let mut handler = Rc::clone(service).call(request);
        let mut result = poll_fn(|cx| Poll::Ready(poll_handler(&mut handler, cx))).await;
        if result.is_pending() {
            self.flush().await?;
            let waited = poll_fn(|cx| match poll_handler(&mut handler, cx) {
                Poll::Ready(result) => Poll::Ready(Some(result)),
                Poll::Pending if self.poll_client_gone(cx) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            })
            .await;
            result = Poll::Ready(waited.ok_or(End::Quiet)?);
        }
        match result {
            Poll::Ready(Ok(response)) => Ok((response, false)),
            _ => {
                log::error!("a handler panicked while answering {}", self.peer);
                Ok((Response::new(StatusCode::INTERNAL_SERVER_ERROR), true))
            }
        }
    }

    /// Reads ahead while waiting on something else; true when the socket
    /// failed (a reset: the client is gone).
    ///
    /// An end of input is not taken as "gone": RFC 9112 (section 9.6) lets
    /// a client half-close after its request and still read the response
    /// (`nc -N`, some proxies). It is noted in `read_closed`; the request
    /// is answered and the connection then closes. The cost: a client that
    /// closed entirely looks the same until a write to it fails, so its
    /// handler runs to its end (a streamed body stops at the first failed
    /// write).
    fn poll_client_gone(&mut self, cx: &mut Context<'_>) -> bool {
        while !self.read_closed && self.rbuf.len() <= self.limits.max_head_bytes {
            match self.poll_read_some(cx) {
                Poll::Ready(Ok(0)) => self.read_closed = true,
                Poll::Ready(Err(_)) => return true,
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return false,
            }
        }
        false
    }

    /// Encodes `response` and writes it when the buffer is large or the
    /// body is streamed.
    async fn respond(
        &mut self,
        response: Response,
        version: Version,
        is_head: bool,
        close: bool,
    ) -> Result<(), End> {
        let persist = match (close, version) {
            (true, _) => Persist::Close,
            (false, Version::Http10) => Persist::KeepAlive10,
            (false, Version::Http11) => Persist::Default,
        };
        let Response {
            status,
            headers,
            body,
            upgrade,
            ..
        } = response;
        if let Some(on_upgrade) = upgrade {
            encode_head(
                self.wbuf_mut(),
                status,
                &headers,
                Framing::Unframed,
                Persist::Default,
            );
            self.flush().await?;
            return Err(End::Upgrade(on_upgrade));
        }
        match body {
            Body::Full(bytes) => {
                let framing = if status.has_no_body() {
                    Framing::Unframed
                } else {
                    Framing::Length(bytes.len() as u64)
                };
                let wbuf = self.wbuf_mut();
                encode_head(wbuf, status, &headers, framing, persist);
                if !is_head && framing != Framing::Unframed {
                    wbuf.extend_from_slice(&bytes);
                }
                if let Cow::Owned(body) = bytes {
                    give_body_buf(body);
                }
                if self.wbuf.len() >= FLUSH_AT {
                    self.flush().await?;
                }
                Ok(())
            }
            Body::Stream(stream) => {
                // A length known in advance (a file) is sent as it is;
                // otherwise chunked, except to an HTTP/1.0 client, which
                // cannot read chunks: raw, then close.
                let (framing, persist) = match (stream.length(), version) {
                    (Some(n), _) => (Framing::Length(n), persist),
                    (None, Version::Http10) => (Framing::Unframed, Persist::Close),
                    (None, Version::Http11) => (Framing::Chunked, persist),
                };
                encode_head(self.wbuf_mut(), status, &headers, framing, persist);
                if is_head {
                    return Ok(());
                }
                Box::pin(self.stream_body(stream, framing)).await?;
                if framing == Framing::Unframed {
                    Err(End::Close)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Writes a streamed body chunk by chunk as the handler sends it. A
    /// graceful stop ends the body (an event stream never would by itself)
    /// and the connection closes after it. A body of announced length gets
    /// no more than that many bytes, and one that ends short closes the
    /// connection (the client cannot otherwise tell).
    async fn stream_body(&mut self, mut stream: BodyStream, framing: Framing) -> Result<(), End> {
        let shutdown = self.shutdown.clone();
        let mut stopping = std::pin::pin!(shutdown.triggered());
        let mut left = match framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        loop {
            self.flush().await?;
            let next = poll_fn(|cx| match stream.poll_next(cx) {
                Poll::Ready(next) => Poll::Ready(Some(next)),
                Poll::Pending if self.poll_client_gone(cx) => Poll::Ready(None),
                Poll::Pending if stopping.as_mut().poll(cx).is_ready() => Poll::Ready(Some(None)),
                Poll::Pending => Poll::Pending,
            })
            .await
            .ok_or(End::Quiet)?;
            match (next, framing) {
                (Some(chunk), Framing::Chunked) => encode_chunk(self.wbuf_mut(), &chunk),
                (Some(chunk), _) => {
                    let take = left.map_or(chunk.len(), |left| {
                        usize::try_from(left).map_or(chunk.len(), |left| left.min(chunk.len()))
                    });
                    if let Some(left) = &mut left {
                        *left -= take as u64;
                    }
                    self.wbuf_mut().extend_from_slice(&chunk[..take]);
                }
                (None, Framing::Chunked) => {
                    encode_last_chunk(self.wbuf_mut());
                    return Ok(());
                }
                (None, _) if left.is_some_and(|left| left > 0) => return Err(End::Close),
                (None, _) => return Ok(()),
            }
        }
    }

    /// The write buffer, taken from the pool if the connection has none.
    fn wbuf_mut(&mut self) -> &mut Vec<u8> {
        if self.wbuf.capacity() == 0 {
            self.wbuf = take_write_buf();
        }
        &mut self.wbuf
    }

    /// Writes everything buffered; a client that takes nothing for the
    /// response timeout is cut off.
    async fn flush(&mut self) -> Result<(), End> {
        let mut written = 0;
        while written < self.wbuf.len() {
            let mut deadline = None;
            let outcome = poll_fn(|cx| {
                if let Poll::Ready(result) = self.io.poll_write(cx, &self.wbuf[written..]) {
                    return Poll::Ready(Some(result));
                }
                let deadline = *deadline
                    .get_or_insert_with(|| crate::rt::coarse_now() + self.limits.response_timeout);
                if poll_expired(&mut self.timer, cx, deadline) {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await;
            match outcome {
                Some(Ok(0)) | Some(Err(_)) => return Err(End::Quiet),
                Some(Ok(n)) => written += n,
                None => {
                    log::debug!("{}: client stopped reading; closing", self.peer);
                    return Err(End::Quiet);
                }
            }
        }
        self.wbuf.clear();
        if self.io.has_pending_output() {
            return self.flush_stream().await;
        }
        Ok(())
    }

    /// Waits until the stream has sent what it holds back (TLS records
    /// encrypted but not yet taken by the socket), as `flush` does.
    async fn flush_stream(&mut self) -> Result<(), End> {
        let deadline = crate::rt::coarse_now() + self.limits.response_timeout;
        let outcome = poll_fn(|cx| {
            if let Poll::Ready(result) = self.io.poll_flush(cx) {
                return Poll::Ready(Some(result));
            }
            if poll_expired(&mut self.timer, cx, deadline) {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(_)) | None => Err(End::Quiet),
        }
    }

    /// Reads into the buffer; when it would wait with nothing buffered the
    /// buffer goes back to the pool.
    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let result = self.io.poll_read(cx, self.rbuf.spare());
        match result {
            Poll::Ready(Ok(n)) => self.rbuf.filled(n),
            Poll::Ready(Err(_)) => {}
            Poll::Pending => self.rbuf.release_if_empty(),
        }
        result
    }

    /// Answers with an error status, then closes.
    async fn fail(&mut self, status: StatusCode, message: &'static str) {
        log::debug!("{}: {status}: {message}", self.peer);
        // JSON like every other error answer: {"error": "<message>"}.
        let body = super::error::HttpError::new(status, message).json_body();
        let mut headers = super::headers::Headers::with_capacity(1, 40);
        headers.append("content-type", "application/json");
        let wbuf = self.wbuf_mut();
        encode_head(
            wbuf,
            status,
            &headers,
            Framing::Length(body.len() as u64),
            Persist::Close,
        );
        wbuf.extend_from_slice(&body);
        self.close_gracefully().await;
    }

    /// Writes what is buffered, half-closes, and drains unread input for a
    /// while so that the client sees the response before the close.
    async fn close_gracefully(&mut self) {
        if self.flush().await.is_err() {
            return;
        }
        if self.io.shutdown(Direction::Write).is_err() {
            return;
        }
        self.rbuf.consume(usize::MAX);
        let deadline = crate::rt::coarse_now() + LINGER;
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match self.read_by(deadline).await {
                Some(Ok(n)) if n > 0 => drained += n,
                _ => return,
            }
            self.rbuf.consume(usize::MAX);
        }
    }
}

/// True when the handler asked to close with `Connection: close`.
fn wants_close(response: &Response) -> bool {
    response
        .headers()
        .get_all("connection")
        .any(|v| v.eq_ignore_ascii_case("close"))
}

/// Polls a handler, turning a panic into `Err(())`.
fn poll_handler(
    handler: &mut PooledFuture<Response>,
    cx: &mut Context<'_>,
) -> Poll<Result<Response, ()>> {
    crate::rt::poll_catching(handler, cx).map(|result| result.map_err(drop))
}

/// True once `deadline` has passed; otherwise makes sure `timer` will wake
/// the task by then. The timer is moved only when the deadline is earlier
/// than its own or when it fires early (lazy re-arming).
fn poll_expired(timer: &mut Sleep, cx: &mut Context<'_>, deadline: Instant) -> bool {
    if timer.deadline() > deadline {
        timer.reset(deadline);
    }
    loop {
        match Pin::new(&mut *timer).poll(cx) {
            Poll::Pending => return false,
            Poll::Ready(()) if Instant::now() >= deadline => return true,
            Poll::Ready(()) => timer.reset(deadline),
        }
    }
}
