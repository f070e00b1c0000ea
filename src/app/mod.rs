//! The Sanic-like application API: [`App`], its routes, listeners,
//! background tasks, signals, and the workers that run it.
//!
//! This layer composes everything below it and nothing imports it. An `App`
//! is a cheap, `Clone + Send + Sync` handle: routes, listeners, signal
//! handlers and config are shared by every worker and frozen while the app
//! runs; per-worker state (tasks, event waiters) lives with each worker's
//! loop (see `local.rs`).
//!
//! Files: `handler.rs` (handlers and the HTTP service), `routes.rs` (the
//! route table), `dispatch.rs` (one request through middleware, handler
//! and error handlers), `websocket.rs` (websocket routes and their
//! receive loops), `middleware.rs`, `cors.rs`, `logging.rs` (a stderr
//! logger), `blueprint.rs`, `state.rs` (app and worker state), `tls.rs`
//! (certificate reload),
//! `statics.rs` (static file routes), `listeners.rs`,
//! `tasks.rs` + `task_types.rs` (background tasks), `supervise.rs`
//! (restarts, panic policies, singletons), `scope.rs` (request-scoped and
//! child tasks), `anywhere.rs` + `remote.rs` + `names.rs` (tasks on any
//! worker), `info.rs`, `dump.rs` and `leaks.rs` (what tasks are doing and
//! what a stop left), `signals.rs`, `subscription.rs` (bounded event
//! queues),
//! `server.rs` (one worker), `workers.rs` (`run`, `serve`, stop),
//! `attach.rs` (one worker on a host-driven runtime),
//! `config.rs` + `env.rs` (settings from `SANIO_*` variables), `error.rs`,
//! `health.rs` (health and readiness); `cluster/` (feature `redis`: events,
//! leases and singletons across instances).
#![forbid(unsafe_code)]

mod anywhere;
mod attach;
mod blueprint;
#[cfg(feature = "redis")]
pub mod cluster;
mod config;
mod cors;
mod dispatch;
mod dump;
mod env;
mod error;
mod handler;
mod health;
mod info;
mod leaks;
mod listeners;
mod local;
mod logging;
mod middleware;
mod names;
mod remote;
mod routes;
mod scope;
mod server;
mod signals;
mod state;
mod statics;
mod subscription;
mod supervise;
mod task_types;
mod tasks;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "ws")]
mod websocket;
mod workers;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use attach::Attached;
pub use blueprint::Blueprint;
pub use config::Config;
pub use dump::{AppTaskDump, WorkerTasks};
pub use env::EnvError;
pub use error::{Error, IntoResult};
pub use handler::Handler;
pub use health::Health;
pub use info::{CancelOutcome, TaskInfo};
pub use leaks::StopReport;
pub use listeners::Lifecycle;
pub use logging::log_to_stderr;
pub use middleware::{IntoFlow, RequestInfo};
pub use signals::{Event, EventWait};
pub use subscription::Subscription;
pub use supervise::{Backoff, PanicPolicy, Restart, Singleton, TaskBuilder};
pub use task_types::{
    AppFactoryTask, FactoryTask, FutureTask, IntoTask, Task, TaskError, TaskHandle, TaskSource,
    TaskState,
};
pub use workers::Server;

pub(crate) use routes::Routes;

use listeners::Listener;
use signals::SignalHandler;
use tasks::Deferred;

use crate::rt::RuntimeHandle;

/// Gives every app a distinct id for per-worker lookups.
static NEXT_APP_ID: AtomicU64 = AtomicU64::new(1);

/// A Sanic-style application: routes, lifecycle listeners, background
/// tasks, signals, run on one loop per worker thread.
///
/// Cloning is cheap and every clone is the same app.
///
/// # Examples
///
/// ```no_run
/// use sanio::{App, Config, Request};
///
/// let app = App::new("hello");
/// app.get("/", |_req: Request| async { "Hello, World!" }).unwrap();
/// app.run(Config::from_env().unwrap()).unwrap();
/// ```
#[derive(Clone)]
pub struct App {
    /// The shared state.
    inner: Arc<Inner>,
}

/// What every clone of an app shares.
struct Inner {
    /// Unique per app in this process.
    id: u64,
    /// The app's name.
    name: String,
    /// Routes, listeners and signal handlers; written before `run`.
    setup: RwLock<Setup>,
    /// Set while the app runs; setup changes are refused then.
    running: AtomicBool,
    /// Tasks added before `run`, started on each worker.
    deferred: Mutex<Vec<Deferred>>,
    /// The loops of the workers (for broadcasts and stop).
    loops: Mutex<Vec<RuntimeHandle>>,
    /// Set by `stop()`; workers check it when they start.
    stopping: AtomicBool,
    /// The config of the current run.
    config: Mutex<Option<Arc<Config>>>,
    /// Cluster state: instance id, bridge status, outbox, singletons.
    #[cfg(feature = "redis")]
    cluster: cluster::Shared,
    /// Task names claimed across the workers (unique names, singletons):
    /// name -> worker.
    claims: Mutex<std::collections::HashMap<String, usize>>,
    /// Why a task stopped the app (its panic policy), for `run` to return.
    fatal: Mutex<Option<String>>,
    /// The stop reports of the last run's workers.
    stop_reports: Mutex<Vec<leaks::StopReport>>,
}

/// The parts of an app that are frozen while it runs.
#[derive(Default)]
struct Setup {
    /// Routes and error handler.
    routes: Arc<Routes>,
    /// Lifecycle listeners in registration order.
    listeners: Vec<Listener>,
    /// Signal handlers: (pattern, handler), in registration order.
    signals: Vec<(String, SignalHandler)>,
    /// App-wide state by type.
    state: state::StateMap,
    /// Per-worker state factories by type.
    worker_state: state::WorkerFactories,
}

/// Locks a mutex, recovering the data if a thread panicked holding it (the
/// data are plain lists, valid after any panic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    /// Creates an app named `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// assert_eq!(app.name(), "demo");
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_APP_ID.fetch_add(1, Ordering::Relaxed),
                name: name.into(),
                setup: RwLock::default(),
                running: AtomicBool::new(false),
                deferred: Mutex::default(),
                loops: Mutex::default(),
                stopping: AtomicBool::new(false),
                config: Mutex::default(),
                #[cfg(feature = "redis")]
                cluster: cluster::Shared::default(),
                claims: Mutex::default(),
                fatal: Mutex::default(),
                stop_reports: Mutex::default(),
            }),
        }
    }

    /// The app's name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::App::new("x").name(), "x");
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether the app is running (`run` or `serve` started it and it has
    /// not stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sanio::App::new("x").is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Acquire)
    }

    /// The index of the worker running on this thread (0 is the thread that
    /// called `run`), or `None` off the app's loops.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("x");
    /// assert_eq!(app.worker(), None);
    /// ```
    pub fn worker(&self) -> Option<usize> {
        local::try_local(self).and_then(|local| local.worker())
    }

    /// The unique id of this app.
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// Reads the setup.
    fn setup(&self) -> RwLockReadGuard<'_, Setup> {
        self.inner
            .setup
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the setup, refused while the app runs.
    fn setup_mut(&self, what: &'static str) -> Result<RwLockWriteGuard<'_, Setup>, Error> {
        if self.is_running() {
            return Err(Error::Frozen(what));
        }
        Ok(self
            .inner
            .setup
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Stores a listener.
    fn add_listener(&self, listener: Listener) -> Result<(), Error> {
        self.setup_mut("a listener")?.listeners.push(listener);
        Ok(())
    }

    /// A copy of the listeners.
    fn listeners(&self) -> Vec<Listener> {
        self.setup().listeners.clone()
    }

    /// Stores a signal handler.
    fn add_signal_handler(&self, pattern: String, handler: SignalHandler) -> Result<(), Error> {
        self.setup_mut("a signal handler")?
            .signals
            .push((pattern, handler));
        Ok(())
    }

    /// The handlers whose pattern matches `name`.
    fn signal_handlers(&self, name: &str) -> Vec<(String, SignalHandler)> {
        self.setup()
            .signals
            .iter()
            .filter(|(pattern, _)| signals::matches(pattern, name))
            .cloned()
            .collect()
    }

    /// Whether any handler matches `name`.
    fn has_signal_handlers(&self, name: &str) -> bool {
        !self.signal_handlers(name).is_empty()
    }

    /// The tasks kept for the workers.
    fn deferred_tasks(&self) -> MutexGuard<'_, Vec<Deferred>> {
        lock(&self.inner.deferred)
    }

    /// Adds a worker's loop to the broadcast list (forgetting loops that
    /// have shut down, so the list cannot grow without bound).
    fn register_loop(&self, handle: RuntimeHandle) {
        let mut loops = lock(&self.inner.loops);
        loops.retain(RuntimeHandle::is_open);
        loops.push(handle);
    }

    /// Removes a worker's loop from the broadcast list.
    fn deregister_loop(&self, handle: &RuntimeHandle) {
        lock(&self.inner.loops).retain(|h| !h.same_loop(handle));
    }

    /// The config of the current run, if running.
    #[cfg_attr(not(any(feature = "ws", feature = "tls")), allow(dead_code))]
    fn running_config(&self) -> Option<Arc<Config>> {
        lock(&self.inner.config).clone()
    }

    /// Records why a task stopped the app (the first reason stays).
    fn record_fatal(&self, reason: String) {
        lock(&self.inner.fatal).get_or_insert(reason);
    }

    /// Takes the reason a task stopped the app, if one did.
    fn take_fatal(&self) -> Option<String> {
        lock(&self.inner.fatal).take()
    }

    /// The loops of the running workers.
    fn loops(&self) -> Vec<RuntimeHandle> {
        lock(&self.inner.loops).clone()
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("name", &self.inner.name)
            .field("running", &self.is_running())
            .finish()
    }
}

impl crate::http::Request {
    /// The app serving this request.
    ///
    /// # Panics
    ///
    /// Panics for a request that no app routed (one built with
    /// `Request::new` in a test); requests given to handlers always have it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Request};
    ///
    /// let app = App::new("demo");
    /// app.get("/name", |req: Request| async move { req.app().name().to_owned() }).unwrap();
    /// ```
    pub fn app(&self) -> App {
        self.ext
            .as_ref()
            .and_then(|ext| ext.downcast_ref::<App>())
            .cloned()
            .expect("requests given to handlers carry their App")
    }
}
