//! WebSocket over sanio's loop; tungstenite does the framing.
//!
//! This module owns the server side of RFC 6455: the opening handshake
//! check (`handshake.rs`, a pure function over the request's method and
//! headers, used by the HTTP layer to answer 101, 400 or 426), and the
//! [`WebSocket`] a handler talks to once the connection is upgraded.
//!
//! # How a socket runs
//!
//! After the 101 response, the connection's `TcpStream` and any bytes read
//! past the request head go to `WebSocket::start`, which spawns a
//! **driver** task on the current loop. The driver owns all I/O:
//!
//! - tungstenite's `WebSocket` frames over `NonBlocking` (`adapter.rs`), a
//!   `Read + Write` over the socket. A read that would wait returns
//!   `WouldBlock` after registering the driver's waker with the reactor,
//!   so tungstenite keeps its partial frame and the driver returns
//!   `Pending` until epoll says the socket is readable: never a blocking
//!   call. Writes go to an outbound buffer the driver drains as the socket
//!   becomes writable.
//! - It reads all the time: pongs answer pings, keepalive pings go out
//!   (`keepalive.rs`), a silent peer is dropped, and a close frame, EOF or
//!   reset is noticed at once. Data messages queue (bounded) for `recv`;
//!   a full queue pauses reading, drops or fails ([`QueueFull`]), and a
//!   FIN or reset is seen even while paused.
//! - Protocol errors close with 1002, invalid UTF-8 with 1007, a message
//!   over the limit with 1009; the server echoes a client's close and
//!   closes TCP first.
//! - When the client goes away, the handler task is cancelled (the rt
//!   cancel flag), so cancellation-aware waits in it return `Cancelled`.
//!
//! This module must not import `app`; it uses `net` and `rt` (and, once it
//! exists, `http` for the upgrade glue).
#![forbid(unsafe_code)]

mod adapter;
mod config;
mod driver;
mod handshake;
mod keepalive;
mod message;
mod socket;

pub use config::{QueueFull, WsConfig};
pub use message::{CloseCode, Message, WsError};
pub use socket::WebSocket;

#[allow(unused_imports)] // the app layer's upgrade glue uses these
pub(crate) use handshake::{check_upgrade, is_upgrade_request, Accept, HandshakeError};

#[cfg(test)]
mod tests;
