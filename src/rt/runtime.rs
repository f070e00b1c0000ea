//! The public owner of a loop: [`Runtime`], its cross-thread
//! [`RuntimeHandle`], and [`Stats`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_task::waker_ref;

use super::context;
use super::core::Core;
use super::join::JoinHandle;
use super::task::TaskId;
use super::waker::{Remote, Shared};

/// A single-threaded event loop: executor, reactor and timers.
///
/// Create one per thread and drive it with [`block_on`](Self::block_on).
/// While `block_on` runs, [`spawn`](crate::spawn), [`sleep`](crate::sleep)
/// and the `net` types use this loop. Dropping the runtime drops every task
/// still alive (their destructors run) and closes its [`RuntimeHandle`]s.
///
/// A runtime stays on the thread that made it:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(sanio::Runtime::new().unwrap());
/// ```
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let a = sanio::spawn(async { 1 });
///     let b = sanio::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub struct Runtime {
    /// The loop.
    pub(super) core: Rc<Core>,
}

impl Runtime {
    /// Creates a loop: an epoll instance, an eventfd for remote wakes, empty
    /// queues. Nothing runs until [`block_on`](Self::block_on).
    ///
    /// # Errors
    ///
    /// The OS error if the poller cannot be created (out of descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// let _rt = sanio::Runtime::new()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            core: Rc::new(Core::new()?),
        })
    }

    /// Sets the default grace period: how long a cancelled task that
    /// observed its cancel may run its cleanup before it is dropped
    /// (5 s unless set).
    ///
    /// # Examples
    ///
    /// ```
    /// let _rt = sanio::Runtime::new().unwrap()
    ///     .with_grace_period(std::time::Duration::from_millis(500));
    /// ```
    pub fn with_grace_period(self, grace: Duration) -> Self {
        self.core.set_grace(grace);
        self
    }

    /// Pauses the loop's clock, for tests: time stands still at the moment
    /// of this call and moves only when [`advance`](crate::rt::advance)
    /// moves it or, with auto-advance (on by default), when the loop has
    /// nothing to do and the next timer is due. Sleeps, intervals, timeouts,
    /// grace periods and connection timeouts then take no real time. See
    /// the module doc of `rt/clock.rs` and [`with_auto_advance`](Self::with_auto_advance)
    /// for how this meets real I/O.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = sanio::Runtime::new().unwrap().with_paused_clock();
    /// let start = std::time::Instant::now();
    /// let result = rt.block_on(async {
    ///     // A 30-second timeout elapses at once, at exactly 30 s on the clock.
    ///     let t0 = sanio::rt::now();
    ///     let slow = sanio::timeout(Duration::from_secs(30), std::future::pending::<()>()).await;
    ///     (slow, sanio::rt::now() - t0)
    /// });
    /// assert_eq!(result, (Err(sanio::rt::Elapsed), Duration::from_secs(30)));
    /// assert!(start.elapsed() < Duration::from_secs(30));
    /// ```
    pub fn with_paused_clock(self) -> Self {
        self.core.clock.pause();
        self
    }

    /// Turns auto-advance of a paused clock on (the default) or off.
    ///
    /// With it on, an idle loop (no task ready, no remote work, no I/O event
    /// in a poll that does not wait) jumps the clock to the next timer: a
    /// client on another thread that has not written *yet* does not hold
    /// the clock back. With it off, the loop waits in `epoll_wait` for I/O
    /// as usual and timers fire only when [`advance`](Self::advance) or
    /// [`sanio::rt::advance`](crate::rt::advance) moves the clock: the mode
    /// for tests that mix real sockets with a paused clock. No effect on a
    /// real clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = sanio::Runtime::new().unwrap().with_paused_clock().with_auto_advance(false);
    /// // `async`: a sleep made inside the loop measures from the loop's clock
    /// // (one made outside measures from the real time).
    /// let sleeper = rt.spawn(async { sanio::sleep(Duration::from_secs(10)).await });
    /// rt.advance(Duration::from_secs(9));
    /// assert!(!sleeper.is_finished());
    /// rt.advance(Duration::from_secs(1));
    /// assert!(sleeper.is_finished());
    /// ```
    pub fn with_auto_advance(self, on: bool) -> Self {
        self.core.clock.set_auto_advance(on);
        self
    }

    /// Moves a paused clock forward by `duration`, firing every timer due on
    /// the way at its own deadline and running the tasks each one wakes,
    /// then returns; [`sanio::rt::advance`](crate::rt::advance) from outside
    /// the loop. On a real clock, it sleeps for `duration` while driving the
    /// loop.
    ///
    /// # Panics
    ///
    /// Panics if a sanio loop is already running on this thread, as
    /// [`block_on`](Self::block_on) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = sanio::Runtime::new().unwrap().with_paused_clock();
    /// let t0 = rt.now();
    /// rt.advance(Duration::from_millis(1500));
    /// assert_eq!(rt.now() - t0, Duration::from_millis(1500));
    /// ```
    pub fn advance(&self, duration: Duration) {
        self.block_on(super::clock::advance(duration));
    }

    /// The time on this loop's clock (see [`sanio::rt::now`](crate::rt::now)).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap().with_paused_clock();
    /// assert_eq!(rt.now(), rt.now()); // paused: time stands still
    /// ```
    pub fn now(&self) -> std::time::Instant {
        self.core.clock.now()
    }

    /// Runs `future` to completion on this thread, driving every task,
    /// socket and timer of the loop meanwhile, and returns its output.
    ///
    /// Tasks still alive when it returns stay in the runtime and run again at
    /// the next `block_on`.
    ///
    /// # Panics
    ///
    /// Panics if a sanio loop is already running on this thread (a loop would
    /// block its own thread), and re-raises a panic of `future` itself
    /// (panics of spawned tasks are caught and end only that task).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { "done" }), "done");
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let Some(_enter) = context::enter(&self.core) else {
            panic!("cannot start a sanio runtime from within a running one");
        };
        self.core.set_running(true);
        let _running = ResetRunning(&self.core);
        let mut future = pin!(future);
        // A new future must be polled once before anything can wake it.
        self.core.schedule(TaskId::MAIN);
        let main_waker = self.core.new_waker(TaskId::MAIN);
        let waker = waker_ref(&main_waker);
        let mut cx = Context::from_waker(&waker);
        loop {
            if self.core.take_main_woken() {
                main_waker.clear_scheduled();
                self.core.reset_io_budget();
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            self.core.turn(None);
        }
    }

    /// Spawns a task on this runtime from outside it; it first runs at the
    /// next `block_on`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// let task = rt.spawn(async { 40 + 2 });
    /// assert_eq!(rt.block_on(task), Ok(42));
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let location = std::panic::Location::caller();
        let id = self
            .core
            .spawn(super::spawn::erase(future), None, 1, location);
        JoinHandle::new(Rc::clone(&self.core), id)
    }

    /// A handle other threads can use to reach this loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// std::thread::spawn(move || handle.spawn(async { /* runs on rt */ }).unwrap())
    ///     .join()
    ///     .unwrap();
    /// rt.block_on(sanio::rt::yield_now());
    /// ```
    pub fn handle(&self) -> RuntimeHandle {
        RuntimeHandle {
            shared: Arc::clone(self.core.shared()),
        }
    }

    /// The loop.
    pub(crate) fn core(&self) -> &Rc<Core> {
        &self.core
    }

    /// Counts of what the loop holds now.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// assert_eq!(rt.stats().live_tasks, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Enter so that destructors of dropped tasks (sockets, sleeps) find
        // this loop; if another loop is running here, drop without it.
        let _enter = context::enter(&self.core);
        self.core.shutdown();
        super::trace::dump_at_exit(&self.core.trace);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("stats", &self.core.stats())
            .finish()
    }
}

/// Clears the "running" mark when `block_on` returns or unwinds.
pub(crate) struct ResetRunning<'a>(pub(crate) &'a Core);

impl Drop for ResetRunning<'_> {
    fn drop(&mut self) {
        self.0.set_running(false);
    }
}

/// Counts of what a loop holds, for tests, dashboards and leak hunts.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// let before = rt.stats();
/// rt.block_on(async {
///     sanio::spawn(async {}).await.unwrap();
/// });
/// assert_eq!(rt.stats(), before);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Tasks that have not ended.
    pub live_tasks: usize,
    /// Occupied task slots: live tasks plus ended ones a handle still holds.
    pub task_slots: usize,
    /// Tasks waiting in the ready queue.
    pub scheduled_tasks: usize,
    /// Pending timer entries (sleeps, grace deadlines).
    pub timers: usize,
    /// Registered sockets.
    pub io_registrations: usize,
    /// Items other threads queued that the loop has not taken yet.
    pub remote_queue: usize,
}

/// Counts of the loop running on this thread.
///
/// # Errors
///
/// [`NoRuntime`](super::NoRuntime) outside a runtime.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     assert!(sanio::rt::stats().is_ok());
/// });
/// assert!(sanio::rt::stats().is_err());
/// ```
pub fn stats() -> Result<Stats, super::NoRuntime> {
    context::with_current(|core| core.stats())
}

/// The error of [`RuntimeHandle::spawn`] once the runtime is gone.
///
/// # Examples
///
/// ```
/// let handle = sanio::Runtime::new().unwrap().handle(); // runtime dropped here
/// let err = handle.spawn(async {}).unwrap_err();
/// assert_eq!(err.to_string(), "the sanio runtime has shut down");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeClosed;

impl fmt::Display for RuntimeClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the sanio runtime has shut down")
    }
}

impl std::error::Error for RuntimeClosed {}

/// A `Send + Sync` handle to a loop, usable from any thread.
///
/// Dropping it does nothing to the loop.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
///
/// let rt = sanio::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let (tx, rx) = mpsc::channel();
/// let waker = std::thread::spawn(move || {
///     handle.spawn(async move { tx.send("hello from the loop").unwrap() }).unwrap();
/// });
/// waker.join().unwrap();
/// rt.block_on(async {
///     while rx.try_recv().is_err() {
///         sanio::sleep(std::time::Duration::from_millis(1)).await;
///     }
/// });
/// ```
#[derive(Clone)]
pub struct RuntimeHandle {
    /// The loop's thread-safe half.
    shared: Arc<Shared>,
}

impl RuntimeHandle {
    /// Sends `future` to the loop, which spawns it as a detached task on its
    /// next turn (waking from `epoll_wait` if it sleeps).
    ///
    /// # Errors
    ///
    /// [`RuntimeClosed`] when the runtime has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// rt.handle().spawn(async { /* work */ }).unwrap();
    /// ```
    pub fn spawn<F>(&self, future: F) -> Result<(), RuntimeClosed>
    where
        F: Future + Send + 'static,
    {
        let future = Box::pin(async move {
            future.await;
        });
        self.shared
            .push_remote(Remote::Spawn(future))
            .map_err(|_| RuntimeClosed)
    }

    /// Whether the runtime still accepts work.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// assert!(handle.is_open());
    /// drop(rt);
    /// assert!(!handle.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        self.shared.is_open()
    }

    /// The handle of the loop running on this thread.
    ///
    /// # Errors
    ///
    /// [`NoRuntime`](super::NoRuntime) outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// rt.block_on(async { assert!(sanio::rt::RuntimeHandle::current().is_ok()) });
    /// ```
    pub fn current() -> Result<Self, super::NoRuntime> {
        context::with_current(|core| RuntimeHandle {
            shared: Arc::clone(core.shared()),
        })
    }

    /// Whether both handles reach the same loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = sanio::Runtime::new().unwrap();
    /// assert!(rt.handle().same_loop(&rt.handle()));
    /// ```
    pub fn same_loop(&self, other: &RuntimeHandle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeHandle")
            .field("open", &self.is_open())
            .finish()
    }
}
