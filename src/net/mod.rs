//! Async TCP on the loop: [`TcpListener`] and [`TcpStream`]; with the
//! `tls` feature, TLS over it (`TlsConfig` and a rustls stream), and the
//! `Stream` the HTTP and websocket layers see, which is either.
//!
//! Each type owns a non-blocking mio socket and a `Registration` with the
//! reactor of the loop that created it, and every operation goes through the
//! reactor's one I/O idiom (`Registration::poll_io`): try the syscall; on
//! `WouldBlock`, wait for readiness and try again. Nothing here blocks the
//! thread. This module knows nothing of HTTP.
//!
//! Both types stay on the thread of their loop (`!Send`).
#![forbid(unsafe_code)]

mod any;
mod listener;
mod stream;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub(crate) use any::Stream;
pub use listener::{ListenOptions, TcpListener};
pub use stream::TcpStream;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError, TlsVersion};
