//! `KeepAlive`: when to send a keepalive ping and when a silent peer counts
//! as dead.
//!
//! A pure structure over instants (no sockets, no timers), so it is
//! unit-tested with plain numbers below; the driver asks it for the next
//! deadline, sleeps until then, and acts on what [`KeepAlive::on_time`]
//! says.
//!
//! The rule: every `interval` a ping is sent. After a ping, the peer has
//! `timeout` to send *any* frame (a pong, data, its own ping); if nothing
//! comes, the peer is dead (a pulled cable, a frozen process, a NAT that
//! dropped the mapping) and the connection is dropped.

use std::time::{Duration, Instant};

use super::WsConfig;

/// What the driver should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(super) enum KeepAliveAction {
    /// Nothing is due.
    Wait,
    /// Send a ping.
    Ping,
    /// The peer sent nothing within the timeout after a ping.
    Dead,
}

/// Keepalive bookkeeping for one connection.
#[derive(Debug, Clone)]
pub(super) struct KeepAlive {
    /// Time between pings; `None`: no pings.
    interval: Option<Duration>,
    /// Time allowed for an answer; `None`: never dead.
    timeout: Option<Duration>,
    /// When the next ping is due.
    next_ping: Option<Instant>,
    /// When the peer counts as dead unless a frame arrives first.
    answer_by: Option<Instant>,
}

impl KeepAlive {
    /// Starts the schedule at `now`.
    pub(super) fn new(config: &WsConfig, now: Instant) -> Self {
        let interval = config.ping_interval_duration();
        Self {
            interval,
            timeout: config.ping_timeout_duration(),
            next_ping: interval.and_then(|i| now.checked_add(i)),
            answer_by: None,
        }
    }

    /// A frame arrived: the peer is alive.
    pub(super) fn on_frame(&mut self) {
        self.answer_by = None;
    }

    /// The next instant [`on_time`](Self::on_time) has something to do.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match (self.next_ping, self.answer_by) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What to do at `now`: declare the peer dead, send a ping, or wait.
    pub(super) fn on_time(&mut self, now: Instant) -> KeepAliveAction {
        if self.answer_by.is_some_and(|by| by <= now) {
            self.answer_by = None;
            self.next_ping = None;
            return KeepAliveAction::Dead;
        }
        match (self.next_ping, self.interval) {
            (Some(due), Some(interval)) if due <= now => {
                self.next_ping = now.checked_add(interval);
                if self.answer_by.is_none() {
                    self.answer_by = self.timeout.and_then(|t| now.checked_add(t));
                }
                KeepAliveAction::Ping
            }
            _ => KeepAliveAction::Wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(interval: Option<u64>, timeout: Option<u64>) -> WsConfig {
        WsConfig::new()
            .ping_interval(interval.map(Duration::from_secs))
            .ping_timeout(timeout.map(Duration::from_secs))
    }

    #[test]
    fn pings_then_declares_a_silent_peer_dead() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut keepalive = KeepAlive::new(&config(Some(10), Some(5)), t0);
        assert_eq!(keepalive.deadline(), Some(t0 + s(10)));
        assert_eq!(keepalive.on_time(t0 + s(9)), KeepAliveAction::Wait);
        assert_eq!(keepalive.on_time(t0 + s(10)), KeepAliveAction::Ping);
        assert_eq!(keepalive.deadline(), Some(t0 + s(15)));
        assert_eq!(keepalive.on_time(t0 + s(15)), KeepAliveAction::Dead);
        assert_eq!(keepalive.deadline(), None);
    }

    #[test]
    fn any_frame_answers_a_ping() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut keepalive = KeepAlive::new(&config(Some(10), Some(5)), t0);
        assert_eq!(keepalive.on_time(t0 + s(10)), KeepAliveAction::Ping);
        keepalive.on_frame();
        assert_eq!(keepalive.deadline(), Some(t0 + s(20)));
        assert_eq!(keepalive.on_time(t0 + s(16)), KeepAliveAction::Wait);
        assert_eq!(keepalive.on_time(t0 + s(20)), KeepAliveAction::Ping);
    }

    #[test]
    fn a_timeout_longer_than_the_interval_is_not_reset_by_later_pings() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut keepalive = KeepAlive::new(&config(Some(2), Some(5)), t0);
        assert_eq!(keepalive.on_time(t0 + s(2)), KeepAliveAction::Ping);
        assert_eq!(keepalive.on_time(t0 + s(4)), KeepAliveAction::Ping);
        assert_eq!(keepalive.on_time(t0 + s(7)), KeepAliveAction::Dead);
    }

    #[test]
    fn disabled_parts_do_nothing() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut off = KeepAlive::new(&config(None, Some(5)), t0);
        assert_eq!(off.deadline(), None);
        assert_eq!(off.on_time(t0 + s(100)), KeepAliveAction::Wait);
        let mut never_dead = KeepAlive::new(&config(Some(1), None), t0);
        assert_eq!(never_dead.on_time(t0 + s(1)), KeepAliveAction::Ping);
        assert_eq!(never_dead.deadline(), Some(t0 + s(2)));
        assert_eq!(never_dead.on_time(t0 + s(100)), KeepAliveAction::Ping);
    }
}
