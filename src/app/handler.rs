//! Handlers, and the service that answers HTTP requests with them.
//!
//! A handler is any `Fn(Request) -> impl Future<Output = impl IntoResponse>`
//! that can be shared by workers (`Send + Sync`); the future it returns runs
//! on one worker's loop and need not be `Send`. `AppService` is the app's
//! implementation of the HTTP layer's `Service` seam: route, call, turn the
//! result into a response, and mind the access log and lifecycle events.

use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use super::App;
use crate::http::{IntoResponse, Request, Response, Service};
use crate::rt::PooledFuture;

/// A request handler. Implemented for every `async fn(Request) -> T` and
/// closure `Fn(Request) -> Fut` where:
///
/// - the function itself is `Send + Sync + 'static` (every worker shares
///   it);
/// - the future `Fut` is `'static` and need **not** be `Send`: it runs on
///   the one worker loop that received the request, so it may hold an
///   `Rc`, a `RefCell` borrow across an `.await`, or a `WebSocket`;
/// - its output `T` is [`IntoResponse`].
///
/// Also at the crate root as `sanio::Handler`.
///
/// # Examples
///
/// ```
/// use sanio::{App, Request};
///
/// async fn hello(_req: Request) -> &'static str {
///     "Hello, World!"
/// }
///
/// let app = App::new("demo");
/// app.get("/", hello).unwrap();
/// app.get("/user/<id:int>", |req: Request| async move {
///     format!("user {}", req.param::<i64>("id").unwrap_or_default())
/// })
/// .unwrap();
///
/// // A future that is not `Send` is fine: it stays on its worker.
/// app.get("/local", |_req: Request| async {
///     let here = std::rc::Rc::new(1);
///     sanio::rt::yield_now().await;
///     format!("{here}")
/// })
/// .unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sanio handler",
    note = "a handler is an `async fn(Request) -> impl IntoResponse` (or a closure returning such a future); the function must be `Send + Sync + 'static`, its future only `'static`"
)]
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    ///
    /// The future's box comes from a per-thread pool ([`PooledFuture`]),
    /// so answering a request on a warm loop allocates nothing for it.
    fn call(&self, request: Request) -> PooledFuture<Response>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future + 'static,
    Fut::Output: IntoResponse,
{
    fn call(&self, request: Request) -> PooledFuture<Response> {
        let future = self(request);
        PooledFuture::new(async move { future.await.into_response() })
    }
}

/// A handler shared by all workers.
pub(crate) type SharedHandler = Arc<dyn Handler>;

/// What the app uses to answer requests on one worker.
pub(crate) struct AppService {
    /// The app (routes, error handlers, events).
    pub(crate) app: App,
    /// The routes, frozen when the app started.
    pub(crate) routes: Arc<super::Routes>,
    /// Whether to log each request.
    pub(crate) access_log: bool,
    /// The app, ready to attach to each request without an allocation.
    pub(crate) app_ext: Rc<dyn std::any::Any>,
    /// This worker's state (its event waiters).
    pub(crate) local: Rc<super::local::Local>,
    /// Whether a signal handler listens to `http.lifecycle.*`.
    pub(crate) lifecycle_handlers: bool,
}

impl Service for AppService {
    fn call(self: Rc<Self>, request: Request) -> PooledFuture<Response> {
        // `answer` itself goes in the box, not an `async` block around it
        // (which would be larger, and every byte is copied into the box).
        PooledFuture::new(self.answer(request))
    }

    fn streams_body(&self, request: &Request) -> bool {
        self.routes.streams(request)
    }
}

impl AppService {
    /// Answers one request through the app's routes and middleware (see
    /// `dispatch.rs`), minding the access log and lifecycle events.
    async fn answer(self: Rc<Self>, mut request: Request) -> Response {
        let started = self.access_log.then(Instant::now);
        // The built-in per-request events cost a flag and a few length
        // checks when nobody listens to them; waits and subscriptions for
        // other events on this worker add nothing.
        let lifecycle = self.lifecycle_handlers
            || self.local.listens("http.lifecycle.request")
            || self.local.listens("http.lifecycle.response");
        let log_line = (self.access_log || lifecycle).then(|| {
            (
                request.method().as_str().to_owned(),
                request.path().to_owned(),
            )
        });
        if let (true, Some((method, path))) = (lifecycle, &log_line) {
            let message = format!("{method} {path}");
            self.app
                .dispatch_built_in("http.lifecycle.request", Some(message))
                .await;
        }
        request.ext = Some(Rc::clone(&self.app_ext));
        let response = {
            // Cancels the request's scoped tasks however the handler (or a
            // middleware) ends, a drop of this future included.
            let _scope = super::scope::ScopeGuard::new(&self.local);
            self.routes.dispatch(&self.app, request).await
        };
        if let (true, Some((method, path))) = (lifecycle, &log_line) {
            let message = format!("{method} {path} {}", response.status().as_u16());
            self.app
                .dispatch_built_in("http.lifecycle.response", Some(message))
                .await;
        }
        if let (Some(started), Some((method, path))) = (started, log_line) {
            log::info!(
                target: "sanio::access",
                "{method} {path} {} {}B {:?}",
                response.status().as_u16(),
                response.body_bytes().map_or(0, <[u8]>::len),
                started.elapsed()
            );
        }
        response
    }
}
