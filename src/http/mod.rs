//! HTTP/1.1: requests, responses, routing and the connection driver.
//!
//! This module owns the protocol. It knows the loop ([`crate::rt`]) and
//! sockets ([`crate::net`]) and nothing of the application or websocket
//! layers; the application plugs in through a crate-private `Service`.
//!
//! # The life of a request on a connection
//!
//! ```text
//!  socket ──read──► read buffer ──parse.rs──► Head ──body.rs──► Request
//!                       ▲                                          │
//!                       │ (pipelined: parse the next one      Service::call
//!                       │  before writing anything)                │
//!  socket ◄──write── write buffer ◄──encode.rs── Response ◄───────┘
//! ```
//!
//! `parse.rs`, `body.rs`, `encode.rs` and `router.rs` are pure: bytes and
//! values in, values out, tested with tables. `conn.rs` is the only file
//! that reads or writes a socket; it applies [`Limits`] (sizes answered with
//! 413/414/431, timeouts with 408 or a quiet close), keep-alive,
//! `Expect: 100-continue`, HEAD, streaming bodies and upgrades.
//!
//! # Examples
//!
//! Handlers build [`Response`]s, or anything that is [`IntoResponse`]:
//!
//! ```
//! use sanio::{HttpError, IntoResponse, Request, Response, StatusCode};
//!
//! fn user(request: &Request) -> Result<Response, HttpError> {
//!     let id: i64 = request.query("id").ok_or_else(|| HttpError::bad_request("id?"))?
//!         .parse().map_err(|_| HttpError::bad_request("id must be a number"))?;
//!     Ok(Response::text(format!("user {id}")))
//! }
//!
//! let ok = user(&Request::new(sanio::Method::Get, "/user?id=7")).into_response();
//! assert_eq!(ok.body_bytes(), Some(&b"user 7"[..]));
//! let bad = user(&Request::new(sanio::Method::Get, "/user")).into_response();
//! assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
//! ```
#![forbid(unsafe_code)]

mod body;
mod body_stream;
mod buf;
mod conn;
mod cookie;
mod ctx;
mod date;
mod encode;
mod error;
mod form;
mod headers;
mod limits;
mod method;
mod mime;
#[cfg(feature = "multipart")]
mod multipart;
mod parse;
mod request;
mod response;
mod router;
mod service;
mod static_files;
mod status;
mod stream;
#[cfg(test)]
mod tests;

pub use body_stream::{BodyError, RequestBody};
pub use cookie::{Cookie, CookieError, SameSite};
pub use ctx::Ctx;

/// The pieces `crate::fuzzing` drives directly.
#[cfg(feature = "fuzzing")]
pub(crate) use self::{
    body::BodyDecoder,
    parse::{parse_head, BodyKind},
};

pub use error::HttpError;
pub use form::{Form, FormError, FormFile, FormLimits};
pub use headers::Headers;
pub use limits::Limits;
pub use method::{Method, Version};
#[cfg(feature = "multipart")]
pub use multipart::{FormPart, FormStream};
pub use request::Request;
pub use response::{IntoResponse, Response};
pub use router::Params;
pub use static_files::StaticFiles;
pub use status::StatusCode;
pub use stream::{BodySender, Closed};

#[allow(unused_imports)] // used by the application and websocket layers
pub(crate) use conn::serve_connection;
#[allow(unused_imports)]
pub(crate) use error::ParseError;
#[allow(unused_imports)]
pub(crate) use response::OnUpgrade;
#[allow(unused_imports)]
pub(crate) use router::{Match, RouteError, Router};
#[allow(unused_imports)]
pub(crate) use service::{Service, Shutdown};
