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

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::task_types::LocalFuture;
use super::{App, Error, IntoResult};

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
    /// On each worker, once it accepts connections.
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
pub(crate) type ListenerFn = Arc<dyn Fn(App) -> LocalFuture<Result<(), String>> + Send + Sync>;

/// One registered listener.
#[derive(Clone)]
pub(crate) struct Listener {
    /// When it runs.
    pub(crate) phase: Lifecycle,
    /// Higher runs first among start listeners.
    pub(crate) priority: i32,
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
            run,
        })
    }

    /// Runs the listeners of `phase` on the current loop. A start phase
    /// stops at the first failure and returns it; a stop phase logs
    /// failures and runs on.
    pub(crate) async fn run_listeners(&self, phase: Lifecycle) -> Result<(), Error> {
        if let (Some(event), true) = (phase.event(), !phase.is_start()) {
            self.dispatch_built_in(event, None).await;
        }
        for listener in ordered(&self.listeners(), phase) {
            if let Err(message) = (listener.run)(self.clone()).await {
                log::error!("{phase} listener failed: {message}");
                if phase.is_start() {
                    return Err(Error::Listener {
                        phase: phase.as_str(),
                        message,
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
