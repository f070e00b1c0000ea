//! `TlsStream`: rustls' sans-I/O `ServerConnection` driven over a
//! `TcpStream` on the loop.
//!
//! rustls holds no socket: it takes ciphertext in (`read_tls`), hands
//! plaintext out (`reader`), takes plaintext in (`writer`) and hands
//! ciphertext out (`write_tls`). This file is the thin shell that moves
//! bytes between rustls and the socket with the socket's own `poll_*`
//! calls, so readiness, wakers and back-pressure are the `TcpStream`'s:
//!
//! - **Reading**: plaintext rustls already has is returned first; only
//!   when it has none is the socket read (`read_tls`, then
//!   `process_new_packets`). A record split across reads waits in rustls'
//!   buffer until it is whole, so nothing is lost.
//! - **Writing**: ciphertext still pending from the last write is sent
//!   first; while it cannot be, the write waits (back-pressure). Then the
//!   plaintext is encrypted and as much as the socket takes is sent; the
//!   rest is sent by the next write or by [`poll_flush`](TlsStream::poll_flush).
//! - **Closing**: `shutdown(Write)` and drop send `close_notify` (best
//!   effort, never waiting) before the FIN.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::{ServerConfig, ServerConnection};

use crate::net::TcpStream;

/// A TLS connection, server side, after its handshake.
pub(crate) struct TlsStream {
    /// The socket.
    tcp: TcpStream,
    /// rustls' state: buffers of both directions and the keys. A
    /// `RefCell` because the stream's methods take `&self`, like
    /// `TcpStream`'s; no borrow is held across an await.
    tls: RefCell<ServerConnection>,
}

/// How a handshake failed.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The client spoke plain HTTP (or other plain text) to the TLS port.
    PlainText,
    /// An I/O error, an EOF, or a TLS error (as `InvalidData`).
    Failed(io::Error),
}

impl TlsStream {
    /// Runs the server side of a handshake over `tcp`.
    ///
    /// # Errors
    ///
    /// [`HandshakeError`]: plain text instead of a ClientHello, an EOF or
    /// reset, or a TLS error (after the alert was sent, if it could be).
    pub(crate) async fn accept(
        tcp: TcpStream,
        config: Arc<ServerConfig>,
    ) -> Result<Self, HandshakeError> {
        let tls = ServerConnection::new(config)
            .map_err(|err| HandshakeError::Failed(io::Error::other(err)))?;
        let stream = Self {
            tcp,
            tls: RefCell::new(tls),
        };
        let mut first = None;
        match poll_fn(|cx| stream.poll_handshake(cx, &mut first)).await {
            Ok(()) => Ok(stream),
            Err(_) if first.is_some_and(|b: u8| b.is_ascii_alphabetic()) => {
                stream.discard_input();
                Err(HandshakeError::PlainText)
            }
            Err(err) => Err(HandshakeError::Failed(err)),
        }
    }

    /// One step of the handshake: send what rustls wants to send, then
    /// read and process, until the handshake is over. `first` records the
    /// first byte the client sent (a letter means plain text).
    fn poll_handshake(&self, cx: &mut Context<'_>, first: &mut Option<u8>) -> Poll<io::Result<()>> {
        let mut tls = self.tls.borrow_mut();
        loop {
            if tls.wants_write() {
                match self.poll_send(&mut tls, cx) {
                    Poll::Ready(Ok(())) => {}
                    other => return other,
                }
            }
            if !tls.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            let mut reading = Reading {
                tcp: &self.tcp,
                cx,
                first: Some(first),
            };
            match tls.read_tls(&mut reading) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                Ok(_) => {
                    if let Err(err) = tls.process_new_packets() {
                        if first.is_some_and(|b| !b.is_ascii_alphabetic()) {
                            let _ = self.poll_send(&mut tls, cx); // the alert
                        }
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, err)));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Reads and drops what the client sent, without waiting, so that
    /// closing sends a FIN rather than a reset.
    fn discard_input(&self) {
        let mut scratch = [0u8; 4096];
        for _ in 0..16 {
            match self.tcp.try_read(&mut scratch) {
                Ok(n) if n > 0 => {}
                _ => return,
            }
        }
    }

    /// Reads plaintext into `buf`: `Ok(0)` after the client's
    /// `close_notify`; an `UnexpectedEof` error when the TCP connection
    /// ended without one (a truncation).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut tls = self.tls.borrow_mut();
        loop {
            match tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
            if tls.wants_write() {
                // Something to answer (a key update, an alert): try now;
                // a full socket leaves it for the next write or flush.
                if let Poll::Ready(Err(err)) = self.poll_send(&mut tls, cx) {
                    return Poll::Ready(Err(err));
                }
            }
            let mut reading = Reading {
                tcp: &self.tcp,
                cx,
                first: None,
            };
            match tls.read_tls(&mut reading) {
                Ok(_) => {
                    if let Err(err) = tls.process_new_packets() {
                        let _ = self.poll_send(&mut tls, cx); // the alert
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, err)));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Encrypts some of `buf` and returns how much was taken; waits while
    /// the previous write's ciphertext is still unsent.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut tls = self.tls.borrow_mut();
        if tls.wants_write() {
            match self.poll_send(&mut tls, cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let taken = tls.writer().write(buf)?;
        if let Poll::Ready(Err(err)) = self.poll_send(&mut tls, cx) {
            return Poll::Ready(Err(err));
        }
        Poll::Ready(Ok(taken))
    }

    /// Sends every byte of ciphertext rustls holds.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_send(&mut self.tls.borrow_mut(), cx)
    }

    /// Whether ciphertext is waiting to be sent.
    pub(crate) fn has_pending_output(&self) -> bool {
        self.tls.borrow().wants_write()
    }

    /// Writes rustls' ciphertext to the socket until none is left.
    fn poll_send(&self, tls: &mut ServerConnection, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while tls.wants_write() {
            let mut writing = Writing { tcp: &self.tcp, cx };
            match tls.write_tls(&mut writing) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Shuts a direction down. Shutting the write side first sends
    /// `close_notify`, without waiting for a full socket.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            self.send_close_notify();
        }
        self.tcp.shutdown(how)
    }

    /// Queues `close_notify` (once) and sends what the socket takes now.
    fn send_close_notify(&self) {
        let mut tls = self.tls.borrow_mut();
        tls.send_close_notify();
        let mut cx = Context::from_waker(futures_task::noop_waker_ref());
        if self.poll_send(&mut tls, &mut cx).is_pending() {
            log::debug!("close_notify not sent: the socket is full");
        }
    }

    /// The client's address.
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// `Ready` once the TCP connection under the session was closed by the
    /// peer (FIN) or failed, without reading: see
    /// `TcpStream::poll_read_closed`.
    pub(crate) fn poll_read_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.tcp.poll_read_closed(cx)
    }
}

impl Drop for TlsStream {
    /// A connection that ends without `shutdown` (idle timeout, graceful
    /// stop) still tells the client it was not truncated. A handshake cut
    /// short (timeout, plain text, error) sends nothing more.
    fn drop(&mut self) {
        if !self.tls.get_mut().is_handshaking() {
            self.send_close_notify();
        }
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

/// The socket as a `Read` for `read_tls`: "not ready" is `WouldBlock`,
/// with the task's waker registered.
struct Reading<'a, 'b, 'c> {
    /// The socket.
    tcp: &'a TcpStream,
    /// The task reading.
    cx: &'a mut Context<'b>,
    /// Where the handshake records the first byte the client sent.
    first: Option<&'c mut Option<u8>>,
}

impl Read for Reading<'_, '_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.tcp.poll_read(self.cx, buf) {
            Poll::Ready(Ok(n)) => {
                if let (Some(first @ None), true) = (self.first.as_deref_mut(), n > 0) {
                    *first = Some(buf[0]);
                }
                Ok(n)
            }
            Poll::Ready(Err(err)) => Err(err),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// The socket as a `Write` for `write_tls`.
struct Writing<'a, 'b> {
    /// The socket.
    tcp: &'a TcpStream,
    /// The task writing.
    cx: &'a mut Context<'b>,
}

impl Write for Writing<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.tcp.poll_write(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.tcp.poll_write_vectored(self.cx, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
