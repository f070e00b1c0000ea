//! The executor: a slab of tasks, a ready queue, and one turn of the loop.
//!
//! `Core` is everything a loop owns, kept on its own thread (`Rc`, not
//! `Arc`; it is `!Send`). [`Runtime`](super::Runtime) is the public owner;
//! handles keep an `Rc<Core>` so they stay valid however long they live.
//!
//! Every method here borrows a `RefCell` only for as long as it needs to and
//! never across a call into user code: polling a future, dropping a future
//! or waking a waker may re-enter the executor (spawn, cancel, wake), so the
//! future is **moved out of its slot** for the poll and dropped only after
//! the slab is released.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_task::waker_ref;
use slab::Slab;

use super::clock::Clock;
use super::embed::Turn;
use super::reactor::Reactor;
use super::task::{BoxFuture, CancelState, Stage, Task, TaskId};
use super::time::Timers;
use super::trace::{Trace, What};
use super::waker::{Remote, Shared, TaskWaker};
use super::Stats;

mod dump;
mod handles;

/// How many ready tasks one turn polls before it looks at I/O and timers
/// again. Without a budget, two tasks waking each other forever would starve
/// every socket; with one, the loop polls the reactor (with a zero timeout)
/// at least every `BUDGET` task polls. The cost is one `epoll_wait` per
/// `BUDGET` polls, a few nanoseconds per task.
const BUDGET: usize = 256;

/// How many I/O operations one poll of a task may make before its next
/// operation yields once (tokio uses the same number). Without it, a task
/// whose sockets never run dry (an accept loop under a connection storm, a
/// client pipelining without pause) would hold the loop: no other task,
/// timer or socket would run until it met `WouldBlock`.
pub(crate) const IO_BUDGET: u32 = 128;

/// The grace period a task gets, after it observed a cancel, to finish its
/// async cleanup before it is dropped, unless the runtime or the cancel
/// says otherwise.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// A single poll longer than this is logged with the task's name and
/// spawn location and counted in its dump, unless the runtime says
/// otherwise.
pub(crate) const DEFAULT_SLOW_POLL: Duration = Duration::from_millis(100);

/// Slow-poll warnings are logged at most once per this much of the loop's
/// clock, beyond the first slow poll of each task (always logged): a task
/// that blocks on every poll must not flood the log.
pub(crate) const SLOW_POLL_WARN_EVERY: Duration = Duration::from_secs(1);

/// What a timer entry does when it expires.
pub(crate) enum TimerEvent {
    /// Wake a sleeping future.
    Wake(Waker),
    /// The grace period of a cancelled task is over: drop it.
    GraceOver(TaskId),
}

/// Everything one loop owns.
pub(crate) struct Core {
    /// Every live task, plus ended tasks that a handle still refers to.
    tasks: RefCell<Slab<Task>>,
    /// Tasks to poll, in wake order.
    /// INVARIANT: an id is here at most once (its waker's `scheduled` flag).
    ready: RefCell<VecDeque<TaskId>>,
    /// The future passed to `block_on` was woken.
    main_woken: Cell<bool>,
    /// Generation for the next spawned task.
    next_generation: Cell<u32>,
    /// The task being polled right now.
    current: Cell<Option<TaskId>>,
    /// Whether `block_on` is driving this core.
    running: Cell<bool>,
    /// mio and the I/O registrations.
    pub(crate) reactor: Reactor,
    /// Sleeps and grace deadlines, ordered by deadline.
    pub(crate) timers: RefCell<Timers<TimerEvent>>,
    /// The half other threads can reach.
    shared: Arc<Shared>,
    /// Default grace period of a cancelled task that observed its cancel.
    grace: Cell<Duration>,
    /// The loop's time: real, or paused for tests.
    pub(crate) clock: Clock,
    /// I/O operations the task being polled may still make in this poll.
    io_budget: Cell<u32>,
    /// The trace recorder: off unless the runtime asked for it.
    pub(crate) trace: Trace,
    /// A poll longer than this is logged and counted as slow.
    pub(crate) slow_poll: Cell<Duration>,
    /// Whether polls are timed (busy time, slow polls): on in debug
    /// builds, and in release once a slow-poll threshold is set or a dump
    /// is taken.
    pub(crate) timing: Cell<bool>,
    /// When the last slow-poll warning was logged (the loop's clock).
    slow_warned_at: Cell<Option<Instant>>,
    /// Slow polls not logged since that warning.
    slow_unlogged: Cell<u32>,
}

impl Core {
    /// Creates the core of a new loop: a mio poll, its cross-thread waker and
    /// empty queues.
    pub(crate) fn new() -> io::Result<Self> {
        let (reactor, waker) = Reactor::new()?;
        Ok(Self {
            tasks: RefCell::new(Slab::new()),
            ready: RefCell::new(VecDeque::new()),
            main_woken: Cell::new(false),
            next_generation: Cell::new(0),
            current: Cell::new(None),
            running: Cell::new(false),
            reactor,
            timers: RefCell::new(Timers::new()),
            shared: Arc::new(Shared::new(waker)),
            grace: Cell::new(DEFAULT_GRACE),
            clock: Clock::new(),
            io_budget: Cell::new(IO_BUDGET),
            trace: Trace::off(),
            slow_poll: Cell::new(DEFAULT_SLOW_POLL),
            timing: Cell::new(cfg!(debug_assertions)),
            slow_warned_at: Cell::new(None),
            slow_unlogged: Cell::new(0),
        })
    }

    /// The thread-safe half.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether `shared` belongs to this core.
    pub(crate) fn owns(&self, shared: &Arc<Shared>) -> bool {
        Arc::ptr_eq(&self.shared, shared)
    }

    /// Whether `block_on` is driving this core.
    pub(crate) fn is_running(&self) -> bool {
        self.running.get()
    }

    /// Marks the core as driven (or not) by `block_on`.
    pub(crate) fn set_running(&self, running: bool) {
        self.running.set(running);
    }

    /// Sets the default grace period.
    pub(crate) fn set_grace(&self, grace: Duration) {
        self.grace.set(grace);
    }

    /// Puts a task on the ready queue. Called by its waker (on this thread)
    /// or, for a wake from another thread, by `drain_remote`; both come
    /// after the waker's `scheduled` flag was set, which guarantees the id
    /// is not queued already. `block_on` schedules the main future itself.
    pub(crate) fn schedule(&self, id: TaskId) {
        self.trace.record(|| What::wake(id, self.current.get()));
        self.enqueue(id);
    }

    /// Puts a scheduled task on the ready queue (the main future: marks it
    /// woken).
    fn enqueue(&self, id: TaskId) {
        if id == TaskId::MAIN {
            self.main_woken.set(true);
        } else {
            self.ready.borrow_mut().push_back(id);
        }
    }

    /// Gives the task about to be polled its full [`IO_BUDGET`].
    pub(crate) fn reset_io_budget(&self) {
        self.io_budget.set(IO_BUDGET);
    }

    /// Spends one I/O operation of the current poll's budget; `false` when
    /// it is spent (the operation should yield).
    pub(crate) fn take_io_budget(&self) -> bool {
        let left = self.io_budget.get();
        self.io_budget.set(left.saturating_sub(1));
        left > 0
    }

    /// Takes the "main future was woken" flag.
    pub(crate) fn take_main_woken(&self) -> bool {
        self.main_woken.replace(false)
    }

    /// A new waker bound to this loop.
    pub(crate) fn new_waker(&self, id: TaskId) -> Arc<TaskWaker> {
        Arc::new(TaskWaker::new(id, Arc::clone(&self.shared)))
    }

    // ----- spawning -------------------------------------------------------

    /// Stores a future in a new slot and schedules its first poll. `handles`
    /// is how many handles the caller is about to make (0 or 1).
    pub(crate) fn spawn(
        &self,
        future: BoxFuture,
        name: Option<String>,
        handles: u32,
        location: &'static Location<'static>,
    ) -> TaskId {
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let key = u32::try_from(entry.key()).expect("a loop holds fewer than 2^32 tasks");
        let id = TaskId { key, generation };
        self.trace.record(|| What::Spawn(id, name.clone()));
        let waker = self.new_waker(id);
        waker
            .scheduled
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut task = Task {
            stage: Stage::Idle(future),
            waker: Some(waker),
            join_waker: None,
            extra: None,
            generation,
            cancel: CancelState::None,
            polled: false,
            handles,
            location,
            busy_ns: 0,
            polls: 0,
            spawned_ms: self.clock.millis(self.clock.coarse()),
            last_poll_ms: 0,
            slow_polls: 0,
        };
        if name.is_some() {
            task.extra_mut().name = name;
        }
        entry.insert(task);
        self.ready.borrow_mut().push_back(id);
        id
    }

    /// Runs `f` on the task `id`, if it is still in its slot.
    pub(crate) fn with_task<R>(&self, id: TaskId, f: impl FnOnce(&mut Task) -> R) -> Option<R> {
        let mut tasks = self.tasks.borrow_mut();
        match tasks.get_mut(id.key as usize) {
            Some(task) if task.generation == id.generation => Some(f(task)),
            _ => None,
        }
    }

    // ----- one turn of the loop -------------------------------------------

    /// One turn: the steps listed in the module doc of `rt`. The OS poll
    /// waits at most `max_wait` (`None`: as long as timers allow).
    pub(crate) fn turn(&self, max_wait: Option<Duration>) -> Turn {
        let timeout = self.poll_timeout(max_wait);
        self.trace.record(|| What::WaitStart);
        let io_events = self.reactor.poll(timeout, &self.trace);
        self.trace.record(|| What::WaitEnd(io_events));
        let remote_items = self.drain_remote();
        if io_events == 0 && self.clock.auto_advances() && !self.has_ready_work() {
            // A paused clock and nothing to do: jump to the next timer.
            if let Some(next) = self.timers.borrow().next_deadline() {
                self.clock.advance_to(next);
            }
        }
        let timers_fired = self.fire_timers(self.clock.tick());
        let tasks_polled = self.run_ready();
        Turn {
            tasks_polled,
            io_events,
            remote_items,
            timers_fired,
            // Remote work needs no mention: it makes the descriptor readable.
            more_work: self.main_woken.get() || !self.ready.borrow().is_empty(),
        }
    }

    /// Whether a task (or the main future) is ready to run, or other threads
    /// queued work.
    pub(crate) fn has_ready_work(&self) -> bool {
        self.main_woken.get() || !self.ready.borrow().is_empty() || self.shared.remote_len() > 0
    }

    /// Step 1: how long the reactor may sleep. Zero when work is ready (poll
    /// I/O, do not wait); until the nearest timer otherwise; forever when
    /// there is no timer (only I/O or another thread can wake us then); and
    /// never longer than `max_wait`.
    fn poll_timeout(&self, max_wait: Option<Duration>) -> Option<Duration> {
        if self.main_woken.get() || !self.ready.borrow().is_empty() {
            return Some(Duration::ZERO);
        }
        let next = self.timers.borrow().next_deadline();
        let timers = next.and_then(|next| self.clock.wait_for(next));
        match (timers, max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Step 2: moves work queued by other threads onto this loop, right
    /// after the poll that their wake interrupted, so that it runs in step 4
    /// of this same turn. Returns how many items it took.
    fn drain_remote(&self) -> usize {
        let items = self.shared.drain_remote();
        let count = items.len();
        for item in items {
            match item {
                Remote::Wake(id) => {
                    self.trace.record(|| What::remote_wake(id));
                    self.enqueue(id);
                }
                Remote::Spawn(future) => {
                    self.spawn(Box::pin(future), None, 0, Location::caller());
                }
            }
        }
        count
    }

    /// Step 3: fires every timer whose deadline has passed. Returns how many
    /// fired.
    pub(crate) fn fire_timers(&self, now: Instant) -> usize {
        let mut fired = 0;
        loop {
            let due = self.timers.borrow_mut().pop_due(now);
            match due {
                Some(TimerEvent::Wake(waker)) => {
                    self.trace.record(|| What::TimerFire);
                    waker.wake();
                }
                Some(TimerEvent::GraceOver(id)) => {
                    self.trace.record(|| What::GraceOver(id));
                    let overran = self.with_task(id, |task| task.cancel == CancelState::Observed);
                    if overran == Some(true) {
                        log::debug!("task {id} overran its cancel grace period; dropping it");
                        self.drop_task(id);
                    }
                }
                None => return fired,
            }
            fired += 1;
        }
    }

    /// Step 4: polls up to [`BUDGET`] ready tasks. Returns how many it polled.
    fn run_ready(&self) -> usize {
        for polled in 0..BUDGET {
            let next = self.ready.borrow_mut().pop_front();
            match next {
                Some(id) => self.poll_task(id),
                None => return polled,
            }
        }
        BUDGET
    }

    // ----- polling a task -------------------------------------------------

    /// Polls one task, then records how the poll ended.
    fn poll_task(&self, id: TaskId) {
        let taken = self.with_task(id, |task| {
            let Stage::Idle(_) = task.stage else {
                return None;
            };
            let Stage::Idle(future) = std::mem::replace(&mut task.stage, Stage::Polling) else {
                unreachable!("checked just above");
            };
            task.polled = true;
            task.polls = task.polls.saturating_add(1);
            task.last_poll_ms = self.clock.millis(self.clock.coarse());
            let waker = task.waker.take().expect("a waiting task has its waker");
            waker.clear_scheduled();
            Some((future, waker, task.cancel))
        });
        // A stale id (the task ended, the slot was reused) finds nothing.
        let Some(Some((mut future, waker, cancel_before))) = taken else {
            return;
        };
        let waker_ref = waker_ref(&waker);
        let mut cx = Context::from_waker(&waker_ref);
        self.current.set(Some(id));
        self.reset_io_budget();
        self.trace.record(|| What::PollStart(id));
        // Two clock reads per poll, only while timing is on (see `dump.rs`).
        // Busy time is the wall time the poll held the thread, so it reads
        // the OS clock even when the runtime's clock is paused.
        let started = self.timing.get().then(Instant::now);
        let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll_erased(&mut cx)));
        self.trace.record(|| What::poll_end(id, &polled));
        if let Some(started) = started {
            self.time_poll(id, started);
        }
        // The task stays current while the loop files the poll's outcome:
        // its destructors run as part of it, and the wakes of its awaiters
        // are its own.
        match polled {
            Ok(Poll::Pending) => self.after_pending(id, future, waker, cancel_before),
            Ok(Poll::Ready(output)) => {
                drop_catching(id, "its finished future", future);
                self.finish(id, Stage::Finished(Some(output)), None);
            }
            Err(payload) => {
                drop_catching(id, "its future after a panic", future);
                self.finish(id, Stage::Panicked, Some(panic_message(&*payload)));
            }
        }
        self.current.set(None);
    }

    /// Adds a poll that started at `started` to the task's busy time, and
    /// warns about a poll longer than the slow-poll threshold: always for a
    /// task's first slow poll, otherwise at most once per
    /// [`SLOW_POLL_WARN_EVERY`], counting the polls not logged meanwhile.
    fn time_poll(&self, id: TaskId, started: Instant) {
        let busy = started.elapsed();
        let slow = busy > self.slow_poll.get();
        let slow_task = self.with_task(id, |task| {
            task.busy_ns = task
                .busy_ns
                .saturating_add(u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX));
            if !slow {
                return None;
            }
            task.slow_polls = task.slow_polls.saturating_add(1);
            let name = task.name().unwrap_or("<unnamed>").to_owned();
            Some((task.slow_polls == 1, name, task.location))
        });
        if let Some(Some((first_slow, name, location))) = slow_task {
            self.warn_slow_poll(id, busy, first_slow, &name, location);
        }
    }

    /// Logs a slow poll of task `id`, unless one was logged less than
    /// [`SLOW_POLL_WARN_EVERY`] ago and this is not the task's first.
    #[cold]
    fn warn_slow_poll(
        &self,
        id: TaskId,
        busy: Duration,
        first_slow: bool,
        name: &str,
        location: &Location<'_>,
    ) {
        let now = self.clock.coarse();
        let quiet = self
            .slow_warned_at
            .get()
            .is_some_and(|at| now.saturating_duration_since(at) < SLOW_POLL_WARN_EVERY);
        if quiet && !first_slow {
            self.slow_unlogged
                .set(self.slow_unlogged.get().saturating_add(1));
            return;
        }
        self.slow_warned_at.set(Some(now));
        let unlogged = match self.slow_unlogged.replace(0) {
            0 => String::new(),
            n => format!(" ({n} slow polls not logged since the last warning)"),
        };
        log::warn!(
            "task {id} ({name}, spawned at {location}) blocked the loop for {busy:?} in one poll{unlogged}"
        );
    }

    /// A poll returned `Pending`: put the future back, and apply step 3 of
    /// the cancel model if a cancel was pending during that poll.
    fn after_pending(
        &self,
        id: TaskId,
        future: BoxFuture,
        waker: Arc<TaskWaker>,
        cancel_before: CancelState,
    ) {
        let arm_grace = self.with_task(id, |task| {
            task.stage = Stage::Idle(future);
            if cancel_before == CancelState::None && task.cancel == CancelState::Requested {
                // Cancelled during this poll, when the waker was out of the
                // slot: schedule the poll that delivers it.
                futures_task::ArcWake::wake_by_ref(&waker);
            }
            task.waker = Some(waker);
            match (cancel_before, task.cancel) {
                // It never looked at the flag (sat in a sleep, say): drop now.
                (CancelState::Requested, CancelState::Requested) => Err(()),
                // It took the flag in this poll (a cancel from before the
                // poll, or one it asked for itself during it) and is
                // cleaning up: give it the grace period.
                (CancelState::None | CancelState::Requested, CancelState::Observed) => {
                    Ok(Some(task.extra.as_ref().and_then(|e| e.grace)))
                }
                _ => Ok(None),
            }
        });
        match arm_grace {
            Some(Err(())) => self.drop_task(id),
            Some(Ok(Some(grace))) => {
                let grace = grace.unwrap_or(self.grace.get());
                self.trace.record(|| What::TimerInsert(grace));
                let deadline = self.clock.now() + grace;
                let key = self
                    .timers
                    .borrow_mut()
                    .insert(deadline, TimerEvent::GraceOver(id));
                self.with_task(id, |task| task.extra_mut().grace_timer = Some(key));
            }
            _ => {}
        }
    }

    /// The task ended: record the final stage, wake whoever awaits it, and
    /// free the slot if no handle refers to it.
    fn finish(&self, id: TaskId, stage: Stage, panic: Option<String>) {
        if let Some(message) = &panic {
            let name = self
                .with_task(id, |task| task.name().map(str::to_owned))
                .flatten();
            let name = name.as_deref().unwrap_or("<unnamed>");
            log::error!("task {id} ({name}) panicked: {message}");
        }
        let ended = self.with_task(id, |task| {
            task.stage = stage;
            self.trace.record(|| What::End(id, task.state()));
            if let Some(message) = panic {
                task.extra_mut().panic_message = Some(message);
            }
            let grace_timer = task.extra.as_mut().and_then(|e| e.grace_timer.take());
            let waiters = task.take_end_waiters();
            (waiters, task.handles == 0, grace_timer)
        });
        let Some(((join_waker, others), unreferenced, grace_timer)) = ended else {
            return;
        };
        if let Some(key) = grace_timer {
            self.timers.borrow_mut().remove(key);
        }
        let removed = unreferenced.then(|| self.tasks.borrow_mut().remove(id.key as usize));
        drop_catching(id, "its unclaimed output", removed); // outside the borrow
        join_waker.into_iter().chain(others).for_each(Waker::wake);
    }

    /// Step 4 of the cancel model: marks the task cancelled, drops the
    /// future (its destructors run here, on the loop), then wakes its
    /// awaiters, in that order.
    pub(crate) fn drop_task(&self, id: TaskId) {
        let future = self.with_task(id, |task| {
            match std::mem::replace(&mut task.stage, Stage::Cancelled) {
                Stage::Idle(future) => Some(future),
                other => {
                    task.stage = other; // ended already, or being polled
                    None
                }
            }
        });
        let Some(Some(future)) = future else {
            return;
        };
        self.trace.record(|| What::Dropped(id));
        drop_catching(id, "its cancelled future", future);
        self.finish(id, Stage::Cancelled, None);
    }

    // ----- cancellation ---------------------------------------------------

    /// Step 1 of the cancel model: sets the flag (once) and schedules the
    /// task. A task that has ended is left alone.
    ///
    /// A second cancel sets nothing new (the first message stays), with one
    /// exception: a shorter grace period replaces a longer one, even while
    /// the task is already cleaning up. "Cancel now" (a zero grace) drops a
    /// task at the next turn however long an earlier cancel gave it.
    pub(crate) fn cancel(&self, id: TaskId, message: Option<String>, grace: Option<Duration>) {
        self.trace.record(|| What::CancelRequested(id));
        let waker = self.with_task(id, |task| {
            if task.state().is_finished() {
                return None;
            }
            if task.cancel != CancelState::None {
                if let Some(grace) = grace {
                    self.shorten_grace(id, task, grace);
                }
                return None;
            }
            task.cancel = CancelState::Requested;
            if message.is_some() || grace.is_some() {
                let extra = task.extra_mut();
                extra.cancel_message = message;
                extra.grace = grace;
            }
            // `None` while the task is being polled (it cancels itself):
            // `after_pending` schedules it then.
            task.waker.clone()
        });
        if let Some(Some(waker)) = waker {
            futures_task::ArcWake::wake_by_ref(&waker);
        }
    }

    /// A later cancel's shorter `grace`: applies to the grace timer if the
    /// task is already cleaning up, or to the one its cleanup will arm.
    fn shorten_grace(&self, id: TaskId, task: &mut Task, grace: Duration) {
        let default = self.grace.get();
        let extra = task.extra_mut();
        if extra.grace.unwrap_or(default) > grace {
            extra.grace = Some(grace);
        }
        let deadline = self.clock.now() + grace;
        let Some(armed) = extra.grace_timer.filter(|armed| armed.0 > deadline) else {
            return;
        };
        let mut timers = self.timers.borrow_mut();
        timers.remove(armed);
        extra.grace_timer = Some(timers.insert(deadline, TimerEvent::GraceOver(id)));
    }

    /// Step 2 of the cancel model: the hook every cancellation-aware await
    /// calls. If the current
    /// task has a cancel pending, marks it observed and returns its message.
    pub(crate) fn take_cancel(&self) -> Option<Option<String>> {
        let id = self.current.get()?;
        self.with_task(id, |task| {
            (task.cancel == CancelState::Requested).then(|| {
                self.trace.record(|| What::CancelObserved(id));
                task.cancel = CancelState::Observed;
                task.extra.as_ref().and_then(|e| e.cancel_message.clone())
            })
        })
        .flatten()
    }

    /// Whether the task being polled has been asked to stop (observed or
    /// not).
    pub(crate) fn cancel_requested(&self) -> bool {
        self.current
            .get()
            .and_then(|id| self.with_task(id, |task| task.cancel != CancelState::None))
            .unwrap_or(false)
    }

    /// The task being polled right now.
    pub(crate) fn current_task(&self) -> Option<TaskId> {
        self.current.get()
    }

    // ----- shutdown and stats ---------------------------------------------

    /// Drops every task's future (their destructors run with this loop still
    /// current), then refuses remote work. Called when the runtime drops.
    pub(crate) fn shutdown(&self) {
        loop {
            let ids: Vec<TaskId> = self
                .tasks
                .borrow()
                .iter()
                .filter(|(_, task)| matches!(task.stage, Stage::Idle(_)))
                .map(|(key, task)| TaskId {
                    key: key as u32,
                    generation: task.generation,
                })
                .collect();
            if ids.is_empty() {
                break;
            }
            ids.into_iter().for_each(|id| self.drop_task(id));
        }
        for item in self.shared.close() {
            drop_catching(TaskId::MAIN, "a future spawned from another thread", item);
        }
        self.ready.borrow_mut().clear();
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop(timers);
    }

    /// Counts of what the loop holds right now.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            live_tasks: self
                .tasks
                .borrow()
                .iter()
                .filter(|(_, task)| !task.state().is_finished())
                .count(),
            task_slots: self.tasks.borrow().len(),
            scheduled_tasks: self.ready.borrow().len(),
            timers: self.timers.borrow().len(),
            io_registrations: self.reactor.len(),
            remote_queue: self.shared.remote_len(),
        }
    }
}

/// Drops `value` (a task's future or output: user code), catching a panic
/// of its destructor so that it cannot escape the loop; `what` names it in
/// the log.
fn drop_catching<T>(id: TaskId, what: &str, value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
        log::error!(
            "task {id}: dropping {what} panicked: {}",
            panic_message(&*payload)
        );
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
