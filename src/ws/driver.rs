//! The driver: one task per websocket that owns all socket I/O.
//!
//! It keeps reading whether or not a handler is in `recv()`, so pings are
//! answered, keepalive pings go out, and a close frame, EOF or reset is
//! noticed at once. Incoming data messages go to a bounded queue; while it
//! is full, the [`QueueFull`] policy applies: reading pauses (back-pressure
//! reaches the peer through TCP; a FIN or reset is still seen, through the
//! reactor's readiness, without reading), or messages are dropped, or the
//! connection fails with 1008.
//! Everything written (messages from `send`, pongs, close frames) lands in
//! the adapter's outbound buffer, and the driver drains it as the socket
//! allows.
//!
//! The connection moves through these phases (see [`Phase`]):
//!
//! ```text
//! Open --close() by us--> Closing --reply / timeout--> Draining --flushed / timeout--> Closed
//!   \--peer's close frame, protocol error (we send 1002/1007/1009)--> Draining
//!   \--EOF, reset, dead peer--------------------------------------------------------> Closed
//! ```
//!
//! A protocol error (or a message over the limit) found after data messages
//! that are still queued does not fail the connection at once: reading
//! stops, and the failure takes effect when the handler has taken every
//! queued message and asks for the next one (so the replies to messages
//! sent before the error go out first, as Autobahn's strict cases expect),
//! or after the close timeout, whichever comes first.
//!
//! Leaving `Open` for any reason but our own `close()` means the client
//! went away: the handler task is cancelled ("websocket closed") so that a
//! handler blocked on something cancellation-aware wakes and cleans up.
//! When the driver ends, the socket is closed (the registration freed), the
//! handler reference and the timer are dropped: nothing outlives it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use std::future::Future;

use tungstenite::error::{Error as TError, ProtocolError};
use tungstenite::protocol::frame::CloseFrame;

use super::adapter::NonBlocking;
use super::keepalive::{KeepAlive, KeepAliveAction};
use super::{CloseCode, Message, QueueFull, WsConfig};
use crate::rt::{Cancelled, TaskId, TaskRef};

/// tungstenite's socket over the non-blocking adapter.
pub(super) type Conn = tungstenite::WebSocket<NonBlocking>;

/// A frame payload over this many bytes has grown tungstenite's read
/// buffer (256 bytes to start with), and the grown buffer is released once
/// the connection is between messages (see
/// [`State::release_grown_buffer`]).
const RELEASE_ABOVE: u64 = 4096;

/// Where the connection is in its life; transitions in the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's, until the deadline.
    Closing(Instant),
    /// No more frames: the last bytes are written until the deadline, then
    /// the socket is closed (the server closes TCP first, RFC 6455 §7.1.1).
    Draining(Instant),
    /// The socket is closed and the driver has ended (or is ending).
    Closed,
}

/// Everything about one connection, shared by the driver and the handles.
#[derive(Debug)]
pub(super) struct Shared {
    /// The mutable part; borrowed briefly, never across an await.
    pub(super) state: RefCell<State>,
    /// How many `WebSocket` handles exist; at zero an open connection is
    /// closed with 1000.
    pub(super) handles: Cell<usize>,
}

/// The mutable state of a connection.
#[derive(Debug)]
pub(super) struct State {
    /// The framing state and the socket; `None` once the socket is closed.
    pub(super) conn: Option<Conn>,
    /// The phase.
    pub(super) phase: Phase,
    /// Received data messages not yet taken by `recv`.
    pub(super) incoming: VecDeque<Message>,
    /// The limits.
    pub(super) config: WsConfig,
    /// Keepalive schedule.
    keepalive: KeepAlive,
    /// Tasks waiting in `recv`.
    pub(super) recv_waiters: Vec<Waker>,
    /// Tasks waiting in `send` for the outbound buffer to drain.
    pub(super) send_waiters: Vec<Waker>,
    /// Tasks waiting in `close` for the socket to close.
    pub(super) close_waiters: Vec<Waker>,
    /// The driver task's waker.
    driver: Option<Waker>,
    /// The task that started the socket (the handler): cancelled when the
    /// client goes away. Dropped when the driver ends.
    handler: Option<TaskRef>,
    /// A cancel `recv` took while messages were still buffered: reported
    /// to that task once the buffer is drained.
    pub(super) deferred_cancel: Option<(TaskId, Cancelled)>,
    /// A failure found while data messages were still queued: applied when
    /// the handler asks for more with the queue empty, or at the deadline.
    failing: Option<Failure>,
    /// How many times a grown read buffer was released.
    #[cfg(test)]
    pub(super) released_buffers: usize,
}

/// A deferred failure: the close code and reason to send, and when to send
/// them at the latest.
#[derive(Debug)]
struct Failure {
    /// The close code (1002, 1007, 1009).
    code: CloseCode,
    /// The reason (the error).
    reason: String,
    /// When to fail even if the handler has not read everything.
    deadline: Instant,
}

impl State {
    /// A fresh, open connection.
    pub(super) fn new(conn: Conn, config: &WsConfig, handler: Option<TaskRef>) -> Self {
        Self {
            conn: Some(conn),
            phase: Phase::Open,
            incoming: VecDeque::new(),
            config: config.clone(),
            keepalive: KeepAlive::new(config, Instant::now()),
            recv_waiters: Vec::new(),
            send_waiters: Vec::new(),
            close_waiters: Vec::new(),
            driver: None,
            handler,
            deferred_cancel: None,
            failing: None,
            #[cfg(test)]
            released_buffers: 0,
        }
    }

    /// Makes `task` the handler to cancel when the client goes away.
    pub(super) fn set_handler(&mut self, task: TaskRef) {
        if self.phase != Phase::Closed {
            self.handler = Some(task);
        }
    }

    /// Outbound bytes not yet written to the socket.
    pub(super) fn pending_out(&self) -> usize {
        self.conn
            .as_ref()
            .map_or(0, |conn| conn.get_ref().pending_out())
    }

    /// Schedules the driver (new outbound bytes, room in the queue, ...).
    pub(super) fn wake_driver(&self) {
        if let Some(waker) = &self.driver {
            waker.wake_by_ref();
        }
    }

    /// Wakes every task waiting in `recv`, `send` or `close`.
    fn wake_all(&mut self) {
        self.recv_waiters.drain(..).for_each(Waker::wake);
        self.send_waiters.drain(..).for_each(Waker::wake);
        self.close_waiters.drain(..).for_each(Waker::wake);
    }

    /// Starts our close handshake (`close()`, or the last handle dropped).
    pub(super) fn start_close(&mut self, code: CloseCode, reason: &str) {
        if self.phase != Phase::Open {
            return;
        }
        let code = if code.is_sendable() {
            code
        } else {
            log::warn!("close code {code} may not be sent; closing with 1000");
            CloseCode::NORMAL
        };
        let frame = close_frame(code, reason);
        if let Some(conn) = &mut self.conn {
            // Queues the frame in the adapter; cannot block.
            if let Err(err) = conn.close(Some(frame)) {
                log::debug!("websocket close frame not queued: {err}");
            }
        }
        self.phase = Phase::Closing(Instant::now() + self.config.close_timeout_duration());
        self.wake_all();
        self.wake_driver();
    }

    /// Leaves `Open` because of the peer: cancels the handler.
    fn peer_gone(&mut self) {
        if self.phase != Phase::Open {
            return;
        }
        if let Some(handler) = &self.handler {
            handler.cancel_with("websocket closed");
        }
    }

    /// Moves to `Draining`: write what is queued, then close.
    fn drain(&mut self) {
        self.peer_gone();
        if !matches!(self.phase, Phase::Draining(_) | Phase::Closed) {
            self.phase = Phase::Draining(Instant::now() + self.config.close_timeout_duration());
        }
        self.wake_all();
    }

    /// Closes the socket now; the driver ends.
    fn close_now(&mut self) {
        self.peer_gone();
        self.phase = Phase::Closed;
        self.failing = None;
        self.conn = None; // closes the socket and frees its registration
        self.handler = None;
        self.driver = None;
        self.wake_all();
    }

    /// Fails the connection after a read error: sends the matching close
    /// code (1002, 1007, 1009) when there is one, else closes at once.
    fn fail(&mut self, err: TError) {
        let code = match &err {
            TError::Capacity(_) => Some(CloseCode::TOO_BIG),
            TError::Utf8(_) => Some(CloseCode::INVALID_DATA),
            TError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
            TError::Protocol(_) => Some(CloseCode::PROTOCOL_ERROR),
            _ => None,
        };
        let Some(code) = code else {
            log::debug!("websocket connection lost: {err}");
            return self.close_now();
        };
        let handler_waits = !self.recv_waiters.is_empty();
        if self.phase != Phase::Open || (self.incoming.is_empty() && handler_waits) {
            return self.fail_with(code, &err.to_string());
        }
        // Messages that came before the error are answered first.
        log::debug!("websocket error after queued messages, failing once they are read: {err}");
        self.failing = Some(Failure {
            code,
            reason: err.to_string(),
            deadline: Instant::now() + self.config.close_timeout_duration(),
        });
    }

    /// Applies a deferred failure (see the module doc); true if there was
    /// one.
    pub(super) fn apply_failure(&mut self) -> bool {
        let Some(failure) = self.failing.take() else {
            return false;
        };
        self.fail_with(failure.code, &failure.reason);
        self.wake_driver();
        true
    }

    /// Fails the connection: queues a close frame with `code`, then drains.
    fn fail_with(&mut self, code: CloseCode, reason: &str) {
        log::info!("closing websocket with {code}: {reason}");
        if let Some(conn) = &mut self.conn {
            if let Err(err) = conn.close(Some(close_frame(code, reason))) {
                log::debug!("websocket close frame not queued: {err}");
            }
        }
        self.drain();
    }

    /// Reads and handles frames until the socket has nothing more, the
    /// queue is full (and the policy pauses), or the connection stops
    /// reading.
    fn read_frames(&mut self) {
        loop {
            let Some(conn) = &mut self.conn else { return };
            let open = self.phase == Phase::Open;
            if matches!(self.phase, Phase::Draining(_) | Phase::Closed) || self.failing.is_some() {
                self.keepalive.on_frame(); // nothing is read: not the peer's silence
                return;
            }
            if open
                && self.config.queue_full() == QueueFull::Pause
                && self.incoming.len() >= self.config.incoming_queue_len()
            {
                // Paused: pongs cannot be seen, so do not hold their absence
                // against the peer. Its leaving is seen without reading.
                self.keepalive.on_frame();
                if conn.get_ref().peer_left() {
                    log::debug!("websocket peer left while reading was paused");
                    self.close_now();
                }
                return;
            }
            match conn.read() {
                Ok(message) => {
                    self.keepalive.on_frame();
                    self.on_message(message, open);
                }
                Err(TError::Io(err)) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    debug_assert!(conn.get_ref().read_blocked(), "only reads block");
                    // Every whole frame is handled; a text the scan found
                    // invalid in a frame still coming fails now (1007).
                    if let Some(invalid) = conn.get_mut().take_invalid_text() {
                        self.fail(TError::Utf8(invalid.to_string()));
                        continue;
                    }
                    if open {
                        self.release_grown_buffer();
                    }
                    return;
                }
                Err(TError::ConnectionClosed | TError::AlreadyClosed) => self.drain(),
                Err(err) => self.fail(err),
            }
        }
    }

    /// tungstenite grows its read buffer to hold the largest frame
    /// received and keeps it for the connection's life. Once a frame over
    /// [`RELEASE_ABOVE`] bytes has come and the connection, open, is
    /// between messages with every byte read taken, tungstenite holds no
    /// partial frame or message and no reply it has not written (it writes
    /// pongs before it reports `WouldBlock`, and the adapter takes every
    /// write): a fresh tungstenite socket takes the stream over, and the
    /// grown buffer is freed.
    fn release_grown_buffer(&mut self) {
        let Some(conn) = &mut self.conn else { return };
        let adapter = conn.get_mut();
        if !adapter.between_messages() || adapter.take_largest_frame() <= RELEASE_ABOVE {
            return;
        }
        if let Some(old) = self.conn.take() {
            self.conn = Some(tungstenite::WebSocket::from_raw_socket(
                old.into_inner(),
                tungstenite::protocol::Role::Server,
                Some(self.config.tungstenite()),
            ));
            #[cfg(test)]
            {
                self.released_buffers += 1;
            }
        }
    }

    /// Handles one message tungstenite read.
    fn on_message(&mut self, message: tungstenite::Message, open: bool) {
        let data = match message {
            tungstenite::Message::Text(text) => Message::Text(text.as_str().to_owned()),
            tungstenite::Message::Binary(bytes) => Message::Binary(Vec::from(bytes)),
            tungstenite::Message::Close(frame) => {
                log::debug!("websocket close frame received: {frame:?}");
                if let Some(conn) = &mut self.conn {
                    // Writes the queued reply; then tungstenite reports the
                    // handshake done (`ConnectionClosed`), which is expected.
                    let _ = conn.flush();
                }
                return self.drain();
            }
            // Pongs to pings were queued by tungstenite and go out on the
            // next read; a pong or frame needs nothing more.
            _ => return,
        };
        if !open {
            return; // while closing, data is dropped: the handler asked to stop
        }
        if self.incoming.len() >= self.config.incoming_queue_len() {
            match self.config.queue_full() {
                // Not reached: reading pauses before the queue overflows.
                QueueFull::Pause => {}
                QueueFull::Drop => {
                    log::debug!("websocket incoming queue full; message dropped");
                    return;
                }
                QueueFull::Close => {
                    return self.fail_with(CloseCode::POLICY, "incoming queue full");
                }
            }
        }
        self.incoming.push_back(data);
        self.recv_waiters.drain(..).for_each(Waker::wake);
    }

    /// Acts on the timers: keepalive while open, the close deadline after.
    /// Returns the next deadline.
    fn on_time(&mut self, now: Instant) -> Option<Instant> {
        match self.phase {
            Phase::Open => {
                if let Some(failure) = &self.failing {
                    if failure.deadline > now {
                        return Some(failure.deadline);
                    }
                    self.apply_failure();
                    return self.on_time(now);
                }
                match self.keepalive.on_time(now) {
                    KeepAliveAction::Wait => {}
                    KeepAliveAction::Ping => {
                        if let Some(conn) = &mut self.conn {
                            let ping = tungstenite::Message::Ping(Default::default());
                            if let Err(err) = conn.write(ping) {
                                log::debug!("websocket keepalive ping not queued: {err}");
                            }
                        }
                    }
                    KeepAliveAction::Dead => {
                        log::info!("websocket peer did not answer a ping in time; closing");
                        self.close_now();
                        return None;
                    }
                }
                self.keepalive.deadline()
            }
            Phase::Closing(deadline) | Phase::Draining(deadline) if deadline <= now => {
                log::debug!("websocket close handshake timed out");
                self.close_now();
                None
            }
            Phase::Closing(deadline) | Phase::Draining(deadline) => Some(deadline),
            Phase::Closed => None,
        }
    }

    /// Writes queued bytes; once draining and empty, shuts the socket
    /// down and closes it at the peer's EOF.
    fn flush(&mut self, cx: &mut Context<'_>) {
        let Some(conn) = &mut self.conn else { return };
        match conn.get_mut().poll_flush_out(cx) {
            Poll::Ready(Ok(())) => {
                if matches!(self.phase, Phase::Draining(_)) {
                    if conn.get_mut().poll_linger(cx).is_ready() {
                        self.close_now();
                    }
                    return;
                }
            }
            Poll::Ready(Err(err)) => {
                log::debug!("websocket write failed: {err}");
                return self.close_now();
            }
            Poll::Pending => {}
        }
        if self.pending_out() <= self.config.outbound_buffer_bytes() {
            self.send_waiters.drain(..).for_each(Waker::wake);
        }
    }

    /// One pass of the driver: flush, read, flush what reading produced
    /// (pongs, close replies), timers. Returns the next deadline.
    fn turn(&mut self, cx: &mut Context<'_>) -> Option<Instant> {
        match &self.driver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => self.driver = Some(cx.waker().clone()),
        }
        if let Some(conn) = &mut self.conn {
            conn.get_mut().set_waker(cx.waker());
        }
        self.flush(cx);
        self.read_frames();
        let deadline = self.on_time(Instant::now());
        self.flush(cx); // pongs, close replies, pings
        deadline
    }
}

/// A close frame with `reason` cut to fit a control frame (123 bytes).
fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code: code.as_u16().into(),
        reason: reason[..end].into(),
    }
}

/// The driver task: turns until the socket is closed.
pub(super) async fn drive(shared: Rc<Shared>) {
    let mut timer = crate::rt::sleep_until(Instant::now());
    poll_fn(|cx| loop {
        let deadline = {
            let mut state = shared.state.borrow_mut();
            let deadline = state.turn(cx);
            if state.phase == Phase::Closed {
                return Poll::Ready(());
            }
            deadline
        };
        let Some(deadline) = deadline else {
            return Poll::Pending;
        };
        if timer.deadline() != deadline {
            timer.reset(deadline);
        }
        if Pin::new(&mut timer).poll(cx).is_pending() {
            return Poll::Pending;
        }
        // A deadline passed: turn again to act on it.
    })
    .await;
}
