//! `TcpStream`: a connected socket whose reads and writes wait on the loop.

use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::rt::{Direction, Registration};

/// A TCP connection registered with the current loop.
///
/// Methods take `&self`, so one task can read while another writes (share it
/// with `Rc`). Dropping it closes the connection.
///
/// Besides its own async methods it implements `futures-io`'s `AsyncRead`
/// and `AsyncWrite` (for `TcpStream` and `&TcpStream`), so code written
/// against those traits runs on sanio.
///
/// # Examples
///
/// ```
/// use sanio::net::{TcpListener, TcpStream};
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     sanio::spawn(async move {
///         let (stream, _) = listener.accept().await?;
///         let mut buf = [0; 5];
///         let n = stream.read(&mut buf).await?;
///         stream.write_all(&buf[..n]).await
///     });
///     let client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut echo = [0; 5];
///     client.read_exact(&mut echo).await?;
///     assert_eq!(&echo, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The socket. Declared before `registration` so it closes first.
    io: mio::net::TcpStream,
    /// Its reactor slot.
    registration: Registration,
}

impl TcpStream {
    /// Wraps a socket mio accepted or connected.
    pub(crate) fn from_mio(mut io: mio::net::TcpStream) -> io::Result<Self> {
        let registration = Registration::new(&mut io)?;
        Ok(Self { io, registration })
    }

    /// Puts a connected std stream on the current loop (it is made
    /// non-blocking).
    ///
    /// # Errors
    ///
    /// [`NoRuntime`](crate::rt::NoRuntime) outside a loop, or the
    /// registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let rt = sanio::Runtime::new()?;
    /// rt.block_on(async { sanio::net::TcpStream::from_std(std) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Connects to the first address that accepts.
    ///
    /// # Errors
    ///
    /// The last connect error (refused, unreachable, ...), or
    /// [`NoRuntime`](crate::rt::NoRuntime) outside a loop.
    ///
    /// # Examples
    ///
    /// See [`TcpStream`].
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match Self::connect_one(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        }))
    }

    /// Starts a non-blocking connect and waits until the socket is writable,
    /// which is when the kernel has an answer.
    async fn connect_one(addr: SocketAddr) -> io::Result<Self> {
        let stream = Self::from_mio(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| {
            stream.registration.poll_io(cx, Direction::Write, || {
                if let Some(err) = stream.io.take_error()? {
                    return Err(err);
                }
                match stream.io.peer_addr() {
                    Ok(_) => Ok(()),
                    // Not connected yet: keep waiting.
                    Err(err) if err.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(err) => Err(err),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    /// Reads into `buf`; `Ok(0)` means the peer closed its side.
    ///
    /// # Errors
    ///
    /// The OS error (reset, ...).
    ///
    /// # Examples
    ///
    /// See [`TcpStream`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the peer closes first, or the OS error.
    ///
    /// # Examples
    ///
    /// See [`TcpStream`].
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Writes some of `buf` and returns how much.
    ///
    /// # Errors
    ///
    /// The OS error (broken pipe, reset, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let n = stream.write(b"ping").await?;
    /// assert!(n > 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// `WriteZero` if the socket accepts nothing, or the OS error.
    ///
    /// # Examples
    ///
    /// See [`TcpStream`].
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Does nothing: a `TcpStream` has no user-space buffer. Here for
    /// symmetry with buffered writers.
    ///
    /// # Errors
    ///
    /// Never.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.flush().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// Shuts down the read side, the write side (sends FIN) or both.
    ///
    /// # Errors
    ///
    /// The OS error (e.g. not connected).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.shutdown(std::net::Shutdown::Write)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The OS error of `getpeername` (e.g. not connected).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// See [`TcpListener`](super::TcpListener).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_nodelay(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.set_nodelay(nodelay)
    }

    /// Polls a read into `buf`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// server.write_all(b"x").await?;
    /// let mut buf = [0; 1];
    /// let n = std::future::poll_fn(|cx| stream.poll_read(cx, &mut buf)).await?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }

    /// Polls a write of `buf`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let n = std::future::poll_fn(|cx| stream.poll_write(cx, b"abc")).await?;
    /// assert_eq!(n, 3);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    /// Polls a vectored write (one `writev` for several buffers).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::IoSlice;
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let bufs = [IoSlice::new(b"head"), IoSlice::new(b"body")];
    /// let n = std::future::poll_fn(|cx| stream.poll_write_vectored(cx, &bufs)).await?;
    /// assert_eq!(n, 8);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let polled = self
            .registration
            .poll_io(cx, Direction::Write, || (&self.io).write_vectored(bufs));
        if let Poll::Ready(Ok(n)) = polled {
            if n < len {
                self.registration.clear_ready(Direction::Write);
            }
        }
        polled
    }

    /// Tries to read without waiting: `WouldBlock` when nothing is there.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let err = stream.try_read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.io).read(buf)
    }

    /// Tries to write without waiting: `WouldBlock` when the socket buffer
    /// is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sanio::net::{TcpListener, TcpStream};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.try_write(b"hi")?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.io).write(buf)
    }

    /// `Ready` once the peer has closed its side (FIN) or the connection
    /// failed (reset), without reading any data; otherwise the task in
    /// `cx` is woken by the next read event. For a reader that pauses
    /// (back-pressure) but must still notice the peer leaving.
    #[cfg_attr(not(feature = "ws"), allow(dead_code))] // the websocket driver's
    pub(crate) fn poll_read_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.registration.poll_read_closed(cx)
    }

    /// The read, through the reactor. A short read drains the readiness
    /// (see `Registration::clear_ready`).
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let polled = self
            .registration
            .poll_io(cx, Direction::Read, || (&self.io).read(buf));
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 && n < len {
                self.registration.clear_ready(Direction::Read);
            }
        }
        polled
    }

    /// The write, through the reactor. A short write drains the readiness.
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = self
            .registration
            .poll_io(cx, Direction::Write, || (&self.io).write(buf));
        if let Poll::Ready(Ok(n)) = polled {
            if n < buf.len() {
                self.registration.clear_ready(Direction::Write);
            }
        }
        polled
    }
}

impl futures_io::AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl futures_io::AsyncWrite for &TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_write_vectored(&self, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown(Shutdown::Write))
    }
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_write_vectored(&self, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown(Shutdown::Write))
    }
}
