//! Routes: registering handlers by method and path, and answering the
//! requests no handler takes (404, 405) or that fail (500).

use std::sync::Arc;

use super::dispatch::{ErrorHandlers, Route, Scope};
use super::handler::Handler;
use super::middleware::Chain;
use super::{App, Error};
use crate::http::{HttpError, IntoResponse, Match, Method, Request, Response, Router, StatusCode};

/// A custom answer for an error.
pub(crate) type ErrorHandler = Arc<dyn Fn(&HttpError) -> Response + Send + Sync>;

/// Routes, middleware and error handlers, shared by the workers while the
/// app runs and changed only while it does not (when nothing else holds
/// them).
#[derive(Default)]
pub(crate) struct Routes {
    /// Method + pattern -> handler.
    router: Router<Route>,
    /// The app's error handlers.
    pub(crate) errors: ErrorHandlers,
    /// The app's middleware.
    pub(crate) middleware: Chain,
}

impl Routes {
    /// Finds the route for `request` and stores its path parameters in it;
    /// otherwise the 404 or 405 (with `Allow`) to answer.
    pub(crate) fn route(&self, request: &mut Request) -> Result<Route, Response> {
        match self.router.at(request.method(), request.path()) {
            Match::Found(route, params) => {
                let route = route.clone();
                request.set_params(params);
                Ok(route)
            }
            Match::MethodNotAllowed(allow) => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                let error = HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                Err(error
                    .into_response()
                    .with_header("allow", &allow.join(", ")))
            }
            Match::NotFound => Err(HttpError::not_found("Not Found").into_response()),
        }
    }

    /// Adds a route, of a blueprint if `scope` is set.
    pub(crate) fn add(
        &mut self,
        method: Method,
        path: &str,
        handler: Arc<dyn Handler>,
        scope: Option<Arc<Scope>>,
        streaming: bool,
    ) -> Result<(), Error> {
        let route = Route {
            handler,
            scope,
            streaming,
        };
        self.router
            .add(method, path, route)
            .map_err(|err| Error::Route(err.to_string()))
    }

    /// True when `request` goes to a streaming route.
    pub(crate) fn streams(&self, request: &Request) -> bool {
        matches!(
            self.router.at(request.method(), request.path()),
            Match::Found(route, _) if route.streaming
        )
    }
}

impl App {
    /// Changes the routes, refused once the app runs.
    pub(crate) fn with_routes<R>(
        &self,
        what: &'static str,
        change: impl FnOnce(&mut Routes) -> R,
    ) -> Result<R, Error> {
        let mut setup = self.setup_mut(what)?;
        let routes = Arc::get_mut(&mut setup.routes).ok_or(Error::Frozen(what))?;
        Ok(change(routes))
    }
}

impl App {
    /// Routes `method` requests for `path` (Sanic syntax, e.g.
    /// `/user/<id:int>`) to `handler`.
    ///
    /// # Errors
    ///
    /// [`Error::Route`] for a bad pattern or a duplicate route,
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Method, Request};
    ///
    /// let app = App::new("demo");
    /// app.route(Method::Get, "/items/<id:int>", |req: Request| async move {
    ///     format!("item {}", req.param::<i64>("id").unwrap_or_default())
    /// })
    /// .unwrap();
    /// assert!(app.route(Method::Get, "/broken/<id:nope>", |_r: Request| async { "" }).is_err());
    /// ```
    pub fn route(&self, method: Method, path: &str, handler: impl Handler) -> Result<(), Error> {
        self.with_routes("a route", |routes| {
            routes.add(method, path, Arc::new(handler), None, false)
        })?
    }

    /// Routes `method` requests for `path` to a handler that reads the
    /// body as it arrives, through [`Request::body_stream`] (or
    /// `Request::form_stream` for uploads), instead of getting it whole:
    /// for large uploads. The request body limit still applies, counted as
    /// the body passes; a handler that answers before reading it all closes
    /// the connection after its response.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// See [`RequestBody`](crate::http::RequestBody).
    pub fn route_streaming(
        &self,
        method: Method,
        path: &str,
        handler: impl Handler,
    ) -> Result<(), Error> {
        self.with_routes("a route", |routes| {
            routes.add(method, path, Arc::new(handler), None, true)
        })?
    }

    /// Routes `GET` (and `HEAD`) requests for `path`.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.get("/", |_req: sanio::Request| async { "Hello, World!" }).unwrap();
    /// ```
    pub fn get(&self, path: &str, handler: impl Handler) -> Result<(), Error> {
        self.route(Method::Get, path, handler)
    }

    /// Routes `POST` requests for `path`.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.post("/echo", |req: sanio::Request| async move { req.body().to_vec() }).unwrap();
    /// ```
    pub fn post(&self, path: &str, handler: impl Handler) -> Result<(), Error> {
        self.route(Method::Post, path, handler)
    }

    /// Routes `PUT` requests for `path`.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.put("/x", |_req: sanio::Request| async { "put" }).unwrap();
    /// ```
    pub fn put(&self, path: &str, handler: impl Handler) -> Result<(), Error> {
        self.route(Method::Put, path, handler)
    }

    /// Routes `PATCH` requests for `path`.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.patch("/x", |_req: sanio::Request| async { "patch" }).unwrap();
    /// ```
    pub fn patch(&self, path: &str, handler: impl Handler) -> Result<(), Error> {
        self.route(Method::Patch, path, handler)
    }

    /// Routes `DELETE` requests for `path`.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.delete("/x", |_req: sanio::Request| async { "gone" }).unwrap();
    /// ```
    pub fn delete(&self, path: &str, handler: impl Handler) -> Result<(), Error> {
        self.route(Method::Delete, path, handler)
    }

    /// Sets the catch-all answer for errors: 404, 405, panics (500) and
    /// the `HttpError`s handlers and middleware return, unless an
    /// [`exception`](Self::exception) handler for the status (or a
    /// blueprint's handler) is nearer. A 405 keeps its `Allow` header.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, HttpError, Response};
    ///
    /// let app = App::new("demo");
    /// app.error_handler(|err: &HttpError| {
    ///     Response::text(format!("custom: {}", err.message)).with_status(err.status)
    /// })
    /// .unwrap();
    /// ```
    pub fn error_handler<H>(&self, handler: H) -> Result<(), Error>
    where
        H: Fn(&HttpError) -> Response + Send + Sync + 'static,
    {
        self.with_routes("an error handler", |routes| {
            routes.errors.catch_all = Some(Arc::new(handler));
        })
    }

    /// Sets the answer for errors of one status, as Sanic's
    /// `@app.exception(NotFound)`: sanio's own (404, 405, 500 for a panic)
    /// and the `HttpError`s handlers and middleware return. It is tried
    /// before the catch-all [`error_handler`](Self::error_handler); setting
    /// a status twice replaces the first.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, HttpError, Response, StatusCode};
    ///
    /// let app = App::new("demo");
    /// app.exception(StatusCode::NOT_FOUND, |err: &HttpError| {
    ///     Response::html(format!("<h1>Nothing here</h1><p>{}</p>", err.message))
    ///         .with_status(StatusCode::NOT_FOUND)
    /// })
    /// .unwrap();
    /// ```
    pub fn exception<H>(&self, status: StatusCode, handler: H) -> Result<(), Error>
    where
        H: Fn(&HttpError) -> Response + Send + Sync + 'static,
    {
        self.with_routes("an error handler", |routes| {
            let handlers = &mut routes.errors.by_status;
            handlers.retain(|(s, _)| *s != status);
            handlers.push((status, Arc::new(handler)));
        })
    }

    /// Freezes the routes for serving.
    pub(crate) fn frozen_routes(&self) -> Arc<Routes> {
        Arc::clone(&self.setup().routes)
    }
}
