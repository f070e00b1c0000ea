//! Lifecycle listeners: code that runs as the server starts and stops.
//!
//! ```text
//! main thread:  main_process_start ............................ main_process_stop
//! each worker:      before_server_start -> after_server_start
//!                       (serving)
//!                   before_server_stop  -> after_server_stop
//! ```
//!
//! Start listeners run by priority (higher first), then in registration
//! order; stop listeners run in the exact reverse. A failing start listener
//! stops the app and `run` returns its error; a failing stop listener is
//! logged and the others still run.
//!
//! A stop never hangs on a listener: the listeners of one stop phase (with
//! the signal handlers of its built-in event) share a quarter of the
//! graceful timeout ([`stop_share`]). They still run one after another in
//! their order; one still running when the share is used up is dropped and
//! logged by name, and those after it get one poll each (a listener that
//! does not wait still runs in full).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::Stopped;
use super::task_types::LocalFuture;
use super::{App, Error, IntoResult};
use crate::rt;

/// How long the listeners of one stop phase may take together: a quarter of
/// the graceful timeout. A worker's stop (before_server_stop, connections
/// and tasks, after_server_stop) then ends within 1.25 × the graceful
/// timeout, and `run` returns at most a quarter later (main_process_stop),
/// plus a few timer ticks.
pub(crate) fn stop_share(graceful: Duration) -> Duration {
    graceful / 4
}

/// The phases a listener can attach to.
///
/// # Examples
///
/// ```
/// use sanio::Lifecycle;
/// assert_eq!(Lifecycle::BeforeServerStart.as_str(), "before_server_start");
/// assert!(Lifecycle::MainProcessStart.is_start());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// On the thread that called `run`, before any worker starts.
    MainProcessStart,
    /// On each worker, before it accepts connections.
    BeforeServerStart,
    /// On each worker, once its listening socket is handed to the accept
    /// loop (connections already queued are accepted as soon as the
    /// listeners of this phase wait or end).
    AfterServerStart,
    /// On each worker, when a stop begins (it no longer accepts).
    BeforeServerStop,
    /// On each worker, after its connections and tasks are done.
    AfterServerStop,
    /// On the thread that called `run`, after every worker stopped.
    MainProcessStop,
}

impl Lifecycle {
    /// The phase's Sanic name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Lifecycle::MainProcessStop.as_str(), "main_process_stop");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MainProcessStart => "main_process_start",
            Self::BeforeServerStart => "before_server_start",
            Self::AfterServerStart => "after_server_start",
            Self::BeforeServerStop => "before_server_stop",
            Self::AfterServerStop => "after_server_stop",
            Self::MainProcessStop => "main_process_stop",
        }
    }

    /// Whether this is a start phase (ordered by priority, failures fatal).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sanio::Lifecycle::AfterServerStop.is_start());
    /// ```
    pub fn is_start(self) -> bool {
        matches!(
            self,
            Self::MainProcessStart | Self::BeforeServerStart | Self::AfterServerStart
        )
    }

    /// The built-in event dispatched around this phase, if any.
    pub(crate) fn event(self) -> Option<&'static str> {
        match self {
            Self::BeforeServerStart => Some("server.init.before"),
            Self::AfterServerStart => Some("server.init.after"),
            Self::BeforeServerStop => Some("server.shutdown.before"),
            Self::AfterServerStop => Some("server.shutdown.after"),
            _ => None,
        }
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A listener's function.
pub(crate) type ListenerFn = Arc<dyn Fn(App) -> LocalFuture<Result<(), Stopped>> + Send + Sync>;

/// One registered listener.
#[derive(Clone)]
pub(crate) struct Listener {
    /// When it runs.
    pub(crate) phase: Lifecycle,
    /// Higher runs first among start listeners.
    pub(crate) priority: i32,
    /// The listener's type name (its function's path), for logs.
    pub(crate) name: &'static str,
    /// The function.
    pub(crate) run: ListenerFn,
}

/// Listeners of `phase` in run order, from all registered (kept in
/// registration order).
pub(crate) fn ordered(all: &[Listener], phase: Lifecycle) -> Vec<Listener> {
    let mut chosen: Vec<Listener> = all.iter().filter(|l| l.phase == phase).cloned().collect();
    // A stable sort keeps registration order among equal priorities.
    chosen.sort_by_key(|l| std::cmp::Reverse(l.priority));
    if !phase.is_start() {
        chosen.reverse();
    }
    chosen
}

impl App {
    /// Registers a listener for `phase` with priority 0.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Lifecycle};
    ///
    /// let app = App::new("demo");
    /// app.listener(Lifecycle::BeforeServerStart, |app: App| async move {
    ///     log::info!("{} starting", app.name());
    /// })
    /// .unwrap();
    /// ```
    pub fn listener<L, F>(&self, phase: Lifecycle, listener: L) -> Result<(), Error>
    where
        L: Fn(App) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        self.listener_with_priority(phase, 0, listener)
    }

    /// Registers a listener for `phase`; among start listeners a higher
    /// `priority` runs first (stop listeners run in the reverse order).
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Lifecycle};
    ///
    /// let app = App::new("demo");
    /// app.listener_with_priority(Lifecycle::MainProcessStart, 10, |_app: App| async {
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn listener_with_priority<L, F>(
        &self,
        phase: Lifecycle,
        priority: i32,
        listener: L,
    ) -> Result<(), Error>
    where
        L: Fn(App) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: IntoResult,
    {
        let run: ListenerFn = Arc::new(move |app| super::error::judged(listener(app)));
        self.add_listener(Listener {
            phase,
            priority,
            name: std::any::type_name::<L>(),
            run,
        })
    }

    /// Runs the listeners of a start phase on the current loop; stops at
    /// the first failure and returns it.
    pub(crate) async fn run_listeners(&self, phase: Lifecycle) -> Result<(), Error> {
        self.run_listeners_by(phase, None).await
    }

    /// Runs the listeners of a stop phase on the current loop within
    /// `limit` (see the module doc); logs failures and overruns and runs on.
    pub(crate) async fn run_stop_listeners(&self, phase: Lifecycle, limit: Duration) {
        let deadline = Instant::now() + limit;
        if let Err(err) = self.run_listeners_by(phase, Some(deadline)).await {
            log::error!("{err}"); // only start phases fail; kept for safety
        }
    }

    /// The body of both: listeners in order, each within `deadline` if any.
    async fn run_listeners_by(
        &self,
        phase: Lifecycle,
        deadline: Option<Instant>,
    ) -> Result<(), Error> {
        let within = |deadline: Instant| deadline.saturating_duration_since(Instant::now());
        if let (Some(event), true) = (phase.event(), !phase.is_start()) {
            let dispatched = self.dispatch_built_in(event, None);
            match deadline {
                None => dispatched.await,
                Some(deadline) => {
                    if rt::timeout(within(deadline), dispatched).await.is_err() {
                        log::warn!("{event} signal handlers overran the {phase} share");
                    }
                }
            }
        }
        for listener in ordered(&self.listeners(), phase) {
            let run = (listener.run)(self.clone());
            let outcome = match deadline {
                None => run.await,
                Some(deadline) => match rt::timeout(within(deadline), run).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        log::warn!(
                            "{phase} listener {} overran the phase's share of the graceful \
                             timeout and was dropped",
                            listener.name
                        );
                        continue;
                    }
                },
            };
            if let Err(message) = outcome {
                log::error!("{phase} listener {} failed: {message}", listener.name);
                if phase.is_start() {
                    return Err(Error::Listener {
                        phase: phase.as_str(),
                        message: message.to_string(),
                    });
                }
            }
        }
        if let (Some(event), true) = (phase.event(), phase.is_start()) {
            self.dispatch_built_in(event, None).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(phase: Lifecycle, priority: i32) -> Listener {
        Listener {
            phase,
            priority,
            name: "test",
            run: Arc::new(|_| Box::pin(async { Ok(()) })),
        }
    }

    #[test]
    fn start_by_priority_then_order_and_stop_in_reverse() {
        let all = vec![
            listener(Lifecycle::BeforeServerStart, 0),
            listener(Lifecycle::BeforeServerStart, 5),
            listener(Lifecycle::BeforeServerStart, 0),
            listener(Lifecycle::AfterServerStop, 0),
        ];
        let start: Vec<i32> = ordered(&all, Lifecycle::BeforeServerStart)
            .iter()
            .map(|l| l.priority)
            .collect();
        assert_eq!(start, [5, 0, 0]);
        let first_zero = &ordered(&all, Lifecycle::BeforeServerStart)[1];
        assert!(Arc::ptr_eq(&first_zero.run, &all[0].run));
        assert_eq!(ordered(&all, Lifecycle::AfterServerStop).len(), 1);
    }
}
