//! The app layer's error type.

use std::any::Any;
use std::fmt;
use std::io;

/// What went wrong in an [`App`](super::App) call. Each variant names the
/// task, event or phase involved.
///
/// # Examples
///
/// ```
/// let err = sanio::Error::UnknownTask("slow_task".into());
/// assert_eq!(err.to_string(), "Registered task named \"slow_task\" not found");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Binding the listening socket failed.
    Bind {
        /// The address that could not be bound.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// Another I/O error (creating a loop, starting a thread).
    Io(io::Error),
    /// A live task already has this name on this worker.
    TaskNameTaken(String),
    /// No task with this name is registered on this worker.
    UnknownTask(String),
    /// The event name is not three dot-separated parts of letters, digits,
    /// `_` or `-` (Sanic's rule: `my.custom.event`; `job.done` is refused).
    InvalidEvent(String),
    /// The event name is in the `http.` or `server.` namespace, which only
    /// sanio's built-in events may use.
    ReservedEvent(String),
    /// An `event()` wait ran past its timeout.
    EventTimeout(String),
    /// The task waiting on an event was cancelled.
    Cancelled(crate::rt::Cancelled),
    /// The call needs a running sanio loop on this thread.
    NoLoop(&'static str),
    /// Routes, listeners and signal handlers cannot change once the app runs.
    Frozen(&'static str),
    /// `run` or `serve` was called on an app that is running already.
    AlreadyRunning,
    /// A plain future was added while the app runs, from a thread that
    /// runs no loop: it cannot move to a worker (add a factory instead).
    FutureOffWorker,
    /// A route pattern could not be parsed.
    Route(String),
    /// A lifecycle listener failed; the app stopped.
    Listener {
        /// The lifecycle phase, e.g. `before_server_start`.
        phase: &'static str,
        /// The listener's error message.
        message: String,
    },
    /// A worker thread panicked.
    WorkerPanicked(usize),
    /// A `SANIO_*` variable has a malformed value.
    Env(super::EnvError),
    /// A certificate or key could not be loaded.
    #[cfg(feature = "tls")]
    Tls(crate::net::TlsError),
    /// A restart policy (or a singleton before `run`) needs a factory: a
    /// plain future cannot run twice or on another worker.
    NeedsFactory(String),
    /// A task panicked and its panic policy stopped the app.
    TaskPanicked(String),
    /// `add_child_task` was called outside a task added through the app.
    NoParent,
    /// A task placed with [`Singleton::Cluster`](crate::Singleton::Cluster)
    /// was given a restart, backoff, `max_restarts` or `on_panic` policy,
    /// which cluster singletons do not take yet (the task's name).
    #[cfg(feature = "redis")]
    ClusterSingletonPolicy(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind { addr, source } => write!(f, "cannot bind {addr}: {source}"),
            Self::Io(err) => write!(f, "I/O error: {err}"),
            Self::TaskNameTaken(name) => write!(f, "A live task named \"{name}\" already exists"),
            Self::UnknownTask(name) => write!(f, "Registered task named \"{name}\" not found"),
            Self::InvalidEvent(name) => write!(
                f,
                "Invalid signal event: {name} (an event name is three dot-separated parts of \
                 letters, digits, _ or -, like my.custom.event)"
            ),
            Self::ReservedEvent(name) => write!(f, "Cannot declare reserved signal event: {name}"),
            Self::EventTimeout(name) => write!(f, "Timed out waiting for event: {name}"),
            Self::Cancelled(cancelled) => write!(f, "{cancelled}"),
            Self::NoLoop(what) => write!(f, "{what} needs a running sanio loop on this thread"),
            Self::Frozen(what) => write!(f, "cannot add {what} once the app is running"),
            Self::AlreadyRunning => f.write_str(
                "the app is already running: stop it (and join it) before running it again",
            ),
            Self::FutureOffWorker => f.write_str(
                "a plain future added while the app runs, from a thread that runs no worker, \
                 cannot reach the workers: add a factory (it starts on every worker now) \
                 or add the future on a worker",
            ),
            Self::Route(message) => write!(f, "invalid route: {message}"),
            Self::Listener { phase, message } => write!(f, "{phase} listener failed: {message}"),
            Self::WorkerPanicked(index) => write!(f, "worker {index} panicked"),
            Self::Env(err) => write!(f, "{err}"),
            #[cfg(feature = "tls")]
            Self::Tls(err) => write!(f, "{err}"),
            Self::NeedsFactory(name) => {
                write!(
                    f,
                    "task {name} needs a factory (a closure returning the future)"
                )
            }
            Self::TaskPanicked(reason) => write!(f, "stopped by a task's panic policy: {reason}"),
            Self::NoParent => f.write_str("add_child_task needs to be called from an app task"),
            #[cfg(feature = "redis")]
            Self::ClusterSingletonPolicy(name) => write!(
                f,
                "task {name}: cluster singletons take no restart, backoff, max_restarts \
                 or on_panic policy yet"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind { source, .. } | Self::Io(source) => Some(source),
            Self::Cancelled(cancelled) => Some(cancelled),
            Self::Env(err) => Some(err),
            #[cfg(feature = "tls")]
            Self::Tls(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<super::EnvError> for Error {
    fn from(err: super::EnvError) -> Self {
        Self::Env(err)
    }
}

impl From<crate::rt::Cancelled> for Error {
    fn from(cancelled: crate::rt::Cancelled) -> Self {
        Self::Cancelled(cancelled)
    }
}

/// The outcome of a task, listener or signal handler: `()` or a `Result`
/// whose error can be shown. This is how sanio tells "failed" from "done"
/// without guessing, and "cancelled" from "failed": an error that is a
/// [`Cancelled`](crate::rt::Cancelled), or carries one (see
/// [`as_cancelled`](Self::as_cancelled)), is a cancel passed on with `?`.
///
/// # Examples
///
/// ```
/// use sanio::IntoResult;
///
/// assert_eq!(().into_result(), Ok(()));
/// let failed: Result<u8, String> = Err("disk full".into());
/// assert_eq!(failed.into_result(), Err("disk full".to_owned()));
/// ```
pub trait IntoResult: 'static {
    /// The value of a success.
    type Ok: 'static;
    /// Converts to a result with the error shown as text.
    ///
    /// # Errors
    ///
    /// The error's `Display` text.
    fn into_result(self) -> Result<Self::Ok, String>;

    /// The cancel this outcome passes on, if it is an error that is one: a
    /// [`Cancelled`](crate::rt::Cancelled), an [`Error::Cancelled`], a
    /// `WsError::Cancelled`, or a boxed error whose chain of sources holds
    /// a `Cancelled`. A task or websocket handler that ends so is recorded
    /// as cancelled, not failed, and nothing is reported. Other error types
    /// (your own, `anyhow`) count as failures.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::IntoResult;
    ///
    /// let passed_on: Result<(), sanio::Error> = Err(sanio::rt::Cancelled::default().into());
    /// assert!(passed_on.as_cancelled().is_some());
    /// let failed: Result<(), String> = Err("disk full".into());
    /// assert!(failed.as_cancelled().is_none());
    /// ```
    fn as_cancelled(&self) -> Option<&crate::rt::Cancelled> {
        None
    }
}

impl IntoResult for () {
    type Ok = ();
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<T: 'static, E: fmt::Display + 'static> IntoResult for Result<T, E> {
    type Ok = T;
    fn into_result(self) -> Result<T, String> {
        self.map_err(|err| err.to_string())
    }

    fn as_cancelled(&self) -> Option<&crate::rt::Cancelled> {
        let err: &dyn Any = self.as_ref().err()?;
        if let Some(cancelled) = err.downcast_ref::<crate::rt::Cancelled>() {
            return Some(cancelled);
        }
        if let Some(err) = err.downcast_ref::<Error>() {
            return cancel_in_chain(err);
        }
        #[cfg(feature = "ws")]
        if let Some(err) = err.downcast_ref::<crate::ws::WsError>() {
            return err.cancelled();
        }
        if let Some(err) = err.downcast_ref::<Box<dyn std::error::Error>>() {
            return cancel_in_chain(&**err);
        }
        if let Some(err) = err.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>() {
            return cancel_in_chain(&**err);
        }
        None
    }
}

/// The `Cancelled` in `err` or its chain of sources, if any.
fn cancel_in_chain<'a>(
    mut err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a crate::rt::Cancelled> {
    loop {
        if let Some(cancelled) = err.downcast_ref::<crate::rt::Cancelled>() {
            return Some(cancelled);
        }
        err = err.source()?;
    }
}

/// How a judged task, handler or listener ended without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// It returned an error, shown as text.
    Failed(String),
    /// It passed a cancel on (see [`IntoResult::as_cancelled`]).
    Cancelled(crate::rt::Cancelled),
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(message) => f.write_str(message),
            Self::Cancelled(cancelled) => write!(f, "{cancelled}"),
        }
    }
}

/// Judges an outcome: its value, a failure, or a cancel passed on.
pub(crate) fn judge<R: IntoResult>(outcome: R) -> Result<R::Ok, Stopped> {
    if let Some(cancelled) = outcome.as_cancelled() {
        return Err(Stopped::Cancelled(cancelled.clone()));
    }
    outcome.into_result().map_err(Stopped::Failed)
}

/// Boxes a future whose output is `()` or a `Result` into one that reports
/// only success, or how it stopped: the shape listeners, signal handlers,
/// kept tasks and websocket handlers are stored in.
pub(crate) fn judged<F>(future: F) -> super::task_types::LocalFuture<Result<(), Stopped>>
where
    F: std::future::Future + 'static,
    F::Output: IntoResult,
{
    Box::pin(async move { judge(future.await).map(drop) })
}
