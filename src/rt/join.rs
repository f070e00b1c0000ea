//! Handles to spawned tasks: [`JoinHandle`] (typed, takes the output) and
//! [`TaskRef`] (untyped, observes and cancels).
//!
//! A handle is a task id plus the loop it lives on. It does not own the
//! task: **dropping a handle detaches the task**, which runs on, as in tokio
//! and asyncio. Cancelling is explicit ([`JoinHandle::cancel`]) and can be
//! awaited (await the handle, or [`TaskRef::finished`]).
//!
//! While a handle lives, the task's slot is kept after the task ends so the
//! handle can still read its final state; the last handle to go frees it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::core::Core;
use super::task::{TaskId, TaskState};

/// Why a task produced no output.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let task = sanio::spawn(std::future::pending::<()>());
///     task.cancel_with("no longer needed");
///     let err = task.await.unwrap_err();
///     assert!(err.is_cancelled());
///     assert_eq!(err.message(), Some("no longer needed"));
/// });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct JoinError {
    /// What happened.
    kind: JoinErrorKind,
}

/// The two ways a task can end without output.
#[derive(Clone, PartialEq, Eq)]
enum JoinErrorKind {
    /// Cancelled, with the optional cancel message.
    Cancelled(Option<String>),
    /// Panicked, with the panic message.
    Panicked(String),
}

impl JoinError {
    /// A cancelled task's error.
    pub(crate) fn cancelled(message: Option<String>) -> Self {
        Self {
            kind: JoinErrorKind::Cancelled(message),
        }
    }

    /// A panicked task's error.
    pub(crate) fn panicked(message: String) -> Self {
        Self {
            kind: JoinErrorKind::Panicked(message),
        }
    }

    /// Whether the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let task = sanio::spawn(std::future::pending::<()>());
    /// task.cancel();
    /// assert!(task.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, JoinErrorKind::Cancelled(_))
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let task = sanio::spawn(async { panic!("boom") });
    /// let err = task.await.unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(err.message(), Some("boom"));
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, JoinErrorKind::Panicked(_))
    }

    /// The cancel message or the panic message.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let task = sanio::spawn(std::future::pending::<()>());
    /// task.cancel();
    /// assert_eq!(task.await.unwrap_err().message(), None);
    /// # });
    /// ```
    pub fn message(&self) -> Option<&str> {
        match &self.kind {
            JoinErrorKind::Cancelled(message) => message.as_deref(),
            JoinErrorKind::Panicked(message) => Some(message),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JoinErrorKind::Cancelled(m) => f.debug_tuple("JoinError::Cancelled").field(m).finish(),
            JoinErrorKind::Panicked(m) => f.debug_tuple("JoinError::Panicked").field(m).finish(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JoinErrorKind::Cancelled(None) => f.write_str("task was cancelled"),
            JoinErrorKind::Cancelled(Some(m)) => write!(f, "task was cancelled: {m}"),
            JoinErrorKind::Panicked(m) => write!(f, "task panicked: {m}"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Cancel operations shared by both handle types.
macro_rules! cancel_methods {
    () => {
        /// Asks the task to stop (DESIGN's cancel model): the flag is set and
        /// the task is polled once more; if it does not observe the cancel
        /// it is dropped at once, if it does it may clean up within the
        /// runtime's grace period. No-op for a task that has ended or was
        /// cancelled already.
        ///
        /// # Examples
        ///
        /// ```
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::spawn(sanio::sleep(std::time::Duration::from_secs(60)));
        /// task.cancel();
        /// assert!(task.await.unwrap_err().is_cancelled());
        /// # });
        /// ```
        pub fn cancel(&self) {
            self.core.cancel(self.id, None, None);
        }

        /// Like [`cancel`](Self::cancel), with a message the task sees in
        /// [`Cancelled`](crate::rt::Cancelled) and its awaiters in
        /// [`JoinError::message`].
        ///
        /// # Examples
        ///
        /// ```
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::spawn(async { sanio::cancelled().await.message().map(str::to_owned) });
        /// sanio::rt::yield_now().await;
        /// task.cancel_with("bye");
        /// assert_eq!(task.await.unwrap(), Some("bye".to_owned()));
        /// # });
        /// ```
        pub fn cancel_with(&self, message: impl Into<String>) {
            self.core.cancel(self.id, Some(message.into()), None);
        }

        /// Like [`cancel_with`](Self::cancel_with), with this grace period
        /// instead of the runtime's. On a task cancelled already, only a
        /// shorter grace changes anything: it replaces the earlier one, even
        /// during the cleanup (`Duration::ZERO` drops the task at the next
        /// turn).
        ///
        /// # Examples
        ///
        /// ```
        /// # use std::time::Duration;
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::spawn(async {
        ///     sanio::cancelled().await;
        ///     sanio::sleep(Duration::from_secs(60)).await; // cleanup that overruns
        /// });
        /// sanio::rt::yield_now().await;
        /// task.cancel_with_grace("stop", Duration::from_millis(10));
        /// assert!(task.await.unwrap_err().is_cancelled());
        /// # });
        /// ```
        pub fn cancel_with_grace(&self, message: impl Into<String>, grace: Duration) {
            self.core.cancel(self.id, Some(message.into()), Some(grace));
        }

        /// Whether the task has ended (done, cancelled or panicked).
        ///
        /// # Examples
        ///
        /// ```
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::spawn(async {});
        /// assert!(!task.is_finished());
        /// sanio::rt::yield_now().await;
        /// assert!(task.is_finished());
        /// # });
        /// ```
        pub fn is_finished(&self) -> bool {
            self.state().is_finished()
        }

        /// The task's state.
        ///
        /// # Examples
        ///
        /// ```
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::spawn(async {});
        /// assert_eq!(task.state(), sanio::rt::TaskState::Pending);
        /// # });
        /// ```
        pub fn state(&self) -> TaskState {
            self.core.state(self.id)
        }

        /// The task's id.
        ///
        /// # Examples
        ///
        /// ```
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::spawn(async {});
        /// assert_eq!(task.id(), task.task_ref().id());
        /// # });
        /// ```
        pub fn id(&self) -> TaskId {
            self.id
        }

        /// The name given with [`spawn_named`](crate::rt::spawn_named).
        ///
        /// # Examples
        ///
        /// ```
        /// # let rt = sanio::Runtime::new().unwrap();
        /// # rt.block_on(async {
        /// let task = sanio::rt::spawn_named("worker", async {});
        /// assert_eq!(task.name().as_deref(), Some("worker"));
        /// # });
        /// ```
        pub fn name(&self) -> Option<String> {
            self.core.name(self.id)
        }
    };
}

/// An owned permission to await a task's output. Made by
/// [`spawn`](crate::rt::spawn).
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task was
/// cancelled or panicked. **Dropping it detaches the task**: it keeps
/// running, and its output is dropped when it ends.
///
/// `JoinHandle` belongs to the loop's thread:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async { assert_send(sanio::spawn(async {})) });
/// ```
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// let answer = rt.block_on(async { sanio::spawn(async { 6 * 7 }).await });
/// assert_eq!(answer, Ok(42));
/// ```
pub struct JoinHandle<T> {
    /// The loop the task lives on.
    core: Rc<Core>,
    /// The task.
    id: TaskId,
    /// The output type the erased output is downcast to.
    _output: PhantomData<T>,
}

impl<T: 'static> JoinHandle<T> {
    /// Wraps a task just spawned with one handle counted for this one.
    pub(crate) fn new(core: Rc<Core>, id: TaskId) -> Self {
        Self {
            core,
            id,
            _output: PhantomData,
        }
    }

    cancel_methods!();

    /// An untyped reference to the same task, for registries and
    /// supervisors that do not care about the output.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let task = sanio::spawn(async { 1 });
    /// let watcher = task.task_ref();
    /// assert_eq!(watcher.finished().await, sanio::rt::TaskState::Done);
    /// assert_eq!(task.await, Ok(1));
    /// # });
    /// ```
    pub fn task_ref(&self) -> TaskRef {
        TaskRef::new(Rc::clone(&self.core), self.id)
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.core.poll_join(self.id, cx).map(|result| {
            result.map(|output: Box<dyn Any>| match output.downcast::<T>() {
                Ok(output) => *output,
                Err(_) => unreachable!("a JoinHandle<T> is only made for a task returning T"),
            })
        })
    }
}

// A handle is an id and an `Rc`; it never pins its output in place.
impl<T> Unpin for JoinHandle<T> {}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.core.release_handle(self.id);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("state", &self.core.state(self.id))
            .finish()
    }
}

/// An untyped, cloneable reference to a task: observe its state, cancel it,
/// await its end; it cannot take the output.
///
/// Dropping it detaches nothing and cancels nothing.
///
/// # Examples
///
/// ```
/// # let rt = sanio::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let task = sanio::spawn(std::future::pending::<()>()).task_ref();
/// task.cancel();
/// assert_eq!(task.finished().await, sanio::rt::TaskState::Cancelled);
/// # });
/// ```
pub struct TaskRef {
    /// The loop the task lives on.
    core: Rc<Core>,
    /// The task.
    id: TaskId,
}

impl TaskRef {
    /// Wraps `id`, counting as one handle.
    pub(crate) fn new(core: Rc<Core>, id: TaskId) -> Self {
        core.add_handle(id);
        Self { core, id }
    }

    cancel_methods!();

    /// A reference to the task being polled right now: lets a task hand out
    /// a way to cancel itself (a websocket driver cancels its handler when
    /// the client goes away this way). `None` outside a task, and inside the
    /// future given to `block_on`, which is not a task.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// assert!(sanio::rt::TaskRef::current().is_none()); // block_on's future
    /// let task = sanio::spawn(async { sanio::rt::TaskRef::current().map(|t| t.id()) });
    /// let id = task.id();
    /// assert_eq!(task.await.unwrap(), Some(id));
    /// # });
    /// ```
    pub fn current() -> Option<TaskRef> {
        super::context::with_current(|core| {
            let id = core.current_task()?;
            Some(TaskRef::new(Rc::clone(core), id))
        })
        .ok()
        .flatten()
    }

    /// Waits until the task has ended and returns its final state.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let task = sanio::spawn(async { panic!("oops") }).task_ref();
    /// assert_eq!(task.finished().await, sanio::rt::TaskState::Panicked);
    /// # });
    /// ```
    pub async fn finished(&self) -> TaskState {
        std::future::poll_fn(|cx| self.core.poll_end(self.id, cx)).await
    }

    /// The cancel message of a cancelled task or the panic message of a
    /// panicked one.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let task = sanio::spawn(std::future::pending::<()>()).task_ref();
    /// task.cancel_with("why");
    /// task.finished().await;
    /// assert_eq!(task.end_message().as_deref(), Some("why"));
    /// # });
    /// ```
    pub fn end_message(&self) -> Option<String> {
        self.core.end_message(self.id)
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        Self::new(Rc::clone(&self.core), self.id)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        self.core.release_handle(self.id);
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id)
            .field("state", &self.core.state(self.id))
            .finish()
    }
}
