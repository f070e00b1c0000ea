//! `Config`: where to listen, how many workers, limits and timeouts.

use std::time::Duration;

use super::env::{self, EnvError, Vars};
use crate::http::Limits;

/// Server settings, with Sanic's defaults.
///
/// `Config::default()` reads nothing from the environment;
/// [`Config::from_env`] starts from the defaults and applies every
/// `SANIO_*` variable that is set.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let config = sanio::Config::default()
///     .host("127.0.0.1")
///     .port(0)
///     .workers(2)
///     .graceful_timeout(Duration::from_secs(5));
/// assert_eq!(config.get_workers(), 2);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Address to bind.
    pub(crate) host: String,
    /// Port to bind; 0 lets the OS choose.
    pub(crate) port: u16,
    /// Worker threads, each with its own loop (at least 1).
    pub(crate) workers: usize,
    /// Listen backlog.
    pub(crate) backlog: i32,
    /// One `SO_REUSEPORT` socket per worker (else one shared socket).
    pub(crate) reuse_port: bool,
    /// How long a graceful stop may take: in-flight requests, then task
    /// cleanup; the stop listeners get a quarter of it per phase on top.
    pub(crate) graceful_timeout: Duration,
    /// How long a graceful stop keeps accepting and serving, not ready,
    /// before it stops accepting.
    pub(crate) drain_delay: Duration,
    /// HTTP limits and timeouts.
    pub(crate) limits: Limits,
    /// Log one line per request through `log` (target `sanio::access`).
    pub(crate) access_log: bool,
    /// Install SIGINT/SIGTERM handlers in `run` (first: graceful stop,
    /// second: exit at once).
    pub(crate) handle_signals: bool,
    /// WebSocket settings.
    #[cfg(feature = "ws")]
    pub(crate) websocket: crate::ws::WsConfig,
    /// The Redis to join a cluster through (feature `redis`).
    #[cfg(feature = "redis")]
    pub(crate) redis_url: Option<String>,
    /// Prefix of the cluster's Redis channels and keys.
    #[cfg(feature = "redis")]
    pub(crate) redis_prefix: String,
    /// How long a cluster singleton's lease lasts without renewal.
    #[cfg(feature = "redis")]
    pub(crate) redis_lease_ttl: Duration,
    /// TLS settings; `None` serves plain HTTP.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::net::TlsConfig>,
    /// Built from `tls` when the app starts and shared by its workers;
    /// a reload swaps the certificate inside it.
    #[cfg(feature = "tls")]
    pub(crate) tls_acceptor: Option<std::sync::Arc<crate::net::tls::TlsAcceptor>>,
    /// How long a question to every worker (list, find or cancel a task
    /// anywhere, a task dump) waits for the answers.
    pub(crate) task_query_timeout: Duration,
    /// Whether a task name is unique across the workers of the process.
    pub(crate) unique_task_names: bool,
    /// What a task's panic does unless the task says otherwise.
    pub(crate) task_panic_policy: super::PanicPolicy,
    /// Log every worker's task tree on SIGUSR1 (in `run`).
    pub(crate) dump_on_sigusr1: bool,
    /// The slow-poll threshold of each worker's loop, if set (else the
    /// runtime's default, 100 ms).
    pub(crate) slow_poll_threshold: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            workers: 1,
            backlog: 1024,
            reuse_port: true,
            graceful_timeout: Duration::from_secs(15),
            drain_delay: Duration::ZERO,
            limits: Limits::default(),
            access_log: false,
            handle_signals: true,
            #[cfg(feature = "ws")]
            websocket: crate::ws::WsConfig::default(),
            #[cfg(feature = "redis")]
            redis_url: None,
            #[cfg(feature = "redis")]
            redis_prefix: "sanio".to_owned(),
            #[cfg(feature = "redis")]
            redis_lease_ttl: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_acceptor: None,
            task_query_timeout: super::remote::DEFAULT_QUERY_TIMEOUT,
            unique_task_names: false,
            task_panic_policy: super::PanicPolicy::Report,
            dump_on_sigusr1: false,
            slow_poll_threshold: None,
        }
    }
}

impl Config {
    /// The defaults, then every `SANIO_*` variable that is set (the
    /// README lists them all: durations in seconds, sizes in bytes or with
    /// a `K`/`M` suffix, switches as `1`/`0`, `true`/`false`, `on`/`off`).
    ///
    /// # Errors
    ///
    /// [`EnvError`](crate::app::EnvError) naming the first variable whose
    /// value is malformed; a bad value is never replaced by a default.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sanio::Config::from_env()?;
    /// assert!(config.get_workers() >= 1);
    /// # Ok::<(), sanio::app::EnvError>(())
    /// ```
    pub fn from_env() -> Result<Self, EnvError> {
        let vars = Vars::new(|name: &str| std::env::var(name).ok());
        env::apply(Self::default(), &vars)
    }

    /// Like [`from_env`](Self::from_env), but the variables come from
    /// `vars` (a `.env` file read by the caller, a test) instead of the
    /// process environment.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sanio::Config::from_vars([("SANIO_PORT", "9000"), ("SANIO_MAX_BODY_BYTES", "1M")])?;
    /// assert_eq!(config.get_port(), 9000);
    /// # Ok::<(), sanio::app::EnvError>(())
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.into()))
            .collect();
        let lookup = Vars::new(|name: &str| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        });
        env::apply(Self::default(), &lookup)
    }

    /// Sets the address to bind.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Config::default().host("0.0.0.0").get_host(), "0.0.0.0");
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Sets the port (0: the OS chooses; see `Server::local_addr`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Config::default().port(9000).get_port(), 9000);
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the number of worker threads (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Config::default().workers(0).get_workers(), 1);
    /// ```
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Sets the listen backlog.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().backlog(4096);
    /// ```
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }

    /// One `SO_REUSEPORT` socket per worker (`true`, the default) or one
    /// shared socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().reuse_port(false);
    /// ```
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// Sets how long a graceful stop may take (15 s by default).
    ///
    /// Counted from the stop: `before_server_stop` listeners, in-flight
    /// requests and websockets, then the cleanup of cancelled tasks, all
    /// within this time; what is still running at its end is dropped. The
    /// listeners of each stop phase (`before_server_stop`,
    /// `after_server_stop`, `main_process_stop`) share a quarter of it
    /// each; one that overruns is dropped and logged by name. A worker thus
    /// stops within 1.25 × this timeout and `run` returns within 1.5 × it,
    /// plus a few timer ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().graceful_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn graceful_timeout(mut self, timeout: Duration) -> Self {
        self.graceful_timeout = timeout;
        self
    }

    /// Sets the drain delay (none by default): at a graceful stop, the
    /// time during which the app says it is not ready (503 from the
    /// readiness route of [`App::add_health_routes`](crate::App::add_health_routes))
    /// while it still accepts connections and serves requests as usual, so
    /// that a load balancer polling readiness stops sending before
    /// connections are refused or closed. Set it to the balancer's check
    /// interval times its failure threshold. The graceful timeout starts
    /// after it. A second [`App::stop`](crate::App::stop) ends it early
    /// (a second SIGINT/SIGTERM exits at once, as always).
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().drain_delay(std::time::Duration::from_secs(5));
    /// ```
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// Sets how long a question to every worker waits for their answers
    /// (2 s by default): [`App::tasks_everywhere`](super::App::tasks_everywhere),
    /// [`App::cancel_task_anywhere`](super::App::cancel_task_anywhere) and
    /// the task dump. A stuck worker delays them by at most this long.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().task_query_timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn task_query_timeout(mut self, timeout: Duration) -> Self {
        self.task_query_timeout = timeout;
        self
    }

    /// Makes a task name unique across the workers of the process (off by
    /// default: as in Sanic, each worker has its own names). With it on, a
    /// named task added on one worker is refused with
    /// [`Error::TaskNameTaken`](super::Error::TaskNameTaken) while a live
    /// task of that name runs on any worker, and a named factory added
    /// before `run` starts on the first worker that gets to it only.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().workers(4).unique_task_names(true);
    /// ```
    pub fn unique_task_names(mut self, on: bool) -> Self {
        self.unique_task_names = on;
        self
    }

    /// Sets what a task's panic does, for every task that does not say
    /// otherwise ([`PanicPolicy::Report`](super::PanicPolicy::Report) by
    /// default; see [`TaskBuilder::on_panic`](super::TaskBuilder::on_panic)).
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().task_panic_policy(sanio::PanicPolicy::StopApp);
    /// ```
    pub fn task_panic_policy(mut self, policy: super::PanicPolicy) -> Self {
        self.task_panic_policy = policy;
        self
    }

    /// Logs every worker's task tree (see
    /// [`AppTaskDump::text`](super::AppTaskDump::text)) at info level each
    /// time the process gets SIGUSR1, while `run` or `serve` runs (off by
    /// default).
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().dump_on_sigusr1(true);
    /// ```
    pub fn dump_on_sigusr1(mut self, on: bool) -> Self {
        self.dump_on_sigusr1 = on;
        self
    }

    /// Sets the slow-poll threshold of every worker's loop: a single poll
    /// of a task longer than this is logged with the task's name and spawn
    /// location and counted in its
    /// [`TaskDump::slow_polls`](crate::rt::TaskDump::slow_polls). Without
    /// it, the runtime's default (100 ms) applies, timed in debug builds
    /// and, in release builds, once a dump was taken; setting it times
    /// polls in release builds too (two clock reads per poll). An app
    /// attached to a host's runtime ([`App::attach`](super::App::attach))
    /// uses that runtime's threshold
    /// ([`Runtime::with_slow_poll_threshold`](crate::Runtime::with_slow_poll_threshold)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let _config = sanio::Config::default().slow_poll_threshold(Duration::from_millis(20));
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Self {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Sets the HTTP limits and timeouts.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().limits(sanio::Limits::default());
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Turns the access log on or off (off by default): one `log` record
    /// per request, target `sanio::access`, level info.
    ///
    /// **Nothing is printed until the application installs a `log` logger**
    /// (sanio installs none). The quickest is one line,
    /// [`sanio::log_to_stderr`](crate::log_to_stderr); any `log` logger
    /// (`env_logger`, ...) works.
    ///
    /// # Examples
    ///
    /// ```
    /// sanio::log_to_stderr(log::LevelFilter::Info).ok();
    /// let _config = sanio::Config::default().access_log(true);
    /// ```
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Joins the cluster through the Redis at `url`
    /// (`redis://[user[:password]@]host[:port][/db]`; also
    /// `SANIO_REDIS_URL` in [`from_env`](Self::from_env)). Feature `redis`;
    /// see [`app::cluster`](crate::app::cluster).
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().redis("redis://127.0.0.1:6379/0");
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Sets the prefix of the cluster's channels and keys (`sanio` by
    /// default): instances with the same prefix form one cluster.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().redis_prefix("shop");
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.redis_prefix = prefix.into();
        self
    }

    /// Sets how long a cluster singleton's lease lasts without renewal (10 s
    /// by default, at least 300 ms): the takeover time after a holder dies.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let _config = sanio::Config::default().redis_lease_ttl(Duration::from_secs(5));
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_lease_ttl(mut self, ttl: Duration) -> Self {
        self.redis_lease_ttl = ttl.max(Duration::from_millis(300));
        self
    }

    /// Whether `run` installs SIGINT/SIGTERM handlers (on by default).
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().handle_signals(false);
    /// ```
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = on;
        self
    }

    /// Sets the WebSocket settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let _config = sanio::Config::default().websocket(sanio::WsConfig::default());
    /// ```
    #[cfg(feature = "ws")]
    pub fn websocket(mut self, websocket: crate::ws::WsConfig) -> Self {
        self.websocket = websocket;
        self
    }

    /// Serves HTTPS (and WSS) with these TLS settings (feature `tls`).
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = sanio::TlsConfig::from_pem_files("tests/data/cert.pem", "tests/data/key.pem")?;
    /// let config = sanio::Config::default().port(8443).tls(tls);
    /// assert!(config.get_tls().is_some());
    /// # Ok::<(), sanio::TlsError>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::net::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The TLS settings, if HTTPS is on.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Config::default().get_tls().is_none());
    /// ```
    #[cfg(feature = "tls")]
    pub fn get_tls(&self) -> Option<&crate::net::TlsConfig> {
        self.tls.as_ref()
    }

    /// The address to bind.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Config::default().get_host(), "127.0.0.1");
    /// ```
    pub fn get_host(&self) -> &str {
        &self.host
    }

    /// The port to bind.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Config::default().get_port(), 8000);
    /// ```
    pub fn get_port(&self) -> u16 {
        self.port
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Config::default().get_workers(), 1);
    /// ```
    pub fn get_workers(&self) -> usize {
        self.workers
    }
}
