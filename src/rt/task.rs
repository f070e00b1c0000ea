//! A task: one spawned future and everything the loop knows about it.
//!
//! The executor keeps tasks in a [`slab::Slab`]: a vector whose free slots
//! are reused, so a task's *key* is an index and finding a task is one bounds
//! check. Reuse has a danger: a waker or a handle made for an old task would
//! point at the new task living in the same slot. So a [`TaskId`] is the key
//! **plus a generation**, a counter bumped on every spawn; every lookup checks
//! both, and a stale id simply finds nothing.
//!
//! A slot moves through these stages (the legal transitions):
//!
//! ```text
//!            poll                 poll -> Ready
//!    Idle ---------> Polling ------------------> Finished (output kept for the JoinHandle)
//!     ^                  |   \--- panic --------> Panicked
//!     +---- Pending -----+
//!    Idle --- cancel not observed / grace over --> Cancelled (future dropped)
//! ```
//!
//! `Idle` is the loop's word (the future sits in its slot between polls);
//! the public [`TaskState`] says `Pending` (never polled yet) or `Running`
//! (polled, not ended) for both `Idle` and `Polling`.
//!
//! A slot is freed as soon as the task has ended *and* no handle refers to
//! it, so a finished task nobody awaits costs nothing.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::time::TimerKey;
use super::waker::TaskWaker;

/// The identity of a task: its slab key plus a generation.
///
/// Two tasks never share an id while either is alive, and an id of a task
/// that has ended never matches the task that later reuses its slot.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let a = sanio::spawn(async {});
///     let b = sanio::spawn(async {});
///     assert_ne!(a.id(), b.id());
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// Index of the task's slot in the executor's slab (32 bits keep an id
    /// at 8 bytes; a loop never holds 2^32 tasks).
    pub(crate) key: u32,
    /// Spawn counter at the time the slot was filled.
    pub(crate) generation: u32,
}

impl TaskId {
    /// The id used for the future passed to `block_on`, which lives outside
    /// the slab.
    pub(crate) const MAIN: TaskId = TaskId {
        key: u32::MAX,
        generation: 0,
    };

    /// The id as one number, handy for logs and maps.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let task = sanio::spawn(async {});
    ///     assert_eq!(task.id().as_u64(), task.id().as_u64());
    /// });
    /// ```
    pub fn as_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.key)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({}.{})", self.key, self.generation)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.key, self.generation)
    }
}

/// Where a task is in its life, as seen from outside.
///
/// # Examples
///
/// ```
/// use sanio::rt::TaskState;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let task = sanio::spawn(async { 7 });
///     assert_eq!(task.state(), TaskState::Pending);
///     sanio::rt::yield_now().await;
///     assert_eq!(task.state(), TaskState::Done);
///     assert!(!TaskState::Pending.is_finished());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Spawned, not polled yet (not to be confused with `Poll::Pending`).
    Pending,
    /// Polled at least once and not ended.
    Running,
    /// Returned its output.
    Done,
    /// Dropped by a cancel before it returned.
    Cancelled,
    /// Panicked; the loop caught it.
    Panicked,
}

impl TaskState {
    /// Whether the task has ended (done, cancelled or panicked).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::rt::TaskState::Cancelled.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Cancelled | Self::Panicked)
    }

    /// The lower-case name used in logs and JSON (`"running"`, `"done"`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::rt::TaskState::Panicked.as_str(), "panicked");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Panicked => "panicked",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A future whose output type is erased, so tasks of every output type fit
/// in one slab: its output comes back boxed as `dyn Any` and the typed
/// [`JoinHandle`](super::JoinHandle) downcasts it. A `()` output boxes to a
/// zero-sized allocation, which is no allocation at all.
///
/// It is implemented for every future directly, rather than by wrapping the
/// future in an `async` block: a wrapper would store the future twice over
/// in its state (once captured, once being awaited), and a task's box would
/// be about twice the future's size.
pub(crate) trait ErasedFuture {
    /// Polls the future and boxes its output.
    fn poll_erased(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Box<dyn Any>>;
}

impl<F> ErasedFuture for F
where
    F: Future,
    F::Output: 'static,
{
    fn poll_erased(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Box<dyn Any>> {
        self.poll(cx).map(|output| Box::new(output) as Box<dyn Any>)
    }
}

/// A spawned future, boxed once.
pub(crate) type BoxFuture = Pin<Box<dyn ErasedFuture>>;

/// The stage a slot is in; see the module doc for the transitions.
pub(crate) enum Stage {
    /// The future, in its slot between polls (or before the first).
    Idle(BoxFuture),
    /// The future has been moved out of the slot and is being polled right
    /// now; the executor puts it back when the poll returns `Pending`.
    Polling,
    /// Ended with an output; `None` once a handle took it.
    Finished(Option<Box<dyn Any>>),
    /// Dropped by a cancel before it ended.
    Cancelled,
    /// Panicked while polled or dropped.
    Panicked,
}

/// How far a cancel request has got (DESIGN: "a flag, delivered once, then a
/// drop").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelState {
    /// Nobody asked.
    None,
    /// `cancel()` set the flag; the next cancellation-aware await takes it.
    Requested,
    /// A cancellation-aware await has returned `Cancelled`; the task is
    /// running its cleanup, within the grace period.
    Observed,
}

/// Rarely used parts of a task, boxed so that a plain task's slot stays small.
#[derive(Default)]
pub(crate) struct Extra {
    /// The name given at spawn, used in logs.
    pub(crate) name: Option<String>,
    /// The message passed to `cancel_with`.
    pub(crate) cancel_message: Option<String>,
    /// The grace period for this cancel, if it overrides the runtime's.
    pub(crate) grace: Option<Duration>,
    /// The timer that drops the task when its grace period is over; removed
    /// if the task ends first.
    pub(crate) grace_timer: Option<TimerKey>,
    /// The panic message, once the task panicked.
    pub(crate) panic_message: Option<String>,
    /// Tasks waiting for this one to end, besides the `JoinHandle`.
    pub(crate) end_waiters: Vec<Waker>,
}

/// One slot of the executor's slab.
pub(crate) struct Task {
    /// The future or what is left of it.
    pub(crate) stage: Stage,
    /// The one waker of this task, made at spawn and reused for every poll.
    /// INVARIANT: `Some`, except while the task is being polled: the poll
    /// borrows it out of the slot with the future (no reference-count
    /// traffic per poll).
    pub(crate) waker: Option<Arc<TaskWaker>>,
    /// The `JoinHandle` awaiting this task's end, if one is.
    pub(crate) join_waker: Option<Waker>,
    /// Names, cancel messages and extra waiters: `None` for most tasks.
    pub(crate) extra: Option<Box<Extra>>,
    /// Matches [`TaskId::generation`] of the id this slot was spawned under.
    pub(crate) generation: u32,
    /// How many handles (`JoinHandle`, `TaskRef`) refer to this slot.
    /// INVARIANT: a slot whose task has ended is freed when this reaches 0.
    pub(crate) handles: u32,
    // What the loop measures of every task, for dumps (`dump.rs`): a few
    // counters updated around each poll. Every task carries them, so they
    // are compact: the two times are milliseconds since the runtime's clock
    // started (`Clock::millis`, 4 bytes each, against 16 for an `Instant`
    // and for an `Option<Instant>`), and the counters saturate instead of
    // overflowing. A dump turns them back into `Duration`s; an age is right
    // to the millisecond for a task younger than about 49.7 days, where the
    // 32-bit count wraps. They sit in the slot itself, not in a struct of
    // their own, so that the small fields below share its padding.
    /// Where it was spawned (`#[track_caller]`).
    pub(crate) location: &'static Location<'static>,
    /// Time spent in its polls, in nanoseconds.
    pub(crate) busy_ns: u64,
    /// How many times it was polled (saturating).
    pub(crate) polls: u32,
    /// When it was spawned, in `Clock::millis`.
    pub(crate) spawned_ms: u32,
    /// When its last poll started, in `Clock::millis`; meaningful only once
    /// `polls` is above zero.
    pub(crate) last_poll_ms: u32,
    /// How many of its polls ran past the slow-poll threshold (saturating:
    /// each one also logs a warning, so a count this high is plain enough).
    pub(crate) slow_polls: u16,
    /// The cancel flag.
    pub(crate) cancel: CancelState,
    /// Whether the future has been polled at least once.
    pub(crate) polled: bool,
}

impl Task {
    /// The state as seen from outside.
    pub(crate) fn state(&self) -> TaskState {
        match self.stage {
            // A `Polling` task has been polled: `poll_task` sets `polled`.
            Stage::Idle(_) if !self.polled => TaskState::Pending,
            Stage::Idle(_) | Stage::Polling => TaskState::Running,
            Stage::Finished(_) => TaskState::Done,
            Stage::Cancelled => TaskState::Cancelled,
            Stage::Panicked => TaskState::Panicked,
        }
    }

    /// The rarely used parts, allocated on first use.
    pub(crate) fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// The task's name, if it was given one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.extra.as_ref()?.name.as_deref()
    }

    /// Takes every waker waiting for this task's end: the `JoinHandle`'s
    /// and the others (no allocation when there are none of the latter).
    pub(crate) fn take_end_waiters(&mut self) -> (Option<Waker>, Vec<Waker>) {
        let others = self
            .extra
            .as_mut()
            .map(|extra| std::mem::take(&mut extra.end_waiters))
            .unwrap_or_default();
        (self.join_waker.take(), others)
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::Task;

    /// A size guard, not a timing: every task, idle or not, costs one slot,
    /// so a field added here shows up in the bytes per idle task.
    #[test]
    fn a_task_slot_stays_compact() {
        assert!(std::mem::size_of::<Task>() <= 96);
    }
}
