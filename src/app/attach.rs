//! An app on a runtime the host drives: [`App::attach`] and [`Attached`].
//!
//! `run` and `serve` own their threads and loops. A host program that owns
//! its main loop (and turns a [`Runtime`] with [`Runtime::turn`]) instead
//! attaches the app to its runtime as **one worker**: `attach` runs
//! `main_process_start`, binds the socket, and spawns the worker (listeners,
//! tasks, accept loop, graceful stop) as a task on the host's runtime;
//! nothing runs until the host turns the loop. [`Attached::stop`] asks for
//! the graceful stop; the host keeps turning until
//! [`Attached::is_finished`]; [`Attached::finish`] then runs
//! `main_process_stop`.

use std::net::SocketAddr;

use super::server::worker;
use super::{App, Config, Error};
use crate::rt::{JoinHandle, Runtime};

/// An app attached to a host-driven runtime by [`App::attach`].
///
/// Dropping it without [`finish`](Self::finish) asks the app to stop, but
/// `main_process_stop` does not run and the app stays marked as running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sanio::{App, Config, Request};
///
/// let app = App::new("embedded");
/// app.get("/", |_req: Request| async { "Hello, World!" })?;
/// let rt = sanio::Runtime::new()?;
/// let attached = app.attach(&rt, Config::default().port(0))?;
/// assert_ne!(attached.local_addr().port(), 0);
/// // The host's own loop: turn, do other work, turn again...
/// rt.turn(Some(Duration::ZERO))?;
/// attached.stop();
/// while !attached.is_finished() {
///     rt.turn(Some(Duration::from_millis(10)))?;
/// }
/// attached.finish(&rt)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Attached {
    /// The app.
    app: App,
    /// The bound address.
    addr: SocketAddr,
    /// The worker, a task on the host's runtime; `None` once finished.
    worker: Option<JoinHandle<Result<(), Error>>>,
}

impl App {
    /// Attaches the app to `rt` as one worker (`config.workers` is ignored)
    /// and returns once the socket is bound: `main_process_start` runs
    /// here; `before_server_start`, the tasks, serving and the rest run as
    /// the host turns `rt` ([`Runtime::turn`] or `block_on`). Signals are
    /// the host's business: none are handled.
    ///
    /// Call it outside the loop (not from a task of `rt`).
    ///
    /// # Errors
    ///
    /// A bind error, a failing `main_process_start` listener, or
    /// [`Error::Frozen`] if the app is already running.
    ///
    /// # Examples
    ///
    /// See [`Attached`].
    pub fn attach(&self, rt: &Runtime, config: Config) -> Result<Attached, Error> {
        let mut config = config;
        config.workers = 1;
        let (server, spec) = self.start(config, false)?;
        let addr = server.local_addr();
        drop(server); // no worker threads: dropping it does nothing
        let Some(spec) = spec else {
            return Err(Error::Frozen("attach without a worker"));
        };
        let worker = rt.spawn(worker(self.clone(), spec));
        Ok(Attached {
            app: self.clone(),
            addr,
            worker: Some(worker),
        })
    }
}

impl Attached {
    /// The address the app listens on.
    ///
    /// # Examples
    ///
    /// See [`Attached`].
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Asks the worker to stop gracefully (as [`App::stop`]); it stops as
    /// the host keeps turning the loop. Returns at once.
    ///
    /// # Examples
    ///
    /// See [`Attached`].
    pub fn stop(&self) {
        self.app.stop();
    }

    /// Whether the worker has ended (stopped, or failed to start).
    ///
    /// # Examples
    ///
    /// See [`Attached`].
    pub fn is_finished(&self) -> bool {
        match &self.worker {
            Some(worker) => worker.is_finished(),
            None => true,
        }
    }

    /// Stops the worker if it still runs, drives `rt` until it has ended,
    /// then runs `main_process_stop`.
    ///
    /// # Errors
    ///
    /// The worker's error (a failing listener, say), a failing
    /// `main_process_stop` listener, or [`Error::TaskPanicked`] when a
    /// task's panic policy stopped the app.
    ///
    /// # Panics
    ///
    /// Called from inside a running loop, as [`Runtime::block_on`].
    ///
    /// # Examples
    ///
    /// See [`Attached`].
    pub fn finish(mut self, rt: &Runtime) -> Result<(), Error> {
        let Some(worker) = self.worker.take() else {
            return Ok(());
        };
        if !worker.is_finished() {
            self.app.stop();
        }
        let result = match rt.block_on(worker) {
            Ok(result) => result,
            Err(_) => Err(Error::WorkerPanicked(0)),
        };
        let stopped = self.app.finish_run();
        result.and(stopped)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if self.worker.is_some() {
            log::warn!("an attached app was dropped without finish(): main_process_stop skipped");
            self.app.stop();
        }
    }
}
