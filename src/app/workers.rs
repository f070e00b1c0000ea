//! Running an app: `run` (blocking, the caller is worker 0), `serve`
//! (in the background, for tests and embedding), and `stop`.
//!
//! ```text
//! caller thread: main_process_start -> bind -> start workers 1..N-1 -> worker 0
//!                -> join workers -> main_process_stop
//! ```

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::listeners::Lifecycle;
use super::local::{self, try_local, Role};
use super::server::{run_worker, WorkerSpec};
use super::{App, Config, Error, Routes};
use crate::net::ListenOptions;
use crate::rt::Runtime;

/// A server started by [`App::serve`]: where it listens, and how to stop
/// and join it.
///
/// Dropping it stops the server and waits for it.
///
/// # Examples
///
/// ```
/// use sanio::{App, Config, Request};
///
/// let app = App::new("demo");
/// app.get("/", |_req: Request| async { "Hello, World!" }).unwrap();
/// let server = app.serve(Config::default().port(0)).unwrap();
/// assert_ne!(server.local_addr().port(), 0);
/// server.stop();
/// server.join().unwrap();
/// ```
#[derive(Debug)]
pub struct Server {
    /// The app being served.
    app: App,
    /// The bound address.
    addr: SocketAddr,
    /// The worker threads.
    threads: Vec<JoinHandle<Result<(), Error>>>,
    /// Logs the task tree on SIGUSR1, if the config asked for it.
    dump_on_signal: Option<super::dump::DumpOnSignal>,
}

impl Server {
    /// The address the server listens on.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Asks every worker to stop gracefully; returns at once.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub fn stop(&self) {
        self.app.stop();
    }

    /// Waits for every worker to stop, then runs `main_process_stop`.
    ///
    /// # Errors
    ///
    /// The first worker error (a failing start listener, ...), or
    /// [`Error::TaskPanicked`] when a task's panic policy stopped the app.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub fn join(mut self) -> Result<(), Error> {
        self.join_inner()
    }

    /// Joins the threads and runs the main-process stop listeners once.
    fn join_inner(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        for (index, thread) in self.threads.drain(..).enumerate() {
            let joined = thread.join().unwrap_or(Err(Error::WorkerPanicked(index)));
            if result.is_ok() {
                result = joined;
            }
        }
        self.dump_on_signal = None; // uninstalled before the next run
        let stopped = self.app.finish_run();
        result.and(stopped)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.app.stop();
            if let Err(err) = self.join_inner() {
                log::error!("server stopped with an error: {err}");
            }
        }
    }
}

impl App {
    /// Runs the app until it is stopped (`app.stop()`, SIGINT or SIGTERM):
    /// `main_process_start` on this thread, then the workers (this thread is
    /// worker 0; workers 1..N-1 are threads named `sanio-worker-N`), then
    /// `main_process_stop`. A second SIGINT or SIGTERM exits at once, with
    /// the status a shell gives a process that signal ended (130 for
    /// SIGINT, 143 for SIGTERM).
    ///
    /// # Errors
    ///
    /// A bind error, a failing start listener, a worker's error, or
    /// [`Error::TaskPanicked`] when a task's panic policy stopped the app.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let app = sanio::App::new("demo");
    /// app.get("/", |_req: sanio::Request| async { "Hello, World!" }).unwrap();
    /// app.run(sanio::Config::from_env().unwrap()).unwrap();
    /// ```
    pub fn run(&self, config: Config) -> Result<(), Error> {
        let signals = if config.handle_signals {
            Some(StopOnSignal::install(self, reloads_on_hangup(&config))?)
        } else {
            None
        };
        let mut server = self.start(config, false)?;
        let spec = server
            .1
            .take()
            .expect("start(.., false) keeps worker 0 for the caller");
        let result = run_worker(self, spec);
        // `join` runs `main_process_stop` and returns a task's panic that
        // stopped the app.
        let joined = server.0.join();
        drop(signals);
        result.and(joined)
    }

    /// Starts the app in the background, every worker on its own thread,
    /// and returns once the socket is bound. Tests use port 0 and
    /// [`Server::local_addr`].
    ///
    /// Tasks added before `serve` should be factories: a plain future added
    /// before `run` runs on worker 0, the calling thread, but `serve` starts
    /// no worker on the calling thread, so such futures are dropped with a
    /// warning.
    ///
    /// # Errors
    ///
    /// A bind error or a failing `main_process_start` listener.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub fn serve(&self, config: Config) -> Result<Server, Error> {
        Ok(self.start(config, true)?.0)
    }

    /// Drops, with a warning, the plain futures kept on this thread: no
    /// worker of `serve` runs here.
    fn drop_futures_for_serve(&self) {
        let dropped = self.drop_thread_kept_futures();
        if dropped > 0 {
            log::warn!(
                "{dropped} plain future(s) added before serve() will not run: every \
                 worker of serve() runs on its own thread, and a future cannot move \
                 there; add a factory instead (a closure returning the future)"
            );
        }
    }

    /// Asks every worker to stop gracefully. Callable from any thread, any
    /// number of times; returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// sanio::App::new("demo").stop(); // not running: nothing to do
    /// ```
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        for handle in self.loops() {
            let app = self.clone();
            let _ = handle.spawn(async move {
                if let Some(local) = try_local(&app) {
                    local.stop.request();
                }
            });
        }
    }

    /// Freezes the setup, runs `main_process_start`, binds and starts the
    /// workers; keeps worker 0 for the caller unless `all_threads`.
    pub(super) fn start(
        &self,
        config: Config,
        all_threads: bool,
    ) -> Result<(Server, Option<WorkerSpec>), Error> {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyRunning);
        }
        self.inner.stopping.store(false, Ordering::Release);
        super::lock(&self.inner.stop_reports).clear();
        let started = self.start_inner(config, all_threads);
        if started.is_err() {
            self.inner.running.store(false, Ordering::Release);
        }
        started
    }

    /// The body of [`start`](Self::start).
    fn start_inner(
        &self,
        config: Config,
        all_threads: bool,
    ) -> Result<(Server, Option<WorkerSpec>), Error> {
        Runtime::new()?.block_on(async {
            // Tasks added here are kept for the workers, as before `run`.
            local::install(self, Role::MainProcess);
            let started = self.run_listeners(Lifecycle::MainProcessStart).await;
            local::remove(self);
            started
        })?;
        if all_threads {
            self.drop_futures_for_serve();
        }
        let listeners = bind(&config)?;
        let addr = listeners[0].local_addr()?;
        log::info!(
            "{} listening on http://{addr} with {} worker(s)",
            self.name(),
            config.workers
        );
        #[cfg(feature = "tls")]
        let config = with_tls_acceptor(config)?;
        let dump_on_signal = if config.dump_on_sigusr1 {
            Some(super::dump::DumpOnSignal::install(self)?)
        } else {
            None
        };
        let config = Arc::new(config);
        *super::lock(&self.inner.config) = Some(Arc::clone(&config));
        let routes: Arc<Routes> = self.frozen_routes();
        let mut specs = listeners
            .into_iter()
            .enumerate()
            .map(|(index, listener)| WorkerSpec {
                index,
                listener,
                config: Arc::clone(&config),
                routes: Arc::clone(&routes),
            });
        let kept = if all_threads { None } else { specs.next() };
        let mut threads = Vec::new();
        for spec in specs {
            let app = self.clone();
            let thread = std::thread::Builder::new()
                .name(format!("sanio-worker-{}", spec.index))
                .spawn(move || run_worker(&app, spec))?;
            threads.push(thread);
        }
        let server = Server {
            app: self.clone(),
            addr,
            threads,
            dump_on_signal,
        };
        Ok((server, kept))
    }

    /// Runs `main_process_stop` (within its share of the graceful timeout)
    /// and unfreezes the setup; [`Error::TaskPanicked`] if a task's panic
    /// policy stopped the app.
    pub(super) fn finish_run(&self) -> Result<(), Error> {
        let graceful = self.running_config().map_or_else(
            || Config::default().graceful_timeout,
            |c| c.graceful_timeout,
        );
        let share = super::listeners::stop_share(graceful);
        let result = Runtime::new()
            .map(|rt| rt.block_on(self.run_stop_listeners(Lifecycle::MainProcessStop, share)));
        self.inner.running.store(false, Ordering::Release);
        if let Some(reason) = self.take_fatal() {
            return Err(Error::TaskPanicked(reason));
        }
        Ok(result?)
    }
}

/// Binds one socket per worker (`SO_REUSEPORT`) or one shared socket.
fn bind(config: &Config) -> Result<Vec<std::net::TcpListener>, Error> {
    let target = format!("{}:{}", config.host, config.port);
    let bind_error = |source| Error::Bind {
        addr: target.clone(),
        source,
    };
    let addr = target
        .to_socket_addrs()
        .map_err(bind_error)?
        .next()
        .ok_or_else(|| bind_error(std::io::ErrorKind::AddrNotAvailable.into()))?;
    let reuse_port = config.reuse_port && config.workers > 1;
    let options = ListenOptions::new()
        .backlog(config.backlog)
        .reuse_port(reuse_port);
    let first = options.bind_std(addr).map_err(bind_error)?;
    let bound = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..config.workers {
        let next = if reuse_port {
            options.bind_std(bound).map_err(bind_error)?
        } else {
            listeners[0].try_clone()?
        };
        listeners.push(next);
    }
    Ok(listeners)
}

/// The exit status of a process ended by `signal`, as a shell reports it:
/// 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// Builds the TLS acceptor the workers share, so that a bad certificate
/// stops the start.
#[cfg(feature = "tls")]
fn with_tls_acceptor(mut config: Config) -> Result<Config, Error> {
    if let Some(tls) = &config.tls {
        let acceptor = crate::net::tls::TlsAcceptor::new(tls).map_err(Error::Tls)?;
        config.tls_acceptor = Some(Arc::new(acceptor));
    }
    Ok(config)
}

/// Whether SIGHUP reloads the certificate: when the app serves TLS.
fn reloads_on_hangup(config: &Config) -> bool {
    #[cfg(feature = "tls")]
    return config.tls.is_some();
    #[cfg(not(feature = "tls"))]
    {
        let _ = config;
        false
    }
}

/// SIGHUP: reads the certificate files again; a failure keeps the old one.
fn reload_on_hangup(app: &App) {
    #[cfg(feature = "tls")]
    match app.reload_tls() {
        Ok(()) => log::info!("SIGHUP: certificate reloaded"),
        Err(err) => log::error!("SIGHUP: certificate not reloaded, the old one stays: {err}"),
    }
    #[cfg(not(feature = "tls"))]
    let _ = app;
}

/// Stops the app on the first SIGINT/SIGTERM and exits on the second, from
/// a small thread of its own; uninstalls itself when dropped.
struct StopOnSignal {
    /// Closes the signal iterator.
    handle: signal_hook::iterator::Handle,
    /// The thread waiting for signals.
    thread: Option<JoinHandle<()>>,
}

impl StopOnSignal {
    /// Installs the handlers.
    fn install(app: &App, hangup: bool) -> Result<Self, Error> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        if hangup {
            signals.add_signal(SIGHUP)?;
        }
        let handle = signals.handle();
        let app = app.clone();
        let thread = std::thread::Builder::new()
            .name("sanio-signals".into())
            .spawn(move || {
                let mut received = 0;
                for signal in signals.forever() {
                    if signal == SIGHUP {
                        reload_on_hangup(&app);
                        continue;
                    }
                    received += 1;
                    if received == 1 {
                        log::info!("signal {signal}: stopping gracefully (again to exit now)");
                        app.stop();
                    } else {
                        log::warn!("signal {signal} again: exiting now");
                        std::process::exit(exit_code(signal));
                    }
                }
            })?;
        Ok(Self {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for StopOnSignal {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
