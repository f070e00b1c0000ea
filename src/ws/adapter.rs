//! `NonBlocking`: the `Read + Write` that tungstenite frames over, turning
//! "not ready" into `WouldBlock` instead of a blocking call.
//!
//! tungstenite is written against blocking `std::io` traits: it calls
//! `read` and `write` and treats `WouldBlock` as "try again later", keeping
//! its partial state. This adapter makes the TCP socket look like that:
//!
//! - **Reading** polls the socket with the driver task's waker. Pending
//!   becomes `WouldBlock` (recorded in `read_blocked`), and the reactor
//!   wakes the driver when bytes arrive.
//! - **Writing** never blocks: bytes are appended to `out`, an outbound
//!   buffer the driver drains into the socket as it becomes writable
//!   ([`NonBlocking::poll_flush_out`]). That keeps every socket write in
//!   one task (the driver), lets any task queue a message without waiting
//!   on the socket, and makes "pending outbound bytes" a number the
//!   handle can see; `send` waits while it is above the configured bound,
//!   which is what bounds this buffer.

use std::io::{self, Read, Write};
use std::task::{Context, Poll, Waker};

use crate::net::Stream;

/// Capacity kept by an emptied outbound buffer; more is released, so a
/// connection that once sent a large message does not keep its memory.
const KEEP_CAPACITY: usize = 16 * 1024;

/// A TCP stream seen through blocking-style traits.
#[derive(Debug)]
pub(super) struct NonBlocking {
    /// The connection.
    stream: Stream,
    /// Bytes tungstenite wrote that the socket has not taken yet.
    out: Vec<u8>,
    /// How much of `out` has been written. INVARIANT: `out_pos <= out.len()`.
    out_pos: usize,
    /// The driver task's waker, used for read readiness.
    waker: Option<Waker>,
    /// Whether the last read stopped on `WouldBlock` (the driver then
    /// waits on the reactor).
    read_blocked: bool,
    /// Whether our side of the connection has been shut down (FIN sent).
    write_shut: bool,
}

impl NonBlocking {
    /// Wraps a connected stream.
    pub(super) fn new(stream: Stream) -> Self {
        Self {
            stream,
            out: Vec::new(),
            out_pos: 0,
            waker: None,
            read_blocked: false,
            write_shut: false,
        }
    }

    /// Remembers the waker to wake when the socket becomes readable.
    pub(super) fn set_waker(&mut self, waker: &Waker) {
        match &self.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }

    /// Outbound bytes not yet taken by the socket.
    pub(super) fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Whether the last read found no data.
    pub(super) fn read_blocked(&self) -> bool {
        self.read_blocked
    }

    /// Whether the peer closed its side (FIN) or the connection failed
    /// (reset), seen without reading any data; when not, the driver is
    /// woken by the next read event.
    pub(super) fn peer_left(&self) -> bool {
        let Some(waker) = &self.waker else {
            return false;
        };
        let mut cx = Context::from_waker(waker);
        self.stream.poll_read_closed(&mut cx).is_ready()
    }

    /// The end of a connection that had a close handshake (or failed with
    /// a close frame): sends FIN once (the server closes TCP first, RFC
    /// 6455 §7.1.1), then reads and discards until the peer's EOF.
    /// Closing a socket with unread bytes makes the kernel send a reset,
    /// which can destroy our close frame before the peer reads it; waiting
    /// for EOF avoids that. `Ready` at EOF or on an error.
    pub(super) fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.write_shut {
            self.write_shut = true;
            if let Err(err) = self.stream.shutdown(std::net::Shutdown::Write) {
                log::debug!("websocket shutdown failed: {err}");
                return Poll::Ready(());
            }
        }
        let mut scratch = [0u8; 4096];
        loop {
            match self.stream.poll_read(cx, &mut scratch) {
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Writes as much of the outbound buffer as the socket takes.
    /// `Ready(Ok)` once it is empty; `Pending` when the socket is full (the
    /// waker in `cx` is woken when it drains).
    ///
    /// # Errors
    ///
    /// The socket's write error (reset, broken pipe).
    pub(super) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            match self.stream.poll_write(cx, &self.out[self.out_pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.out_pos += n,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    self.compact();
                    return Poll::Pending;
                }
            }
        }
        self.out.clear();
        self.out_pos = 0;
        if self.out.capacity() > KEEP_CAPACITY {
            self.out.shrink_to(KEEP_CAPACITY);
        }
        self.stream.poll_flush(cx)
    }

    /// Drops the written prefix once it is most of the buffer, so a
    /// slowly drained buffer does not keep growing.
    fn compact(&mut self) {
        if self.out_pos > KEEP_CAPACITY && self.out_pos * 2 > self.out.len() {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }
}

impl Read for NonBlocking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(waker) = &self.waker else {
            // Only the driver reads, and it sets its waker first.
            self.read_blocked = true;
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let mut cx = Context::from_waker(waker);
        match self.stream.poll_read(&mut cx, buf) {
            Poll::Ready(result) => {
                self.read_blocked = false;
                result
            }
            Poll::Pending => {
                self.read_blocked = true;
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
    }
}

impl Write for NonBlocking {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Draining `out` is the driver's job; nothing is held back here.
        Ok(())
    }
}
