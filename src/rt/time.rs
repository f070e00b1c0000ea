//! Timers: `sleep`, `sleep_until`, `timeout`, and the structure behind them.
//!
//! The loop keeps every pending deadline in [`Timers`], an ordered map keyed
//! by `(deadline, sequence number)` (the sequence number makes equal
//! deadlines distinct and keeps them in insertion order). Two questions are
//! then cheap: "when is the next deadline?" (the first key, which sets how
//! long `epoll_wait` may sleep) and "which deadlines have passed?" (pop from
//! the front until the key is in the future).
//!
//! A [`Sleep`] inserts its entry on its first poll and **removes it when
//! dropped**. That matters for `timeout`: a request that completes in time
//! drops its sleep, and without the removal a server doing a million quick
//! requests would keep a million dead timers. (tokio uses a hierarchical
//! timing wheel for O(1) inserts; a `BTreeMap` is O(log n), simpler to read,
//! and fast enough for one loop's timers.)
//!
//! `Timers` is a *pure* structure: it knows instants and values, not wakers
//! or loops, so it is unit-tested with plain numbers below.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::context;
use super::core::{Core, TimerEvent};
use super::trace::What;

/// The key of one timer entry: its deadline and a unique sequence number.
pub(crate) type TimerKey = (Instant, u64);

/// Deadlines in order, each with a value to hand back when it passes.
#[derive(Debug)]
pub(crate) struct Timers<T> {
    /// Pending entries, earliest first.
    entries: BTreeMap<TimerKey, T>,
    /// The sequence number of the next entry.
    next_seq: u64,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Timers<T> {
    /// No timers.
    pub(crate) const fn new() -> Self {
        Self {
            entries: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// Adds an entry; the key removes it again.
    pub(crate) fn insert(&mut self, deadline: Instant, value: T) -> TimerKey {
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        self.entries.insert(key, value);
        key
    }

    /// Removes an entry that has not fired (no-op if it has).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.entries.remove(&key)
    }

    /// The value of a pending entry.
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.entries.get_mut(&key)
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .first_key_value()
            .map(|((deadline, _), _)| *deadline)
    }

    /// Removes and returns the earliest entry whose deadline is `<= now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<T> {
        let entry = self.entries.first_entry()?;
        (entry.key().0 <= now).then(|| entry.remove())
    }

    /// How many entries are pending.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A future that completes at a deadline. Made by [`sleep`] and
/// [`sleep_until`].
///
/// Dropping it removes its timer from the loop. A plain `Sleep` is **not**
/// cancellation-aware: a cancelled task sitting in a sleep is dropped at
/// once rather than woken early (an early wake would lie about the time
/// slept); select on [`cancelled`](super::cancelled) for that.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     sanio::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// When the sleep completes.
    deadline: Instant,
    /// The loop and key of the timer entry, once registered.
    entry: Option<(Rc<Core>, TimerKey)>,
}

impl Sleep {
    /// The instant this sleep completes at.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sanio::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline; the sleep waits for the new one.
    ///
    /// A sleep that was polled (and so has a timer) keeps waking the task
    /// that polled it: moved earlier, its timer moves at once, so the task
    /// is woken at the new deadline even if nothing polls the sleep
    /// meanwhile; moved later, the old timer stays and, when it fires, the
    /// next poll sees the clock short of the deadline and registers again
    /// (so a deadline pushed back on every request costs one table update
    /// per period, not one per push).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let mut sleep = sanio::sleep(Duration::from_secs(60));
    /// let soon = Instant::now();
    /// sleep.reset(soon);
    /// assert_eq!(sleep.deadline(), soon);
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        let Some((core, key)) = &mut self.entry else {
            return;
        };
        if key.0 <= deadline {
            return;
        }
        let mut timers = core.timers.borrow_mut();
        match timers.remove(*key) {
            Some(event) => *key = timers.insert(deadline, event),
            None => {
                // Fired already: the next poll looks at the clock.
                drop(timers);
                self.entry = None;
            }
        }
    }

    /// Removes the timer entry, if any.
    fn deregister(&mut self) {
        if let Some((core, key)) = self.entry.take() {
            let removed = core.timers.borrow_mut().remove(key);
            if removed.is_some() {
                core.trace.record(|| What::TimerRemove);
            }
            drop(removed); // drops the waker outside the borrow
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // While the entry is in the table it has not fired, so the deadline
        // is still ahead: no need to read the clock (a hot path for
        // connection timeouts, polled on every request).
        if let Some((core, key)) = &self.entry {
            let mut timers = core.timers.borrow_mut();
            if let Some(TimerEvent::Wake(waker)) = timers.get_mut(*key) {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
                return Poll::Pending;
            }
        }
        if super::clock::now() >= self.deadline {
            self.entry = None; // fired (or never registered)
            return Poll::Ready(());
        }
        // Not registered yet, or the entry fired at a deadline that `reset`
        // has since moved later: register (again).
        let Ok(core) = context::current() else {
            // `Future::poll` cannot return an error; a sleep needs a loop.
            panic!("`sanio::sleep` polled outside a sanio runtime");
        };
        let after = self.deadline.saturating_duration_since(core.clock.now());
        core.trace.record(|| What::TimerInsert(after));
        let key = core
            .timers
            .borrow_mut()
            .insert(self.deadline, TimerEvent::Wake(cx.waker().clone()));
        self.entry = Some((core, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .finish()
    }
}

/// Waits for `duration`, measured from now on the loop's clock (the real
/// time when called outside a loop: make sleeps inside the loop on a runtime
/// with a [paused clock](super::Runtime::with_paused_clock)).
///
/// # Panics
///
/// Polling the returned future outside a sanio runtime panics.
///
/// # Examples
///
/// ```
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(sanio::sleep(std::time::Duration::from_millis(1)));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = super::clock::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`.
///
/// # Panics
///
/// Polling the returned future outside a sanio runtime panics.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(sanio::sleep_until(Instant::now() + Duration::from_millis(1)));
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// About thirty years from now: what "sleep forever" means.
fn far_future() -> Instant {
    super::clock::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// The error of [`timeout`]: the deadline passed first.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::rt::Elapsed.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future` for at most `duration`.
///
/// The future is polled first, so one that is ready at once wins even with a
/// zero duration. When the time runs out the future is dropped.
///
/// # Errors
///
/// [`Elapsed`] when the deadline passes first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let quick = sanio::timeout(Duration::from_secs(1), async { 5 }).await;
///     assert_eq!(quick, Ok(5));
///     let slow = sanio::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
///     assert_eq!(slow, Err(sanio::rt::Elapsed));
/// });
/// ```
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future);
    let mut deadline = sleep(duration);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(&mut deadline).poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_then_insertion_order() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        timers.insert(t0 + Duration::from_millis(20), "c");
        timers.insert(t0 + Duration::from_millis(10), "a");
        timers.insert(t0 + Duration::from_millis(10), "b");
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));
        let now = t0 + Duration::from_millis(15);
        assert_eq!(timers.pop_due(now), Some("a"));
        assert_eq!(timers.pop_due(now), Some("b"));
        assert_eq!(timers.pop_due(now), None);
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(20)), Some("c"));
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn removed_entries_never_fire() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        let key = timers.insert(t0, 1);
        timers.insert(t0, 2);
        assert_eq!(timers.remove(key), Some(1));
        assert_eq!(timers.remove(key), None);
        assert_eq!(timers.pop_due(t0), Some(2));
        assert_eq!(timers.next_deadline(), None);
    }
}
