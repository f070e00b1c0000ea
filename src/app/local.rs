//! Per-worker state: what each worker's loop owns on its own.
//!
//! Each Sanic worker process has its own task registry and its own event
//! waiters; in sanio each worker *thread* does. An [`App`] is shared by all
//! workers (`Send + Sync`), so the per-worker half lives in a thread-local,
//! found by the app's id and checked against the loop that is running now.
//!
//! Only a worker's loop is a worker: it alone has an index
//! (`app.worker()`) and is reached by `dispatch_all` and `stop`. Any other
//! sanio loop (a test's `Runtime::block_on`, say) gets state of its own on
//! first use, so tasks and events work there, but it is no worker and
//! nothing outside reaches it. The loop that runs `main_process_start`
//! is marked as such: tasks added there are kept for the workers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::server::StopSignal;
use super::signals::EventWaiters;
use super::subscription::Subscribers;
use super::tasks::TaskRegistry;
use super::{App, Error};
use crate::rt::RuntimeHandle;

/// What a loop is to an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Worker `n` (0 is the thread that called `run`).
    Worker(usize),
    /// The loop running the main process's listeners.
    MainProcess,
    /// Any other sanio loop.
    Plain,
}

/// The state one worker keeps for one app.
pub(crate) struct Local {
    /// What this loop is to the app.
    pub(crate) role: Role,
    /// Set once a worker started the tasks kept for the workers; a factory
    /// sent to it later starts at once, one sent before is left to that.
    pub(crate) deferred_started: Cell<bool>,
    /// Background tasks started on this worker.
    pub(crate) tasks: TaskRegistry,
    /// `app.event()` waiters on this worker.
    pub(crate) events: EventWaiters,
    /// `app.subscribe()` queues on this worker.
    pub(crate) subscriptions: Subscribers,
    /// Asks this worker to stop.
    pub(crate) stop: StopSignal,
    /// Request-scoped tasks, by the loop task running their handler; an
    /// entry lives exactly as long as that handler's guard.
    pub(crate) scoped: RefCell<super::scope::ScopedTasks>,
    /// Connection tasks, waited for when the worker stops.
    pub(crate) connections: super::server::Connections,
    /// Open websockets, closed with 1001 when the worker stops.
    #[cfg(feature = "ws")]
    pub(crate) websockets: super::websocket::OpenSockets,
    /// This worker's values made by `app.worker_state` factories.
    pub(crate) worker_state: RefCell<Vec<(std::any::TypeId, Rc<dyn std::any::Any>)>>,
    /// The loop this state belongs to.
    handle: RuntimeHandle,
}

impl Local {
    /// The worker's index, if this loop is a worker.
    pub(crate) fn worker(&self) -> Option<usize> {
        match self.role {
            Role::Worker(index) => Some(index),
            Role::MainProcess | Role::Plain => None,
        }
    }

    /// The loop this state belongs to.
    pub(crate) fn handle(&self) -> &RuntimeHandle {
        &self.handle
    }

    /// The worker's index as task listings, dumps and name claims show it:
    /// 0 on a loop that is no worker (a test's `block_on`), whose tasks are
    /// listed too.
    pub(crate) fn index(&self) -> usize {
        self.worker().unwrap_or(0)
    }

    /// Whether an `event()` wait or a subscription on this worker listens
    /// to `name` (two length checks while nobody waits on any event).
    pub(crate) fn listens(&self, name: &str) -> bool {
        self.events.count(name) > 0 || self.subscriptions.count(name) > 0
    }
}

thread_local! {
    /// (app id, state) for every app used on this thread's loop.
    static LOCALS: RefCell<Vec<(u64, Rc<Local>)>> = const { RefCell::new(Vec::new()) };
}

/// This loop's state for `app`, created on first use when a loop runs here
/// that the app has not seen (a plain `Runtime::block_on`: see the module
/// doc; it is no worker).
///
/// # Errors
///
/// [`Error::NoLoop`] when no sanio loop runs on this thread.
pub(crate) fn local(app: &App, what: &'static str) -> Result<Rc<Local>, Error> {
    let handle = RuntimeHandle::current().map_err(|_| Error::NoLoop(what))?;
    Ok(find(app, &handle).unwrap_or_else(|| install(app, Role::Plain)))
}

/// This loop's state for `app` if it has some already (none is created).
pub(crate) fn existing(app: &App) -> Option<Rc<Local>> {
    find(app, &RuntimeHandle::current().ok()?)
}

/// The state for `app` of the loop behind `handle`, if any.
fn find(app: &App, handle: &RuntimeHandle) -> Option<Rc<Local>> {
    LOCALS.with(|locals| {
        locals
            .borrow()
            .iter()
            .find(|(id, local)| *id == app.id() && local.handle.same_loop(handle))
            .map(|(_, local)| Rc::clone(local))
    })
}

/// This worker's state for `app`, only if a loop runs here.
pub(crate) fn try_local(app: &App) -> Option<Rc<Local>> {
    local(app, "").ok()
}

/// Creates this thread's loop's state for `app` in `role`, replacing a
/// stale one; a worker's loop is registered for broadcasts and stop.
pub(crate) fn install(app: &App, role: Role) -> Rc<Local> {
    let handle = RuntimeHandle::current().expect("install is called on a running loop");
    let local = Rc::new(Local {
        role,
        deferred_started: Cell::new(false),
        tasks: TaskRegistry::default(),
        events: EventWaiters::default(),
        subscriptions: Subscribers::default(),
        stop: StopSignal::default(),
        scoped: RefCell::default(),
        connections: Default::default(),
        #[cfg(feature = "ws")]
        websockets: Default::default(),
        worker_state: RefCell::default(),
        handle: handle.clone(),
    });
    LOCALS.with(|locals| {
        let mut locals = locals.borrow_mut();
        locals.retain(|(id, _)| *id != app.id());
        locals.push((app.id(), Rc::clone(&local)));
    });
    if let Role::Worker(_) = role {
        app.register_loop(handle);
    }
    local
}

/// Forgets `app`'s state on this thread (a worker stopped).
pub(crate) fn remove(app: &App) {
    let removed = LOCALS.with(|locals| {
        let mut locals = locals.borrow_mut();
        let index = locals.iter().position(|(id, _)| *id == app.id())?;
        Some(locals.remove(index))
    });
    if let Some((_, local)) = removed {
        app.deregister_loop(&local.handle);
    }
}
