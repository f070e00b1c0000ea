//! Async TCP on the loop: [`TcpListener`] and [`TcpStream`].
//!
//! Each type owns a non-blocking mio socket and a `Registration` with the
//! reactor of the loop that created it, and every operation goes through the
//! reactor's one I/O idiom (`Registration::poll_io`): try the syscall; on
//! `WouldBlock`, wait for readiness and try again. Nothing here blocks the
//! thread. This module knows nothing of HTTP.
//!
//! Both types stay on the thread of their loop (`!Send`).
#![forbid(unsafe_code)]

mod listener;
mod stream;

pub use listener::{ListenOptions, TcpListener};
pub use stream::TcpStream;
