//! # sanio
//!
//! A hand-written, single-threaded event loop (an executor, a mio reactor and
//! timers) that serves HTTP/1.1 and WebSocket directly, with an application
//! API modelled on Sanic's. One loop runs per worker thread, the way one
//! asyncio loop runs per Sanic worker.
//!
//! ## Layout
//!
//! Dependencies point down only:
//!
//! ```text
//! app      App, Config, routes, listeners, task registry, signals, workers
//!   |
//! http, ws request/response, connection state machine, router; websockets
//!   |
//! net      TcpListener, TcpStream: async wrappers over mio sources;
//!   |      TLS over them (feature `tls`, rustls)
//! rt       the loop: executor, reactor, timers, wakers, spawn/JoinHandle,
//!          sleep/timeout/interval, small sync primitives
//! ```
//!
//! To learn how an async runtime works, read [`rt`] from its module doc: it
//! lists one turn of the loop and the order to read its files in.
//!
//! ## Quick start: the loop alone
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = sanio::Runtime::new()?;
//! let answer = rt.block_on(async {
//!     let task = sanio::spawn(async {
//!         sanio::sleep(Duration::from_millis(1)).await;
//!         42
//!     });
//!     task.await
//! });
//! assert_eq!(answer, Ok(42));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## HTTPS (feature `tls`)
//!
//! ```
//! # #[cfg(feature = "tls")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sanio::{App, Config, Request, TlsConfig};
//!
//! let app = App::new("secure");
//! app.get("/", |_req: Request| async { "Hello, HTTPS!" })?;
//! let tls = TlsConfig::from_pem_files("tests/data/cert.pem", "tests/data/key.pem")?;
//! let server = app.serve(Config::default().port(0).tls(tls))?;
//! // https://localhost:{server.local_addr().port()}/ now answers.
//! app.reload_tls()?; // new connections get the (re-read) certificate
//! server.stop();
//! server.join()?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tls"))]
//! # fn main() {}
//! ```
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::dbg_macro,
    clippy::todo
)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![doc(test(attr(deny(warnings))))]

pub mod app;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
/// A guided tour of how sanio works, from a waker up to the workers.
// Its websocket chapters link to items that a build without `ws` lacks.
#[cfg_attr(not(feature = "ws"), allow(rustdoc::broken_intra_doc_links))]
pub mod guide;
pub mod http;
pub mod net;
pub mod rt;
#[cfg(feature = "ws")]
pub mod ws;

pub use app::{
    log_to_stderr, App, AppTaskDump, Backoff, Blueprint, CancelOutcome, Config, Error, Event,
    EventWait, Handler, IntoFlow, IntoResult, IntoTask, Lifecycle, PanicPolicy, RequestInfo,
    Restart, Server, Singleton, StopReport, Subscription, Task, TaskBuilder, TaskError, TaskHandle,
    TaskInfo, TaskState,
};

pub use http::{
    BodySender, Cookie, Form, FormError, Headers, HttpError, IntoResponse, Limits, Method, Request,
    Response, SameSite, StaticFiles, StatusCode,
};

#[cfg(feature = "tls")]
pub use net::{TlsConfig, TlsError, TlsVersion};
pub use rt::{
    cancellable, cancelled, interval, sleep, sleep_until, spawn, timeout, JoinHandle, Runtime,
    RuntimeHandle,
};
#[cfg(feature = "ws")]
pub use ws::{CloseCode, Message, QueueFull, WebSocket, WsConfig, WsError};
