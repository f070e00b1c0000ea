//! `Stream`: the connection the HTTP and websocket layers read and write,
//! plain TCP or (feature `tls`) TLS over TCP, behind one set of `poll_*`
//! methods so that they never know which.
//!
//! An enum, not a trait object: plain TCP pays no allocation and no
//! indirect call. Without the `tls` feature the enum has one variant and
//! every `match` compiles away; with it, a plain connection pays one
//! predictable branch per call. The TLS state is boxed, so a plain
//! connection is no bigger for it.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use super::TcpStream;

/// A connected stream: TCP, or TLS over TCP.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS, after its handshake.
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream>),
}

impl From<TcpStream> for Stream {
    fn from(stream: TcpStream) -> Self {
        Self::Tcp(stream)
    }
}

#[cfg(feature = "tls")]
impl From<super::tls::TlsStream> for Stream {
    fn from(stream: super::tls::TlsStream) -> Self {
        Self::Tls(Box::new(stream))
    }
}

impl Stream {
    /// Polls a read into `buf`; `Ok(0)` at the end of the stream.
    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Self::Tcp(tcp) => tcp.poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.poll_read(cx, buf),
        }
    }

    /// Polls a write of some of `buf`. TLS may keep ciphertext back: see
    /// [`has_pending_output`](Self::has_pending_output).
    #[inline]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Self::Tcp(tcp) => tcp.poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.poll_write(cx, buf),
        }
    }

    /// Polls until nothing written is held back (TCP holds nothing).
    #[inline]
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(_) => Poll::Ready(Ok(())),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.poll_flush(cx),
        }
    }

    /// Whether written bytes are held back (TLS ciphertext the socket has
    /// not taken yet); always false for TCP.
    #[inline]
    pub(crate) fn has_pending_output(&self) -> bool {
        match self {
            Self::Tcp(_) => false,
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.has_pending_output(),
        }
    }

    /// Shuts a direction down; for TLS, the write side sends
    /// `close_notify` first.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Self::Tcp(tcp) => tcp.shutdown(how),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.shutdown(how),
        }
    }

    /// `Ready` once the peer closed the connection or it failed, without
    /// reading any data (see `TcpStream::poll_read_closed`).
    #[cfg_attr(not(feature = "ws"), allow(dead_code))] // the websocket driver's
    pub(crate) fn poll_read_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Self::Tcp(tcp) => tcp.poll_read_closed(cx),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.poll_read_closed(cx),
        }
    }

    /// The peer's address.
    #[allow(dead_code)] // for the layers above; TLS logs use it
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Tcp(tcp) => tcp.peer_addr(),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.peer_addr(),
        }
    }
}
