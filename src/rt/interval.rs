//! `interval`: a sleep that repeats, and what to do when ticks are missed.
//!
//! An interval remembers when its next tick is *due*. If the task was busy
//! and several ticks went by, [`MissedTickBehavior`] decides what happens:
//! fire them all at once to catch up (`Burst`), start a fresh period from now
//! (`Delay`), or jump to the next tick still in the future (`Skip`).

use std::time::{Duration, Instant};

use super::clock::now;
use super::time::{sleep_until, Sleep};

/// What an [`Interval`] does when ticks were missed.
///
/// # Examples
///
/// ```
/// use sanio::rt::MissedTickBehavior;
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up.
    #[default]
    Burst,
    /// Forget the schedule: the next tick is one period after now.
    Delay,
    /// Keep the schedule but drop missed ticks: the next tick is the first
    /// scheduled one after now.
    Skip,
}

/// Ticks every `period`. Made by [`interval`].
///
/// Dropping it removes its timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut ticks = sanio::interval(Duration::from_millis(1));
///     let first = ticks.tick().await;
///     let second = ticks.tick().await;
///     assert!(second >= first + Duration::from_millis(1));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    /// The time between ticks.
    period: Duration,
    /// When the next tick is due.
    next: Instant,
    /// What to do about missed ticks.
    missed: MissedTickBehavior,
    /// The sleep until `next`.
    sleep: Sleep,
}

/// An interval whose first tick completes at once and then every `period`.
///
/// # Panics
///
/// Panics if `period` is zero. Ticking outside a sanio runtime panics.
///
/// # Examples
///
/// ```
/// let ticks = sanio::interval(std::time::Duration::from_secs(1));
/// assert_eq!(ticks.period(), std::time::Duration::from_secs(1));
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "`interval` period must be non-zero");
    let now = now();
    Interval {
        period,
        next: now,
        missed: MissedTickBehavior::default(),
        sleep: sleep_until(now),
    }
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = sanio::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let mut ticks = sanio::interval(std::time::Duration::from_millis(1));
    /// ticks.tick().await; // the first tick is immediate
    /// # });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        (&mut self.sleep).await;
        let due = self.next;
        let now = now();
        self.next = match self.missed {
            MissedTickBehavior::Burst => due + self.period,
            _ if now < due + self.period => due + self.period,
            MissedTickBehavior::Delay => now + self.period,
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(due).as_nanos() / self.period.as_nanos();
                let periods = u32::try_from(behind + 1).unwrap_or(u32::MAX);
                due + self.period * periods
            }
        };
        self.sleep.reset(self.next);
        due
    }

    /// Chooses what happens to missed ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::rt::MissedTickBehavior;
    /// let mut ticks = sanio::interval(std::time::Duration::from_secs(1));
    /// ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The current missed-tick policy.
    ///
    /// # Examples
    ///
    /// ```
    /// let ticks = sanio::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(ticks.missed_tick_behavior(), sanio::rt::MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The time between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// let ticks = sanio::interval(std::time::Duration::from_millis(250));
    /// assert_eq!(ticks.period().as_millis(), 250);
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}
