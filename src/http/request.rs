//! `Request`: one parsed request with its body, as a handler sees it.

use std::any::Any;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::str::FromStr;

use percent_encoding::percent_decode_str;

use super::body_stream::RequestBody;
use super::ctx::Ctx;
use super::error::HttpError;
use super::headers::Headers;
use super::method::{Method, Version};
use super::parse::Head;
use super::router::Params;
use super::status::StatusCode;

/// An HTTP request: head, complete body, route parameters and the client's
/// address. Handlers receive it by value.
///
/// # Examples
///
/// ```
/// use sanio::{Method, Request};
///
/// let request = Request::new(Method::Get, "/search?q=caf%C3%A9&page=2")
///     .with_header("X-Request-ID", "abc");
/// assert_eq!(request.path(), "/search");
/// assert_eq!(request.query("q"), Some("café"));
/// assert_eq!(request.query_string(), "q=caf%C3%A9&page=2");
/// assert_eq!(request.id(), "abc");
/// ```
pub struct Request {
    /// The method.
    method: Method,
    /// The target as sent.
    target: String,
    /// `target[path_start..path_end]` is the raw path.
    path_start: usize,
    /// End of the raw path.
    path_end: usize,
    /// Where the query starts in `target` (after `?`), if there is one.
    query_start: Option<usize>,
    /// The percent-decoded path, when it differs from the raw one.
    decoded_path: Option<String>,
    /// HTTP/1.0 or 1.1.
    version: Version,
    /// Header fields.
    headers: Headers,
    /// The complete body.
    body: Vec<u8>,
    /// Route parameters, set by the router.
    params: Params,
    /// Decoded query pairs, made on first use.
    query: OnceCell<Vec<(String, String)>>,
    /// A generated request id, made on first use when no header gave one.
    id: OnceCell<String>,
    /// The client's address.
    peer: SocketAddr,
    /// Per-request storage for middleware and handlers.
    ctx: Ctx,
    /// The body as it arrives, for a streaming route.
    stream: Option<RequestBody>,
    /// A slot the application layer uses to attach its state.
    pub(crate) ext: Option<Rc<dyn Any>>,
}

impl Drop for Request {
    /// Gives the target's storage back to this thread's pool.
    fn drop(&mut self) {
        super::buf::give_string(std::mem::take(&mut self.target));
    }
}

impl Request {
    /// A request with no headers and no body, from a client at
    /// `0.0.0.0:0`: for testing handlers without a socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Post, "/items");
    /// assert_eq!(request.method(), &sanio::Method::Post);
    /// assert!(request.body().is_empty());
    /// ```
    pub fn new(method: Method, target: &str) -> Request {
        let peer = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        Request::build(
            method,
            target.to_owned(),
            Version::Http11,
            Headers::new(),
            Vec::new(),
            peer,
        )
    }

    /// This request with one more header field.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/").with_header("Accept", "*/*");
    /// assert_eq!(request.header("accept"), Some("*/*"));
    /// ```
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.append(name, value);
        self
    }

    /// This request with `body` as its body.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Post, "/").with_body("hi");
    /// assert_eq!(request.text().unwrap(), "hi");
    /// ```
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// This request as if sent from `peer`.
    ///
    /// # Examples
    ///
    /// ```
    /// let peer: std::net::SocketAddr = "10.0.0.1:5000".parse().unwrap();
    /// let request = sanio::Request::new(sanio::Method::Get, "/").with_peer_addr(peer);
    /// assert_eq!(request.peer_addr(), peer);
    /// ```
    #[must_use]
    pub fn with_peer_addr(mut self, peer: SocketAddr) -> Request {
        self.peer = peer;
        self
    }

    /// A request from a parsed head and its body.
    pub(crate) fn from_head(head: Head, body: Vec<u8>, peer: SocketAddr) -> Request {
        Request::build(
            head.method,
            head.target,
            head.version,
            head.headers,
            body,
            peer,
        )
    }

    /// Splits the target and decodes the path.
    fn build(
        method: Method,
        target: String,
        version: Version,
        headers: Headers,
        body: Vec<u8>,
        peer: SocketAddr,
    ) -> Request {
        let (path_start, path_end, query_start) = split_target(&target);
        let decoded_path =
            match percent_decode_str(&target[path_start..path_end]).decode_utf8_lossy() {
                // An absolute-form target without a path means "/".
                Cow::Borrowed("") => Some("/".to_owned()),
                Cow::Borrowed(_) => None,
                Cow::Owned(decoded) => Some(decoded),
            };
        Request {
            method,
            target,
            path_start,
            path_end,
            query_start,
            decoded_path,
            version,
            headers,
            body,
            params: Params::default(),
            query: OnceCell::new(),
            id: OnceCell::new(),
            peer,
            ctx: Ctx::default(),
            stream: None,
            ext: None,
        }
    }

    /// The body as a stream, for a route registered with
    /// `App::route_streaming` (taken: later calls give `None`). Such a
    /// request's [`body`](Self::body) is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut request = sanio::Request::new(sanio::Method::Post, "/");
    /// assert!(request.body_stream().is_none()); // not a streaming route
    /// ```
    pub fn body_stream(&mut self) -> Option<RequestBody> {
        self.stream.take()
    }

    /// Gives the request its streamed body.
    pub(crate) fn set_body_stream(&mut self, body: RequestBody) {
        self.stream = Some(body);
    }

    /// Per-request storage (Sanic's `request.ctx`): what request middleware
    /// store here, handlers and response middleware read.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/");
    /// request.ctx().insert(42u32);
    /// assert_eq!(request.ctx().get::<u32>(), Some(42));
    /// ```
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The method.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Delete, "/x");
    /// assert_eq!(request.method().as_str(), "DELETE");
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The percent-decoded path, without the query. An absolute-form target
    /// (`http://host/p`) gives its path (`/p`).
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "http://example.com/a%20b?x=1");
    /// assert_eq!(request.path(), "/a b");
    /// assert_eq!(request.raw_path(), "/a%20b");
    /// ```
    pub fn path(&self) -> &str {
        self.decoded_path
            .as_deref()
            .unwrap_or_else(|| self.raw_path())
    }

    /// The path as sent (not decoded), without the query.
    ///
    /// # Examples
    ///
    /// See [`path`](Self::path).
    pub fn raw_path(&self) -> &str {
        &self.target[self.path_start..self.path_end]
    }

    /// The request target exactly as sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/a?b");
    /// assert_eq!(request.target(), "/a?b");
    /// ```
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The raw query string after `?` (not decoded), or `""`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Request::new(sanio::Method::Get, "/?a=1").query_string(), "a=1");
    /// assert_eq!(sanio::Request::new(sanio::Method::Get, "/").query_string(), "");
    /// ```
    pub fn query_string(&self) -> &str {
        match self.query_start {
            Some(start) => {
                let end = self.target[start..]
                    .find('#')
                    .map_or(self.target.len(), |i| start + i);
                &self.target[start..end]
            }
            None => "",
        }
    }

    /// The decoded query pairs, parsed on first use.
    fn query_pairs(&self) -> &[(String, String)] {
        self.query.get_or_init(|| {
            form_urlencoded::parse(self.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
    }

    /// The first value of query argument `name`, percent-decoded (`+` is a
    /// space).
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/?tag=a+b&tag=c&empty=");
    /// assert_eq!(request.query("tag"), Some("a b"));
    /// assert_eq!(request.query("empty"), Some(""));
    /// assert_eq!(request.query("none"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_pairs()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of query argument `name`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/?tag=a&tag=b");
    /// assert_eq!(request.query_all("tag").collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn query_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query_pairs()
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The header fields.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/").with_header("A", "1");
    /// assert_eq!(request.headers().len(), 1);
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/").with_header("User-Agent", "t");
    /// assert_eq!(request.header("user-agent"), Some("t"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Post, "/").with_body(vec![1, 2]);
    /// assert_eq!(request.body(), &[1, 2]);
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    ///
    /// A 400 [`HttpError`] if the body is not UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// let bad = sanio::Request::new(sanio::Method::Post, "/").with_body(vec![0xff]);
    /// assert_eq!(bad.text().unwrap_err().status.as_u16(), 400);
    /// ```
    pub fn text(&self) -> Result<&str, HttpError> {
        std::str::from_utf8(&self.body).map_err(|_| HttpError::bad_request("body is not UTF-8"))
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    ///
    /// A 400 [`HttpError`] naming the JSON error.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Post, "/").with_body(r#"{"n": 3}"#);
    /// let value: serde_json::Value = request.json().unwrap();
    /// assert_eq!(value["n"], 3);
    /// ```
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|err| HttpError::bad_request(format!("invalid JSON body: {err}")))
    }

    /// Route parameter `name`, parsed as `T`.
    ///
    /// # Errors
    ///
    /// 400 if the value does not parse as `T`; 500 if the route has no such
    /// parameter (a mistake in the program, not in the request).
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/user/7");
    /// assert_eq!(request.param::<i64>("id").unwrap_err().status.as_u16(), 500);
    /// ```
    pub fn param<T: FromStr>(&self, name: &str) -> Result<T, HttpError> {
        let Some(value) = self.params.get(name) else {
            return Err(HttpError::internal(format!(
                "no route parameter named {name:?}"
            )));
        };
        value.parse().map_err(|_| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("invalid value for {name:?}: {value:?}"),
            )
        })
    }

    /// Every route parameter.
    ///
    /// # Examples
    ///
    /// See [`Params`].
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Sets the route parameters (done by the router).
    pub(crate) fn set_params(&mut self, params: Params) {
        self.params = params;
    }

    /// The request id: the `X-Request-ID` header if the client sent one,
    /// else a random UUID v4, made on the first call and kept.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/");
    /// let id = request.id().to_owned();
    /// assert_eq!(id.len(), 36);
    /// assert_eq!(request.id(), id);
    /// ```
    pub fn id(&self) -> &str {
        match self.headers.get("x-request-id") {
            Some(id) => id,
            None => self.id.get_or_init(uuid_v4),
        }
    }

    /// The client's address.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/");
    /// assert_eq!(request.peer_addr().port(), 0);
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// HTTP/1.0 or HTTP/1.1.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = sanio::Request::new(sanio::Method::Get, "/");
    /// assert_eq!(request.version(), sanio::http::Version::Http11);
    /// ```
    pub fn version(&self) -> Version {
        self.version
    }
}

/// `(path_start, path_end, query_start)` of a request target.
fn split_target(target: &str) -> (usize, usize, Option<usize>) {
    // Origin-form (`/path`), the common case, needs no search.
    let absolute = if target.starts_with('/') {
        None
    } else {
        target.find("://")
    };
    let path_start = match absolute {
        // absolute-form: the path starts at the first '/' after the authority
        Some(scheme_end) => {
            let authority = scheme_end + 3;
            target[authority..]
                .find(['/', '?'])
                .map_or(target.len(), |i| authority + i)
        }
        _ => 0,
    };
    let end = target[path_start..]
        .find(['?', '#'])
        .map_or(target.len(), |i| path_start + i);
    let query_start = (target.as_bytes().get(end) == Some(&b'?')).then_some(end + 1);
    (path_start, end, query_start)
}

/// A random UUID v4 in its 8-4-4-4-12 form.
fn uuid_v4() -> String {
    let mut bytes = fastrand::u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("params", &self.params)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_table() {
        let table = [
            ("/a/b?x=1#f", "/a/b", "x=1"),
            ("/a%2Fb%20c", "/a/b c", ""),
            ("http://h:80/p/q?z", "/p/q", "z"),
            ("http://h", "/", ""),
            ("http://h?x=1", "/", "x=1"),
            ("*", "*", ""),
            ("/%ff", "/\u{fffd}", ""),
            ("/?", "/", ""),
        ];
        for (target, path, query) in table {
            let r = Request::new(Method::Get, target);
            assert_eq!((r.path(), r.query_string()), (path, query), "{target}");
        }
    }

    #[test]
    fn typed_params() {
        let mut r = Request::new(Method::Get, "/u/42");
        let mut params = Params::default();
        params.push("id".into(), "42".into());
        params.push("name".into(), "x".into());
        r.set_params(params);
        assert_eq!(r.param::<i64>("id").unwrap(), 42);
        assert_eq!(
            r.param::<i64>("name").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(r.param::<String>("name").unwrap(), "x");
    }

    #[test]
    fn ids_are_uuid_v4_and_cached() {
        let r = Request::new(Method::Get, "/");
        let id = r.id().to_owned();
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(r.id(), id);
        assert_ne!(Request::new(Method::Get, "/").id(), id);
    }
}
