//! What a task looks like from another thread: [`TaskInfo`], a `Send`
//! snapshot, and [`CancelOutcome`], what a cancel did.

use std::fmt;

use super::task_types::{Task, TaskState};

/// A snapshot of one task, taken on the worker that runs it: plain data,
/// `Send`, so it can cross to the worker that asked (see
/// [`App::tasks_everywhere`](super::App::tasks_everywhere) and
/// [`App::locate_task`](super::App::locate_task)).
///
/// # Examples
///
/// ```
/// let app = sanio::App::new("demo");
/// sanio::Runtime::new().unwrap().block_on(async {
///     app.add_named_task("job", std::future::pending::<()>()).unwrap();
///     let info = app.locate_task("job").await.unwrap();
///     assert_eq!((info.worker, info.name.as_deref()), (0, Some("job")));
///     assert!(!info.state.is_finished());
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The worker that runs it.
    pub worker: usize,
    /// Its id on that worker's loop ([`TaskId::as_u64`](crate::rt::TaskId::as_u64)).
    pub id: u64,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The id of its parent task, for a child task.
    pub parent: Option<u64>,
    /// Its state.
    pub state: TaskState,
    /// How many times its supervisor restarted it.
    pub restarts: u32,
    /// The error or panic message of its last failure, if it failed.
    pub last_failure: Option<String>,
    /// Its error, cancel or panic message, once it ended without a value.
    pub message: Option<String>,
    /// The loop's view (polls, busy time, age, spawn location, ...): filled
    /// by [`App::task_dump`](super::App::task_dump), `None` elsewhere and
    /// for a task whose slot the loop freed.
    pub dump: Option<crate::rt::TaskDump>,
}

impl TaskInfo {
    /// Takes the snapshot of `task` on `worker`.
    pub(crate) fn of(task: &Task, worker: usize) -> Self {
        Self {
            worker,
            id: task.id().as_u64(),
            name: task.name().map(str::to_owned),
            parent: task.parent_id().map(crate::rt::TaskId::as_u64),
            state: task.state(),
            restarts: task.restarts(),
            last_failure: task.last_failure(),
            message: task.message(),
            dump: None,
        }
    }
}

/// What a cancel did, so that "it cleaned up" and "it was already done"
/// read differently.
///
/// # Examples
///
/// ```
/// use sanio::{CancelOutcome, TaskState};
///
/// let app = sanio::App::new("demo");
/// sanio::Runtime::new().unwrap().block_on(async {
///     // Sits in a sleep: never observes the cancel, so it is dropped.
///     app.add_named_task("nap", sanio::sleep(std::time::Duration::from_secs(60))).unwrap();
///     assert_eq!(app.cancel_task("nap").await.unwrap(), CancelOutcome::Dropped);
///     // Observes it and returns: graceful, with what it returned.
///     app.add_named_task("polite", async {
///         let _ = sanio::rt::cancelled().await;
///     }).unwrap();
///     sanio::rt::yield_now().await;
///     let outcome = app.cancel_task("polite").await.unwrap();
///     assert_eq!(outcome, CancelOutcome::Graceful(TaskState::Done));
///     // Already over: left alone.
///     let again = app.cancel_task("polite").await.unwrap();
///     assert_eq!(again, CancelOutcome::AlreadyFinished(TaskState::Done));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelOutcome {
    /// It observed the cancel and ended by itself within its grace period;
    /// the state says how it ended (`Done`, `Failed`, or `Cancelled` if it
    /// passed the cancel on with `?`).
    Graceful(TaskState),
    /// It was dropped: it never observed the cancel (it sat in a sleep, say),
    /// or its grace period ran out.
    Dropped,
    /// It had ended before the cancel came; the state says how.
    AlreadyFinished(TaskState),
}

impl CancelOutcome {
    /// The task's final state.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{CancelOutcome, TaskState};
    /// assert_eq!(CancelOutcome::Dropped.state(), TaskState::Cancelled);
    /// ```
    pub fn state(self) -> TaskState {
        match self {
            Self::Graceful(state) | Self::AlreadyFinished(state) => state,
            Self::Dropped => TaskState::Cancelled,
        }
    }

    /// `"graceful"`, `"dropped"` or `"already_finished"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::CancelOutcome::Dropped.as_str(), "dropped");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graceful(_) => "graceful",
            Self::Dropped => "dropped",
            Self::AlreadyFinished(_) => "already_finished",
        }
    }
}

impl fmt::Display for CancelOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_str(), self.state())
    }
}
