//! Request-scoped and child tasks: tasks whose life is bounded by the
//! handler or the task that added them.
//!
//! - A *scoped* task ([`Request::add_task`](crate::Request::add_task)) is
//!   cancelled, with the usual flag, grace and drop, when the handler that
//!   added it ends for any reason: it returns, errs, panics, its client goes
//!   away (the handler is dropped), or a graceful stop ends it. The handler
//!   keeps a [`ScopeGuard`] for the length of its run; the guard's drop is
//!   the one place every ending goes through.
//! - A *child* task ([`App::add_child_task`]) belongs to the task that added
//!   it: cancelling the parent cancels its whole subtree, the parent's
//!   [`Task::wait`](super::Task::wait) (and so a cancel by name) completes only after the
//!   children ended, and a parent that ends by itself cancels the children
//!   it leaves. [`Task::detach`](super::Task::detach) hands a child to the worker instead.
//!
//! Scoped tasks are kept per worker in a map keyed by the loop task that
//! runs the handler (one handler at a time per connection task). The guard
//! puts an empty list there when the handler starts and takes it out when
//! it ends, so a request costs one insert and one remove in a map whose
//! table is kept (no allocation: an empty `Vec` allocates nothing), and a
//! task that is not running a handler has no entry: it cannot add a scoped
//! task that nothing would ever cancel. The map hashes a task id with one
//! multiply (`rt::IdHashMap`), not SipHash: the ids are the loop's own.

use std::rc::Rc;

use super::local::{local, Local};
use super::task_types::{Record, TaskHandle};
use super::{App, Error, IntoResult, IntoTask};
use crate::rt::{self, TaskId};

/// A worker's scoped tasks, by the loop task running their handler.
pub(crate) type ScopedTasks = rt::IdHashMap<TaskId, Vec<super::Task>>;

/// Cancels the scoped tasks of one handler run when dropped.
pub(crate) struct ScopeGuard<'a> {
    /// The worker's state.
    local: &'a Local,
    /// The loop task running the handler.
    owner: Option<TaskId>,
}

impl<'a> ScopeGuard<'a> {
    /// A guard for the handler about to run on the current loop task.
    pub(crate) fn new(local: &'a Local) -> Self {
        let owner = rt::current_task_id();
        if let Some(owner) = owner {
            local.scoped.borrow_mut().insert(owner, Vec::new());
        }
        Self { local, owner }
    }
}

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        let Some(owner) = self.owner else {
            return;
        };
        // Taken out before cancelling: a cancel may run code that adds or
        // ends other scopes.
        let ended = self.local.scoped.borrow_mut().remove(&owner);
        for task in ended.into_iter().flatten() {
            task.cancel_with("the request that started it ended");
        }
    }
}

impl crate::http::Request {
    /// Adds a background task scoped to this request's handler: it starts
    /// now on this worker and is cancelled when the handler ends, however
    /// it ends (return, error, panic, client gone, graceful stop). Call it
    /// from the handler itself, not from a task the handler spawned.
    /// [`App::add_task`] is the Sanic form, whose task outlives the request.
    ///
    /// # Errors
    ///
    /// [`Error::NoLoop`] outside a handler, and from a task the handler
    /// spawned (nothing would end its scope).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use sanio::{App, Request, WebSocket};
    ///
    /// let app = App::new("demo");
    /// app.websocket("/feed", |req: Request, ws: WebSocket| async move {
    ///     let reader = ws.clone();
    ///     // No cancel_task at the end: the receiver ends with the handler.
    ///     req.add_task(async move { while reader.recv().await.is_some() {} })?;
    ///     ws.send("hello").await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// }).unwrap();
    /// ```
    #[track_caller]
    pub fn add_task<M, T>(
        &self,
        task: T,
    ) -> Result<TaskHandle<<T::Output as IntoResult>::Ok>, Error>
    where
        T: IntoTask<M>,
    {
        self.add_scoped(None, task)
    }

    /// Like [`add_task`](Self::add_task), registered under `name` on this
    /// worker.
    ///
    /// # Errors
    ///
    /// As [`App::add_named_task`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use sanio::{App, Request};
    ///
    /// let app = App::new("demo");
    /// app.get("/work", |req: Request| async move {
    ///     let name = format!("helper:{}", req.id());
    ///     let started = req.add_named_task(name, sanio::sleep(std::time::Duration::from_secs(1)));
    ///     if started.is_ok() { "started" } else { "busy" }
    /// }).unwrap();
    /// ```
    #[track_caller]
    pub fn add_named_task<M, T>(
        &self,
        name: impl Into<String>,
        task: T,
    ) -> Result<TaskHandle<<T::Output as IntoResult>::Ok>, Error>
    where
        T: IntoTask<M>,
    {
        self.add_scoped(Some(name.into()), task)
    }

    /// Starts a scoped task.
    #[track_caller]
    fn add_scoped<M, T: IntoTask<M>>(
        &self,
        name: Option<String>,
        task: T,
    ) -> Result<TaskHandle<<T::Output as IntoResult>::Ok>, Error> {
        let app = self
            .ext
            .as_ref()
            .and_then(|ext| ext.downcast_ref::<App>())
            .cloned()
            .ok_or(Error::NoLoop("Request::add_task"))?;
        let local = local(&app, "Request::add_task")?;
        let owner = rt::current_task_id()
            .filter(|owner| local.scoped.borrow().contains_key(owner))
            .ok_or(Error::NoLoop("Request::add_task"))?;
        let handle = app.add_now(&local, name, task.into_source())?;
        handle.task.record.parent.set(Some(owner));
        if let Some(tasks) = local.scoped.borrow_mut().get_mut(&owner) {
            tasks.push(handle.task.clone());
        }
        Ok(handle)
    }
}

impl App {
    /// Adds a child of the task being polled: it starts now on this worker,
    /// is cancelled with its parent (and when the parent ends), and the
    /// parent's [`Task::wait`](super::Task::wait) completes only after it ended. See
    /// [`Task::detach`](super::Task::detach) to let it outlive the parent.
    ///
    /// # Errors
    ///
    /// [`Error::NoParent`] when not called from a task added through this
    /// app on this worker; [`Error::NoLoop`] off a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let spawner = app.clone();
    ///     let parent = app.add_named_task("parent", async move {
    ///         spawner.add_child_task(std::future::pending::<()>()).unwrap();
    ///         std::future::pending::<()>().await;
    ///     }).unwrap().unwrap();
    ///     sanio::rt::yield_now().await;
    ///     let child = parent.task().children()[0].clone();
    ///     app.cancel_task("parent").await.unwrap();
    ///     assert!(child.state().is_finished()); // the subtree ended first
    /// });
    /// ```
    #[track_caller]
    pub fn add_child_task<M, T>(
        &self,
        task: T,
    ) -> Result<TaskHandle<<T::Output as IntoResult>::Ok>, Error>
    where
        T: IntoTask<M>,
    {
        self.add_child(None, task)
    }

    /// Like [`add_child_task`](Self::add_child_task), registered under
    /// `name`.
    ///
    /// # Errors
    ///
    /// As [`add_child_task`](Self::add_child_task) and
    /// [`add_named_task`](Self::add_named_task).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     let outside = app.add_named_child_task("c", async {});
    ///     assert!(matches!(outside, Err(sanio::Error::NoParent)));
    /// });
    /// ```
    #[track_caller]
    pub fn add_named_child_task<M, T>(
        &self,
        name: impl Into<String>,
        task: T,
    ) -> Result<TaskHandle<<T::Output as IntoResult>::Ok>, Error>
    where
        T: IntoTask<M>,
    {
        self.add_child(Some(name.into()), task)
    }

    /// Starts a child of the current task.
    #[track_caller]
    fn add_child<M, T: IntoTask<M>>(
        &self,
        name: Option<String>,
        task: T,
    ) -> Result<TaskHandle<<T::Output as IntoResult>::Ok>, Error> {
        let local = local(self, "add_child_task")?;
        let parent = rt::current_task_id()
            .and_then(|id| local.tasks.by_id(id))
            .ok_or(Error::NoParent)?;
        let handle = self.add_now(&local, name, task.into_source())?;
        let record = &handle.task.record;
        record.parent.set(Some(parent.id()));
        *record.parent_record.borrow_mut() = Rc::downgrade(&parent.record);
        let mut children = parent.record.children.borrow_mut();
        // A long-lived parent may add children all its life: whenever the
        // list doubles, forget the ones that ended, so it stays about as
        // long as the live ones.
        if children.len() >= 64 && children.len().is_power_of_two() {
            children.retain(|child| !child.state().is_finished());
        }
        children.push(handle.task.clone());
        drop(children);
        Ok(handle)
    }
}

/// Cancels the children a task leaves when it ends (kept in its future).
pub(crate) struct OrphanGuard(pub(crate) Rc<Record>);

impl Drop for OrphanGuard {
    fn drop(&mut self) {
        let children = std::mem::take(&mut *self.0.children.borrow_mut());
        for child in children.iter().filter(|c| !c.state().is_finished()) {
            child.cancel_with("its parent ended");
        }
        // Kept so that the parent's wait still waits for them.
        *self.0.children.borrow_mut() = children;
    }
}
