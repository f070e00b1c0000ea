//! Background tasks: Sanic's `add_task` / `get_task` / `cancel_task` /
//! `tasks` / `purge_tasks`, on each worker's loop.
//!
//! - While a loop runs on this thread, `add_task` starts the task now, on
//!   this loop, supervised: an error or panic is logged with the task's
//!   name and reported through the `server.exception.report` event.
//! - Before `run` (from a thread that runs no loop, while the app does not
//!   run) and inside `main_process_start`, a factory is kept and called on
//!   every worker right after its `before_server_start` listeners; a plain
//!   future is kept on the adding thread and started once, on worker 0 (the
//!   thread that calls `run`). Factories are the recommended form before
//!   `run`, as in Sanic.
//! - While the app runs, from a thread that runs no loop, a factory is kept
//!   the same way and started on every running worker now; a plain future
//!   cannot move to a worker and is refused with `Error::FutureOffWorker`.
//! - Every task a worker starts is owned by its [`TaskRegistry`] and is
//!   cancelled at shutdown, named or not.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::resume_unwind;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::error::Stopped;
use super::info::CancelOutcome;
use super::local::{local, try_local, Local, Role};
use super::supervise::{run_policed, Judged, Policy, Start};
use super::task_types::{Factory, Failure, LocalFuture, Record, Task, TaskHandle, TaskSource};
use super::{App, Error, IntoResult, IntoTask};
use crate::rt;

/// A task kept for the workers: a name and a factory.
#[derive(Clone)]
pub(crate) struct Deferred {
    /// The name each worker registers it under.
    pub(crate) name: Option<String>,
    /// Called once per worker.
    pub(crate) factory: Factory<Judged>,
    /// Where it was added.
    pub(crate) location: &'static Location<'static>,
    /// Restarts, panic policy and placement, for a task from `App::task`.
    pub(crate) policy: Option<Policy>,
}

/// A plain future added before `run`, kept on the thread that added it.
struct DeferredFuture {
    /// The app it belongs to.
    app: u64,
    /// The name to register it under.
    name: Option<String>,
    /// The future.
    future: LocalFuture<Judged>,
    /// Where it was added.
    location: &'static Location<'static>,
}

thread_local! {
    /// Plain futures added before `run` on this thread.
    static DEFERRED_FUTURES: RefCell<Vec<DeferredFuture>> = const { RefCell::new(Vec::new()) };
}

/// The tasks one worker owns.
#[derive(Default)]
pub(crate) struct TaskRegistry {
    /// Named tasks, finished ones too, until purged; with an insertion number.
    named: RefCell<HashMap<Rc<str>, (u64, Task)>>,
    /// Unnamed tasks; finished ones are dropped as new ones come.
    unnamed: RefCell<Vec<Task>>,
    /// The next insertion number.
    next_seq: std::cell::Cell<u64>,
}

impl TaskRegistry {
    /// Registers `task`; a live task with the same name is an error, a
    /// finished one is replaced.
    fn register(&self, task: Task) -> Result<(), Error> {
        let Some(name) = task.name.clone() else {
            let mut unnamed = self.unnamed.borrow_mut();
            if unnamed.len() >= 64 && unnamed.len().is_power_of_two() {
                unnamed.retain(|t| !t.state().is_finished());
            }
            unnamed.push(task);
            return Ok(());
        };
        let mut named = self.named.borrow_mut();
        if let Some((_, existing)) = named.get(&name) {
            if !existing.state().is_finished() {
                return Err(Error::TaskNameTaken(name.to_string()));
            }
        }
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        named.insert(name, (seq, task));
        Ok(())
    }

    /// Whether a live task has this name.
    fn is_live(&self, name: &str) -> bool {
        self.named
            .borrow()
            .get(name)
            .is_some_and(|(_, task)| !task.state().is_finished())
    }

    /// The named task, if registered.
    pub(crate) fn get(&self, name: &str) -> Option<Task> {
        self.named.borrow().get(name).map(|(_, task)| task.clone())
    }

    /// Named tasks in the order they were added.
    pub(crate) fn list(&self) -> Vec<Task> {
        let named = self.named.borrow();
        let mut tasks: Vec<&(u64, Task)> = named.values().collect();
        tasks.sort_by_key(|(seq, _)| *seq);
        tasks.into_iter().map(|(_, task)| task.clone()).collect()
    }

    /// Drops every finished named and unnamed task; returns how many named.
    pub(crate) fn purge(&self) -> usize {
        self.unnamed
            .borrow_mut()
            .retain(|task| !task.state().is_finished());
        let mut named = self.named.borrow_mut();
        let before = named.len();
        named.retain(|_, (_, task)| !task.state().is_finished());
        before - named.len()
    }

    /// Named tasks in the order they were added, then unnamed ones.
    pub(crate) fn all(&self) -> Vec<Task> {
        let mut all = self.list();
        all.extend(self.unnamed.borrow().iter().cloned());
        all
    }

    /// Runs `f` over every registered task, named then unnamed.
    fn scan<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &Task>) -> R) -> R {
        let named = self.named.borrow();
        let unnamed = self.unnamed.borrow();
        f(&mut named.values().map(|(_, task)| task).chain(unnamed.iter()))
    }

    /// The registered task with this loop id, named or not.
    pub(crate) fn by_id(&self, id: rt::TaskId) -> Option<Task> {
        self.scan(|mut tasks| Iterator::find(&mut tasks, |task| task.id() == id).cloned())
    }

    /// Every task not yet ended.
    pub(crate) fn live(&self) -> Vec<Task> {
        self.scan(|tasks| {
            tasks
                .filter(|task| !task.state().is_finished())
                .cloned()
                .collect()
        })
    }
}

impl App {
    /// Adds a background task (a future, or a factory with or without the
    /// app; see [`IntoTask`]).
    ///
    /// On a running loop the task starts now on this loop and its handle
    /// comes back (`Some`). Before `run`, or inside `main_process_start`,
    /// it is kept and `None` comes back: a factory runs on every worker, a
    /// plain future once on worker 0. While the app runs, from a thread
    /// that runs no loop, a factory starts on every running worker now (and
    /// is kept for later runs) and `None` comes back.
    ///
    /// # Errors
    ///
    /// [`Error::FutureOffWorker`] for a plain future added while the app
    /// runs from a thread that runs no loop (it cannot reach a worker);
    /// for a name, see [`add_named_task`](Self::add_named_task).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// // Before `run`: kept for the workers, no handle yet.
    /// assert!(app.add_task(|app: sanio::App| async move { let _ = app.name(); }).unwrap().is_none());
    ///
    /// let rt = sanio::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     // On a running loop: started now.
    ///     let handle = app.add_task(async { Ok::<_, std::io::Error>(42) }).unwrap().unwrap();
    ///     assert_eq!(handle.await, Ok(42));
    /// });
    /// ```
    #[track_caller]
    pub fn add_task<M, T>(
        &self,
        task: T,
    ) -> Result<Option<TaskHandle<<T::Output as IntoResult>::Ok>>, Error>
    where
        T: IntoTask<M>,
    {
        self.add_task_inner(None, task.into_source())
    }

    /// Like [`add_task`](Self::add_task), registering the task under `name`
    /// on this worker (or, before `run`, on every worker that starts it).
    ///
    /// # Errors
    ///
    /// [`Error::TaskNameTaken`] if a live task on this worker has the name
    /// (a finished one is replaced), or, before `run`, if a task kept for
    /// the workers already has it.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("job", std::future::pending::<()>()).unwrap();
    ///     let again = app.add_named_task("job", async {});
    ///     assert!(matches!(again, Err(sanio::Error::TaskNameTaken(_))));
    /// });
    /// ```
    #[track_caller]
    pub fn add_named_task<M, T>(
        &self,
        name: impl Into<String>,
        task: T,
    ) -> Result<Option<TaskHandle<<T::Output as IntoResult>::Ok>>, Error>
    where
        T: IntoTask<M>,
    {
        self.add_task_inner(Some(name.into()), task.into_source())
    }

    /// Starts now if a loop runs here; see the module doc for the rest.
    #[track_caller]
    fn add_task_inner<T: IntoResult>(
        &self,
        name: Option<String>,
        source: TaskSource<T>,
    ) -> Result<Option<TaskHandle<T::Ok>>, Error> {
        let local = match local(self, "add_task") {
            Ok(local) if local.role != Role::MainProcess => local,
            found => {
                // Off every loop while the app runs, the workers get it now.
                self.defer(name, source, found.is_err() && self.is_running())?;
                return Ok(None);
            }
        };
        self.add_now(&local, name, source).map(Some)
    }

    /// Starts a task now on this worker.
    #[track_caller]
    pub(crate) fn add_now<T: IntoResult>(
        &self,
        local: &Local,
        name: Option<String>,
        source: TaskSource<T>,
    ) -> Result<TaskHandle<T::Ok>, Error> {
        let future = match source {
            TaskSource::Future(future) => future,
            TaskSource::Factory(factory) => factory(self.clone()),
        };
        let future = Box::pin(async move { super::error::judge(future.await) });
        self.start_task(local, name, future, Location::caller())
    }

    /// Keeps a task until the workers start (`send`: the app runs and they
    /// started already, so the running ones get it now).
    #[track_caller]
    fn defer<T: IntoResult>(
        &self,
        name: Option<String>,
        source: TaskSource<T>,
        send: bool,
    ) -> Result<(), Error> {
        match source {
            TaskSource::Factory(factory) => {
                let factory: Factory<Judged> =
                    Arc::new(move |app| super::error::judged(factory(app)));
                let kept = Deferred {
                    name,
                    factory,
                    location: Location::caller(),
                    policy: None,
                };
                self.keep_for_workers(kept, send)
            }
            // A plain future cannot move to a worker that runs already.
            TaskSource::Future(_) if send => Err(Error::FutureOffWorker),
            TaskSource::Future(future) => {
                if let Some(name) = &name {
                    if self.name_kept(&self.deferred_tasks(), name) {
                        return Err(Error::TaskNameTaken(name.clone()));
                    }
                }
                let kept = DeferredFuture {
                    app: self.id(),
                    name,
                    future: super::error::judged(future),
                    location: Location::caller(),
                };
                DEFERRED_FUTURES.with(|d| d.borrow_mut().push(kept));
                Ok(())
            }
        }
    }

    /// Keeps a factory for the workers (a worker still starting finds it
    /// in the list) and, with `send`, sends it to every running worker that
    /// has started its kept tasks already, to start now. A name kept twice
    /// would make every worker fail at start, so it is refused here, where
    /// the mistake is made.
    pub(crate) fn keep_for_workers(&self, kept: Deferred, send: bool) -> Result<(), Error> {
        let loops = {
            let mut deferred = self.deferred_tasks();
            if let Some(name) = &kept.name {
                if self.name_kept(&deferred, name) {
                    return Err(Error::TaskNameTaken(name.clone()));
                }
            }
            deferred.push(kept.clone());
            // Read under the list's lock: a worker registers its loop before
            // it reads the list, so none is missed and none starts it twice.
            if send {
                self.loops()
            } else {
                Vec::new()
            }
        };
        for handle in loops {
            let (app, kept) = (self.clone(), kept.clone());
            let sent = handle.spawn(async move {
                let Some(local) = try_local(&app) else {
                    return;
                };
                if local.deferred_started.get() {
                    if let Err(err) = app.start_kept(&local, kept) {
                        log::error!("a task added while running did not start: {err}");
                    }
                }
            });
            if sent.is_err() {
                log::debug!("a worker stopped before a task added while running reached it");
            }
        }
        Ok(())
    }

    /// Whether `name` is kept for the workers already: in `deferred` (the
    /// app's factories) or among the futures kept on this thread.
    fn name_kept(&self, deferred: &[Deferred], name: &str) -> bool {
        deferred.iter().any(|d| d.name.as_deref() == Some(name))
            || DEFERRED_FUTURES.with(|d| {
                d.borrow()
                    .iter()
                    .any(|kept| kept.app == self.id() && kept.name.as_deref() == Some(name))
            })
    }

    /// Starts the tasks kept for the workers on this worker: each factory,
    /// and on worker 0 the plain futures kept on this thread.
    pub(crate) fn start_deferred_tasks(&self, local: &Rc<Local>) -> Result<(), Error> {
        let factories: Vec<Deferred> = self.deferred_tasks().clone();
        local.deferred_started.set(true);
        for deferred in factories {
            self.start_kept(local, deferred)?;
        }
        if local.worker() == Some(0) {
            let mine: Vec<DeferredFuture> = DEFERRED_FUTURES.with(|d| {
                let mut all = d.borrow_mut();
                let (mine, others) = std::mem::take(&mut *all)
                    .into_iter()
                    .partition(|kept| kept.app == self.id());
                *all = others;
                mine
            });
            for kept in mine {
                self.start_task(local, kept.name, kept.future, kept.location)?;
            }
        }
        Ok(())
    }

    /// Starts one task kept for the workers on this worker. With unique
    /// names, or for a singleton, a name another worker holds already is
    /// left to that worker.
    fn start_kept(&self, local: &Local, kept: Deferred) -> Result<(), Error> {
        let once = kept.policy.is_some_and(|policy| policy.singleton.is_some());
        let started = match (kept.policy, kept.name) {
            (Some(policy), Some(name)) => self
                .start_policed(
                    local,
                    name,
                    policy,
                    Start::Factory(kept.factory),
                    kept.location,
                )
                .map(drop),
            (_, name) => self
                .start_task(local, name, (kept.factory)(self.clone()), kept.location)
                .map(drop),
        };
        match started {
            Err(Error::TaskNameTaken(name)) if once || self.unique_task_names() => {
                log::debug!(
                    "worker {}: task {name} runs on another worker",
                    local.index()
                );
                Ok(())
            }
            other => other,
        }
    }

    /// Drops the plain futures kept on this thread for this app: `serve`
    /// starts every worker on a thread of its own, where they cannot go.
    /// Returns how many were dropped.
    pub(crate) fn drop_thread_kept_futures(&self) -> usize {
        DEFERRED_FUTURES.with(|d| {
            let mut all = d.borrow_mut();
            let before = all.len();
            all.retain(|kept| kept.app != self.id());
            before - all.len()
        })
    }

    /// Whether task names are unique across the workers in this run.
    fn unique_task_names(&self) -> bool {
        self.running_config()
            .is_some_and(|config| config.unique_task_names)
    }

    /// Spawns a supervised task on this worker and registers it.
    fn start_task<T: 'static>(
        &self,
        local: &Local,
        name: Option<String>,
        future: LocalFuture<Result<T, Stopped>>,
        location: &'static Location<'static>,
    ) -> Result<TaskHandle<T>, Error> {
        let app = self.clone();
        let make = move |label, failure, record| -> LocalFuture<Result<T, Stopped>> {
            Box::pin(supervise(app, label, failure, record, future))
        };
        self.spawn_registered(local, name, false, location, make)
    }

    /// Spawns a task from [`App::task`] on this worker and registers it.
    pub(crate) fn start_policed(
        &self,
        local: &Local,
        name: String,
        policy: Policy,
        start: Start,
        location: &'static Location<'static>,
    ) -> Result<Task, Error> {
        let app = self.clone();
        let once = policy.singleton.is_some();
        let make = move |label: Option<Rc<str>>, failure, record| -> LocalFuture<Judged> {
            let label = label.unwrap_or_else(|| Rc::from("<unnamed>"));
            Box::pin(run_policed(app, label, failure, record, start, policy))
        };
        let handle = self.spawn_registered(local, Some(name), once, location, make)?;
        Ok(handle.task)
    }

    /// Spawns the future `make` builds on this worker and registers it;
    /// `process_unique` claims the name across the workers (as does the
    /// unique-names policy).
    fn spawn_registered<T: 'static>(
        &self,
        local: &Local,
        name: Option<String>,
        process_unique: bool,
        location: &'static Location<'static>,
        make: impl FnOnce(Option<Rc<str>>, Failure, Rc<Record>) -> LocalFuture<Result<T, Stopped>>,
    ) -> Result<TaskHandle<T>, Error> {
        if let Some(name) = &name {
            if local.tasks.is_live(name) {
                return Err(Error::TaskNameTaken(name.clone()));
            }
        }
        let claim = match &name {
            Some(name) if process_unique || self.unique_task_names() => Some(
                self.claim_name(name, local.index())
                    .ok_or_else(|| Error::TaskNameTaken(name.clone()))?,
            ),
            _ => None,
        };
        let name: Option<Rc<str>> = name.map(Rc::from);
        let failure: Failure = Rc::default();
        let record: Rc<Record> = Rc::default();
        let supervised = make(name.clone(), Rc::clone(&failure), Rc::clone(&record));
        let orphans = super::scope::OrphanGuard(Rc::clone(&record));
        let supervised = async move {
            let _claim = claim; // released when the task ends or is dropped
            let _orphans = orphans; // its children end with it
            supervised.await
        };
        let join = rt::spawn_at(supervised, name.as_deref().map(str::to_owned), location)
            .map_err(|_| Error::NoLoop("add_task"))?;
        let task = Task {
            name,
            task: join.task_ref(),
            failure,
            record,
        };
        local.tasks.register(task.clone())?;
        Ok(TaskHandle { task, join })
    }

    /// The task registered under `name` on this worker.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTask`] (`Registered task named "x" not found`), or
    /// [`Error::NoLoop`] off a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let err = app.get_task("nope").unwrap_err();
    ///     assert_eq!(err.to_string(), "Registered task named \"nope\" not found");
    /// });
    /// ```
    pub fn get_task(&self, name: &str) -> Result<Task, Error> {
        local(self, "get_task")?
            .tasks
            .get(name)
            .ok_or_else(|| Error::UnknownTask(name.to_owned()))
    }

    /// The task registered under `name` on this worker, if any (the
    /// non-failing form of [`get_task`](Self::get_task)). Off a loop there
    /// is no worker to look in: `None`, with a warning in the log
    /// (`get_task` returns [`Error::NoLoop`] there).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     assert!(app.find_task("nope").is_none());
    /// });
    /// ```
    pub fn find_task(&self, name: &str) -> Option<Task> {
        match local(self, "find_task") {
            Ok(local) => local.tasks.get(name),
            Err(err) => {
                log::warn!("{err}: task {name:?} cannot be found here");
                None
            }
        }
    }

    /// Cancels the task named `name` on this worker and waits until it is
    /// gone; returns what the cancel did ([`CancelOutcome`]): it cleaned up
    /// after observing the cancel, it was dropped, or it had already ended
    /// (then it is left alone: no stale error is raised again). See
    /// [`cancel_task_anywhere`](Self::cancel_task_anywhere) for any worker.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTask`] for a name not registered on this worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("slow_task", std::future::pending::<()>()).unwrap();
    ///     let outcome = app.cancel_task("slow_task").await.unwrap();
    ///     assert_eq!(outcome, sanio::CancelOutcome::Dropped);
    ///     assert_eq!(outcome.state(), sanio::TaskState::Cancelled);
    /// });
    /// ```
    pub async fn cancel_task(&self, name: &str) -> Result<CancelOutcome, Error> {
        self.cancel_task_inner(name, None).await
    }

    /// Like [`cancel_task`](Self::cancel_task), with a message the task sees
    /// in its `Cancelled`.
    ///
    /// # Errors
    ///
    /// As [`cancel_task`](Self::cancel_task).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("t", std::future::pending::<()>()).unwrap();
    ///     app.cancel_task_with("t", "shutting down").await.unwrap();
    ///     assert_eq!(app.get_task("t").unwrap().message().as_deref(), Some("shutting down"));
    /// });
    /// ```
    pub async fn cancel_task_with(
        &self,
        name: &str,
        message: &str,
    ) -> Result<CancelOutcome, Error> {
        self.cancel_task_inner(name, Some(message)).await
    }

    /// The non-failing form of [`cancel_task`](Self::cancel_task): `None`
    /// for an unknown name.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     assert_eq!(app.cancel_task_if_present("nope").await, None);
    /// });
    /// ```
    pub async fn cancel_task_if_present(&self, name: &str) -> Option<CancelOutcome> {
        self.cancel_task_inner(name, None).await.ok()
    }

    /// Shared body of the cancel calls.
    async fn cancel_task_inner(
        &self,
        name: &str,
        message: Option<&str>,
    ) -> Result<CancelOutcome, Error> {
        let task = self.get_task(name)?;
        Ok(task.cancel_and_wait(message).await)
    }

    /// This worker's named tasks, finished ones too, until
    /// [`purge_tasks`](Self::purge_tasks). Empty off a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("a", async {}).unwrap();
    ///     let names: Vec<_> = app.tasks().iter().map(|t| t.name().unwrap().to_owned()).collect();
    ///     assert_eq!(names, ["a"]);
    /// });
    /// ```
    pub fn tasks(&self) -> Vec<Task> {
        local(self, "tasks")
            .map(|local| local.tasks.list())
            .unwrap_or_default()
    }

    /// Removes every finished, failed, cancelled or panicked task from this
    /// worker's registry; returns how many named tasks went.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("quick", async {}).unwrap();
    ///     sanio::rt::yield_now().await;
    ///     assert_eq!(app.purge_tasks(), 1);
    ///     assert!(app.tasks().is_empty());
    /// });
    /// ```
    pub fn purge_tasks(&self) -> usize {
        local(self, "purge_tasks")
            .map(|local| local.tasks.purge())
            .unwrap_or(0)
    }

    /// Cancels every task of this worker (named and unnamed), giving those
    /// that observe the cancel up to `timeout` to clean up, and waits until
    /// all have ended. Never spins, never waits longer than `timeout`
    /// (plus a timer tick). Returns how many tasks it cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_task(std::future::pending::<()>()).unwrap();
    ///     assert_eq!(app.shutdown_tasks(Duration::from_secs(1)).await, 1);
    /// });
    /// ```
    pub async fn shutdown_tasks(&self, timeout: Duration) -> usize {
        let Ok(local) = local(self, "shutdown_tasks") else {
            return 0;
        };
        let live = local.tasks.live();
        for task in &live {
            task.task.cancel_with_grace("server shutdown", timeout);
        }
        let all_ended = async {
            for task in &live {
                task.task.finished().await;
            }
        };
        let margin = Duration::from_millis(50);
        if rt::timeout(timeout + margin, all_ended).await.is_err() {
            log::warn!("some tasks outlived shutdown_tasks({timeout:?})");
        }
        live.len()
    }
}

/// Runs a task's future, recording and reporting an error or panic under
/// the task's name. A panic is re-raised so the loop marks it panicked. A
/// cancel passed on with `?` is recorded as a cancel: not logged as an
/// error, not reported.
async fn supervise<T: 'static>(
    app: App,
    name: Option<Rc<str>>,
    failure: super::task_types::Failure,
    record: Rc<Record>,
    future: LocalFuture<Result<T, Stopped>>,
) -> Result<T, Stopped> {
    let label = name.as_deref().unwrap_or("<unnamed>").to_owned();
    match rt::CatchUnwind::new(future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(Stopped::Failed(message))) => {
            log::error!("task {label} failed: {message}");
            *record.last_failure.borrow_mut() = Some((message.clone(), rt::now()));
            *failure.borrow_mut() = Some(Stopped::Failed(message.clone()));
            app.report_exception(format!("task {label} failed: {message}"));
            Err(Stopped::Failed(message))
        }
        Ok(Err(cancelled)) => {
            log::debug!("task {label} ended on its cancel: {cancelled}");
            *failure.borrow_mut() = Some(cancelled.clone());
            Err(cancelled)
        }
        Err(payload) => {
            let message = rt::panic_message(&*payload);
            *record.last_failure.borrow_mut() = Some((message.clone(), rt::now()));
            app.report_exception(format!("task {label} panicked: {message}"));
            app.stop_for_panic(app.panic_policy(), &label, &message);
            resume_unwind(payload)
        }
    }
}
