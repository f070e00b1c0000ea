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
//! renews every third of the ttl and stops the task before the lease it
//! last secured could run out (see `hold` for the safety argument). A
//! graceful stop cancels the task and deletes the key at once, so a
//! contender takes over on its next try instead of waiting for expiry;
//! after `kill -9` the key expires within the ttl.
//!
//! Not covered: clocks that run at different rates or jump (on the Redis
//! host or on an instance) by more than the margin of a third of the ttl,
//! and work the singleton handed to other tasks, which is not stopped with
//! it.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::rt::WaitCancelled;

use super::bridge::CONNECT_LIMIT;
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
    /// When the last successful `SET` or extend was sent: the key lives at
    /// least until this plus the ttl (on a clock that runs at our rate).
    valid_from: Instant,
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
        // Taken before sending: the key cannot expire before this plus the ttl.
        let sent_at = rt::now();
        let args: [&[u8]; 6] = [
            b"SET",
            key.as_bytes(),
            token.as_bytes(),
            b"NX",
            b"PX",
            millis.as_bytes(),
        ];
        let set = conn.call(&args);
        let reply = rt::timeout(CONNECT_LIMIT, set)
            .await
            .map_err(|_| RedisError::Timeout)??;
        match reply {
            Frame::SimpleString(ok) if ok == b"OK" => Ok(Some(Lease {
                url: url.clone(),
                conn: Some(conn),
                key: key.to_owned(),
                token,
                ttl,
                valid_from: sent_at,
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
    /// Connecting and the call each take at most `limit`.
    async fn script(
        &mut self,
        script: &[u8],
        extra: &[u8],
        limit: Duration,
    ) -> Result<bool, RedisError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(Connection::open(&self.url, limit).await?),
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
        match rt::timeout(limit, call).await {
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
        self.renew_within(CONNECT_LIMIT).await
    }

    /// [`renew`](Self::renew) that gives up after `limit` in all (a
    /// reconnect included), with [`RedisError::Timeout`].
    async fn renew_within(&mut self, limit: Duration) -> Result<bool, RedisError> {
        let millis = self.ttl.as_millis().max(1).to_string();
        let sent_at = rt::now();
        let extended = rt::timeout(limit, self.script(EXTEND, millis.as_bytes(), limit)).await;
        match extended {
            Ok(Ok(true)) => {
                self.valid_from = sent_at;
                Ok(true)
            }
            Ok(other) => other,
            Err(_) => {
                self.conn = None;
                Err(RedisError::Timeout)
            }
        }
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
        self.script(RELEASE, b"", CONNECT_LIMIT).await
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
    /// The task returned (or panicked: logged and reported).
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
    let mut attempt: u32 = 0;
    loop {
        let acquired = rt::cancellable(Lease::acquire_parsed(&settings.url, &key, ttl)).await;
        let lease = match acquired {
            Err(_cancelled) => return,
            Ok(Ok(Some(lease))) => lease,
            Ok(Ok(None)) => {
                attempt = 0;
                if rt::cancellable(rt::sleep(ttl / 3)).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Err(err)) => {
                log::warn!("singleton {}: {err}", singleton.name);
                attempt = attempt.saturating_add(1);
                if rt::cancellable(rt::sleep(backoff(attempt))).await.is_err() {
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
///
/// Safety argument (one holder at a time). Each successful `SET` or extend
/// was sent at `valid_from` (read before sending), so Redis set the expiry
/// no earlier than `valid_from + ttl`: no other instance can take the key
/// before then. The holder stops its task (drops it, and checks before
/// each poll of it) at `valid_from + ttl - margin`, the margin being a
/// third of the ttl, and each renew is given only the validity left, so a
/// slow or failing Redis cannot keep the task running past that point.
/// The margin absorbs a late timer on a busy loop and small differences in
/// clock rates; clocks drifting or jumping by more than it are not covered.
async fn hold(app: &App, singleton: &Singleton, mut lease: Lease) -> (Turn, Lease) {
    let ttl = lease.ttl;
    let margin = ttl / 3;
    let mut task = (singleton.factory)(app.clone());
    let mut cancelled = pin!(rt::cancelled());
    let mut next_renew = lease.valid_from + ttl / 3;
    loop {
        let stop_at = lease.valid_from + ttl - margin;
        let tick = pin!(rt::sleep_until(next_renew.min(stop_at)));
        if let Err(turn) = race(app, singleton, stop_at, cancelled.as_mut(), &mut task, tick).await
        {
            return (turn, lease);
        }
        let now = rt::now();
        if now >= stop_at {
            return (Turn::Lost, lease);
        }
        let renewed = {
            let renew = pin!(lease.renew_within(stop_at - now));
            race(
                app,
                singleton,
                stop_at,
                cancelled.as_mut(),
                &mut task,
                renew,
            )
            .await
        };
        match renewed {
            Err(turn) => return (turn, lease),
            Ok(Ok(true)) => next_renew = lease.valid_from + ttl / 3,
            Ok(Ok(false)) => return (Turn::Lost, lease),
            Ok(Err(err)) => {
                log::warn!("singleton {}: renewal failed: {err}", singleton.name);
                next_renew = rt::now() + ttl / 12;
            }
        }
    }
}

/// Runs `other` while polling the cancel and the task: `Err` with how the
/// turn ended if the app stops, the task returns or `stop_at` passes
/// first (then the task is not polled again). A panic of the task is
/// caught, logged, reported and put to the app's panic policy, and ends
/// the turn as finished, so the lease is released.
async fn race<F: Future>(
    app: &App,
    singleton: &Singleton,
    stop_at: Instant,
    mut cancelled: std::pin::Pin<&mut WaitCancelled>,
    task: &mut LocalFuture<()>,
    mut other: std::pin::Pin<&mut F>,
) -> Result<F::Output, Turn> {
    poll_fn(|cx| {
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(Turn::Stopped));
        }
        if rt::now() >= stop_at {
            return Poll::Ready(Err(Turn::Lost));
        }
        match rt::poll_catching(task, cx) {
            Poll::Ready(Ok(())) => return Poll::Ready(Err(Turn::Finished)),
            Poll::Ready(Err(payload)) => {
                let message = rt::panic_message(&*payload);
                let label = format!("cluster singleton {}", singleton.name);
                log::error!("{label} panicked: {message}");
                app.report_exception(format!("{label} panicked: {message}"));
                app.stop_for_panic(app.panic_policy(), &label, &message);
                return Poll::Ready(Err(Turn::Finished));
            }
            Poll::Pending => {}
        }
        other.as_mut().poll(cx).map(Ok)
    })
    .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// A "Redis" that accepts connections (through the backlog) and never
    /// answers.
    fn stalled_redis() -> (std::net::TcpListener, RedisUrl) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = RedisUrl::parse(&format!("redis://127.0.0.1:{port}")).unwrap();
        (listener, url)
    }

    /// A lease just taken on `url`, without a connection yet.
    fn lease(url: RedisUrl, ttl: Duration) -> Lease {
        Lease {
            url,
            conn: None,
            key: "test:lease".to_owned(),
            token: "token".to_owned(),
            ttl,
            valid_from: rt::now(),
        }
    }

    /// A singleton that counts its one-second ticks and notes its drop.
    fn counting_singleton(ticks: Arc<AtomicU32>, dropped: Arc<AtomicBool>) -> Singleton {
        struct OnDrop(Arc<AtomicBool>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let factory: SingletonFactory = Arc::new(move |_app| {
            let ticks = ticks.clone();
            let guard = OnDrop(dropped.clone());
            Box::pin(async move {
                let _guard = guard;
                loop {
                    rt::sleep(Duration::from_secs(1)).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
        });
        Singleton {
            name: "test".to_owned(),
            factory,
        }
    }

    #[test]
    fn a_holder_stops_before_its_last_secured_lease_can_expire() {
        let (_listener, url) = stalled_redis();
        let ttl = Duration::from_secs(9);
        let ticks = Arc::new(AtomicU32::new(0));
        let dropped = Arc::new(AtomicBool::new(false));
        let singleton = counting_singleton(ticks.clone(), dropped.clone());
        let rt = crate::Runtime::new().unwrap().with_paused_clock();
        rt.block_on(async {
            let lease = lease(url, ttl);
            let taken = lease.valid_from;
            let (turn, _lease) = hold(&App::new("t"), &singleton, lease).await;
            assert!(matches!(turn, Turn::Lost));
            // Stopped at taken + ttl - ttl/3 at the latest, well before
            // another instance could take the key at taken + ttl.
            assert!(
                rt::now() <= taken + ttl - ttl / 3,
                "{:?}",
                rt::now() - taken
            );
        });
        assert!(dropped.load(Ordering::SeqCst), "the task was not dropped");
        // The task kept running while the (stalled) renew was in flight:
        // it ticked past the first renew at 3 s.
        assert!(ticks.load(Ordering::SeqCst) >= 4, "{ticks:?}");
    }

    #[test]
    fn a_stop_is_seen_during_a_stalled_renew() {
        let (_listener, url) = stalled_redis();
        let ttl = Duration::from_secs(30);
        let ticks = Arc::new(AtomicU32::new(0));
        let dropped = Arc::new(AtomicBool::new(false));
        let singleton = counting_singleton(ticks, dropped.clone());
        let rt = crate::Runtime::new().unwrap().with_paused_clock();
        rt.block_on(async {
            let lease = lease(url, ttl);
            let taken = lease.valid_from;
            let holder = rt::spawn(async move {
                let (turn, _lease) = hold(&App::new("t"), &singleton, lease).await;
                matches!(turn, Turn::Stopped)
            });
            // The first renew starts at 10 s and stalls.
            rt::sleep(Duration::from_secs(11)).await;
            holder.cancel();
            assert_eq!(holder.await, Ok(true));
            // Seen at once, not after the renew's limit.
            assert!(rt::now() - taken < Duration::from_secs(12));
        });
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[test]
    fn acquire_gives_up_on_a_stalled_redis() {
        let (_listener, url) = stalled_redis();
        let rt = crate::Runtime::new().unwrap().with_paused_clock();
        rt.block_on(async {
            let acquired = Lease::acquire_parsed(&url, "test:lease", Duration::from_secs(9)).await;
            assert!(matches!(acquired, Err(RedisError::Timeout)), "{acquired:?}");
        });
    }

    #[test]
    fn a_panicking_singleton_ends_its_turn_as_finished() {
        let (_listener, url) = stalled_redis();
        let singleton = Singleton {
            name: "test".to_owned(),
            factory: Arc::new(|_app| {
                Box::pin(async {
                    rt::sleep(Duration::from_secs(1)).await;
                    panic!("boom");
                })
            }),
        };
        let rt = crate::Runtime::new().unwrap().with_paused_clock();
        rt.block_on(async {
            let lease = lease(url, Duration::from_secs(9));
            // Finished, not unwound: `run_singleton` then releases the lease.
            let (turn, _lease) = hold(&App::new("t"), &singleton, lease).await;
            assert!(matches!(turn, Turn::Finished));
        });
    }

    #[test]
    fn cluster_singletons_refuse_a_restart_policy() {
        use crate::{Backoff, PanicPolicy, Restart, Singleton};
        let app = App::new("t");
        let task = || app.task("nightly").singleton(Singleton::Cluster);
        let refused = [
            task().restart(Restart::Always).add_task(|| async {}),
            task()
                .backoff(Backoff::new(Duration::from_secs(1), Duration::from_secs(2)))
                .add_task(|| async {}),
            task()
                .max_restarts(3, Duration::from_secs(60))
                .add_task(|| async {}),
            task().on_panic(PanicPolicy::StopApp).add_task(|| async {}),
        ];
        for result in refused {
            assert!(
                matches!(result, Err(Error::ClusterSingletonPolicy(ref name)) if name == "nightly"),
                "{result:?}"
            );
        }
        assert!(lock(&app.cluster().singletons).is_empty());
        assert!(task().add_task(|| async {}).unwrap().is_none());
        assert_eq!(lock(&app.cluster().singletons).len(), 1);
    }
}
