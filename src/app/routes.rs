//! Routes: registering handlers by method and path, and answering the
//! requests no handler takes (404, 405) or that fail (500).

use std::sync::Arc;

use super::handler::{Handler, SharedHandler};
use super::{App, Error};
use crate::http::{HttpError, IntoResponse, Match, Method, Request, Response, Router, StatusCode};

/// A custom answer for 404, 405 and 500.
pub(crate) type ErrorHandler = Arc<dyn Fn(&HttpError) -> Response + Send + Sync>;

/// Routes, shared by the workers while the app runs and changed only while
/// it does not (when nothing else holds them).
#[derive(Default)]
pub(crate) struct Routes {
    /// Method + pattern -> handler.
    router: Router<SharedHandler>,
    /// The custom error answer, if set.
    error_handler: Option<ErrorHandler>,
}

impl Routes {
    /// Finds the handler for `request` and stores its path parameters in
    /// it; otherwise the 404 or 405 (with `Allow`) to answer.
    pub(crate) fn route(&self, request: &mut Request) -> Result<SharedHandler, Response> {
        match self.router.at(request.method(), request.path()) {
            Match::Found(handler, params) => {
                let handler = Arc::clone(handler);
                request.set_params(params);
                Ok(handler)
            }
            Match::MethodNotAllowed(allow) => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                let error = HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                Err(self
                    .error_response(error)
                    .with_header("Allow", &allow.join(", ")))
            }
            Match::NotFound => Err(self.error_response(HttpError::not_found("Not Found"))),
        }
    }

    /// The response for an error, through the custom handler if one is set.
    pub(crate) fn error_response(&self, error: HttpError) -> Response {
        match &self.error_handler {
            Some(handler) => handler(&error),
            None => error.into_response(),
        }
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
        let mut setup = self.setup_mut("a route")?;
        let routes = Arc::get_mut(&mut setup.routes).ok_or(Error::Frozen("a route"))?;
        routes
            .router
            .add(method, path, Arc::new(handler))
            .map_err(|err| Error::Route(err.to_string()))
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

    /// Sets the answer for 404, 405 and handler panics (500). A 405 gets
    /// its `Allow` header added to whatever the handler returns.
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
        let mut setup = self.setup_mut("an error handler")?;
        let routes = Arc::get_mut(&mut setup.routes).ok_or(Error::Frozen("an error handler"))?;
        routes.error_handler = Some(Arc::new(handler));
        Ok(())
    }

    /// Freezes the routes for serving.
    pub(crate) fn frozen_routes(&self) -> Arc<Routes> {
        Arc::clone(&self.setup().routes)
    }
}
