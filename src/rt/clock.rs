//! The loop's clock: real time, or a paused clock for tests.
//!
//! Everything in `rt` that asks "what time is it?" (a sleep's deadline, an
//! interval's schedule, a grace period, a connection's timeouts, the
//! `Date` header) asks the clock of the loop it runs on, through [`now`].
//! Normally that is `Instant::now()`. A runtime made with
//! [`Runtime::with_paused_clock`](super::Runtime::with_paused_clock) has a
//! **paused** clock instead (tokio's `time::pause`): time stands still until
//! it is moved, so tests of time-based behaviour (backoffs, timeouts, grace
//! periods) are exact and take no real time.
//!
//! A paused clock moves in two ways:
//!
//! 1. **Auto-advance** (on unless turned off): when the loop has nothing to
//!    do (no task is ready, no remote work is queued, and a poll of the OS
//!    *without waiting* found no event), the clock jumps straight to the
//!    next timer's deadline and that timer fires. A test that sleeps an hour
//!    finishes at once, and every timer in between fires in order, at its
//!    own deadline.
//! 2. **[`advance`]**: moves the clock forward by a duration, stopping at
//!    every timer deadline on the way so that the tasks each timer wakes run
//!    at that time.
//!
//! **Real I/O and auto-advance.** Auto-advance takes "no event right now"
//! for "idle": bytes that a client on another thread has not sent *yet* do
//! not hold the clock back, so a connection's timeout may fire before they
//! arrive. Tests that wait for real sockets on a paused clock turn
//! auto-advance off ([`Runtime::with_auto_advance`](super::Runtime::with_auto_advance))
//! and move time with [`advance`] themselves; then the loop blocks in
//! `epoll_wait` for I/O as usual, and timers fire only when time is moved.
//!
//! A paused clock starts at the real time it was paused at and only ever
//! moves forward, so its `Instant`s compare with real ones sensibly.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::context;

/// The time source of one loop.
#[derive(Debug)]
pub(crate) struct Clock {
    /// `Some(now)` while the clock is paused.
    paused: Cell<Option<Instant>>,
    /// Whether an idle loop moves a paused clock to the next timer.
    auto_advance: Cell<bool>,
    /// The time the last turn's poll for I/O returned (see [`Clock::coarse`]).
    turn: Cell<Instant>,
    /// When the clock was made: the zero of [`Clock::millis`].
    origin: Instant,
}

impl Clock {
    /// A real clock.
    pub(crate) fn new() -> Self {
        let origin = Instant::now();
        Self {
            paused: Cell::new(None),
            auto_advance: Cell::new(true),
            turn: Cell::new(origin),
            origin,
        }
    }

    /// `at` as whole milliseconds since the clock was made, in 32 bits: a
    /// compact timestamp for per-task statistics (see `Task`). It
    /// wraps every 2^32 ms (about 49.7 days); differences taken with
    /// `wrapping_sub` stay right for spans shorter than that.
    pub(crate) fn millis(&self, at: Instant) -> u32 {
        // Truncation is the wrap described above.
        at.saturating_duration_since(self.origin).as_millis() as u32
    }

    /// Stops the clock at the current time.
    pub(crate) fn pause(&self) {
        if self.paused.get().is_none() {
            let now = Instant::now().max(self.turn.get());
            self.paused.set(Some(now));
            self.turn.set(now);
        }
    }

    /// Whether the clock is paused.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.get().is_some()
    }

    /// Turns auto-advance of a paused clock on or off.
    pub(crate) fn set_auto_advance(&self, on: bool) {
        self.auto_advance.set(on);
    }

    /// Whether an idle loop should move this clock to its next timer.
    pub(crate) fn auto_advances(&self) -> bool {
        self.is_paused() && self.auto_advance.get()
    }

    /// The time now: real, or where the paused clock stands.
    pub(crate) fn now(&self) -> Instant {
        self.paused.get().unwrap_or_else(Instant::now)
    }

    /// The time read at the last [`Clock::tick`]: a clock read shared by
    /// everything that runs in one turn (deadlines of timeouts, the `Date`
    /// header), at most one turn old. It saves a clock read per use on hot
    /// paths.
    pub(crate) fn coarse(&self) -> Instant {
        self.turn.get()
    }

    /// Reads the clock for a new turn and returns the time read.
    pub(crate) fn tick(&self) -> Instant {
        let now = self.now();
        self.turn.set(now);
        now
    }

    /// How long the OS poll may wait for a timer due at `deadline`. A paused
    /// clock does not move while the loop waits: zero with auto-advance (poll
    /// the OS, then jump), forever without (only I/O or [`advance`] help).
    pub(crate) fn wait_for(&self, deadline: Instant) -> Option<Duration> {
        match self.paused.get() {
            None => Some(deadline.saturating_duration_since(Instant::now())),
            Some(_) if self.auto_advance.get() => Some(Duration::ZERO),
            Some(_) => None,
        }
    }

    /// Moves a paused clock forward to `to` (never back). No-op on a real
    /// clock.
    pub(crate) fn advance_to(&self, to: Instant) {
        if let Some(now) = self.paused.get() {
            let to = to.max(now);
            self.paused.set(Some(to));
            self.turn.set(to);
        }
    }
}

/// The time on the clock of the loop running on this thread; the real time
/// outside a loop.
///
/// On a runtime with a [paused clock](super::Runtime::with_paused_clock) this
/// is the paused time, which only [`advance`] and auto-advance move.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = sanio::Runtime::new().unwrap().with_paused_clock();
/// rt.block_on(async {
///     let start = sanio::rt::now();
///     sanio::sleep(Duration::from_secs(3600)).await; // no real hour passes
///     assert_eq!(sanio::rt::now() - start, Duration::from_secs(3600));
/// });
/// ```
pub fn now() -> Instant {
    context::with_current(|core| core.clock.now()).unwrap_or_else(|_| Instant::now())
}

/// The loop's clock as read at the start of the current turn: cheaper than
/// [`now`], and at most one turn old.
pub(crate) fn coarse_now() -> Instant {
    context::with_current(|core| core.clock.coarse()).unwrap_or_else(|_| Instant::now())
}

/// Moves the paused clock of the current loop forward by `duration`, firing
/// the timers that fall due on the way, each at its own deadline, and lets
/// the tasks they wake run before the clock moves on. It completes when the
/// clock stands at `start + duration` and no other task is ready.
///
/// On a real clock it simply sleeps for `duration`.
///
/// # Panics
///
/// Polling it outside a sanio runtime panics, as a sleep does.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// // Auto-advance off: time moves only when the test says so.
/// let rt = sanio::Runtime::new().unwrap().with_paused_clock().with_auto_advance(false);
/// rt.block_on(async {
///     let ticks = Rc::new(Cell::new(0));
///     let counter = Rc::clone(&ticks);
///     sanio::spawn(async move {
///         let mut every_second = sanio::interval(Duration::from_secs(1));
///         loop {
///             every_second.tick().await;
///             counter.set(counter.get() + 1);
///         }
///     });
///     sanio::rt::yield_now().await;
///     assert_eq!(ticks.get(), 1); // the first tick is immediate
///     sanio::rt::advance(Duration::from_secs(5)).await;
///     assert_eq!(ticks.get(), 6);
/// });
/// ```
pub fn advance(duration: Duration) -> Advance {
    Advance {
        duration,
        target: None,
        real: None,
    }
}

/// The future returned by [`advance`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Advance {
    /// How far to move the clock.
    duration: Duration,
    /// Where the clock stops, fixed at the first poll.
    target: Option<Instant>,
    /// On a real clock: the sleep it becomes.
    real: Option<Pin<Box<super::Sleep>>>,
}

impl Future for Advance {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Ok(core) = context::current() else {
            panic!("`sanio::rt::advance` polled outside a sanio runtime");
        };
        if !core.clock.is_paused() || self.real.is_some() {
            let duration = self.duration;
            let sleep = self
                .real
                .get_or_insert_with(|| Box::pin(super::sleep(duration)));
            return sleep.as_mut().poll(cx);
        }
        let duration = self.duration;
        let target = *self
            .target
            .get_or_insert_with(|| core.clock.now() + duration);
        // Let everything that is ready run at the current time first.
        if core.has_ready_work() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match core.timers.borrow().next_deadline() {
            Some(next) if next <= target => core.clock.advance_to(next),
            _ => {
                core.clock.advance_to(target);
                return Poll::Ready(());
            }
        }
        core.fire_timers(core.clock.now());
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_moves_only_forward_and_only_when_told() {
        let clock = Clock::new();
        assert!(!clock.is_paused());
        clock.pause();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance_to(t0 + Duration::from_secs(3));
        assert_eq!(clock.now(), t0 + Duration::from_secs(3));
        assert_eq!(clock.coarse(), clock.now());
        clock.advance_to(t0);
        assert_eq!(clock.now(), t0 + Duration::from_secs(3), "never back");
        assert_eq!(clock.wait_for(t0), Some(Duration::ZERO));
        clock.set_auto_advance(false);
        assert_eq!(clock.wait_for(t0), None);
    }
}
