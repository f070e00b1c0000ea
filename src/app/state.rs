//! Shared state, Sanic's `app.ctx` in typed form, at two scopes:
//!
//! - **App state**: one value per type, set before `run`, shared by every
//!   worker (`Send + Sync`, behind an `Arc`): config, a pool handle, a
//!   counter in an atomic.
//! - **Worker state**: a factory, set before `run`, called once on each
//!   worker the first time the state is asked for there; the value stays on
//!   that worker's thread, so it need not be `Send` (a connection per
//!   worker, an `Rc<RefCell<_>>` cache).
//!
//! Per-request storage is [`Request::ctx`](crate::Request::ctx).

use std::any::{Any, TypeId};
use std::rc::Rc;
use std::sync::Arc;

use super::{local, App, Error};
use crate::http::Request;

/// App-wide values by type.
pub(crate) type StateMap = Vec<(TypeId, Arc<dyn Any + Send + Sync>)>;
/// Per-worker factories by type.
pub(crate) type WorkerFactories = Vec<(TypeId, WorkerFactory)>;
/// Makes one worker's value.
pub(crate) type WorkerFactory = Arc<dyn Fn() -> Rc<dyn Any> + Send + Sync>;

impl App {
    /// Sets the app-wide value of type `T` (replacing an earlier one).
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use sanio::{App, Request};
    ///
    /// struct Hits(AtomicU64);
    ///
    /// let app = App::new("demo");
    /// app.state(Hits(AtomicU64::new(0))).unwrap();
    /// app.get("/hit", |req: Request| async move {
    ///     let hits = req.state::<Hits>().expect("set before run");
    ///     format!("{}", hits.0.fetch_add(1, Ordering::Relaxed) + 1)
    /// })
    /// .unwrap();
    /// assert_eq!(app.get_state::<Hits>().unwrap().0.load(Ordering::Relaxed), 0);
    /// ```
    pub fn state<T: Send + Sync + 'static>(&self, value: T) -> Result<(), Error> {
        let mut setup = self.setup_mut("state")?;
        let id = TypeId::of::<T>();
        setup.state.retain(|(t, _)| *t != id);
        setup.state.push((id, Arc::new(value)));
        Ok(())
    }

    /// The app-wide value of type `T`, if set.
    ///
    /// # Examples
    ///
    /// See [`state`](Self::state).
    pub fn get_state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let id = TypeId::of::<T>();
        let value = self
            .setup()
            .state
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, v)| Arc::clone(v))?;
        value.downcast::<T>().ok()
    }

    /// Sets the factory of the per-worker value of type `T`: each worker
    /// calls it once, the first time it asks for the value.
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use sanio::{App, Request};
    ///
    /// // Not `Send`: each worker has its own.
    /// struct Served(Cell<u64>);
    ///
    /// let app = App::new("demo");
    /// app.worker_state(|| Served(Cell::new(0))).unwrap();
    /// app.get("/served", |req: Request| async move {
    ///     let served = req.worker_state::<Served>().expect("a factory is set");
    ///     served.0.set(served.0.get() + 1);
    ///     format!("{} on this worker", served.0.get())
    /// })
    /// .unwrap();
    /// ```
    pub fn worker_state<T, F>(&self, factory: F) -> Result<(), Error>
    where
        T: 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        let mut setup = self.setup_mut("worker state")?;
        let id = TypeId::of::<T>();
        setup.worker_state.retain(|(t, _)| *t != id);
        let factory: WorkerFactory = Arc::new(move || Rc::new(factory()) as Rc<dyn Any>);
        setup.worker_state.push((id, factory));
        Ok(())
    }

    /// This worker's value of type `T`, made by its factory on first use;
    /// `None` without a factory or off the app's loops.
    ///
    /// # Examples
    ///
    /// See [`worker_state`](Self::worker_state).
    pub fn get_worker_state<T: 'static>(&self) -> Option<Rc<T>> {
        let local = local::try_local(self)?;
        let id = TypeId::of::<T>();
        let found = local
            .worker_state
            .borrow()
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, v)| Rc::clone(v));
        let value = match found {
            Some(value) => value,
            None => {
                let factory = self
                    .setup()
                    .worker_state
                    .iter()
                    .find(|(t, _)| *t == id)
                    .map(|(_, f)| Arc::clone(f))?;
                // Called with no borrow held: the factory may use the app.
                let value = factory();
                local
                    .worker_state
                    .borrow_mut()
                    .push((id, Rc::clone(&value)));
                value
            }
        };
        value.downcast::<T>().ok()
    }
}

impl Request {
    /// The app-wide value of type `T` (see [`App::state`]).
    ///
    /// # Panics
    ///
    /// As [`app`](Self::app): for a request no app routed.
    ///
    /// # Examples
    ///
    /// See [`App::state`].
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.app().get_state::<T>()
    }

    /// This worker's value of type `T` (see [`App::worker_state`]).
    ///
    /// # Panics
    ///
    /// As [`app`](Self::app): for a request no app routed.
    ///
    /// # Examples
    ///
    /// See [`App::worker_state`].
    pub fn worker_state<T: 'static>(&self) -> Option<Rc<T>> {
        self.app().get_worker_state::<T>()
    }
}
