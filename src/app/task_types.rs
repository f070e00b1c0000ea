//! The public face of background tasks: how a task is given
//! ([`IntoTask`]), how it is seen ([`Task`], [`TaskHandle`], [`TaskState`])
//! and how it can fail ([`TaskError`]).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::error::Stopped;
use super::info::CancelOutcome;
use super::{App, IntoResult};
use crate::rt::{self, JoinHandle, TaskId, TaskRef};

/// A boxed future on one loop (need not be `Send`).
pub(crate) type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A factory shared by every worker: called once per worker with the app.
pub(crate) type Factory<T> = Arc<dyn Fn(App) -> LocalFuture<T> + Send + Sync>;

/// What `add_task` was given, once its form is known.
pub enum TaskSource<T> {
    /// A future: it can start once.
    Future(LocalFuture<T>),
    /// A factory: each worker calls it to get its own future.
    Factory(Factory<T>),
}

impl<T> fmt::Debug for TaskSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Future(_) => "TaskSource::Future",
            Self::Factory(_) => "TaskSource::Factory",
        })
    }
}

/// Marks the "a future" form of [`IntoTask`].
#[derive(Debug)]
pub enum FutureTask {}
/// Marks the "a factory of no arguments" form of [`IntoTask`].
#[derive(Debug)]
pub enum FactoryTask {}
/// Marks the "a factory taking the `App`" form of [`IntoTask`].
#[derive(Debug)]
pub enum AppFactoryTask {}

/// What [`App::add_task`] accepts: a future, a factory `Fn() -> Future`, or
/// a factory `Fn(App) -> Future` (the app is injected). The types decide the
/// form; a factory is never called twice on one worker.
///
/// The marker `M` only keeps the three forms apart for the compiler; you
/// never name it.
///
/// # Examples
///
/// ```
/// async fn plain() {}
/// async fn injected(app: sanio::App) { let _ = app.name(); }
///
/// let app = sanio::App::new("demo");
/// app.add_task(plain()).unwrap();   // a future
/// app.add_task(plain).unwrap();     // a factory
/// app.add_task(injected).unwrap();  // a factory taking the app
/// ```
pub trait IntoTask<M>: 'static {
    /// What the task returns: `()` or a `Result`.
    type Output: IntoResult;
    /// Sorts the task into its form.
    fn into_source(self) -> TaskSource<Self::Output>;
}

impl<F> IntoTask<FutureTask> for F
where
    F: Future + 'static,
    F::Output: IntoResult,
{
    type Output = F::Output;
    fn into_source(self) -> TaskSource<F::Output> {
        TaskSource::Future(Box::pin(self))
    }
}

impl<C, F> IntoTask<FactoryTask> for C
where
    C: Fn() -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: IntoResult,
{
    type Output = F::Output;
    fn into_source(self) -> TaskSource<F::Output> {
        TaskSource::Factory(Arc::new(move |_app| Box::pin(self())))
    }
}

impl<C, F> IntoTask<AppFactoryTask> for C
where
    C: Fn(App) -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: IntoResult,
{
    type Output = F::Output;
    fn into_source(self) -> TaskSource<F::Output> {
        TaskSource::Factory(Arc::new(move |app| Box::pin(self(app))))
    }
}

/// Where a background task is in its life.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::TaskState::Failed.as_str(), "failed");
/// assert!(sanio::TaskState::Cancelled.is_finished());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Started, not polled yet.
    Pending,
    /// Polled, not ended.
    Running,
    /// Returned successfully.
    Done,
    /// Returned an error.
    Failed,
    /// Cancelled: dropped before it returned, or it returned the cancel it
    /// observed as its error (see [`IntoResult::as_cancelled`]).
    Cancelled,
    /// Panicked.
    Panicked,
}

impl TaskState {
    /// Whether the task has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sanio::TaskState::Running.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    /// The lower-case name (`"pending"`, `"running"`, `"done"`, `"failed"`,
    /// `"cancelled"`, `"panicked"`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::TaskState::Done.to_string(), "done");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Panicked => "panicked",
        }
    }

    /// Combines the loop's view with whether the task returned an error.
    pub(crate) fn from_rt(state: rt::TaskState, failed: bool) -> Self {
        match state {
            rt::TaskState::Pending => Self::Pending,
            rt::TaskState::Running => Self::Running,
            rt::TaskState::Done if failed => Self::Failed,
            rt::TaskState::Done => Self::Done,
            rt::TaskState::Cancelled => Self::Cancelled,
            rt::TaskState::Panicked => Self::Panicked,
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a background task ended without a value.
///
/// # Examples
///
/// ```
/// let err = sanio::TaskError::Failed("disk full".into());
/// assert_eq!(err.to_string(), "task failed: disk full");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// Cancelled, with the cancel message if one was given.
    Cancelled(Option<String>),
    /// Panicked, with the panic message.
    Panicked(String),
    /// Returned an error, shown as text.
    Failed(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled(None) => f.write_str("task was cancelled"),
            Self::Cancelled(Some(message)) => write!(f, "task was cancelled: {message}"),
            Self::Panicked(message) => write!(f, "task panicked: {message}"),
            Self::Failed(message) => write!(f, "task failed: {message}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// The record a task's supervisor fills when the task returns an error
/// (or passes its cancel on).
pub(crate) type Failure = Rc<RefCell<Option<Stopped>>>;

/// What the app knows of a task beyond the loop's view: its parent and
/// children, its restarts and its last failure.
#[derive(Default)]
pub(crate) struct Record {
    /// The parent task, for a child task (cleared by `detach`).
    pub(crate) parent: Cell<Option<TaskId>>,
    /// How many times its supervisor restarted it.
    pub(crate) restarts: Cell<u32>,
    /// The last failure's message and the loop's time of it.
    pub(crate) last_failure: RefCell<Option<(String, Instant)>>,
    /// Child tasks not detached: cancelled with this task and waited for
    /// by its `wait`.
    pub(crate) children: RefCell<Vec<Task>>,
    /// The parent's record, for `detach`.
    pub(crate) parent_record: RefCell<std::rc::Weak<Record>>,
}

/// An untyped handle to a background task on this worker: its name, id and
/// state, and a way to cancel it or wait for its end. Returned by
/// [`App::get_task`] and listed by [`App::tasks`].
///
/// Dropping it does nothing to the task.
///
/// # Examples
///
/// ```
/// let app = sanio::App::new("demo");
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     app.add_named_task("nap", sanio::sleep(std::time::Duration::from_secs(60))).unwrap();
///     let task = app.get_task("nap").unwrap();
///     assert_eq!(task.name(), Some("nap"));
///     task.cancel();
///     assert_eq!(task.wait().await, sanio::TaskState::Cancelled);
/// });
/// ```
#[derive(Clone)]
pub struct Task {
    /// The name it was registered under.
    pub(crate) name: Option<Rc<str>>,
    /// The loop's reference to it.
    pub(crate) task: TaskRef,
    /// Set if it returned an error or passed its cancel on.
    pub(crate) failure: Failure,
    /// Parent, restarts, last failure, children.
    pub(crate) record: Rc<Record>,
}

impl Task {
    /// The task's name, if it has one.
    ///
    /// # Examples
    ///
    /// See [`Task`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The task's id on its loop.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_named_task("t", async {}).unwrap().unwrap();
    /// assert_eq!(app.get_task("t").unwrap().id(), handle.id());
    /// # });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// The task's state now.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// app.add_named_task("t", async {}).unwrap();
    /// assert_eq!(app.get_task("t").unwrap().state(), sanio::TaskState::Pending);
    /// # });
    /// ```
    pub fn state(&self) -> TaskState {
        match &*self.failure.borrow() {
            Some(Stopped::Cancelled(_)) => TaskState::Cancelled,
            failure => TaskState::from_rt(self.task.state(), failure.is_some()),
        }
    }

    /// Asks the task to stop (the loop's cancel model); see
    /// [`App::cancel_task`] to cancel by name and wait.
    ///
    /// # Examples
    ///
    /// See [`Task`].
    pub fn cancel(&self) {
        self.task.cancel();
        for child in self.children() {
            child.cancel();
        }
    }

    /// Like [`cancel`](Self::cancel), with a message.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// app.add_named_task("t", std::future::pending::<()>()).unwrap();
    /// let task = app.get_task("t").unwrap();
    /// task.cancel_with("enough");
    /// task.wait().await;
    /// assert_eq!(task.message().as_deref(), Some("enough"));
    /// # });
    /// ```
    pub fn cancel_with(&self, message: impl Into<String>) {
        let message = message.into();
        self.task.cancel_with(message.clone());
        for child in self.children() {
            child.cancel_with(message.clone());
        }
    }

    /// Waits for the task to end and returns its final state.
    ///
    /// # Examples
    ///
    /// See [`Task`].
    pub async fn wait(&self) -> TaskState {
        self.task.finished().await;
        for child in self.children() {
            // Boxed: a subtree is as deep as it is.
            let wait: Pin<Box<dyn Future<Output = TaskState>>> =
                Box::pin(async move { child.wait().await });
            wait.await;
        }
        self.state()
    }

    /// Its child tasks that were not detached (see
    /// [`App::add_child_task`]); children that ended may be forgotten once
    /// there are many.
    ///
    /// # Examples
    ///
    /// See [`App::add_child_task`].
    pub fn children(&self) -> Vec<Task> {
        self.record.children.borrow().clone()
    }

    /// Detaches a child task from its parent: it is no longer cancelled
    /// with the parent nor waited for by it, and runs on, owned by the
    /// worker like any task. Does nothing for a task without a parent.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let spawner = app.clone();
    ///     app.add_named_task("parent", async move {
    ///         let child = spawner.add_named_child_task("child", std::future::pending::<()>());
    ///         child.unwrap().task().detach();
    ///     }).unwrap();
    ///     sanio::sleep(std::time::Duration::from_millis(1)).await;
    ///     let child = app.get_task("child").unwrap();
    ///     assert!(!child.state().is_finished()); // outlived its parent
    ///     assert_eq!(child.parent_id(), None);
    /// });
    /// ```
    pub fn detach(&self) {
        let parent = std::mem::take(&mut *self.record.parent_record.borrow_mut());
        if let Some(parent) = parent.upgrade() {
            parent
                .children
                .borrow_mut()
                .retain(|child| child.id() != self.id());
        }
        self.record.parent.set(None);
    }

    /// Cancels the task (with `message`, if given), waits until it has
    /// ended, and says what the cancel did.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(std::future::pending::<()>()).unwrap().unwrap();
    /// let outcome = handle.task().cancel_and_wait(None).await;
    /// assert_eq!(outcome, sanio::CancelOutcome::Dropped);
    /// # });
    /// ```
    pub async fn cancel_and_wait(&self, message: Option<&str>) -> CancelOutcome {
        if self.state().is_finished() {
            return CancelOutcome::AlreadyFinished(self.state());
        }
        match message {
            Some(message) => self.cancel_with(message),
            None => self.cancel(),
        }
        let state = self.wait().await;
        if self.task.state() == rt::TaskState::Cancelled {
            CancelOutcome::Dropped
        } else {
            CancelOutcome::Graceful(state)
        }
    }

    /// How many times its supervisor restarted it; 0 for a task without a
    /// restart policy.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async {}).unwrap().unwrap();
    /// assert_eq!(handle.task().restarts(), 0);
    /// # });
    /// ```
    pub fn restarts(&self) -> u32 {
        self.record.restarts.get()
    }

    /// The message of its last failure (an error it returned or a panic),
    /// kept across restarts.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async { Err::<(), _>("boom") }).unwrap().unwrap();
    /// let task = handle.task().clone();
    /// let _ = handle.await;
    /// assert_eq!(task.last_failure().as_deref(), Some("boom"));
    /// # });
    /// ```
    pub fn last_failure(&self) -> Option<String> {
        self.record
            .last_failure
            .borrow()
            .as_ref()
            .map(|(message, _)| message.clone())
    }

    /// When its last failure happened, on the loop's clock
    /// ([`rt::now`](crate::rt::now)).
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async {}).unwrap().unwrap();
    /// assert!(handle.task().last_failure_at().is_none());
    /// # });
    /// ```
    pub fn last_failure_at(&self) -> Option<Instant> {
        self.record
            .last_failure
            .borrow()
            .as_ref()
            .map(|(_, at)| *at)
    }

    /// The id of its parent task, for a child task that was not detached.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async {}).unwrap().unwrap();
    /// assert_eq!(handle.task().parent_id(), None);
    /// # });
    /// ```
    pub fn parent_id(&self) -> Option<TaskId> {
        self.record.parent.get()
    }

    /// The error, cancel or panic message of a task that ended without a
    /// value.
    ///
    /// # Examples
    ///
    /// See [`cancel_with`](Self::cancel_with).
    pub fn message(&self) -> Option<String> {
        let recorded = match &*self.failure.borrow() {
            Some(Stopped::Failed(message)) => Some(message.clone()),
            Some(Stopped::Cancelled(cancelled)) => cancelled.message().map(str::to_owned),
            None => None,
        };
        recorded.or_else(|| self.task.end_message())
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("id", &self.id())
            .field("state", &self.state())
            .finish()
    }
}

/// A typed handle to a background task started on this worker, returned by
/// [`App::add_task`] when a loop is running. Awaiting it gives the task's
/// value, or a [`TaskError`].
///
/// Dropping it detaches the task (it runs on, still owned by the worker).
///
/// # Examples
///
/// ```
/// let app = sanio::App::new("demo");
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let handle = app.add_task(async { Ok::<_, String>(42) }).unwrap().unwrap();
///     assert_eq!(handle.await, Ok(42));
///     let failing = app.add_task(async { Err::<(), _>("nope") }).unwrap().unwrap();
///     assert_eq!(failing.await, Err(sanio::TaskError::Failed("nope".into())));
/// });
/// ```
pub struct TaskHandle<T> {
    /// The untyped view.
    pub(crate) task: Task,
    /// The loop's handle; the output is `Err` for a failed task or one
    /// that passed its cancel on.
    pub(crate) join: JoinHandle<Result<T, Stopped>>,
}

impl<T: 'static> TaskHandle<T> {
    /// The untyped view of the same task.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async {}).unwrap().unwrap();
    /// assert_eq!(handle.task().name(), None);
    /// # });
    /// ```
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async {}).unwrap().unwrap();
    /// assert_eq!(handle.id(), handle.task().id());
    /// # });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// The task's state.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(async {}).unwrap().unwrap();
    /// assert_eq!(handle.state(), sanio::TaskState::Pending);
    /// # });
    /// ```
    pub fn state(&self) -> TaskState {
        self.task.state()
    }

    /// Asks the task to stop.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(std::future::pending::<()>()).unwrap().unwrap();
    /// handle.cancel();
    /// assert_eq!(handle.await, Err(sanio::TaskError::Cancelled(None)));
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.task.cancel();
    }

    /// Asks the task to stop, with a message.
    ///
    /// # Examples
    ///
    /// ```
    /// # let app = sanio::App::new("demo");
    /// # sanio::Runtime::new().unwrap().block_on(async {
    /// let handle = app.add_task(std::future::pending::<()>()).unwrap().unwrap();
    /// handle.cancel_with("bye");
    /// assert_eq!(handle.await, Err(sanio::TaskError::Cancelled(Some("bye".into()))));
    /// # });
    /// ```
    pub fn cancel_with(&self, message: impl Into<String>) {
        self.task.cancel_with(message);
    }
}

impl<T: 'static> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.join)
            .poll(cx)
            .map(|joined| match joined {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(Stopped::Failed(message))) => Err(TaskError::Failed(message)),
                Ok(Err(Stopped::Cancelled(cancelled))) => {
                    Err(TaskError::Cancelled(cancelled.message().map(str::to_owned)))
                }
                Err(err) if err.is_panic() => Err(TaskError::Panicked(
                    err.message().unwrap_or_default().to_owned(),
                )),
                Err(err) => Err(TaskError::Cancelled(err.message().map(str::to_owned))),
            })
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskHandle").field(&self.task).finish()
    }
}
