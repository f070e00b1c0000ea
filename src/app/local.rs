//! Per-worker state: what each worker's loop owns on its own.
//!
//! Each Sanic worker process has its own task registry and its own event
//! waiters; in sanio each worker *thread* does. An [`App`] is shared by all
//! workers (`Send + Sync`), so the per-worker half lives in a thread-local,
//! found by the app's id and checked against the loop that is running now.

use std::cell::RefCell;
use std::rc::Rc;

use super::server::StopSignal;
use super::signals::EventWaiters;
use super::subscription::Subscribers;
use super::tasks::TaskRegistry;
use super::{App, Error};
use crate::rt::RuntimeHandle;

/// The state one worker keeps for one app.
pub(crate) struct Local {
    /// Which worker this is (0 is the thread that called `run`).
    pub(crate) worker: usize,
    /// Background tasks started on this worker.
    pub(crate) tasks: TaskRegistry,
    /// `app.event()` waiters on this worker.
    pub(crate) events: EventWaiters,
    /// `app.subscribe()` queues on this worker.
    pub(crate) subscriptions: Subscribers,
    /// Asks this worker to stop.
    pub(crate) stop: StopSignal,
    /// Request-scoped tasks, by the loop task running their handler.
    pub(crate) scoped: RefCell<Vec<(crate::rt::TaskId, super::Task)>>,
    /// Open websockets, closed with 1001 when the worker stops.
    #[cfg(feature = "ws")]
    pub(crate) websockets: super::websocket::OpenSockets,
    /// The loop this state belongs to.
    handle: RuntimeHandle,
}

impl Local {
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

/// This worker's state for `app`, created on first use when a loop runs here
/// that the app has not seen (e.g. a plain `Runtime::block_on`).
///
/// # Errors
///
/// [`Error::NoLoop`] when no sanio loop runs on this thread.
pub(crate) fn local(app: &App, what: &'static str) -> Result<Rc<Local>, Error> {
    let handle = RuntimeHandle::current().map_err(|_| Error::NoLoop(what))?;
    let found = LOCALS.with(|locals| {
        locals
            .borrow()
            .iter()
            .find(|(id, local)| *id == app.id() && local.handle.same_loop(&handle))
            .map(|(_, local)| Rc::clone(local))
    });
    Ok(found.unwrap_or_else(|| install(app, 0)))
}

/// This worker's state for `app`, only if a loop runs here.
pub(crate) fn try_local(app: &App) -> Option<Rc<Local>> {
    local(app, "").ok()
}

/// Creates the state of worker `worker` for `app` on this thread's loop,
/// replacing a stale one, and registers the loop for broadcasts.
pub(crate) fn install(app: &App, worker: usize) -> Rc<Local> {
    let handle = RuntimeHandle::current().expect("install is called on a running loop");
    let local = Rc::new(Local {
        worker,
        tasks: TaskRegistry::default(),
        events: EventWaiters::default(),
        subscriptions: Subscribers::default(),
        stop: StopSignal::default(),
        scoped: RefCell::default(),
        #[cfg(feature = "ws")]
        websockets: Default::default(),
        handle: handle.clone(),
    });
    LOCALS.with(|locals| {
        let mut locals = locals.borrow_mut();
        locals.retain(|(id, _)| *id != app.id());
        locals.push((app.id(), Rc::clone(&local)));
    });
    app.register_loop(handle);
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
