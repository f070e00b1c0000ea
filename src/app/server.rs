//! One worker: its loop, its listener, its connections, and its graceful
//! stop.
//!
//! A worker's life, on its own thread and loop:
//!
//! 1. `before_server_start` listeners, then the tasks added before `run`;
//! 2. accept connections (each served by its own task) and run
//!    `after_server_start` listeners;
//! 3. wait for a stop (`app.stop()`, a signal, or a failing start listener
//!    on any worker); readiness is off from here on (`App::health`);
//! 4. drain: with a drain delay configured, go on accepting and serving
//!    for that long (or until a second stop), so that a balancer polling
//!    readiness stops sending before connections are refused;
//! 5. stop accepting, run `before_server_stop`, tell connections to finish
//!    (idle ones close, in-flight ones answer with `Connection: close`,
//!    websockets get a 1001 close and their handlers a cancel), wait for
//!    them until the graceful timeout (counted from the stop) is over,
//!    then cancel the rest with no grace: they are dropped at once;
//! 6. cancel the worker's tasks (`shutdown_tasks`) with the time left, run
//!    `after_server_stop`.
//!
//! Each of the two stop-listener phases is bounded by a quarter of the
//! graceful timeout (see `listeners.rs`), so a worker's stop takes at most
//! the drain delay plus 1.25 × the graceful timeout, plus a few timer ticks, whatever its
//! listeners, connections and tasks do.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handler::AppService;
use super::listeners::{stop_share, Lifecycle};
use super::local::{self, Local};
use super::{App, Config, Error, Routes};
use crate::http::{serve_connection, Limits, Shutdown};
use crate::net::TcpListener;
use crate::rt::sync::Notify;
use crate::rt::{self, Runtime, TaskRef};

/// What a worker needs to start.
pub(crate) struct WorkerSpec {
    /// 0 for the thread that called `run`.
    pub(crate) index: usize,
    /// The listening socket (its own with `SO_REUSEPORT`, else a clone).
    pub(crate) listener: std::net::TcpListener,
    /// Settings.
    pub(crate) config: Arc<Config>,
    /// Frozen routes.
    pub(crate) routes: Arc<Routes>,
}

/// The stop signal of one worker.
#[derive(Default)]
pub(crate) struct StopSignal {
    /// How many stops were asked for: the first starts the graceful stop,
    /// the second cuts its drain short.
    requested: Cell<u32>,
    /// Wakes the worker's main future.
    notify: Notify,
}

impl StopSignal {
    /// Asks the worker to stop (again).
    pub(crate) fn request(&self) {
        self.requested.set(self.requested.get().saturating_add(1));
        self.notify.notify_waiters();
    }

    /// Waits until `count` stops were asked for.
    async fn requested(&self, count: u32) {
        while self.requested.get() < count {
            self.notify.notified().await;
        }
    }
}

/// Runs one worker to its end on the current thread.
pub(crate) fn run_worker(app: &App, spec: WorkerSpec) -> Result<(), Error> {
    let mut runtime = Runtime::new()?.with_grace_period(spec.config.graceful_timeout);
    if let Some(threshold) = spec.config.slow_poll_threshold {
        runtime = runtime.with_slow_poll_threshold(threshold);
    }
    let result = runtime.block_on(worker(app.clone(), spec));
    drop(runtime);
    result
}

/// One worker's life on the current loop, as a future: the body of
/// [`run_worker`], and what `App::attach` spawns on a host's runtime.
pub(crate) async fn worker(app: App, spec: WorkerSpec) -> Result<(), Error> {
    let local = local::install(&app, local::Role::Worker(spec.index));
    let result = serve(&app, &local, spec).await;
    if result.is_err() {
        app.stop(); // never a half-started app
    }
    local::remove(&app);
    result
}

/// Steps 1 to 6 of the module doc.
async fn serve(app: &App, local: &Rc<Local>, spec: WorkerSpec) -> Result<(), Error> {
    let (graceful, index) = (spec.config.graceful_timeout, spec.index);
    app.run_listeners(Lifecycle::BeforeServerStart).await?;
    app.start_deferred_tasks(local)?;
    #[cfg(feature = "redis")]
    if index == 0 {
        super::cluster::start(app, &spec.config)?;
    }
    let listener = TcpListener::from_std(spec.listener)?;
    let shutdown = Shutdown::new();
    let service = Rc::new(AppService {
        app: app.clone(),
        routes: spec.routes,
        access_log: spec.config.access_log,
        app_ext: Rc::new(app.clone()),
        local: Rc::clone(local),
        lifecycle_handlers: app.has_signal_handlers("http.lifecycle.request")
            || app.has_signal_handlers("http.lifecycle.response"),
    });
    let limits = Rc::new(spec.config.limits.clone());
    let acceptor = rt::spawn(accept_loop(
        Accepting::new(listener, &spec.config),
        Rc::clone(&service),
        limits,
        shutdown.clone(),
        Rc::clone(local),
    ));
    if app
        .inner
        .stopping
        .load(std::sync::atomic::Ordering::Acquire)
    {
        local.stop.request();
    }
    let started = app.run_listeners(Lifecycle::AfterServerStart).await;
    if started.is_ok() {
        local.stop.requested(1).await;
        drain(local, index, spec.config.drain_delay).await;
    }
    log::info!("worker {}: stopping", index);
    acceptor.cancel();
    let deadline = rt::now() + graceful;
    let share = stop_share(graceful);
    app.run_stop_listeners(Lifecycle::BeforeServerStop, share)
        .await;
    shutdown.trigger();
    #[cfg(feature = "ws")]
    local.websockets.close_all();
    local.connections.finish_by(deadline).await;
    let left = deadline.saturating_duration_since(rt::now());
    let live = local.tasks.live();
    app.shutdown_tasks(left.max(Duration::from_millis(10)))
        .await;
    super::leaks::report(app, local, &live);
    app.run_stop_listeners(Lifecycle::AfterServerStop, share)
        .await;
    log::info!("worker {}: stopped", index);
    started
}

/// Step 4: readiness is already off (the app's stop flag); keeps the
/// acceptor and the connections running for `delay`, or until a second
/// stop is asked for.
async fn drain(local: &Local, index: usize, delay: Duration) {
    if delay.is_zero() {
        return;
    }
    log::info!("worker {index}: draining for {delay:?} (not ready, still serving)");
    let mut second_stop = std::pin::pin!(local.stop.requested(2));
    let mut over = std::pin::pin!(rt::sleep(delay));
    std::future::poll_fn(|cx| {
        if second_stop.as_mut().poll(cx).is_ready() || over.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Accepts connections and serves each on its own task until cancelled.
async fn accept_loop(
    listener: Accepting,
    service: Rc<AppService>,
    limits: Rc<Limits>,
    shutdown: Shutdown,
    local: Rc<Local>,
) {
    loop {
        let (stream, peer) = match listener.tcp.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                log::error!("accept failed: {err}");
                rt::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if let Err(err) = stream.set_nodelay(true) {
            log::debug!("{peer}: cannot set TCP_NODELAY: {err}");
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &listener.tls {
            let handshake = handshake_then_serve(
                Arc::clone(tls),
                stream,
                peer,
                Rc::clone(&service),
                Rc::clone(&limits),
                shutdown.clone(),
                Rc::clone(&local),
            );
            local.connections.add(rt::spawn(handshake).task_ref());
            continue;
        }
        // Spawned as it is, with no `async` wrapper: a wrapper would hold
        // the connection's future twice over and double an idle
        // connection's memory.
        let served = serve_connection(
            stream,
            peer,
            Rc::clone(&service),
            Rc::clone(&limits),
            shutdown.clone(),
        );
        local.connections.add(rt::spawn(served).task_ref());
    }
}

/// The listening socket, and the TLS acceptor when the app serves HTTPS.
struct Accepting {
    /// The socket.
    tcp: TcpListener,
    /// Runs each connection's handshake first.
    #[cfg(feature = "tls")]
    tls: Option<Arc<crate::net::tls::TlsAcceptor>>,
}

impl Accepting {
    /// The socket, with the config's acceptor.
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
    fn new(tcp: TcpListener, config: &Config) -> Self {
        Self {
            tcp,
            #[cfg(feature = "tls")]
            tls: config.tls_acceptor.clone(),
        }
    }
}

/// Runs the TLS handshake (bounded by its timeout, and given up when the
/// worker stops), then serves the connection on a task of its own, spawned
/// bare as above (this task ends, so an idle TLS connection does not keep
/// the handshake's state); a failed handshake is logged and closed.
#[cfg(feature = "tls")]
async fn handshake_then_serve(
    tls: Arc<crate::net::tls::TlsAcceptor>,
    stream: crate::net::TcpStream,
    peer: std::net::SocketAddr,
    service: Rc<AppService>,
    limits: Rc<Limits>,
    shutdown: Shutdown,
    local: Rc<Local>,
) {
    use std::future::Future;
    use std::task::Poll;
    let accepted = {
        let mut handshake = std::pin::pin!(tls.accept(stream, peer));
        let mut stopping = std::pin::pin!(shutdown.triggered());
        std::future::poll_fn(|cx| match handshake.as_mut().poll(cx) {
            Poll::Ready(accepted) => Poll::Ready(accepted),
            Poll::Pending if stopping.as_mut().poll(cx).is_ready() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await
    };
    if let Some(stream) = accepted {
        let served = serve_connection(stream, peer, service, limits, shutdown);
        local.connections.add(rt::spawn(served).task_ref());
    }
}

/// The connection tasks of one worker (an upgraded connection's task
/// included), which a graceful stop waits for.
#[derive(Default)]
pub(crate) struct Connections {
    /// Connection tasks; ended ones are dropped as new ones come.
    tasks: RefCell<Vec<TaskRef>>,
}

impl Connections {
    /// Tracks a connection task. Ended tasks are forgotten whenever the
    /// list doubles, so it stays within twice the open connections.
    pub(crate) fn add(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        if tasks.len() >= 64 && tasks.len().is_power_of_two() {
            tasks.retain(|task| !task.is_finished());
        }
        tasks.push(task);
    }

    /// Waits for every connection to end, cancelling those still open at
    /// `deadline`.
    async fn finish_by(&self, deadline: Instant) {
        let open: Vec<TaskRef> = std::mem::take(&mut *self.tasks.borrow_mut())
            .into_iter()
            .filter(|task| !task.is_finished())
            .collect();
        let all_ended = async {
            for task in &open {
                task.finished().await;
            }
        };
        let left = deadline.saturating_duration_since(rt::now());
        if rt::timeout(left, all_ended).await.is_err() {
            let still_open: Vec<&TaskRef> = open.iter().filter(|t| !t.is_finished()).collect();
            log::warn!(
                "cancelling {} connections still open after the graceful timeout",
                still_open.len()
            );
            for task in &still_open {
                task.cancel_with_grace("server shutdown", Duration::ZERO);
            }
            for task in &still_open {
                task.finished().await;
            }
        }
    }
}
