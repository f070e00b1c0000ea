//! `TcpListener`: accept connections without blocking, and without spinning
//! when the process runs out of file descriptors.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::TcpStream;
use crate::rt::{sleep, Direction, Registration};

/// The first pause after an accept failed for lack of resources.
const BACKOFF_START: Duration = Duration::from_millis(10);
/// The longest pause between accept attempts while resources lack.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Socket options for [`TcpListener::bind_with`].
///
/// # Examples
///
/// ```
/// let options = sanio::net::ListenOptions::new().backlog(512).reuse_port(true);
/// assert_eq!(options.backlog_len(), 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenOptions {
    /// Length of the kernel's queue of connections not yet accepted.
    backlog: i32,
    /// `SO_REUSEPORT`: several sockets (one per worker) on one port, the
    /// kernel spreading connections across them.
    reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ListenOptions {
    /// Backlog 1024, no `SO_REUSEPORT`; `SO_REUSEADDR` is always on.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::net::ListenOptions::new().backlog_len(), 1024);
    /// ```
    pub const fn new() -> Self {
        Self {
            backlog: 1024,
            reuse_port: false,
        }
    }

    /// Sets the backlog.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = sanio::net::ListenOptions::new().backlog(64);
    /// assert_eq!(options.backlog_len(), 64);
    /// ```
    pub const fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets `SO_REUSEPORT`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::net::ListenOptions::new().reuse_port(true).reuses_port());
    /// ```
    pub const fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// The backlog.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::net::ListenOptions::default().backlog_len(), 1024);
    /// ```
    pub const fn backlog_len(&self) -> i32 {
        self.backlog
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sanio::net::ListenOptions::default().reuses_port());
    /// ```
    pub const fn reuses_port(&self) -> bool {
        self.reuse_port
    }

    /// Binds a blocking std listener with these options (non-blocking mode
    /// set). Usable on any thread; [`TcpListener::from_std`] puts it on a
    /// loop.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`, `setsockopt`, `bind` or `listen`.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = "127.0.0.1:0".parse().unwrap();
    /// let std = sanio::net::ListenOptions::new().bind_std(addr)?;
    /// assert_ne!(std.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_std(&self, addr: SocketAddr) -> io::Result<std::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(self.backlog)?;
        Ok(socket.into())
    }
}

/// A TCP socket listening for connections, registered with the current loop.
///
/// Dropping it closes the socket.
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
///     let client = sanio::spawn(async move { TcpStream::connect(addr).await });
///     let (_server_side, peer) = listener.accept().await?;
///     let client = client.await.unwrap()?;
///     assert_eq!(peer, client.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The socket. Declared before `registration`, so it is closed (and so
    /// leaves epoll) before the registration slot is freed.
    io: mio::net::TcpListener,
    /// Its reactor slot.
    registration: Registration,
}

impl TcpListener {
    /// Binds with default [`ListenOptions`] to the first address that works.
    ///
    /// # Errors
    ///
    /// The last bind error, or [`NoRuntime`](crate::rt::NoRuntime) outside a
    /// loop.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let _listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # });
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Self::bind_with(addr, ListenOptions::default())
    }

    /// Binds with the given options.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::net::{ListenOptions, TcpListener};
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let _listener = TcpListener::bind_with("127.0.0.1:0", ListenOptions::new().backlog(16))?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn bind_with(addr: impl ToSocketAddrs, options: ListenOptions) -> io::Result<Self> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match options.bind_std(addr) {
                Ok(std) => return Self::from_std(std),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to bind to")
        }))
    }

    /// Puts a bound std listener on the current loop (it is made
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
    /// let std = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let rt = sanio::Runtime::new()?;
    /// rt.block_on(async { sanio::net::TcpListener::from_std(std) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let mut io = mio::net::TcpListener::from_std(listener);
        let registration = Registration::new(&mut io)?;
        Ok(Self { io, registration })
    }

    /// The address the socket is bound to (with the port the OS chose for
    /// port 0).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Waits for the next connection.
    ///
    /// Running out of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`,
    /// `ENOMEM`) is not returned: the pending connection stays in the
    /// backlog and would make every retry fail at once, so the listener logs
    /// a warning and sleeps (10 ms, doubling up to 1 s) before it tries
    /// again. A connection reset before it was accepted is skipped.
    ///
    /// # Errors
    ///
    /// Other OS errors of `accept4`.
    ///
    /// # Examples
    ///
    /// See [`TcpListener`].
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut backoff = BACKOFF_START;
        loop {
            match poll_fn(|cx| self.poll_accept(cx)).await {
                Err(err) if is_out_of_resources(&err) => {
                    log::warn!("accept failed ({err}); retrying in {backoff:?}");
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => continue,
                result => return result,
            }
        }
    }

    /// Polls for one connection; errors are returned as they come.
    ///
    /// # Errors
    ///
    /// Any OS error of `accept4`, including running out of descriptors
    /// (which [`accept`](Self::accept) handles for you).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let listener = sanio::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (stream, _peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
    /// # drop(stream);
    /// # });
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self
            .registration
            .poll_io(cx, Direction::Read, || self.io.accept())
        {
            Poll::Ready(Ok((stream, peer))) => {
                Poll::Ready(TcpStream::from_mio(stream).map(|s| (s, peer)))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Whether an accept error means "no resources now", not "bad listener".
fn is_out_of_resources(err: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    matches!(err.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
}
