//! Blueprints: groups of routes under a URL prefix, with their own
//! middleware, error handlers and listeners, optionally for one host, and
//! nested in one another (Sanic's `Blueprint` and `Blueprint.group`).
//!
//! A [`Blueprint`] is a plain value built before the app runs;
//! `app.blueprint(bp)` copies its routes into the app's router, each with
//! the blueprint's scope (see `dispatch.rs`). Handlers are the same as the
//! app's, so routes keep their typed parameters.

use std::future::Future;
use std::sync::Arc;

use super::dispatch::{ErrorHandlers, Scope};
use super::handler::Handler;
use super::listeners::{Lifecycle, Listener};
use super::middleware::{request_mw, response_mw, Chain, IntoFlow, RequestInfo};
use super::{App, Error, IntoResult};
use crate::http::{HttpError, IntoResponse, Method, Request, Response, StatusCode};

/// A group of routes with a URL prefix and its own middleware, error
/// handlers and listeners.
///
/// # Examples
///
/// ```
/// use sanio::app::Blueprint;
/// use sanio::{App, HttpError, Request, StatusCode};
///
/// let mut admin = Blueprint::new("admin").url_prefix("/admin");
/// admin.on_request(|req: Request| async move {
///     match req.header("authorization") {
///         Some("Bearer secret") => Ok(req),
///         _ => Err(HttpError::new(StatusCode::UNAUTHORIZED, "a bearer token is required")),
///     }
/// });
/// admin.get("/users/<id:int>", |req: Request| async move {
///     format!("user {}", req.param::<i64>("id").unwrap_or_default())
/// });
///
/// let app = App::new("demo");
/// app.blueprint(admin).unwrap();
/// ```
pub struct Blueprint {
    /// The name (for logs and errors).
    name: String,
    /// Prepended to every route path.
    prefix: String,
    /// Only requests for this host match.
    host: Option<String>,
    /// (method, path, handler, streaming) in registration order.
    routes: Vec<(Method, String, Arc<dyn Handler>, bool)>,
    /// The blueprint's middleware.
    middleware: Chain,
    /// The blueprint's error handlers.
    errors: ErrorHandlers,
    /// Listeners, added to the app's.
    listeners: Vec<Listener>,
    /// Nested blueprints.
    children: Vec<Blueprint>,
}

impl Blueprint {
    /// An empty blueprint named `name`, with no prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// let bp = sanio::app::Blueprint::new("api");
    /// assert_eq!(bp.name(), "api");
    /// ```
    pub fn new(name: impl Into<String>) -> Blueprint {
        Blueprint {
            name: name.into(),
            prefix: String::new(),
            host: None,
            routes: Vec::new(),
            middleware: Chain::default(),
            errors: ErrorHandlers::default(),
            listeners: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The name.
    ///
    /// # Examples
    ///
    /// See [`new`](Self::new).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the URL prefix of every route (and of nested blueprints').
    ///
    /// # Examples
    ///
    /// ```
    /// let bp = sanio::app::Blueprint::new("api").url_prefix("/api/v1");
    /// # let _ = bp;
    /// ```
    #[must_use]
    pub fn url_prefix(mut self, prefix: &str) -> Blueprint {
        self.prefix = prefix.to_owned();
        self
    }

    /// Matches only requests whose `Host` is `host` (port aside); others
    /// get a 404. Nested blueprints inherit it unless they set their own.
    /// Two blueprints cannot share a path on different hosts: the route
    /// table is by path.
    ///
    /// # Examples
    ///
    /// ```
    /// let bp = sanio::app::Blueprint::new("api").host("api.example.com");
    /// # let _ = bp;
    /// ```
    #[must_use]
    pub fn host(mut self, host: &str) -> Blueprint {
        self.host = Some(host.to_owned());
        self
    }

    /// Routes `method` requests for `path` (below the prefix) to
    /// `handler`. Bad patterns are reported by `App::blueprint`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{app::Blueprint, Method, Request};
    ///
    /// let mut bp = Blueprint::new("api").url_prefix("/api");
    /// bp.route(Method::Get, "/ping", |_req: Request| async { "pong" })
    ///     .route(Method::Put, "/items/<id:int>", |_req: Request| async { "put" });
    /// ```
    pub fn route(&mut self, method: Method, path: &str, handler: impl Handler) -> &mut Blueprint {
        self.routes
            .push((method, path.to_owned(), Arc::new(handler), false));
        self
    }

    /// Routes `method` requests for `path` to a handler that reads the
    /// body as it arrives (see `App::route_streaming`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{app::Blueprint, Method, Request};
    ///
    /// let mut bp = Blueprint::new("files").url_prefix("/files");
    /// bp.route_streaming(Method::Put, "/<name:str>", |mut req: Request| async move {
    ///     let mut body = req.body_stream().expect("a streaming route");
    ///     let mut size = 0;
    ///     while let Ok(Some(chunk)) = body.chunk().await {
    ///         size += chunk.len();
    ///     }
    ///     format!("{size} bytes")
    /// });
    /// ```
    pub fn route_streaming(
        &mut self,
        method: Method,
        path: &str,
        handler: impl Handler,
    ) -> &mut Blueprint {
        self.routes
            .push((method, path.to_owned(), Arc::new(handler), true));
        self
    }

    /// Routes `GET` (and `HEAD`).
    ///
    /// # Examples
    ///
    /// See [`Blueprint`].
    pub fn get(&mut self, path: &str, handler: impl Handler) -> &mut Blueprint {
        self.route(Method::Get, path, handler)
    }

    /// Routes `POST`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bp = sanio::app::Blueprint::new("api");
    /// bp.post("/echo", |req: sanio::Request| async move { req.body().to_vec() });
    /// ```
    pub fn post(&mut self, path: &str, handler: impl Handler) -> &mut Blueprint {
        self.route(Method::Post, path, handler)
    }

    /// Routes `PUT`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bp = sanio::app::Blueprint::new("api");
    /// bp.put("/x", |_req: sanio::Request| async { "put" });
    /// ```
    pub fn put(&mut self, path: &str, handler: impl Handler) -> &mut Blueprint {
        self.route(Method::Put, path, handler)
    }

    /// Routes `PATCH`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bp = sanio::app::Blueprint::new("api");
    /// bp.patch("/x", |_req: sanio::Request| async { "patch" });
    /// ```
    pub fn patch(&mut self, path: &str, handler: impl Handler) -> &mut Blueprint {
        self.route(Method::Patch, path, handler)
    }

    /// Routes `DELETE`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bp = sanio::app::Blueprint::new("api");
    /// bp.delete("/x", |_req: sanio::Request| async { "gone" });
    /// ```
    pub fn delete(&mut self, path: &str, handler: impl Handler) -> &mut Blueprint {
        self.route(Method::Delete, path, handler)
    }

    /// Serves websockets at `path` (as `App::websocket`); the blueprint's
    /// request middleware run before the handshake.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{app::Blueprint, Request, WebSocket};
    ///
    /// let mut bp = Blueprint::new("live").url_prefix("/live");
    /// bp.websocket("/echo", |_req: Request, ws: WebSocket| async move {
    ///     while let Some(message) = ws.recv().await {
    ///         ws.send(message).await?;
    ///     }
    ///     Ok::<(), sanio::WsError>(())
    /// });
    /// ```
    #[cfg(feature = "ws")]
    pub fn websocket<H, F>(&mut self, path: &str, handler: H) -> &mut Blueprint
    where
        H: Fn(Request, crate::ws::WebSocket) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        self.get(path, super::websocket::upgrade_handler(&[], handler))
    }

    /// Adds a request middleware (see `App::on_request`); it runs after the
    /// app's and outer blueprints'.
    ///
    /// # Examples
    ///
    /// See [`Blueprint`].
    pub fn on_request<M, F>(&mut self, middleware: M) -> &mut Blueprint
    where
        M: Fn(Request) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoFlow,
    {
        self.on_request_with_priority(0, middleware)
    }

    /// Adds a request middleware with a priority (higher runs earlier,
    /// among this blueprint's).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bp = sanio::app::Blueprint::new("api");
    /// bp.on_request_with_priority(5, |req: sanio::Request| async move { req });
    /// ```
    pub fn on_request_with_priority<M, F>(&mut self, priority: i32, middleware: M) -> &mut Blueprint
    where
        M: Fn(Request) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoFlow,
    {
        self.middleware
            .add_request(priority, request_mw(middleware));
        self
    }

    /// Adds a response middleware (see `App::on_response`); it runs before
    /// outer blueprints' and the app's.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::app::{Blueprint, RequestInfo};
    /// use sanio::Response;
    ///
    /// let mut bp = Blueprint::new("api");
    /// bp.on_response(|_info: RequestInfo, res: Response| async move {
    ///     res.with_header("cache-control", "no-store")
    /// });
    /// ```
    pub fn on_response<M, F>(&mut self, middleware: M) -> &mut Blueprint
    where
        M: Fn(RequestInfo, Response) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResponse,
    {
        self.on_response_with_priority(0, middleware)
    }

    /// Adds a response middleware with a priority (higher runs earlier,
    /// among this blueprint's).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::app::{Blueprint, RequestInfo};
    /// let mut bp = Blueprint::new("api");
    /// bp.on_response_with_priority(1, |_i: RequestInfo, res: sanio::Response| async move { res });
    /// ```
    pub fn on_response_with_priority<M, F>(
        &mut self,
        priority: i32,
        middleware: M,
    ) -> &mut Blueprint
    where
        M: Fn(RequestInfo, Response) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResponse,
    {
        self.middleware
            .add_response(priority, response_mw(middleware));
        self
    }

    /// Answers errors of `status` raised in this blueprint's routes (see
    /// `App::exception`); nearer than the app's handlers.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{app::Blueprint, HttpError, Response, StatusCode};
    ///
    /// let mut bp = Blueprint::new("api");
    /// bp.exception(StatusCode::UNAUTHORIZED, |_err: &HttpError| {
    ///     Response::text("log in first").with_status(StatusCode::UNAUTHORIZED)
    /// });
    /// ```
    pub fn exception<H>(&mut self, status: StatusCode, handler: H) -> &mut Blueprint
    where
        H: Fn(&HttpError) -> Response + Send + Sync + 'static,
    {
        self.errors.by_status.retain(|(s, _)| *s != status);
        self.errors.by_status.push((status, Arc::new(handler)));
        self
    }

    /// Answers every other error raised in this blueprint's routes.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{app::Blueprint, HttpError, Response};
    ///
    /// let mut bp = Blueprint::new("api");
    /// bp.error_handler(|err: &HttpError| Response::text(err.message.clone()).with_status(err.status));
    /// ```
    pub fn error_handler<H>(&mut self, handler: H) -> &mut Blueprint
    where
        H: Fn(&HttpError) -> Response + Send + Sync + 'static,
    {
        self.errors.catch_all = Some(Arc::new(handler));
        self
    }

    /// Adds a lifecycle listener (added to the app's when the blueprint is
    /// registered).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{app::Blueprint, App, Lifecycle};
    ///
    /// let mut bp = Blueprint::new("api");
    /// bp.listener(Lifecycle::BeforeServerStart, |_app: App| async { log::info!("api ready") });
    /// ```
    pub fn listener<L, F>(&mut self, phase: Lifecycle, listener: L) -> &mut Blueprint
    where
        L: Fn(App) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        self.listeners.push(Listener {
            phase,
            priority: 0,
            name: std::any::type_name::<L>(),
            run: Arc::new(move |app| super::error::judged(listener(app))),
        });
        self
    }

    /// Nests `child`: its prefix goes below this one's, and this
    /// blueprint's middleware, error handlers and host apply to it too.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::app::Blueprint;
    ///
    /// let mut v1 = Blueprint::new("v1").url_prefix("/v1");
    /// v1.get("/ping", |_req: sanio::Request| async { "pong" }); // /api/v1/ping
    /// let mut api = Blueprint::new("api").url_prefix("/api");
    /// api.blueprint(v1);
    /// sanio::App::new("demo").blueprint(api).unwrap();
    /// ```
    pub fn blueprint(&mut self, child: Blueprint) -> &mut Blueprint {
        self.children.push(child);
        self
    }
}

impl std::fmt::Debug for Blueprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blueprint")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("host", &self.host)
            .field("routes", &self.routes.len())
            .field("children", &self.children.len())
            .finish()
    }
}

/// What an outer blueprint passes to the ones inside it.
#[derive(Default)]
struct Outer {
    /// The joined prefix.
    prefix: String,
    /// The nearest host.
    host: Option<String>,
    /// Request middleware so far, run order.
    request: Vec<super::middleware::RequestMw>,
    /// Response middleware so far, run order.
    response: Vec<super::middleware::ResponseMw>,
    /// Error handlers, innermost first.
    errors: Vec<ErrorHandlers>,
}

/// `prefix` and `path` joined with one slash between them.
fn join(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let mut joined = String::with_capacity(prefix.len() + path.len() + 2);
    if !prefix.starts_with('/') {
        joined.push('/');
    }
    joined.push_str(prefix);
    if !joined.ends_with('/') {
        joined.push('/');
    }
    joined.push_str(path);
    joined
}

impl App {
    /// Registers `blueprint` and the blueprints nested in it: their routes
    /// (prefixed), middleware, error handlers and listeners.
    ///
    /// # Errors
    ///
    /// [`Error::Route`] for a bad pattern or a path taken (naming the
    /// blueprint; routes before it stay registered), [`Error::Frozen`]
    /// once the app runs.
    ///
    /// # Examples
    ///
    /// See [`Blueprint`].
    pub fn blueprint(&self, blueprint: Blueprint) -> Result<(), Error> {
        self.register_blueprint(blueprint, &Outer::default())
    }

    /// Registers one blueprint below `outer`, then its children.
    fn register_blueprint(&self, bp: Blueprint, outer: &Outer) -> Result<(), Error> {
        let mut errors = Vec::with_capacity(outer.errors.len() + 1);
        if !bp.errors.is_empty() {
            errors.push(bp.errors.clone());
        }
        errors.extend(outer.errors.iter().cloned());
        let here = Outer {
            prefix: join(&outer.prefix, &bp.prefix),
            host: bp.host.clone().or_else(|| outer.host.clone()),
            request: outer
                .request
                .iter()
                .chain(bp.middleware.request())
                .cloned()
                .collect(),
            response: bp
                .middleware
                .response()
                .chain(outer.response.iter())
                .cloned()
                .collect(),
            errors,
        };
        let scope = Arc::new(Scope {
            name: bp.name.clone(),
            host: here.host.clone(),
            request: here.request.clone(),
            response: here.response.clone(),
            errors: here.errors.clone(),
        });
        for (method, path, handler, streaming) in bp.routes {
            let full = join(&here.prefix, &path);
            self.with_routes("a blueprint", |routes| {
                routes.add(method, &full, handler, Some(Arc::clone(&scope)), streaming)
            })?
            .map_err(|err| Error::Route(format!("blueprint {:?}: {err}", bp.name)))?;
        }
        for listener in bp.listeners {
            self.add_listener(listener)?;
        }
        for child in bp.children {
            self.register_blueprint(child, &here)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn join_table() {
        let cases = [
            ("", "/x", "/x"),
            ("", "/", "/"),
            ("/admin", "/tasks", "/admin/tasks"),
            ("/admin/", "tasks", "/admin/tasks"),
            ("admin", "/", "/admin/"),
            ("/api", "/v1/<id:int>", "/api/v1/<id:int>"),
        ];
        for (prefix, path, want) in cases {
            assert_eq!(join(prefix, path), want, "{prefix} + {path}");
        }
    }
}
