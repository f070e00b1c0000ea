//! Task dumps: what every task of a loop is doing, as data and as text.
//!
//! The loop keeps a few counters per task, updated in the poll's existing
//! slot access: the poll count, when the last poll started (the turn's
//! cached time), and where the task was spawned (`#[track_caller]`).
//! Times are on the loop's clock, so a paused clock dumps paused ages.
//!
//! Busy time and slow polls need two real clock reads per poll, so they are
//! *timed* only where that is cheap enough to be always on: in debug
//! builds, and in release builds once a dump was taken or a slow-poll
//! threshold was set ([`Runtime::with_slow_poll_threshold`]). A single poll
//! longer than the threshold (100 ms by default) is counted in
//! [`TaskDump::slow_polls`] and logged with the task's name and spawn
//! location: each task's first slow poll always, further ones at most once
//! a second per loop, with the number not logged meanwhile (a task that
//! blocks on every poll does not flood the log).

use std::fmt::{self, Write as _};
use std::panic::Location;
use std::time::Duration;

use super::context::{self, NoRuntime};
use super::{Runtime, TaskId, TaskState};

/// What a task is doing at the moment of a dump.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::rt::DumpState::Scheduled.as_str(), "scheduled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DumpState {
    /// Waiting for a wake.
    Idle,
    /// Woken, waiting in the ready queue.
    Scheduled,
    /// Being polled right now (the task that asked for the dump).
    Polling,
    /// Asked to stop, not ended yet.
    Cancelling,
    /// Ended (kept while a handle refers to it).
    Finished,
}

impl DumpState {
    /// The lower-case name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::rt::DumpState::Idle.as_str(), "idle");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Scheduled => "scheduled",
            Self::Polling => "polling",
            Self::Cancelling => "cancelling",
            Self::Finished => "finished",
        }
    }
}

impl fmt::Display for DumpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task in a dump.
///
/// # Examples
///
/// See [`dump`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskDump {
    /// Its id.
    pub id: TaskId,
    /// Its name, if spawned with one.
    pub name: Option<String>,
    /// What it is doing.
    pub state: DumpState,
    /// Its state as a handle sees it.
    pub task_state: TaskState,
    /// How many times it was polled.
    pub polls: u32,
    /// How many of its polls were slow.
    pub slow_polls: u32,
    /// Time spent in its polls while polls were timed (see the module
    /// doc).
    pub busy: Duration,
    /// Time since it was spawned.
    pub age: Duration,
    /// Time since its last poll started (`None` before the first).
    pub since_last_poll: Option<Duration>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// The cancel message (or `"cancelled"`) once a cancel was asked for.
    pub cancel: Option<String>,
}

impl TaskDump {
    /// One line: id, name, state, counters, spawn location.
    ///
    /// # Examples
    ///
    /// See [`dump`].
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} {} [{}] polls={} busy={:?} age={:?}",
            self.id,
            self.name.as_deref().unwrap_or("<unnamed>"),
            self.state,
            self.polls,
            self.busy,
            self.age,
        );
        if let Some(idle) = self.since_last_poll {
            let _ = write!(line, " last_poll={idle:?} ago");
        }
        if self.slow_polls > 0 {
            let _ = write!(line, " slow_polls={}", self.slow_polls);
        }
        if let Some(cancel) = &self.cancel {
            let _ = write!(line, " cancel={cancel:?}");
        }
        let _ = write!(line, " at {}", self.spawned_at);
        line
    }
}

/// Every task of the loop running on this thread, in slot order.
///
/// # Errors
///
/// [`NoRuntime`] outside a runtime.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let _task = sanio::rt::spawn_named("worker", std::future::pending::<()>());
///     sanio::rt::yield_now().await;
///     let tasks = sanio::rt::dump().unwrap();
///     let worker = tasks.iter().find(|t| t.name.as_deref() == Some("worker")).unwrap();
///     assert_eq!(worker.polls, 1);
///     assert_eq!(worker.state, sanio::rt::DumpState::Idle);
///     assert!(worker.spawned_at.file().ends_with(".rs"));
///     assert!(worker.line().contains("worker [idle] polls=1"));
/// });
/// ```
pub fn dump() -> Result<Vec<TaskDump>, NoRuntime> {
    context::with_current(|core| core.dump())
}

/// Every task still alive on the loop running on this thread (empty
/// outside a runtime): the helper for a test that must leave no task
/// behind.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let task = sanio::spawn(std::future::pending::<()>());
///     assert_eq!(sanio::rt::live_tasks().len(), 1);
///     task.cancel();
///     let _ = task.await;
///     sanio::rt::assert_no_live_tasks();
/// });
/// ```
pub fn live_tasks() -> Vec<TaskDump> {
    dump()
        .unwrap_or_default()
        .into_iter()
        .filter(|task| task.state != DumpState::Finished)
        .collect()
}

/// Panics, listing them, if tasks are still alive on this thread's loop.
///
/// # Panics
///
/// When [`live_tasks`] is not empty: that is its purpose, in tests.
///
/// # Examples
///
/// See [`live_tasks`].
#[track_caller]
pub fn assert_no_live_tasks() {
    let live = live_tasks();
    if !live.is_empty() {
        let lines: Vec<String> = live.iter().map(TaskDump::line).collect();
        panic!(
            "{} task(s) left alive:\n  {}",
            live.len(),
            lines.join("\n  ")
        );
    }
}

impl Runtime {
    /// Every task of this runtime; see [`dump`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// let _task = rt.spawn(async {});
    /// assert_eq!(rt.dump().len(), 1);
    /// ```
    pub fn dump(&self) -> Vec<TaskDump> {
        self.core.dump()
    }

    /// Sets the slow-poll threshold (100 ms by default): a single poll
    /// longer than this is counted in its [`TaskDump::slow_polls`] and
    /// logged with the task's name and spawn location (rate-limited as the
    /// module doc says).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = sanio::Runtime::new().unwrap().with_slow_poll_threshold(Duration::from_millis(1));
    /// let task = rt.spawn(async { std::thread::sleep(Duration::from_millis(5)) });
    /// let id = task.id();
    /// let _ = rt.block_on(task);
    /// let _ = id; // the task ended; a live one would show slow_polls = 1
    /// ```
    pub fn with_slow_poll_threshold(self, threshold: Duration) -> Self {
        self.core.slow_poll.set(threshold);
        self.core.timing.set(true);
        self
    }
}
