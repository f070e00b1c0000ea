//! Supervised tasks: restart policies with exponential backoff and a cap,
//! panic policies, and singletons, given through [`App::task`]'s
//! [`TaskBuilder`].
//!
//! A supervised task is one loop task that calls its factory again after a
//! failure: its id, name and registry entry stay the same across restarts,
//! and its [`Task`] handle counts the restarts and keeps the last failure.
//! Between two runs it waits for the backoff in a cancellation-aware way,
//! so a cancel during the wait ends it at once, gracefully: a cancel always
//! stops restarts.

use std::collections::VecDeque;
use std::panic::resume_unwind;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::Stopped;
use super::local::{local, Role};
use super::task_types::{Factory, Failure, Record, Task, TaskSource};
use super::tasks::Deferred;
use super::{App, Error, IntoTask};
use crate::rt;

/// When a supervised task is started again.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::Restart::default(), sanio::Restart::Never);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Never (the default): the task ends as it ends.
    #[default]
    Never,
    /// After it returned an error (or panicked, with
    /// [`PanicPolicy::Restart`]).
    OnFailure,
    /// After any end but a cancel: an error, a panic with
    /// [`PanicPolicy::Restart`], or a normal return.
    Always,
}

/// How long a supervised task waits before restart `n` (from 0):
/// `min × 2ⁿ`, at most `max`; with jitter (the default), a uniformly random
/// time between half of that and all of it, never under `min`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let backoff = sanio::Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).jitter(false);
/// assert_eq!(backoff.delay(0), Duration::from_millis(100));
/// assert_eq!(backoff.delay(3), Duration::from_millis(800));
/// assert_eq!(backoff.delay(9), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay, and the least any delay is.
    min: Duration,
    /// The most any delay is.
    max: Duration,
    /// Whether delays are randomized.
    jitter: bool,
}

impl Default for Backoff {
    /// 100 ms doubling up to 30 s, with jitter.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(30))
    }
}

impl Backoff {
    /// The shortest wait between restarts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let backoff = sanio::Backoff::new(Duration::ZERO, Duration::ZERO).jitter(false);
    /// assert_eq!(backoff.delay(0), sanio::Backoff::FLOOR);
    /// ```
    pub const FLOOR: Duration = Duration::from_millis(1);

    /// A backoff from `min` doubling up to `max` (`max` is raised to `min`
    /// if smaller), with jitter. `min` is at least [`Backoff::FLOOR`], so
    /// a task that ends at once cannot restart in a busy loop.
    ///
    /// # Examples
    ///
    /// See [`Backoff`].
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(Self::FLOOR);
        Self {
            min,
            max: max.max(min),
            jitter: true,
        }
    }

    /// Turns the jitter on or off.
    ///
    /// # Examples
    ///
    /// See [`Backoff`].
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// The delay before restart `attempt` (0 for the first).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let backoff = sanio::Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    /// let d = backoff.delay(2); // between 200 and 400 ms
    /// assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400));
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        let base = self.min.saturating_mul(factor).min(self.max);
        if !self.jitter {
            return base;
        }
        let half = base / 2;
        let spread = u64::try_from((base - half).as_nanos()).unwrap_or(u64::MAX);
        (half + Duration::from_nanos(fastrand::u64(0..=spread))).max(self.min)
    }
}

/// What happens when a task panics. The app's default is set with
/// [`Config::task_panic_policy`](super::Config::task_panic_policy); a task
/// can override it with [`TaskBuilder::on_panic`].
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::PanicPolicy::default(), sanio::PanicPolicy::Report);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PanicPolicy {
    /// Log it and report it through `server.exception.report` (the
    /// default); the task ends as panicked.
    #[default]
    Report,
    /// Report it, then restart the task as its restart policy says for a
    /// failure (with [`Restart::Never`], as [`Restart::OnFailure`]). Only a
    /// task given as a factory can restart; others are reported.
    Restart,
    /// Report it, then stop this worker gracefully.
    StopWorker,
    /// Report it, then stop the app gracefully: `run` and
    /// [`Server::join`](super::Server::join) return
    /// [`Error::TaskPanicked`].
    StopApp,
}

/// On how many workers a task runs.
///
/// [`Process`](Self::Process): once per process; with the `redis`
/// feature, `Cluster`: once in the whole cluster, under a Redis lease (as
/// `App::add_cluster_singleton`).
///
/// # Examples
///
/// ```
/// let _once = sanio::Singleton::Process;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Singleton {
    /// Exactly one worker of this process runs it: the first that starts
    /// it. It stops with that worker.
    Process,
    /// Exactly one worker of one instance in the cluster runs it: worker 0
    /// of the instance holding its Redis lease (feature `redis`; the same
    /// as [`App::add_cluster_singleton`]). It needs a factory, is added
    /// before `run`, and does not run without a Redis URL in the config.
    /// The lease loop calls the factory each time the lease is taken; its
    /// failure is logged. It takes no restart policy yet: `add_task` refuses
    /// [`restart`](TaskBuilder::restart), [`backoff`](TaskBuilder::backoff),
    /// [`max_restarts`](TaskBuilder::max_restarts) and
    /// [`on_panic`](TaskBuilder::on_panic) with
    /// [`Error::ClusterSingletonPolicy`]. A panic is logged, reported and
    /// put to the app's [`Config::task_panic_policy`](super::Config::task_panic_policy),
    /// and releases the lease.
    ///
    /// ```
    /// # #[cfg(feature = "redis")] {
    /// let app = sanio::App::new("demo");
    /// let refused = app
    ///     .task("nightly")
    ///     .singleton(sanio::Singleton::Cluster)
    ///     .restart(sanio::Restart::Always)
    ///     .add_task(|| async {});
    /// assert!(matches!(refused, Err(sanio::Error::ClusterSingletonPolicy(_))));
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    Cluster,
}

/// How a task is supervised: restarts, backoff, cap, panic policy.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Policy {
    /// When to restart.
    pub(crate) restart: Restart,
    /// The waits between runs.
    pub(crate) backoff: Backoff,
    /// At most this many restarts in this window, then it stays failed.
    pub(crate) cap: Option<(u32, Duration)>,
    /// Overrides the app's panic policy.
    pub(crate) panic: Option<PanicPolicy>,
    /// Once per process.
    pub(crate) singleton: Option<Singleton>,
}

/// Builds a supervised, singleton or otherwise configured task; made by
/// [`App::task`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sanio::{App, Backoff, Restart};
///
/// let app = App::new("demo");
/// sanio::Runtime::new().unwrap().with_paused_clock().block_on(async {
///     let task = app
///         .task("flaky")
///         .restart(Restart::OnFailure)
///         .backoff(Backoff::new(Duration::from_millis(100), Duration::from_secs(5)))
///         .max_restarts(3, Duration::from_secs(60))
///         .add_task(|| async { Err::<(), _>("upstream down") })
///         .unwrap()
///         .unwrap();
///     // Three restarts, then it gives up and stays failed.
///     assert_eq!(task.wait().await, sanio::TaskState::Failed);
///     assert_eq!(task.restarts(), 3);
///     assert_eq!(task.last_failure().as_deref(), Some("upstream down"));
/// });
/// ```
#[derive(Debug)]
#[must_use = "a task builder does nothing until `add_task`"]
pub struct TaskBuilder<'a> {
    /// The app to add to.
    app: &'a App,
    /// The task's name.
    name: String,
    /// What it will be given.
    policy: Policy,
}

impl App {
    /// Starts building a named task with a restart policy, a panic policy
    /// or singleton placement; see [`TaskBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// // Before run: kept, started on exactly one worker.
    /// app.task("ticker")
    ///     .singleton(sanio::Singleton::Process)
    ///     .add_task(|| async {})
    ///     .unwrap();
    /// ```
    pub fn task(&self, name: impl Into<String>) -> TaskBuilder<'_> {
        TaskBuilder {
            app: self,
            name: name.into(),
            policy: Policy::default(),
        }
    }
}

impl TaskBuilder<'_> {
    /// When to restart it ([`Restart::Never`] by default).
    ///
    /// # Examples
    ///
    /// See [`TaskBuilder`].
    pub fn restart(mut self, restart: Restart) -> Self {
        self.policy.restart = restart;
        self
    }

    /// The waits between restarts ([`Backoff::default`]: 100 ms to 30 s).
    ///
    /// # Examples
    ///
    /// See [`TaskBuilder`].
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.policy.backoff = backoff;
        self
    }

    /// At most `restarts` restarts within any `window`; the failure after
    /// that leaves the task failed, logged and reported (no cap by default).
    ///
    /// # Examples
    ///
    /// See [`TaskBuilder`].
    pub fn max_restarts(mut self, restarts: u32, window: Duration) -> Self {
        self.policy.cap = Some((restarts, window));
        self
    }

    /// What a panic of this task does (the app's
    /// [`Config::task_panic_policy`](super::Config::task_panic_policy) by
    /// default).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.task("critical").on_panic(sanio::PanicPolicy::StopApp).add_task(|| async {}).unwrap();
    /// ```
    pub fn on_panic(mut self, policy: PanicPolicy) -> Self {
        self.policy.panic = Some(policy);
        self
    }

    /// Runs it on one worker only (see [`Singleton`]).
    ///
    /// # Examples
    ///
    /// See [`App::task`].
    pub fn singleton(mut self, singleton: Singleton) -> Self {
        self.policy.singleton = Some(singleton);
        self
    }

    /// Adds the task: on a running loop it starts now on this worker and
    /// its [`Task`] comes back; before `run` (or in `main_process_start`)
    /// it is kept for the workers and `None` comes back (a singleton then
    /// starts on the first worker that gets to it); while the app runs,
    /// from a thread that runs no loop, it starts on the running workers
    /// now, as [`App::add_task`] does. The task's value is dropped: a supervised task is
    /// watched through its [`Task`].
    ///
    /// # Errors
    ///
    /// [`Error::NeedsFactory`] for a restart policy on a plain future (it
    /// cannot run twice); [`Error::TaskNameTaken`] as for
    /// [`App::add_named_task`], or for a singleton whose name is live on
    /// another worker; with the `redis` feature,
    /// `Error::ClusterSingletonPolicy` for a policy on a
    /// `Singleton::Cluster` task.
    ///
    /// # Examples
    ///
    /// See [`TaskBuilder`].
    #[track_caller]
    pub fn add_task<M, T: IntoTask<M>>(self, task: T) -> Result<Option<Task>, Error> {
        #[cfg(feature = "redis")]
        if self.policy.singleton == Some(Singleton::Cluster) {
            let Policy {
                restart,
                backoff,
                cap,
                panic,
                singleton: _,
            } = self.policy;
            if restart != Restart::Never
                || backoff != Backoff::default()
                || cap.is_some()
                || panic.is_some()
            {
                return Err(Error::ClusterSingletonPolicy(self.name));
            }
            let TaskSource::Factory(factory) = task.into_source() else {
                return Err(Error::NeedsFactory(self.name));
            };
            let name = self.name.clone();
            self.app
                .add_cluster_singleton(&self.name, move |app: App| {
                    let (run, name) = (factory(app), name.clone());
                    async move {
                        if let Err(err) = super::IntoResult::into_result(run.await) {
                            log::error!("cluster singleton {name} failed: {err}");
                        }
                    }
                })?;
            return Ok(None);
        }
        let restarts = self.policy.restart != Restart::Never
            || self.policy.panic == Some(PanicPolicy::Restart);
        let start = match task.into_source() {
            TaskSource::Factory(factory) => {
                let factory: Factory<Judged> =
                    Arc::new(move |app| super::error::judged(factory(app)));
                Start::Factory(factory)
            }
            TaskSource::Future(_) if restarts => return Err(Error::NeedsFactory(self.name)),
            TaskSource::Future(future) => Start::Once(super::error::judged(future)),
        };
        let location = std::panic::Location::caller();
        // Where it starts follows `App::add_task` (see `tasks.rs`).
        let found = local(self.app, "TaskBuilder::add_task");
        let send = found.is_err() && self.app.is_running();
        match (found, start) {
            (Ok(local), start) if local.role != Role::MainProcess => self
                .app
                .start_policed(&local, self.name, self.policy, start, location)
                .map(Some),
            (_, Start::Factory(factory)) => {
                let kept = Deferred {
                    name: Some(self.name),
                    factory,
                    location,
                    policy: Some(self.policy),
                };
                self.app.keep_for_workers(kept, send)?;
                Ok(None)
            }
            // A future cannot be shared by the workers.
            (_, Start::Once(_)) => Err(Error::NeedsFactory(self.name)),
        }
    }
}

/// What a kept task returns once its output is judged.
pub(crate) type Judged = Result<(), Stopped>;

/// How a policed task starts: a factory it can call again, or one future.
pub(crate) enum Start {
    /// Called for every run.
    Factory(Factory<Judged>),
    /// Run once.
    Once(super::task_types::LocalFuture<Judged>),
}

impl App {
    /// The app's default panic policy in this run.
    pub(crate) fn panic_policy(&self) -> PanicPolicy {
        self.running_config()
            .map_or(PanicPolicy::Report, |config| config.task_panic_policy)
    }

    /// Applies a panic policy's stop, after the panic was logged and
    /// reported.
    pub(crate) fn stop_for_panic(&self, policy: PanicPolicy, label: &str, message: &str) {
        match policy {
            PanicPolicy::StopWorker => {
                log::error!("task {label} panicked: stopping this worker");
                if let Ok(local) = local(self, "stop_for_panic") {
                    local.stop.request();
                }
            }
            PanicPolicy::StopApp => {
                log::error!("task {label} panicked: stopping the app");
                self.record_fatal(format!("task {label} panicked: {message}"));
                self.stop();
            }
            PanicPolicy::Report | PanicPolicy::Restart => {}
        }
    }
}

/// Runs a policed task: each run through its factory, restarts as its
/// policy says, and every failure recorded on `record`.
pub(crate) async fn run_policed(
    app: App,
    label: Rc<str>,
    failure: Failure,
    record: Rc<Record>,
    start: Start,
    policy: Policy,
) -> Judged {
    let panic_policy = policy.panic.unwrap_or_else(|| app.panic_policy());
    let (factory, mut first) = match start {
        Start::Factory(factory) => (Some(factory), None),
        Start::Once(future) => (None, Some(future)),
    };
    let mut recent: VecDeque<Instant> = VecDeque::new();
    let mut attempt: u32 = 0;
    loop {
        let run = match (first.take(), &factory) {
            (Some(future), _) => future,
            (None, Some(factory)) => factory(app.clone()),
            (None, None) => return Ok(()),
        };
        let started = rt::now();
        let outcome = rt::CatchUnwind::new(run).await;
        let restartable = factory.is_some() && !rt::is_cancel_requested();
        let failed_with = match outcome {
            Ok(Ok(())) if restartable && policy.restart == Restart::Always => None,
            Ok(Ok(())) => return Ok(()),
            Ok(Err(Stopped::Failed(message))) => {
                log::error!("task {label} failed: {message}");
                *record.last_failure.borrow_mut() = Some((message.clone(), rt::now()));
                app.report_exception(format!("task {label} failed: {message}"));
                if !restartable || policy.restart == Restart::Never {
                    *failure.borrow_mut() = Some(Stopped::Failed(message.clone()));
                    return Err(Stopped::Failed(message));
                }
                Some(message)
            }
            Ok(Err(cancelled)) => {
                *failure.borrow_mut() = Some(cancelled.clone());
                return Err(cancelled);
            }
            Err(payload) => {
                let message = rt::panic_message(&*payload);
                *record.last_failure.borrow_mut() = Some((message.clone(), rt::now()));
                app.report_exception(format!("task {label} panicked: {message}"));
                if !restartable || panic_policy != PanicPolicy::Restart {
                    app.stop_for_panic(panic_policy, &label, &message);
                    resume_unwind(payload);
                }
                Some(message)
            }
        };
        // A long healthy run starts the backoff over.
        if rt::now().saturating_duration_since(started) > policy.backoff.max {
            attempt = 0;
        }
        let now = rt::now();
        if let Some((most, window)) = policy.cap {
            while recent
                .front()
                .is_some_and(|at| now.saturating_duration_since(*at) > window)
            {
                recent.pop_front();
            }
            if recent.len() >= most as usize {
                let last = failed_with.unwrap_or_else(|| "ended".to_owned());
                let message = format!("gave up after {most} restarts in {window:?}: {last}");
                log::error!("task {label} {message}");
                app.report_exception(format!("task {label} {message}"));
                *failure.borrow_mut() = Some(Stopped::Failed(last.clone()));
                return Err(Stopped::Failed(last));
            }
            recent.push_back(now);
        }
        let delay = policy.backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        if let Err(cancelled) = rt::cancellable(rt::sleep(delay)).await {
            *failure.borrow_mut() = Some(Stopped::Cancelled(cancelled.clone()));
            return Err(Stopped::Cancelled(cancelled));
        }
        record.restarts.set(record.restarts.get() + 1);
        log::info!("task {label}: restart {}", record.restarts.get());
    }
}
