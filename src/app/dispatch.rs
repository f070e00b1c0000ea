//! One request through the app: route, request middleware, handler, error
//! handlers, response middleware (the order is in `middleware.rs`).
//!
//! A route registered by a blueprint carries its [`Scope`]: the
//! blueprint's host, its middleware (nested blueprints flattened, outer to
//! inner) and its error handlers (inner to outer). Errors, whether sanio
//! raised them (404, 405, a panic's 500) or a handler or middleware
//! returned an `HttpError`, go through the nearest error handler for their
//! status, then the nearest catch-all, then the default JSON answer.

use std::sync::Arc;

use super::handler::SharedHandler;
use super::middleware::{RequestInfo, RequestMw, ResponseMw};
use super::routes::{ErrorHandler, Routes};
use super::App;
use crate::http::{HttpError, IntoResponse, Request, Response, StatusCode};
use crate::rt::CatchUnwind;

/// Error handlers of an app or a blueprint.
#[derive(Clone, Default)]
pub(crate) struct ErrorHandlers {
    /// By status, in registration order (the first registered wins).
    pub(crate) by_status: Vec<(StatusCode, ErrorHandler)>,
    /// For every other status.
    pub(crate) catch_all: Option<ErrorHandler>,
}

impl ErrorHandlers {
    /// The handler for `status`: by status, else the catch-all.
    fn find(&self, status: StatusCode) -> Option<&ErrorHandler> {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, h)| h)
            .or(self.catch_all.as_ref())
    }

    /// True when no handler is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_status.is_empty() && self.catch_all.is_none()
    }
}

/// What a blueprint adds to its routes.
#[derive(Default)]
pub(crate) struct Scope {
    /// The blueprint's name (for logs).
    pub(crate) name: String,
    /// Only requests for this host (the `Host` header, port aside).
    pub(crate) host: Option<String>,
    /// Request middleware, run order (after the app's).
    pub(crate) request: Vec<RequestMw>,
    /// Response middleware, run order (before the app's).
    pub(crate) response: Vec<ResponseMw>,
    /// Error handlers, the innermost blueprint's first.
    pub(crate) errors: Vec<ErrorHandlers>,
}

/// A routed handler.
#[derive(Clone)]
pub(crate) struct Route {
    /// The handler.
    pub(crate) handler: SharedHandler,
    /// The blueprint's additions, if a blueprint registered it.
    pub(crate) scope: Option<Arc<Scope>>,
    /// The handler reads the body as a stream (`route_streaming`).
    pub(crate) streaming: bool,
}

/// True when `host` (a `Host` header) names `want`, port and case aside.
fn host_matches(host: Option<&str>, want: &str) -> bool {
    let Some(host) = host else { return false };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name.eq_ignore_ascii_case(want)
}

/// The 500 that answers a panic, logged and reported.
fn panicked(app: &App, what: &str, payload: &(dyn std::any::Any + Send)) -> Response {
    let message = crate::rt::panic_message(payload);
    log::error!("{what} panicked: {message}");
    app.report_exception(format!("{what} panicked: {message}"));
    HttpError::internal("Internal Server Error").into_response()
}

impl Routes {
    /// Answers `request` (whose app slot is set).
    pub(crate) async fn dispatch(&self, app: &App, mut request: Request) -> Response {
        let routed = match self.route(&mut request) {
            Ok(route) => match &route.scope {
                Some(scope)
                    if scope
                        .host
                        .as_deref()
                        .is_some_and(|h| !host_matches(request.header("host"), h)) =>
                {
                    log::debug!("blueprint {:?}: another host; 404", scope.name);
                    Err(HttpError::not_found("Not Found").into_response())
                }
                _ => Ok(route),
            },
            Err(response) => Err(response),
        };
        let scope = routed.as_ref().ok().and_then(|r| r.scope.clone());
        let scope = scope.as_deref();
        let has_response_mw =
            !self.middleware.no_response() || scope.is_some_and(|s| !s.response.is_empty());
        let info = has_response_mw.then(|| RequestInfo::of(&request));

        let mut response = match self.before(app, request, scope).await {
            Err(answered) => answered,
            Ok(request) => match routed {
                Ok(route) => match CatchUnwind::new(route.handler.call(request)).await {
                    Ok(response) => response,
                    Err(payload) => panicked(app, "handler", &*payload),
                },
                Err(response) => response,
            },
        };
        response = self.handle_error(response, scope);
        if let Some(info) = info {
            let inner = scope.map_or(&[][..], |s| &s.response[..]);
            for middleware in inner.iter().chain(self.middleware.response()) {
                response = match CatchUnwind::new(middleware(info.clone(), response)).await {
                    Ok(response) => response,
                    Err(payload) => {
                        self.handle_error(panicked(app, "response middleware", &*payload), scope)
                    }
                };
            }
        }
        response
    }

    /// Runs the request middleware: the request to go on with, or the
    /// response one of them answered with.
    async fn before(
        &self,
        app: &App,
        mut request: Request,
        scope: Option<&Scope>,
    ) -> Result<Request, Response> {
        let inner = scope.map_or(&[][..], |s| &s.request[..]);
        for middleware in self.middleware.request().chain(inner) {
            request = match CatchUnwind::new(middleware(request)).await {
                Ok(flow) => flow?,
                Err(payload) => return Err(panicked(app, "request middleware", &*payload)),
            };
        }
        Ok(request)
    }

    /// Passes an error response through the nearest error handler for its
    /// status. Header fields of the error answer the handler does not set
    /// are kept (a 405's `Allow`, a 426's `Upgrade`, a 416's
    /// `Content-Range`).
    pub(crate) fn handle_error(&self, mut response: Response, scope: Option<&Scope>) -> Response {
        let Some(error) = response.take_error() else {
            return response;
        };
        let nearest = scope
            .map_or(&[][..], |s| &s.errors[..])
            .iter()
            .chain(std::iter::once(&self.errors))
            .find_map(|handlers| handlers.find(error.status));
        let Some(handler) = nearest else {
            return response;
        };
        let mut handled = handler(&error);
        drop(handled.take_error()); // answered: not an error to handle again
        for (name, value) in response.headers().iter() {
            if !name.eq_ignore_ascii_case("content-type") && !handled.headers().contains(name) {
                handled.headers_mut().append(name, value);
            }
        }
        handled
    }
}

#[cfg(test)]
mod tests {
    use super::host_matches;

    #[test]
    fn hosts_table() {
        let cases = [
            (Some("api.example.com"), "api.example.com", true),
            (Some("API.example.com:8080"), "api.example.com", true),
            (Some("api.example.com:x"), "api.example.com", false),
            (Some("example.com"), "api.example.com", false),
            (Some("[::1]:80"), "[::1]", true),
            (None, "api.example.com", false),
        ];
        for (host, want, expected) in cases {
            assert_eq!(host_matches(host, want), expected, "{host:?} {want}");
        }
    }
}
