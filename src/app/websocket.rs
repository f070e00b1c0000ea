//! WebSocket routes: the upgrade glue between an HTTP request and a
//! [`WebSocket`] handler.
//!
//! `app.websocket(path, handler)` adds a GET route whose answer is the
//! handshake: 400/426 for a bad one, otherwise `101 Switching Protocols`
//! with an upgrade callback. After the 101 is written, the callback spawns
//! the socket's task (tracked with the worker's connections, so a graceful
//! stop waits for it; the HTTP connection's task ends), which starts the
//! socket's driver and runs the handler; when the handler ends,
//! the socket closes with 1000 (or 1011 if the handler failed or panicked;
//! a handler that passes its cancel on with `?` has not failed).
//! Every open socket is registered with its worker so a graceful stop can
//! close it with 1001.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use slab::Slab;

use super::error::Stopped;
use super::local::{try_local, Local};
use super::{App, Error, IntoResult};
use crate::http::{HttpError, IntoResponse, Request, Response, StatusCode};
use crate::rt::CatchUnwind;
use crate::rt::TaskRef;
use crate::ws::{check_upgrade, CloseCode, WebSocket, WsConfig};

/// A websocket handler shared by the workers.
type WsHandler = Arc<
    dyn Fn(Request, WebSocket) -> super::task_types::LocalFuture<Result<(), Stopped>> + Send + Sync,
>;

impl App {
    /// Serves websockets at `path`: `handler` gets the upgrade request and
    /// the [`WebSocket`], and may return `()` or a `Result`.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Request, WebSocket};
    ///
    /// let app = App::new("demo");
    /// app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
    ///     while let Some(message) = ws.recv().await {
    ///         ws.send(message).await?;
    ///     }
    ///     Ok::<(), sanio::WsError>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn websocket<H, F>(&self, path: &str, handler: H) -> Result<(), Error>
    where
        H: Fn(Request, WebSocket) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        self.websocket_with_protocols(path, &[], handler)
    }

    /// Like [`websocket`](Self::websocket), offering `protocols`: the first
    /// subprotocol the client lists that is among them is chosen.
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Request, WebSocket};
    ///
    /// let app = App::new("demo");
    /// app.websocket_with_protocols("/chat", &["chat.v2", "chat.v1"], |_req: Request, ws: WebSocket| async move {
    ///     let _ = ws.send("hello").await;
    /// })
    /// .unwrap();
    /// ```
    pub fn websocket_with_protocols<H, F>(
        &self,
        path: &str,
        protocols: &[&str],
        handler: H,
    ) -> Result<(), Error>
    where
        H: Fn(Request, WebSocket) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        self.get(path, upgrade_handler(protocols, handler))
    }
}

/// The GET handler that answers a websocket handshake and runs `handler`
/// after it (for apps and blueprints).
pub(crate) fn upgrade_handler<H, F>(protocols: &[&str], handler: H) -> impl super::Handler
where
    H: Fn(Request, WebSocket) -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: IntoResult,
{
    let handler: WsHandler =
        Arc::new(move |request, ws| super::error::judged(handler(request, ws)));
    let protocols: Arc<[String]> = protocols.iter().map(|p| (*p).to_owned()).collect();
    move |request: Request| upgrade(request, Arc::clone(&handler), Arc::clone(&protocols))
}

/// Answers the handshake and arranges for the handler to run after it.
async fn upgrade(request: Request, handler: WsHandler, protocols: Arc<[String]>) -> Response {
    let offered: Vec<&str> = protocols.iter().map(String::as_str).collect();
    let accept = match check_upgrade(
        request.method().as_str(),
        |name| request.header(name),
        &offered,
    ) {
        Ok(accept) => accept,
        Err(refused) => {
            log::debug!("websocket handshake refused: {refused}");
            // JSON like every other error answer.
            let mut response =
                HttpError::new(StatusCode::new(refused.status()), refused.reason()).into_response();
            for (name, value) in refused.headers() {
                response = response.with_header(name, value);
            }
            return response;
        }
    };
    let app = request.app();
    let config = app.websocket_config();
    let mut response = Response::empty(StatusCode::SWITCHING_PROTOCOLS);
    for (name, value) in accept.response_headers() {
        response = response.with_header(name, &value);
    }
    response.on_upgrade(Box::new(move |stream, leftover| {
        let local = try_local(&app);
        let ws = WebSocket::start(stream, leftover, &config);
        let task = crate::rt::spawn(run_handler(app, request, handler, ws.clone())).task_ref();
        // The driver cancels the socket's task, not this ending one, when
        // the client leaves.
        ws.set_handler_task(task.clone());
        if let Some(local) = local {
            local.connections.add(task);
        }
    }))
}

/// Runs the handler on the socket's task and closes the socket with the
/// code its outcome calls for.
async fn run_handler(app: App, request: Request, handler: WsHandler, ws: WebSocket) {
    let local = try_local(&app);
    let registration = local
        .clone()
        .map(|local| OpenSockets::register(local, ws.clone()));
    let scope = local.as_deref().map(super::scope::ScopeGuard::new);
    let outcome = CatchUnwind::new(handler(request, ws.clone())).await;
    drop(scope); // the handler's scoped tasks end with it
    let (code, reason) = match outcome {
        Ok(Ok(())) => (CloseCode::NORMAL, String::new()),
        // A cancel is not a failure. The cancels that reach a handler come
        // from a graceful stop (its 1001 close has started already, so this
        // close only waits for it) or from the client leaving (no close
        // frame to send).
        Ok(Err(Stopped::Cancelled(cancelled))) => {
            log::debug!("websocket handler ended on its cancel: {cancelled}");
            (CloseCode::NORMAL, String::new())
        }
        Ok(Err(Stopped::Failed(message))) => {
            log::error!("websocket handler failed: {message}");
            app.report_exception(format!("websocket handler failed: {message}"));
            (CloseCode::INTERNAL_ERROR, "handler error".to_owned())
        }
        Err(payload) => {
            let message = crate::rt::panic_message(&*payload);
            log::error!("websocket handler panicked: {message}");
            app.report_exception(format!("websocket handler panicked: {message}"));
            (CloseCode::INTERNAL_ERROR, "handler panicked".to_owned())
        }
    };
    ws.close(code, &reason).await;
    drop(registration);
}

impl App {
    /// The websocket settings of the running server (defaults off one).
    fn websocket_config(&self) -> WsConfig {
        self.running_config()
            .map(|config| config.websocket.clone())
            .unwrap_or_default()
    }
}

/// An open websocket and the task running its handler.
struct OpenSocket {
    /// The socket.
    ws: WebSocket,
    /// The socket's task, running the handler.
    handler: Option<TaskRef>,
}

/// The open websockets of one worker.
#[derive(Default)]
pub(crate) struct OpenSockets {
    /// The sockets, by slot.
    sockets: RefCell<Slab<OpenSocket>>,
}

impl OpenSockets {
    /// Registers `ws`, whose handler runs on the current task, until the
    /// returned guard drops.
    fn register(local: Rc<Local>, ws: WebSocket) -> Registered {
        let handler = TaskRef::current();
        let key = local
            .websockets
            .sockets
            .borrow_mut()
            .insert(OpenSocket { ws, handler });
        Registered { local, key }
    }

    /// Starts closing every open socket with 1001 (going away), then
    /// cancels its handler, so one blocked on an app event wakes and cleans
    /// up. The close is started here, before the handler can run again, so
    /// the 1001 is the close the client gets whatever the handler does next
    /// (its own `close` then only waits for this one).
    pub(crate) fn close_all(&self) {
        let open: Vec<(WebSocket, Option<TaskRef>)> = self
            .sockets
            .borrow()
            .iter()
            .map(|(_, open)| (open.ws.clone(), open.handler.clone()))
            .collect();
        for (ws, handler) in open {
            ws.start_close(CloseCode::GOING_AWAY, "server shutdown");
            if let Some(handler) = handler {
                handler.cancel_with("server shutdown");
            }
        }
    }
}

/// Removes a socket from its worker's list when dropped.
struct Registered {
    /// The worker.
    local: Rc<Local>,
    /// The socket's slot.
    key: usize,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let removed = self
            .local
            .websockets
            .sockets
            .borrow_mut()
            .try_remove(self.key);
        drop(removed);
    }
}
