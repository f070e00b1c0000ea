//! Leases and cluster singletons.
//!
//! A [`Lease`] is a Redis key set with `SET key token NX PX ttl`: whoever
//! set it holds it until it expires, unless renewed. Renewal and release
//! are scripts that first compare the token, so a holder that lost its
//! lease (it paused past the ttl and another took over) cannot extend or
//! delete the new holder's key.
//!
//! A cluster singleton is a task factory run on worker 0 of the instance
//! holding its lease: contenders retry every third of the ttl; the holder
//! renews every third of the ttl and stops the task when renewal fails for
//! a whole ttl (it may have lost the lease). A graceful stop cancels the
//! task and deletes the key at once, so a contender takes over on its next
//! try instead of waiting for expiry; after `kill -9` the key expires
//! within the ttl.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::bridge::{or_cancelled, CONNECT_LIMIT};
use super::conn::{Connection, Frame, RedisError, RedisUrl};
use super::{backoff, Settings};
use crate::app::task_types::LocalFuture;
use crate::app::{lock, App, Error};
use crate::rt;

/// Extends the key's ttl if it still holds our token.
const EXTEND: &[u8] = b"if redis.call('get', KEYS[1]) == ARGV[1] then \
    return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/// Deletes the key if it still holds our token.
const RELEASE: &[u8] = b"if redis.call('get', KEYS[1]) == ARGV[1] then \
    return redis.call('del', KEYS[1]) else return 0 end";

/// A held lease on a Redis key.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use sanio::app::cluster::Lease;
///
/// sanio::Runtime::new().unwrap().block_on(async {
///     let url = "redis://127.0.0.1:6379/0";
///     if let Some(mut lease) = Lease::acquire(url, "jobs:nightly", Duration::from_secs(10)).await? {
///         // ... work, calling `lease.renew()` well within the ttl ...
///         assert!(lease.renew().await?);
///         lease.release().await?;
///     }
///     Ok::<_, sanio::app::cluster::RedisError>(())
/// }).unwrap();
/// ```
pub struct Lease {
    /// Where Redis is, to reconnect.
    url: RedisUrl,
    /// The connection, `None` after a failure.
    conn: Option<Connection>,
    /// The key.
    key: String,
    /// Our random token, the key's value.
    token: String,
    /// How long the key lives without renewal.
    ttl: Duration,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// Tries once to take the lease on `key` for `ttl`: `Some` if taken,
    /// `None` if another holds it.
    ///
    /// # Errors
    ///
    /// [`RedisError`] for a bad URL or when Redis cannot be reached.
    ///
    /// # Examples
    ///
    /// See [`Lease`].
    pub async fn acquire(url: &str, key: &str, ttl: Duration) -> Result<Option<Lease>, RedisError> {
        Self::acquire_parsed(&RedisUrl::parse(url)?, key, ttl).await
    }

    /// [`acquire`](Self::acquire) with a parsed URL.
    pub(crate) async fn acquire_parsed(
        url: &RedisUrl,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, RedisError> {
        let mut conn = Connection::open(url, CONNECT_LIMIT).await?;
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let millis = ttl.as_millis().max(1).to_string();
        let reply = conn
            .call(&[
                b"SET",
                key.as_bytes(),
                token.as_bytes(),
                b"NX",
                b"PX",
                millis.as_bytes(),
            ])
            .await?;
        match reply {
            Frame::SimpleString(ok) if ok == b"OK" => Ok(Some(Lease {
                url: url.clone(),
                conn: Some(conn),
                key: key.to_owned(),
                token,
                ttl,
            })),
            Frame::Null => Ok(None),
            other => Err(RedisError::Unexpected(format!("{other:?}"))),
        }
    }

    /// The key this lease holds.
    ///
    /// # Examples
    ///
    /// See [`Lease`].
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Runs a compare-and-something script; reconnects once if needed.
    async fn script(&mut self, script: &[u8], extra: &[u8]) -> Result<bool, RedisError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self
                .conn
                .insert(Connection::open(&self.url, CONNECT_LIMIT).await?),
        };
        let args: [&[u8]; 6] = [
            b"EVAL",
            script,
            b"1",
            self.key.as_bytes(),
            self.token.as_bytes(),
            extra,
        ];
        let call = conn.call(&args);
        match rt::timeout(CONNECT_LIMIT, call).await {
            Ok(Ok(Frame::Integer(n))) => Ok(n == 1),
            Ok(Ok(other)) => Err(RedisError::Unexpected(format!("{other:?}"))),
            Ok(Err(err)) => {
                self.conn = None;
                Err(err)
            }
            Err(_) => {
                self.conn = None;
                Err(RedisError::Timeout)
            }
        }
    }

    /// Extends the lease by its ttl from now. `Ok(false)`: it was lost
    /// (expired, and maybe taken by another).
    ///
    /// # Errors
    ///
    /// [`RedisError`] when Redis cannot be reached (the lease may still be
    /// held until its ttl runs out).
    ///
    /// # Examples
    ///
    /// See [`Lease`].
    pub async fn renew(&mut self) -> Result<bool, RedisError> {
        let millis = self.ttl.as_millis().max(1).to_string();
        self.script(EXTEND, millis.as_bytes()).await
    }

    /// Gives the lease up at once. `Ok(false)`: it was already lost.
    ///
    /// # Errors
    ///
    /// [`RedisError`] when Redis cannot be reached (the key then expires
    /// within the ttl).
    ///
    /// # Examples
    ///
    /// See [`Lease`].
    pub async fn release(mut self) -> Result<bool, RedisError> {
        self.script(RELEASE, b"").await
    }
}

/// Makes a singleton's future.
pub(crate) type SingletonFactory = Arc<dyn Fn(App) -> LocalFuture<()> + Send + Sync>;

/// A registered cluster singleton.
#[derive(Clone)]
pub(crate) struct Singleton {
    /// Its name (and lease key suffix).
    pub(crate) name: String,
    /// Makes the task each time this instance takes the lease.
    pub(crate) factory: SingletonFactory,
}

/// How a held turn ended.
enum Turn {
    /// The task returned.
    Finished,
    /// Renewal failed: the lease may be someone else's.
    Lost,
    /// The app stops.
    Stopped,
}

/// Contends for a singleton's lease and runs it while holding it, until
/// the task returns or the app stops.
pub(crate) async fn run_singleton(app: App, settings: Settings, singleton: Singleton) {
    let key = format!("{}:lease:{}", settings.prefix, singleton.name);
    let ttl = settings.lease_ttl;
    let mut attempt = 0;
    loop {
        let acquired = or_cancelled(pin!(Lease::acquire_parsed(&settings.url, &key, ttl))).await;
        let lease = match acquired {
            None => return,
            Some(Ok(Some(lease))) => lease,
            Some(Ok(None)) => {
                attempt = 0;
                if or_cancelled(pin!(rt::sleep(ttl / 3))).await.is_none() {
                    return;
                }
                continue;
            }
            Some(Err(err)) => {
                log::warn!("singleton {}: {err}", singleton.name);
                attempt += 1;
                if or_cancelled(pin!(rt::sleep(backoff(attempt))))
                    .await
                    .is_none()
                {
                    return;
                }
                continue;
            }
        };
        log::info!("singleton {}: lease taken, running", singleton.name);
        lock(&app.cluster().held).push(singleton.name.clone());
        let (turn, lease) = hold(&app, &singleton, lease).await;
        lock(&app.cluster().held).retain(|name| name != &singleton.name);
        match turn {
            Turn::Lost => log::warn!("singleton {}: lease lost, stopped", singleton.name),
            Turn::Finished | Turn::Stopped => {
                if let Err(err) = lease.release().await {
                    log::warn!("singleton {}: release failed: {err}", singleton.name);
                }
                return;
            }
        }
    }
}

/// Runs the task while renewing the lease.
async fn hold(app: &App, singleton: &Singleton, mut lease: Lease) -> (Turn, Lease) {
    let ttl = lease.ttl;
    let mut task = (singleton.factory)(app.clone());
    let mut cancelled = pin!(rt::cancelled());
    let mut renewed_at = Instant::now();
    loop {
        let mut tick = pin!(rt::sleep(ttl / 3));
        let woke = poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Turn::Stopped));
            }
            if task.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Turn::Finished));
            }
            tick.as_mut().poll(cx).map(|()| None)
        })
        .await;
        if let Some(turn) = woke {
            return (turn, lease);
        }
        match lease.renew().await {
            Ok(true) => renewed_at = Instant::now(),
            Ok(false) => return (Turn::Lost, lease),
            Err(err) => {
                log::warn!("singleton {}: renewal failed: {err}", singleton.name);
                if renewed_at.elapsed() >= ttl {
                    return (Turn::Lost, lease);
                }
            }
        }
    }
}

impl App {
    /// Registers a task that runs on **one** worker of **one** instance in
    /// the cluster: worker 0 of the instance holding the lease
    /// `<prefix>:lease:<name>`. When that instance stops gracefully the
    /// lease is released at once and another instance takes over on its
    /// next try (a third of the lease ttl); when it dies, within the ttl.
    /// Without a Redis URL in the config the task does not run.
    ///
    /// The factory is called each time this instance takes the lease; the
    /// task is dropped if the lease is lost. The tasks API gives the same
    /// placement: `app.task(name).singleton(Singleton::Cluster)` (see
    /// [`Singleton::Cluster`](crate::Singleton::Cluster)).
    ///
    /// # Errors
    ///
    /// [`Error::Frozen`] once the app runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.add_cluster_singleton("nightly", |app: sanio::App| async move {
    ///     loop {
    ///         let _ = app.dispatch_cluster("jobs.nightly.tick", None);
    ///         sanio::sleep(std::time::Duration::from_secs(60)).await;
    ///     }
    /// })
    /// .unwrap();
    /// ```
    pub fn add_cluster_singleton<F, Fut>(&self, name: &str, factory: F) -> Result<(), Error>
    where
        F: Fn(App) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        if self.is_running() {
            return Err(Error::Frozen("a cluster singleton"));
        }
        let factory: SingletonFactory = Arc::new(move |app| Box::pin(factory(app)));
        lock(&self.cluster().singletons).push(Singleton {
            name: name.to_owned(),
            factory,
        });
        Ok(())
    }
}
