//! `WebSocket`: the handle a handler (and any task on the same loop) uses
//! to receive, send and close.
//!
//! The handle holds no socket: it shares the connection's state with the
//! driver task (see `driver.rs`), which does all the I/O. `recv` takes from
//! the driver's queue, `send` hands a frame to the outbound buffer and
//! wakes the driver, `close` starts the close handshake and waits for the
//! driver to finish it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::adapter::NonBlocking;
use super::driver::{drive, Phase, Shared, State};
use super::{CloseCode, Message, WsConfig, WsError};
use crate::net::Stream;
use crate::rt::{take_cancel, TaskRef};

/// One websocket connection, as seen by its handler.
///
/// A cheap handle: clone it to hand the socket to another task on the same
/// loop (one task may sit in [`recv`](Self::recv) while another sends).
/// Dropping a handle does nothing to the connection; when the **last**
/// handle is dropped while the connection is open, it is closed with 1000.
///
/// Behind it, a driver task keeps reading: it answers pings, sends
/// keepalive pings, buffers incoming messages (up to
/// [`WsConfig::incoming_queue`], then reading pauses) and notices a close
/// or a lost connection as soon as it reads it: at once, unless the queue
/// is full and reading paused (then when the handler receives again, or
/// when a write fails). When the client goes away, buffered
/// messages can still be received, then `recv` returns `None`, `send`
/// fails, and the task that started the socket (the handler) is cancelled
/// with the message "websocket closed", so a handler waiting on something
/// cancellation-aware wakes and runs its cleanup.
///
/// # Examples
///
/// An echo handler, and the receiver-task pattern:
///
/// ```
/// use sanio::{Message, WebSocket};
///
/// async fn echo(ws: WebSocket) {
///     while let Some(message) = ws.recv().await {
///         if ws.send(message).await.is_err() {
///             break;
///         }
///     }
/// }
///
/// async fn chat(ws: WebSocket) {
///     let reader = ws.clone();
///     let incoming = sanio::spawn(async move {
///         let mut count = 0;
///         while let Some(Message::Text(_)) = reader.recv().await {
///             count += 1;
///         }
///         count
///     });
///     let _ = ws.send("welcome").await;
///     let _ = incoming.await;
///     ws.close(sanio::CloseCode::NORMAL, "bye").await;
/// }
/// # let _ = (echo, chat);
/// ```
pub struct WebSocket {
    /// The connection, shared with the driver task and other handles.
    shared: Rc<Shared>,
}

impl WebSocket {
    /// Takes over a connection whose `101 Switching Protocols` response has
    /// been written: `leftover` holds bytes already read past the request
    /// head (frames the client sent right away). Spawns the driver on the
    /// current loop, and remembers the current task as the handler to
    /// cancel when the client goes away.
    ///
    /// # Panics
    ///
    /// Outside a sanio runtime (a `TcpStream` cannot exist there).
    pub(crate) fn start(
        stream: impl Into<Stream>,
        leftover: Vec<u8>,
        config: &WsConfig,
    ) -> WebSocket {
        let conn = tungstenite::WebSocket::from_partially_read(
            NonBlocking::new(stream.into(), &leftover),
            leftover,
            tungstenite::protocol::Role::Server,
            Some(config.tungstenite()),
        );
        let shared = Rc::new(Shared {
            state: RefCell::new(State::new(conn, config, TaskRef::current())),
            handles: Cell::new(1),
        });
        drop(crate::rt::spawn(drive(Rc::clone(&shared)))); // detached
        WebSocket { shared }
    }

    /// Whether the connection holds a read chunk (bytes not yet framed).
    #[cfg(test)]
    pub(crate) fn holds_read_chunk(&self) -> bool {
        let state = self.shared.state.borrow();
        state
            .conn
            .as_ref()
            .is_some_and(|conn| conn.get_ref().holds_read_chunk())
    }

    /// How many times the connection released a grown read buffer.
    #[cfg(test)]
    pub(crate) fn released_read_buffers(&self) -> usize {
        self.shared.state.borrow().released_buffers
    }

    /// Makes `task` the handler: the task cancelled when the client goes
    /// away, in place of the one that called [`start`](Self::start).
    pub(crate) fn set_handler_task(&self, task: TaskRef) {
        self.shared.state.borrow_mut().set_handler(task);
    }

    /// Waits for the next text or binary message; `None` once the
    /// connection is closed (cleanly or not) and every buffered message has
    /// been received, or when the calling task was cancelled.
    ///
    /// Cancellation-aware: see [`recv_checked`](Self::recv_checked), which
    /// tells a cancel apart from a close.
    ///
    /// # Examples
    ///
    /// ```
    /// async fn count(ws: sanio::WebSocket) -> usize {
    ///     let mut n = 0;
    ///     while ws.recv().await.is_some() {
    ///         n += 1;
    ///     }
    ///     n
    /// }
    /// # let _ = count;
    /// ```
    pub async fn recv(&self) -> Option<Message> {
        self.recv_checked().await.ok().flatten()
    }

    /// Like [`recv`](Self::recv), but a cancel of the calling task is an
    /// error: `Ok(Some(message))`, `Ok(None)` once closed and drained, or
    /// `Err(WsError::Cancelled(..))`.
    ///
    /// The cancel is taken (marked observed) by the first poll that sees
    /// it. If messages are still buffered then, they are returned first and
    /// the cancel is reported once the buffer is empty; the task has its
    /// grace period to process them.
    ///
    /// # Errors
    ///
    /// [`WsError::Cancelled`] when the calling task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// async fn handler(ws: sanio::WebSocket) {
    ///     loop {
    ///         match ws.recv_checked().await {
    ///             Ok(Some(message)) => drop(message),
    ///             Ok(None) => break, // the client closed
    ///             Err(err) => {
    ///                 assert!(err.cancelled().is_some());
    ///                 break; // cancelled: clean up
    ///             }
    ///         }
    ///     }
    /// }
    /// # let _ = handler;
    /// ```
    pub async fn recv_checked(&self) -> Result<Option<Message>, WsError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Sends a text (`&str`, `String`) or binary (`Vec<u8>`, `&[u8]`)
    /// message. Waits while the connection's outbound buffer is above
    /// [`WsConfig::outbound_buffer`]; returns once the message is queued
    /// (the driver writes it).
    ///
    /// # Errors
    ///
    /// [`WsError::Closed`] once the connection is closed or closing,
    /// [`WsError::Cancelled`] when the calling task was cancelled (the
    /// message is not sent), [`WsError::MessageTooLarge`] above
    /// [`WsConfig::max_message_size`].
    ///
    /// # Examples
    ///
    /// ```
    /// async fn greet(ws: sanio::WebSocket) -> Result<(), sanio::WsError> {
    ///     ws.send("hello").await?;
    ///     ws.send(vec![0xde, 0xad]).await
    /// }
    /// # let _ = greet;
    /// ```
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), WsError> {
        let message = message.into();
        let max = self.shared.state.borrow().config.max_message_size_bytes();
        if message.len() > max {
            return Err(WsError::MessageTooLarge {
                size: message.len(),
                max,
            });
        }
        let mut message = Some(message);
        poll_fn(|cx| self.poll_send(cx, &mut message)).await
    }

    /// Starts the close handshake with `code` and `reason` (cut to 123
    /// bytes) and waits until the connection is closed: the peer answered,
    /// or [`WsConfig::close_timeout`] passed. Does nothing more if the
    /// connection is already closing. Codes that may not be sent (1005,
    /// 1006, ...) are replaced by 1000.
    ///
    /// # Examples
    ///
    /// ```
    /// async fn refuse(ws: sanio::WebSocket) {
    ///     ws.close(sanio::CloseCode::POLICY, "not allowed").await;
    ///     assert!(ws.is_closed());
    /// }
    /// # let _ = refuse;
    /// ```
    pub async fn close(&self, code: impl Into<CloseCode>, reason: &str) {
        self.start_close(code.into(), reason);
        poll_fn(|cx| {
            let mut state = self.shared.state.borrow_mut();
            if state.phase == Phase::Closed {
                return Poll::Ready(());
            }
            add_waiter(&mut state.close_waiters, cx.waker());
            Poll::Pending
        })
        .await;
    }

    /// Starts the close handshake now, without waiting for it: the first
    /// close started is the one sent, so a later `close` with another
    /// code only waits for this one to finish.
    pub(crate) fn start_close(&self, code: CloseCode, reason: &str) {
        self.shared.state.borrow_mut().start_close(code, reason);
    }

    /// Sends a ping (the driver sends keepalive pings by itself; this is
    /// for handlers that want one now). The pong is not awaited.
    ///
    /// # Errors
    ///
    /// [`WsError::Closed`] once the connection is closed or closing.
    ///
    /// # Examples
    ///
    /// ```
    /// async fn poke(ws: sanio::WebSocket) {
    ///     let _ = ws.ping().await;
    /// }
    /// # let _ = poke;
    /// ```
    pub async fn ping(&self) -> Result<(), WsError> {
        let mut state = self.shared.state.borrow_mut();
        if state.phase != Phase::Open {
            return Err(WsError::Closed);
        }
        let conn = state.conn.as_mut().ok_or(WsError::Closed)?;
        conn.write(tungstenite::Message::Ping(Default::default()))
            .map_err(|_| WsError::Closed)?;
        state.wake_driver();
        Ok(())
    }

    /// Whether the connection is closed or closing: nothing more can be
    /// sent (buffered messages may still be received).
    ///
    /// # Examples
    ///
    /// ```
    /// async fn gone(ws: sanio::WebSocket) -> bool {
    ///     ws.is_closed()
    /// }
    /// # let _ = gone;
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.state.borrow().phase != Phase::Open
    }

    /// Outbound bytes not yet written to the socket.
    #[cfg(test)]
    pub(super) fn pending_out(&self) -> usize {
        self.shared.state.borrow().pending_out()
    }

    /// One poll of `recv_checked`.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, WsError>> {
        let cancel = take_cancel();
        let mut state = self.shared.state.borrow_mut();
        if let Some(message) = state.incoming.pop_front() {
            if let Some(cancelled) = cancel {
                if let Some(task) = TaskRef::current() {
                    state.deferred_cancel = Some((task.id(), cancelled));
                }
            }
            state.wake_driver(); // there is room in the queue again
            return Poll::Ready(Ok(Some(message)));
        }
        if let Some(cancelled) = cancel.or_else(|| take_deferred(&mut state)) {
            return Poll::Ready(Err(WsError::Cancelled(cancelled)));
        }
        // Every message sent before a protocol error was taken: fail now.
        state.apply_failure();
        if state.phase != Phase::Open {
            return Poll::Ready(Ok(None));
        }
        add_waiter(&mut state.recv_waiters, cx.waker());
        Poll::Pending
    }

    /// One poll of `send`; `message` is taken when it is queued.
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        message: &mut Option<Message>,
    ) -> Poll<Result<(), WsError>> {
        if let Some(cancelled) = take_cancel() {
            return Poll::Ready(Err(WsError::Cancelled(cancelled)));
        }
        let mut state = self.shared.state.borrow_mut();
        if state.phase != Phase::Open {
            return Poll::Ready(Err(WsError::Closed));
        }
        if state.pending_out() > state.config.outbound_buffer_bytes() {
            add_waiter(&mut state.send_waiters, cx.waker());
            return Poll::Pending;
        }
        let (Some(conn), Some(message)) = (state.conn.as_mut(), message.take()) else {
            return Poll::Ready(Err(WsError::Closed));
        };
        if let Err(err) = conn.write(message.into_tungstenite()) {
            log::debug!("websocket message not queued: {err}");
            return Poll::Ready(Err(WsError::Closed));
        }
        state.wake_driver();
        Poll::Ready(Ok(()))
    }
}

/// Takes the deferred cancel if it belongs to the calling task.
fn take_deferred(state: &mut State) -> Option<crate::rt::Cancelled> {
    let (task, _) = state.deferred_cancel.as_ref()?;
    let current = TaskRef::current()?;
    if current.id() != *task {
        return None;
    }
    state.deferred_cancel.take().map(|(_, cancelled)| cancelled)
}

/// Adds `waker` to a wait list unless it is already there.
fn add_waiter(waiters: &mut Vec<Waker>, waker: &Waker) {
    if !waiters.iter().any(|w| w.will_wake(waker)) {
        waiters.push(waker.clone());
    }
}

impl Clone for WebSocket {
    fn clone(&self) -> Self {
        self.shared.handles.set(self.shared.handles.get() + 1);
        WebSocket {
            shared: Rc::clone(&self.shared),
        }
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        let left = self.shared.handles.get() - 1;
        self.shared.handles.set(left);
        if left == 0 {
            if let Ok(mut state) = self.shared.state.try_borrow_mut() {
                state.start_close(CloseCode::NORMAL, "");
            }
        }
    }
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("WebSocket");
        if let Ok(state) = self.shared.state.try_borrow() {
            out.field("phase", &state.phase)
                .field("buffered", &state.incoming.len())
                .field("pending_out", &state.pending_out());
        }
        out.finish()
    }
}
