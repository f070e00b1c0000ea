//! Middleware: code that runs around every request's handler.
//!
//! Request middleware get the [`Request`] and either give it back to go
//! on or answer at once (auth, rate limits); response middleware get a
//! [`RequestInfo`] and the [`Response`] and return the response to send
//! (headers, logging). The order is Sanic's:
//!
//! ```text
//! request  middleware: app's, then the blueprint's (outer to inner);
//!                      higher priority first, then registration order
//! handler (or the 404/405, or the answer of a request middleware)
//! response middleware: the blueprint's (inner to outer), then the app's;
//!                      higher priority first, then REVERSE registration order
//! ```
//!
//! They apply to routes, to error answers (404, 405, 500) and to websocket
//! upgrades alike (a request middleware can refuse an upgrade; a response
//! middleware sees the 101). A middleware that panics is a 500, as a
//! handler that panics is; the response middleware still run on it.

use std::future::Future;
use std::sync::Arc;

use super::task_types::LocalFuture;
use super::{App, Error};
use crate::http::{Ctx, Headers, IntoResponse, Method, Request, Response};

/// What a request middleware returns: the request to go on with, or the
/// response to answer with at once. Implemented for `Request` (always go
/// on) and for `Result<Request, E>` where `E` is [`IntoResponse`] (an
/// `HttpError`, a `Response`, a `StatusCode`...).
///
/// # Examples
///
/// ```
/// use sanio::app::IntoFlow;
/// use sanio::{HttpError, Method, Request};
///
/// let go_on = Request::new(Method::Get, "/").into_flow();
/// assert!(go_on.is_ok());
/// let refused: Result<Request, HttpError> = Err(HttpError::bad_request("no"));
/// assert_eq!(refused.into_flow().unwrap_err().status().as_u16(), 400);
/// ```
pub trait IntoFlow: 'static {
    /// `Ok` to go on, `Err` to answer with this response.
    ///
    /// # Errors
    ///
    /// The response that ends the request early.
    fn into_flow(self) -> Result<Request, Response>;
}

impl IntoFlow for Request {
    fn into_flow(self) -> Result<Request, Response> {
        Ok(self)
    }
}

impl<E: IntoResponse + 'static> IntoFlow for Result<Request, E> {
    fn into_flow(self) -> Result<Request, Response> {
        self.map_err(IntoResponse::into_response)
    }
}

/// What response middleware see of the request (the handler consumed the
/// request itself): its method, path, id, headers and [`Ctx`], which holds
/// what request middleware and the handler stored.
///
/// # Examples
///
/// ```
/// use sanio::{App, Response};
/// use sanio::app::RequestInfo;
///
/// let app = App::new("demo");
/// app.on_response(|info: RequestInfo, response: Response| async move {
///     response.with_header("x-request-id", info.id())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The method.
    method: Method,
    /// The decoded path.
    path: String,
    /// The request id.
    id: String,
    /// The header fields.
    headers: Headers,
    /// The request's storage.
    ctx: Ctx,
}

impl RequestInfo {
    /// The view of `request`.
    pub(crate) fn of(request: &Request) -> RequestInfo {
        RequestInfo {
            method: request.method().clone(),
            path: request.path().to_owned(),
            id: request.id().to_owned(),
            headers: request.headers().clone(),
            ctx: request.ctx().clone(),
        }
    }

    /// The method.
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The percent-decoded path.
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The request id (`Request::id`: the `X-Request-ID` sent, or a fresh
    /// one; the handler saw the same).
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The request's header fields.
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first request header field named `name`.
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The request's storage (see [`Request::ctx`]).
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }
}

/// A request middleware, shared by the workers.
pub(crate) type RequestMw =
    Arc<dyn Fn(Request) -> LocalFuture<Result<Request, Response>> + Send + Sync>;
/// A response middleware, shared by the workers.
pub(crate) type ResponseMw =
    Arc<dyn Fn(RequestInfo, Response) -> LocalFuture<Response> + Send + Sync>;

/// Boxes a request middleware.
pub(crate) fn request_mw<M, F>(middleware: M) -> RequestMw
where
    M: Fn(Request) -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: IntoFlow,
{
    Arc::new(move |request| {
        let future = middleware(request);
        Box::pin(async move { future.await.into_flow() })
    })
}

/// Boxes a response middleware.
pub(crate) fn response_mw<M, F>(middleware: M) -> ResponseMw
where
    M: Fn(RequestInfo, Response) -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    Arc::new(move |info, response| {
        let future = middleware(info, response);
        Box::pin(async move { future.await.into_response() })
    })
}

/// The middleware of an app or a blueprint, each list kept in run order.
#[derive(Clone, Default)]
pub(crate) struct Chain {
    /// (priority, middleware): higher priority first, then registration
    /// order.
    request: Vec<(i32, RequestMw)>,
    /// (priority, middleware): higher priority first, then reverse
    /// registration order.
    response: Vec<(i32, ResponseMw)>,
}

impl Chain {
    /// Adds a request middleware after those of the same priority.
    pub(crate) fn add_request(&mut self, priority: i32, middleware: RequestMw) {
        let at = self
            .request
            .iter()
            .position(|(p, _)| *p < priority)
            .unwrap_or(self.request.len());
        self.request.insert(at, (priority, middleware));
    }

    /// Adds a response middleware before those of the same priority.
    pub(crate) fn add_response(&mut self, priority: i32, middleware: ResponseMw) {
        let at = self
            .response
            .iter()
            .position(|(p, _)| *p <= priority)
            .unwrap_or(self.response.len());
        self.response.insert(at, (priority, middleware));
    }

    /// Request middleware in run order.
    pub(crate) fn request(&self) -> impl Iterator<Item = &RequestMw> + '_ {
        self.request.iter().map(|(_, mw)| mw)
    }

    /// Response middleware in run order.
    pub(crate) fn response(&self) -> impl Iterator<Item = &ResponseMw> + '_ {
        self.response.iter().map(|(_, mw)| mw)
    }

    /// True when there is no response middleware.
    pub(crate) fn no_response(&self) -> bool {
        self.response.is_empty()
    }
}

impl App {
    /// Adds a request middleware (priority 0): it gets each request and
    /// returns it to go on, or an `Err` to answer at once (see
    /// [`IntoFlow`]).
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, HttpError, Request, StatusCode};
    ///
    /// let app = App::new("demo");
    /// app.on_request(|req: Request| async move {
    ///     if req.header("x-api-key").is_none() {
    ///         return Err(HttpError::new(StatusCode::UNAUTHORIZED, "an API key is required"));
    ///     }
    ///     Ok(req)
    /// })
    /// .unwrap();
    /// ```
    pub fn on_request<M, F>(&self, middleware: M) -> Result<(), Error>
    where
        M: Fn(Request) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoFlow,
    {
        self.on_request_with_priority(0, middleware)
    }

    /// Adds a request middleware; a higher `priority` runs earlier.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Request};
    ///
    /// let app = App::new("demo");
    /// app.on_request_with_priority(10, |req: Request| async move {
    ///     req.ctx().insert(std::time::Instant::now());
    ///     req
    /// })
    /// .unwrap();
    /// ```
    pub fn on_request_with_priority<M, F>(&self, priority: i32, middleware: M) -> Result<(), Error>
    where
        M: Fn(Request) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoFlow,
    {
        let middleware = request_mw(middleware);
        self.with_routes("a middleware", |routes| {
            routes.middleware.add_request(priority, middleware);
        })
    }

    /// Adds a response middleware (priority 0): it gets what the request
    /// was and the response, and returns the response to send.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// See [`RequestInfo`].
    pub fn on_response<M, F>(&self, middleware: M) -> Result<(), Error>
    where
        M: Fn(RequestInfo, Response) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResponse,
    {
        self.on_response_with_priority(0, middleware)
    }

    /// Adds a response middleware; a higher `priority` runs earlier.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::app::RequestInfo;
    /// use sanio::{App, Response};
    ///
    /// let app = App::new("demo");
    /// app.on_response_with_priority(5, |_info: RequestInfo, res: Response| async move {
    ///     res.with_header("x-frame-options", "DENY")
    /// })
    /// .unwrap();
    /// ```
    pub fn on_response_with_priority<M, F>(&self, priority: i32, middleware: M) -> Result<(), Error>
    where
        M: Fn(RequestInfo, Response) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResponse,
    {
        let middleware = response_mw(middleware);
        self.with_routes("a middleware", |routes| {
            routes.middleware.add_response(priority, middleware);
        })
    }
}
