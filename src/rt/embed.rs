//! Driving the loop from a host's own main loop: [`Runtime::turn`], the
//! reactor's file descriptor, and the next timer deadline.
//!
//! [`Runtime::block_on`] owns the thread until its future is done. A program
//! that already has a main loop (a game loop, a GUI toolkit, a plugin host,
//! another event loop, a test harness) instead calls [`Runtime::turn`] when
//! it suits it: one turn of the loop (see the `rt` module doc), waiting for
//! the OS at most as long as the host allows.
//!
//! # Watching the loop from a foreign poller
//!
//! A runtime is an epoll instance, and its descriptor ([`AsFd`] on
//! [`Runtime`]) can itself be watched by `poll(2)`, another epoll, GLib or
//! mio. It **becomes readable** when
//!
//! - a socket registered with this loop has new readiness (I/O), or
//! - another thread queued work: a [`RuntimeHandle::spawn`](super::RuntimeHandle::spawn)
//!   or a wake of a task from another thread (through the loop's eventfd).
//!
//! It does **not** become readable for
//!
//! - **timers**: ask [`Runtime::next_deadline`] when the next one is due and
//!   wake up by then (the host's own poll timeout);
//! - **tasks woken on the loop's thread** while the host runs its own code,
//!   or left over when a turn hit its budget: [`Turn::more_work`] says so;
//!   turn again with a zero wait.
//!
//! So a host loop is: wait on its own sources plus the runtime's descriptor,
//! with a timeout of `next_deadline()` (zero if the last turn reported more
//! work); then call `turn(Some(Duration::ZERO))`. `examples/embed.rs` does
//! this with `poll(2)`.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use super::context;
use super::runtime::{ResetRunning, Runtime};

/// What one [`Runtime::turn`] did.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// let _task = rt.spawn(async {});
/// let turn = rt.turn(Some(std::time::Duration::ZERO)).unwrap();
/// assert_eq!(turn.tasks_polled, 1);
/// assert!(!turn.more_work);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Turn {
    /// How many tasks it polled (at most the per-turn budget, 256).
    pub tasks_polled: usize,
    /// How many events the OS poll returned (sockets, and the remote-wake
    /// eventfd).
    pub io_events: usize,
    /// How many wakes and spawns from other threads it took.
    pub remote_items: usize,
    /// How many timer entries fired (sleeps, grace periods).
    pub timers_fired: usize,
    /// Whether tasks are ready to run right now (woken during the turn, or
    /// left over by the budget): turn again without waiting.
    pub more_work: bool,
}

/// The error of [`Runtime::turn`] called while a sanio loop is running on
/// this thread (a loop cannot be turned from inside a loop).
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// let err = rt.block_on(async { sanio::Runtime::new().unwrap().turn(None) }).unwrap_err();
/// assert_eq!(err.to_string(), "a sanio loop is already running on this thread");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopBusy;

impl fmt::Display for LoopBusy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sanio loop is already running on this thread")
    }
}

impl std::error::Error for LoopBusy {}

impl Runtime {
    /// Runs one turn of the loop: waits for I/O at most `max_wait` (`None`:
    /// until a socket, another thread or the next timer wakes it; not at all
    /// if a task is ready), takes remote work, fires due timers, and polls
    /// the ready tasks. Returns what it did.
    ///
    /// While it runs, the runtime is this thread's current loop, so tasks
    /// can `spawn`, `sleep` and open sockets as under `block_on`.
    ///
    /// # Errors
    ///
    /// [`LoopBusy`] when called from inside a running sanio loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = sanio::Runtime::new().unwrap();
    /// let task = rt.spawn(async {
    ///     sanio::sleep(Duration::from_millis(1)).await;
    ///     "slept"
    /// });
    /// while !task.is_finished() {
    ///     // A host would do its own work between turns.
    ///     rt.turn(Some(Duration::from_millis(10))).unwrap();
    /// }
    /// assert_eq!(rt.block_on(task), Ok("slept"));
    /// ```
    pub fn turn(&self, max_wait: Option<Duration>) -> Result<Turn, LoopBusy> {
        let core = self.core();
        let _enter = context::enter(core).ok_or(LoopBusy)?;
        core.set_running(true);
        let _running = ResetRunning(core);
        // No main future here: a wake left over from an earlier `block_on`
        // must not keep the poll from waiting.
        core.take_main_woken();
        Ok(core.turn(max_wait))
    }

    /// When the earliest pending timer is due, if any: how long a host may
    /// wait before it must call [`turn`](Self::turn) again. On a paused clock
    /// this is an instant of the paused clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = sanio::Runtime::new().unwrap();
    /// assert_eq!(rt.next_deadline(), None);
    /// let _sleeper = rt.spawn(async { sanio::sleep(Duration::from_secs(5)).await });
    /// rt.turn(Some(Duration::ZERO)).unwrap(); // the sleep registers its timer
    /// assert!(rt.next_deadline().is_some());
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        self.core().timers.borrow().next_deadline()
    }
}

/// The loop's epoll descriptor, for a foreign poller to watch (see the
/// module doc for when it becomes readable). Read it only for readiness:
/// calling `epoll_wait` on it yourself would steal the loop's events.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
///
/// let rt = sanio::Runtime::new().unwrap();
/// let fd = rt.as_fd(); // hand it to poll(2), GLib, another epoll
/// # let _ = fd;
/// ```
impl AsFd for Runtime {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.core().reactor.as_fd()
    }
}

/// The raw form of [`AsFd`] for [`Runtime`].
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
///
/// let rt = sanio::Runtime::new().unwrap();
/// assert!(rt.as_raw_fd() >= 0);
/// ```
impl AsRawFd for Runtime {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}
