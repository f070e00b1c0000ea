//! `Response` and `IntoResponse`: what a handler returns.

use std::borrow::Cow;
use std::fmt;

use super::error::HttpError;
use super::headers::Headers;
use super::status::StatusCode;
use super::stream::{channel, BodySender, BodyStream};
use crate::net::Stream;

/// Runs after a 101 response: gets the socket and the bytes already read
/// past the request head, and owns the connection from then on (it starts
/// a task of its own to serve it). The HTTP connection's task ends, so an
/// upgraded connection does not keep the state HTTP needed.
pub(crate) type OnUpgrade = Box<dyn FnOnce(Stream, Vec<u8>)>;

/// A response body.
pub(crate) enum Body {
    /// All of it, now (borrowed for a `&'static` body: no copy).
    Full(Cow<'static, [u8]>),
    /// Chunks over time.
    Stream(BodyStream),
}

/// An HTTP response. `Content-Length` (or chunked framing) and `Date` are
/// added when it is written.
///
/// # Examples
///
/// ```
/// use sanio::{Response, StatusCode};
///
/// let response = Response::text("created")
///     .with_status(StatusCode::CREATED)
///     .with_header("X-Id", "7");
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.headers().get("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(response.body_bytes(), Some(&b"created"[..]));
/// ```
pub struct Response {
    /// The status.
    pub(crate) status: StatusCode,
    /// Header fields set by the handler.
    pub(crate) headers: Headers,
    /// The body.
    pub(crate) body: Body,
    /// What takes over the connection after a 101, if anything.
    pub(crate) upgrade: Option<OnUpgrade>,
    /// The error this response answers, when made from an [`HttpError`]:
    /// the application's error handlers may replace it.
    pub(crate) error: Option<Box<HttpError>>,
}

impl Response {
    /// An empty response with `status`.
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::new(sanio::StatusCode::ACCEPTED);
    /// assert_eq!(response.body_bytes(), Some(&b""[..]));
    /// ```
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            headers: Headers::new(),
            body: Body::Full(Cow::Borrowed(b"")),
            upgrade: None,
            error: None,
        }
    }

    /// A body with a content type.
    fn with_body(content_type: &str, body: impl Into<Cow<'static, [u8]>>) -> Response {
        let mut headers = Headers::with_capacity(1, 12 + content_type.len());
        headers.append("content-type", content_type);
        Response {
            status: StatusCode::OK,
            headers,
            body: Body::Full(body.into()),
            upgrade: None,
            error: None,
        }
    }

    /// A 200 `text/plain; charset=utf-8` response.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Response::text("hi").body_bytes(), Some(&b"hi"[..]));
    /// ```
    pub fn text(body: impl Into<String>) -> Response {
        Response::with_body("text/plain; charset=utf-8", body.into().into_bytes())
    }

    /// A 200 `text/html; charset=utf-8` response.
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::html("<p>hi</p>");
    /// assert_eq!(response.headers().get("Content-Type"), Some("text/html; charset=utf-8"));
    /// ```
    pub fn html(body: impl Into<String>) -> Response {
        Response::with_body("text/html; charset=utf-8", body.into().into_bytes())
    }

    /// A 200 `application/json` response with `value` serialized; a value
    /// that cannot be serialized gives a 500.
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::json(&serde_json::json!({"ok": true}));
    /// assert_eq!(response.body_bytes(), Some(&br#"{"ok":true}"#[..]));
    /// ```
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Response {
        // Into a pooled buffer, which the connection gives back once the
        // bytes are written.
        let mut body = super::buf::take_body_buf();
        match serde_json::to_writer(&mut body, value) {
            Ok(()) => Response::with_body("application/json", body),
            Err(err) => {
                log::error!("response body could not be serialized: {err}");
                HttpError::internal("response could not be serialized").into_response()
            }
        }
    }

    /// A 200 `application/octet-stream` response.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Response::bytes(vec![0, 1]).body_bytes(), Some(&[0u8, 1][..]));
    /// ```
    pub fn bytes(body: impl Into<Vec<u8>>) -> Response {
        Response::with_body("application/octet-stream", body.into())
    }

    /// An empty response with `status` (the same as [`new`](Self::new)).
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::empty(sanio::StatusCode::NO_CONTENT);
    /// assert_eq!(response.status().as_u16(), 204);
    /// ```
    pub fn empty(status: StatusCode) -> Response {
        Response::new(status)
    }

    /// A 302 redirect to `location`.
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::redirect("/login");
    /// assert_eq!(response.status().as_u16(), 302);
    /// assert_eq!(response.headers().get("location"), Some("/login"));
    /// ```
    pub fn redirect(location: &str) -> Response {
        Response::new(StatusCode::FOUND).with_header("location", location)
    }

    /// A 200 response whose body the returned [`BodySender`] writes over
    /// time (chunked on the wire). For server-sent events pass
    /// `"text/event-stream"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (response, sender) = sanio::Response::stream("text/event-stream");
    /// assert_eq!(response.headers().get("content-type"), Some("text/event-stream"));
    /// assert!(response.body_bytes().is_none());
    /// # drop(sender);
    /// ```
    pub fn stream(content_type: &str) -> (Response, BodySender) {
        let (sender, stream) = channel();
        let mut response = Response::with_body(content_type, Vec::new());
        response.body = Body::Stream(stream);
        if content_type.starts_with("text/event-stream") {
            response.headers.append("cache-control", "no-cache");
        }
        (response, sender)
    }

    /// This response with another status.
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::text("gone").with_status(sanio::StatusCode::GONE);
    /// assert_eq!(response.status().as_u16(), 410);
    /// ```
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Response {
        self.status = status;
        self
    }

    /// This response with header `name` set to `value` (replacing any
    /// field of that name; use [`headers_mut`](Self::headers_mut) to add
    /// repeated fields).
    ///
    /// # Examples
    ///
    /// ```
    /// let response = sanio::Response::text("x").with_header("Content-Type", "text/csv");
    /// assert_eq!(response.headers().get_all("content-type").count(), 1);
    /// ```
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.insert(name, value);
        self
    }

    /// The status.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Response::text("").status(), sanio::StatusCode::OK);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Sets the status.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut response = sanio::Response::text("");
    /// response.set_status(sanio::StatusCode::IM_A_TEAPOT);
    /// assert_eq!(response.status().as_u16(), 418);
    /// ```
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// The header fields.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Response::new(sanio::StatusCode::OK).headers().is_empty());
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to change.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut response = sanio::Response::text("");
    /// response.headers_mut().append("Set-Cookie", "a=1");
    /// response.headers_mut().append("Set-Cookie", "b=2");
    /// assert_eq!(response.headers().get_all("set-cookie").count(), 2);
    /// ```
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body, unless it is streamed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Response::text("a").body_bytes(), Some(&b"a"[..]));
    /// ```
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Full(bytes) => Some(bytes.as_ref()),
            Body::Stream(_) => None,
        }
    }

    /// The error this response was made from, taken out of it.
    #[allow(dead_code)] // the application layer calls it
    pub(crate) fn take_error(&mut self) -> Option<Box<HttpError>> {
        self.error.take()
    }

    /// Makes this response hand the connection to `f` once written (status
    /// 101 is set).
    #[cfg_attr(not(feature = "ws"), allow(dead_code))] // only websocket routes upgrade
    pub(crate) fn on_upgrade(mut self, f: OnUpgrade) -> Response {
        self.status = StatusCode::SWITCHING_PROTOCOLS;
        self.upgrade = Some(f);
        self
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body_bytes().map(<[u8]>::len))
            .field("upgrade", &self.upgrade.is_some())
            .finish()
    }
}

/// Turns a handler's return value into a [`Response`].
///
/// | type | response |
/// |---|---|
/// | `Response` | itself |
/// | `&'static str`, `String` | 200 text |
/// | `Vec<u8>` | 200 bytes |
/// | `StatusCode` | that status, empty body |
/// | `(StatusCode, T)` | `T`'s response with that status |
/// | `Result<T, E>` | `T`'s or `E`'s response |
/// | [`HttpError`] | its status, `{"error": "..."}` |
/// | `()` | 204 No Content |
///
/// # Examples
///
/// ```
/// use sanio::{HttpError, IntoResponse, StatusCode};
///
/// let created = (StatusCode::CREATED, "done").into_response();
/// assert_eq!(created.status(), StatusCode::CREATED);
/// let failed: Result<&str, HttpError> = Err(HttpError::not_found("no such user"));
/// assert_eq!(failed.into_response().status(), StatusCode::NOT_FOUND);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be turned into a response",
    note = "return a Response, a String or &'static str, a StatusCode, (StatusCode, T), or Result<T, E> where both are IntoResponse"
)]
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::with_body("text/plain; charset=utf-8", self.as_bytes())
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::bytes(self)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(StatusCode::NO_CONTENT)
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response =
            Response::with_body("application/json", self.json_body()).with_status(self.status);
        response.error = Some(Box::new(self));
        response
    }
}
