//! Wakers, and the two ways a wake reaches the loop.
//!
//! A [`Waker`](std::task::Waker) is how a future that returned `Pending` gets
//! polled again: whoever makes progress possible (a socket turning readable, a
//! timer expiring, a channel receiving) calls `wake()`, and that must put the
//! task back on its loop's ready queue.
//!
//! sanio makes **one waker per task**, at spawn: an `Arc<TaskWaker>` turned
//! into a `Waker` by `futures_task::ArcWake`, so no `unsafe` vtable is needed.
//! Every poll lends the same waker (`waker_ref`, no allocation).
//!
//! A waker is `Send`, so a wake can come from any thread:
//!
//! 1. **From the loop's own thread** (the common case: I/O, timers, channels
//!    between tasks) the task id is pushed straight onto the local ready
//!    queue: no lock, no syscall.
//! 2. **From another thread** the id goes into the [`Shared`] remote queue,
//!    behind a mutex, and the loop is woken out of `epoll_wait` through a
//!    `mio::Waker` (an eventfd). The loop moves remote ids to its ready queue
//!    on its next turn.
//!
//! The `scheduled` flag makes a wake idempotent: a task already queued is not
//! queued twice, however many times it is woken before it runs. The executor
//! clears the flag just before polling, so a wake *during* the poll queues the
//! task again, as it must.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_task::ArcWake;

use super::context;
use super::task::TaskId;

/// A future sent to the loop from another thread by `RuntimeHandle::spawn`.
pub(crate) type SendFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What another thread can ask of a loop.
pub(crate) enum Remote {
    /// Schedule this task.
    Wake(TaskId),
    /// Spawn this future as a detached task.
    Spawn(SendFuture),
}

/// The part of a runtime other threads may touch. `Send + Sync`.
pub(crate) struct Shared {
    /// Work queued by other threads, taken whole by the loop each turn.
    remote: Mutex<Vec<Remote>>,
    /// Set when the loop has been woken and has not drained the queue since;
    /// saves an eventfd write per remote wake under load.
    notified: AtomicBool,
    /// Wakes `mio::Poll::poll` from another thread.
    waker: mio::Waker,
    /// Cleared when the runtime is dropped: remote work is refused from then on.
    open: AtomicBool,
}

impl Shared {
    /// Creates the shared half of a runtime around its poll's waker.
    pub(crate) fn new(waker: mio::Waker) -> Self {
        Self {
            remote: Mutex::new(Vec::new()),
            notified: AtomicBool::new(false),
            waker,
            open: AtomicBool::new(true),
        }
    }

    /// The remote queue, even if a thread panicked while holding it (the
    /// queue is a plain `Vec`, valid after any panic).
    fn queue(&self) -> MutexGuard<'_, Vec<Remote>> {
        self.remote
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues work from another thread and wakes the loop. Returns the work
    /// back when the runtime is gone.
    pub(crate) fn push_remote(&self, item: Remote) -> Result<(), Remote> {
        if !self.open.load(Ordering::Acquire) {
            return Err(item);
        }
        self.queue().push(item);
        if !self.notified.swap(true, Ordering::AcqRel) {
            if let Err(err) = self.waker.wake() {
                log::error!("failed to wake the sanio loop: {err}");
            }
        }
        Ok(())
    }

    /// Takes everything other threads queued since the last call.
    pub(crate) fn drain_remote(&self) -> Vec<Remote> {
        self.notified.store(false, Ordering::Release);
        std::mem::take(&mut *self.queue())
    }

    /// How many items wait in the remote queue.
    pub(crate) fn remote_len(&self) -> usize {
        self.queue().len()
    }

    /// Refuses remote work from now on and drops what is queued.
    pub(crate) fn close(&self) -> Vec<Remote> {
        self.open.store(false, Ordering::Release);
        std::mem::take(&mut *self.queue())
    }

    /// Whether the runtime still accepts remote work.
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }
}

/// The waker of one task.
pub(crate) struct TaskWaker {
    /// The task to schedule.
    pub(crate) id: TaskId,
    /// The runtime the task lives on.
    pub(crate) shared: Arc<Shared>,
    /// INVARIANT: true while the id sits in a ready or remote queue.
    pub(crate) scheduled: AtomicBool,
}

impl TaskWaker {
    /// A waker for task `id` of the runtime owning `shared`, not yet scheduled.
    pub(crate) fn new(id: TaskId, shared: Arc<Shared>) -> Self {
        Self {
            id,
            shared,
            scheduled: AtomicBool::new(false),
        }
    }

    /// Called by the executor right before a poll, so wakes during the poll
    /// schedule the task again.
    pub(crate) fn clear_scheduled(&self) {
        self.scheduled.store(false, Ordering::Release);
    }
}

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.scheduled.swap(true, Ordering::AcqRel) {
            return; // already queued
        }
        let local = context::with_current(|core| {
            core.owns(&arc_self.shared) && {
                core.schedule(arc_self.id);
                true
            }
        });
        if local != Ok(true) {
            // Another thread, or the loop is not running: a dropped item
            // means the runtime is gone and there is nothing left to wake.
            let _ = arc_self.shared.push_remote(Remote::Wake(arc_self.id));
        }
    }
}
