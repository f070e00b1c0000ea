//! A CORS helper: `app.cors(origin)` lets pages from `origin` call the
//! app from a browser.
//!
//! Two middleware: a request middleware that answers preflights
//! (`OPTIONS` with `Access-Control-Request-Method`) with 204 before
//! routing, and a response middleware that adds
//! `Access-Control-Allow-Origin` to every answer. Credentials, exposed
//! headers and per-route policies are left to a middleware of your own.

use super::middleware::RequestInfo;
use super::{App, Error};
use crate::http::{Method, Request, Response, StatusCode};

/// The methods a preflight is told are allowed.
const METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

impl App {
    /// Allows cross-origin requests from `origin` (`"*"` for any, or one
    /// origin such as `"https://example.com"`): preflights are answered
    /// with 204, every response gets `Access-Control-Allow-Origin`.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("api");
    /// app.cors("https://example.com").unwrap();
    /// ```
    pub fn cors(&self, origin: &str) -> Result<(), Error> {
        let allow: std::sync::Arc<str> = origin.into();
        self.on_request_with_priority(i32::MAX, move |req: Request| {
            let answer = is_preflight(&req).then(|| {
                let mut response = Response::new(StatusCode::NO_CONTENT)
                    .with_header("access-control-allow-methods", METHODS)
                    .with_header("access-control-max-age", "600");
                if let Some(asked) = req.header("access-control-request-headers") {
                    response = response.with_header("access-control-allow-headers", asked);
                }
                response
            });
            async move {
                match answer {
                    Some(response) => Err(response),
                    None => Ok(req),
                }
            }
        })?;
        self.on_response_with_priority(i32::MIN, move |_info: RequestInfo, res: Response| {
            let mut res = res.with_header("access-control-allow-origin", &allow);
            if &*allow != "*" {
                res.headers_mut().append("vary", "Origin");
            }
            async move { res }
        })
    }
}

/// True for a CORS preflight request.
fn is_preflight(req: &Request) -> bool {
    *req.method() == Method::Options && req.header("access-control-request-method").is_some()
}
