//! Beyond one machine (feature `redis`): cluster events, leases and
//! singletons across instances, through one Redis.
//!
//! An *instance* is one process running an [`App`] (with its
//! workers). Every instance joins when its [`Config`] names
//! a Redis URL ([`Config::redis`](crate::Config::redis) or
//! `SANIO_REDIS_URL`).
//!
//! - **Events** ([`App::dispatch_cluster`](crate::App::dispatch_cluster)):
//!   published on the channel `<prefix>:events`; the bridge of every
//!   instance (the sender's too) receives it and feeds it to
//!   `dispatch_all`, so each worker of each instance sees it once, tagged
//!   with [`Event::origin`](crate::Event::origin). Delivery is
//!   **at-most-once**: while Redis is unreachable a cluster dispatch is
//!   refused with [`ClusterError::Disconnected`] and events published
//!   meanwhile do not reach the disconnected instance; local dispatch keeps
//!   working, and the bridge reconnects on its own.
//! - **Leases** ([`Lease`]): `SET key token NX PX ttl`, renewed and
//!   released with compare-and-extend / compare-and-delete scripts, so only
//!   the holder touches its key.
//! - **Singletons** ([`App::add_cluster_singleton`](crate::App::add_cluster_singleton)):
//!   a task that runs on worker 0 of the one instance holding its lease.
//!
//! Files: `conn.rs` (URL, errors, one RESP connection), `bridge.rs` (the
//! events task), `lease.rs` (leases and singletons).

mod bridge;
mod conn;
mod lease;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

pub use conn::{RedisError, RedisUrl};
pub use lease::Lease;

pub(crate) use lease::Singleton;

use super::{lock, App, Config, Error};

/// How many published events may wait for the bridge to send them.
pub(crate) const OUTBOX_LIMIT: usize = 4096;

/// How many bytes the published events waiting for the bridge may take in
/// all (16 events of the largest size).
pub(crate) const OUTBOX_BYTES: usize = 16 * MAX_EVENT_BYTES;

/// The most bytes one cluster event may carry in its message and payload
/// together; a larger one is refused with [`ClusterError::TooLarge`] (and
/// one that arrives larger from Redis is logged and dropped).
///
/// # Examples
///
/// ```
/// use sanio::app::cluster::{ClusterError, MAX_EVENT_BYTES};
///
/// let app = sanio::App::new("demo");
/// let big = vec![0; MAX_EVENT_BYTES + 1];
/// let err = app.dispatch_cluster_bytes("my.custom.event", None, big).unwrap_err();
/// assert!(matches!(err, ClusterError::TooLarge(n) if n == MAX_EVENT_BYTES + 1));
/// ```
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The payload of a cluster event, as it crossed the wire: bytes, which
/// [`json`](Self::json) reads as a type of yours. Every receiver of a
/// [`dispatch_cluster_bytes`](App::dispatch_cluster_bytes) or
/// [`dispatch_cluster_json`](App::dispatch_cluster_json) finds it with
/// [`Event::payload`](crate::Event::payload)`::<ClusterPayload>()`, on
/// every instance (the sender's too): a cluster payload is always bytes,
/// since an instance cannot share a Rust value with another process.
///
/// # Examples
///
/// ```
/// use sanio::app::cluster::ClusterPayload;
///
/// fn order_id(event: &sanio::Event) -> Option<u64> {
///     let payload = event.payload::<ClusterPayload>()?;
///     let order: serde_json::Value = payload.json().ok()?;
///     order["id"].as_u64()
/// }
/// # let _ = order_id;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPayload(Vec<u8>);

impl ClusterPayload {
    /// Wraps bytes received from the wire.
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes as sent.
    ///
    /// # Examples
    ///
    /// See [`ClusterPayload`].
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes read as JSON into a `T`.
    ///
    /// # Errors
    ///
    /// The bytes are not JSON for a `T` (the sender used another type, or
    /// [`dispatch_cluster_bytes`](App::dispatch_cluster_bytes)).
    ///
    /// # Examples
    ///
    /// See [`ClusterPayload`].
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.0)
    }
}

/// Why a cluster operation was refused.
///
/// # Examples
///
/// ```
/// let app = sanio::App::new("demo");
/// let err = app.dispatch_cluster("my.custom.event", None).unwrap_err();
/// assert!(matches!(err, sanio::app::cluster::ClusterError::Disconnected));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClusterError {
    /// The event name is invalid or reserved.
    Event(Error),
    /// The bridge is not connected to Redis (not configured, not started
    /// yet, or in an outage): the event was not sent.
    Disconnected,
    /// The outgoing queue is full, by count or by bytes (Redis is slower
    /// than the dispatches).
    QueueFull,
    /// Talking to Redis failed.
    Redis(RedisError),
    /// The message and payload are over [`MAX_EVENT_BYTES`].
    TooLarge(usize),
    /// The payload could not be written as JSON.
    #[cfg(feature = "json")]
    Json(serde_json::Error),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Event(err) => write!(f, "{err}"),
            Self::Disconnected => f.write_str("not connected to Redis: cluster event not sent"),
            Self::QueueFull => write!(
                f,
                "cluster outbox full ({OUTBOX_LIMIT} events or {OUTBOX_BYTES} bytes): \
                 cluster event not sent"
            ),
            Self::Redis(err) => write!(f, "{err}"),
            Self::TooLarge(bytes) => write!(
                f,
                "cluster event of {bytes} bytes is over the limit of {MAX_EVENT_BYTES}: not sent"
            ),
            #[cfg(feature = "json")]
            Self::Json(err) => write!(f, "cluster payload not written as JSON: {err}"),
        }
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Event(err) => Some(err),
            Self::Redis(err) => Some(err),
            #[cfg(feature = "json")]
            Self::Json(err) => Some(err),
            _ => None,
        }
    }
}

impl From<RedisError> for ClusterError {
    fn from(err: RedisError) -> Self {
        Self::Redis(err)
    }
}

/// What an app's clones share about the cluster.
pub(crate) struct Shared {
    /// This instance's id, the origin of its events.
    pub(crate) instance: Arc<str>,
    /// Whether the bridge is connected (both connections up).
    pub(crate) connected: AtomicBool,
    /// Events waiting for the bridge, and the bridge's waker.
    outbox: Mutex<Outbox>,
    /// Singletons registered before `run`.
    pub(crate) singletons: Mutex<Vec<Singleton>>,
    /// Names of the singletons this instance holds now.
    pub(crate) held: Mutex<Vec<String>>,
}

/// The bounded queue from `dispatch_cluster` to the bridge.
#[derive(Default)]
struct Outbox {
    /// Encoded event payloads, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// The bytes in `queue`, at most [`OUTBOX_BYTES`].
    bytes: usize,
    /// Wakes the bridge when an event comes.
    waker: Option<Waker>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            instance: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)).into(),
            connected: AtomicBool::new(false),
            outbox: Mutex::default(),
            singletons: Mutex::default(),
            held: Mutex::default(),
        }
    }
}

impl Shared {
    /// Queues a payload and wakes the bridge.
    fn push(&self, payload: Vec<u8>) -> Result<(), ClusterError> {
        let mut outbox = lock(&self.outbox);
        let bytes = outbox.bytes.saturating_add(payload.len());
        if outbox.queue.len() >= OUTBOX_LIMIT || bytes > OUTBOX_BYTES {
            return Err(ClusterError::QueueFull);
        }
        outbox.bytes = bytes;
        outbox.queue.push_back(payload);
        if let Some(waker) = outbox.waker.take() {
            waker.wake();
        }
        Ok(())
    }

    /// The next payload, or `None` after storing the waker.
    pub(crate) fn poll_next(&self, waker: &Waker) -> Option<Vec<u8>> {
        let mut outbox = lock(&self.outbox);
        let next = outbox.pop();
        if next.is_none() {
            outbox.waker = Some(waker.clone());
        }
        next
    }

    /// The next payload, if one is queued.
    pub(crate) fn try_next(&self) -> Option<Vec<u8>> {
        lock(&self.outbox).pop()
    }

    /// Drops everything queued (an outage: at-most-once).
    pub(crate) fn clear(&self) -> usize {
        let mut outbox = lock(&self.outbox);
        let dropped = outbox.queue.len();
        outbox.queue.clear();
        outbox.bytes = 0;
        dropped
    }
}

impl Outbox {
    /// Takes the oldest payload off the queue.
    fn pop(&mut self) -> Option<Vec<u8>> {
        let next = self.queue.pop_front()?;
        self.bytes -= next.len();
        Some(next)
    }
}

/// Starts the bridge and the singletons on this worker (worker 0) when
/// the config names a Redis URL.
pub(crate) fn start(app: &App, config: &Config) -> Result<(), Error> {
    let Some(url) = &config.redis_url else {
        return Ok(());
    };
    let url = RedisUrl::parse(url)
        .map_err(|err| Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, err)))?;
    let settings = Settings {
        url,
        prefix: config.redis_prefix.clone(),
        lease_ttl: config.redis_lease_ttl,
    };
    app.add_task(bridge::run(app.clone(), settings.clone()))?;
    let singletons = lock(&app.cluster().singletons).clone();
    for singleton in singletons {
        app.add_task(lease::run_singleton(
            app.clone(),
            settings.clone(),
            singleton,
        ))?;
    }
    Ok(())
}

/// The cluster part of a run's config.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Where Redis is.
    pub(crate) url: RedisUrl,
    /// Prefix of every channel and key.
    pub(crate) prefix: String,
    /// How long a lease lasts without renewal.
    pub(crate) lease_ttl: Duration,
}

/// Reconnect delays: the supervisor's [`Backoff`](crate::Backoff) from
/// 100 ms doubling up to 5 s, with jitter so that instances do not
/// reconnect in step.
pub(crate) fn backoff(attempt: u32) -> Duration {
    crate::Backoff::new(Duration::from_millis(100), Duration::from_secs(5)).delay(attempt)
}

impl App {
    /// What this app shares about the cluster.
    pub(crate) fn cluster(&self) -> &Shared {
        &self.inner.cluster
    }

    /// This instance's id: the [`Event::origin`](crate::Event::origin) of
    /// the cluster events it sends.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// assert!(!app.instance_id().is_empty());
    /// assert_eq!(app.instance_id(), app.clone().instance_id());
    /// ```
    pub fn instance_id(&self) -> &str {
        &self.cluster().instance
    }

    /// Whether this instance's bridge is connected to Redis now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sanio::App::new("demo").cluster_connected());
    /// ```
    pub fn cluster_connected(&self) -> bool {
        self.cluster().connected.load(Ordering::Acquire)
    }

    /// Dispatches `name` (with an optional message) on every worker of
    /// every instance in the cluster, this one included, from any thread.
    /// Each worker sees it once, with [`Event::origin`](crate::Event::origin)
    /// set to the sending instance.
    ///
    /// At-most-once: refused while the bridge is disconnected, and lost by
    /// any instance that is disconnected when it is published.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Event`] for a bad name,
    /// [`ClusterError::Disconnected`], [`ClusterError::QueueFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// // Not running, not connected: refused, not queued.
    /// assert!(app.dispatch_cluster("my.custom.event", Some("hi")).is_err());
    /// ```
    pub fn dispatch_cluster(&self, name: &str, message: Option<&str>) -> Result<(), ClusterError> {
        self.publish(name, message, None)
    }

    /// Like [`dispatch_cluster`](Self::dispatch_cluster), with a payload of
    /// bytes that every receiver reads back with
    /// [`Event::payload`](crate::Event::payload)`::<`[`ClusterPayload`]`>()`.
    ///
    /// # Errors
    ///
    /// As [`dispatch_cluster`](Self::dispatch_cluster), and
    /// [`ClusterError::TooLarge`] over [`MAX_EVENT_BYTES`].
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// assert!(app.dispatch_cluster_bytes("my.custom.event", None, vec![1, 2, 3]).is_err());
    /// ```
    pub fn dispatch_cluster_bytes(
        &self,
        name: &str,
        message: Option<&str>,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), ClusterError> {
        self.publish(name, message, Some(&payload.into()))
    }

    /// Like [`dispatch_cluster`](Self::dispatch_cluster), with `payload`
    /// written as JSON: every receiver reads it back with
    /// [`ClusterPayload::json`].
    ///
    /// # Errors
    ///
    /// As [`dispatch_cluster_bytes`](Self::dispatch_cluster_bytes), and
    /// [`ClusterError::Json`] if `payload` cannot be written as JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// let order = serde_json::json!({"id": 7});
    /// // Not running, not connected: refused, not queued.
    /// assert!(app.dispatch_cluster_json("shop.order.placed", None, &order).is_err());
    /// ```
    #[cfg(feature = "json")]
    pub fn dispatch_cluster_json<T: serde::Serialize + ?Sized>(
        &self,
        name: &str,
        message: Option<&str>,
        payload: &T,
    ) -> Result<(), ClusterError> {
        let bytes = serde_json::to_vec(payload).map_err(ClusterError::Json)?;
        self.publish(name, message, Some(&bytes))
    }

    /// Checks and queues one event for the bridge.
    fn publish(
        &self,
        name: &str,
        message: Option<&str>,
        payload: Option<&[u8]>,
    ) -> Result<(), ClusterError> {
        super::signals::validate_user(name, false).map_err(ClusterError::Event)?;
        let size = message.map_or(0, str::len) + payload.map_or(0, <[u8]>::len);
        if size > MAX_EVENT_BYTES {
            return Err(ClusterError::TooLarge(size));
        }
        if !self.cluster_connected() {
            return Err(ClusterError::Disconnected);
        }
        let event = bridge::encode_event(self.instance_id(), name, message, payload)?;
        self.cluster().push(event)
    }

    /// The names of the cluster singletons running on this instance now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::App::new("demo").cluster_singletons_held().is_empty());
    /// ```
    pub fn cluster_singletons_held(&self) -> Vec<String> {
        lock(&self.cluster().held).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_is_bounded_and_cleared_in_an_outage() {
        let shared = Shared::default();
        for _ in 0..OUTBOX_LIMIT {
            shared.push(b"x".to_vec()).unwrap();
        }
        assert!(matches!(
            shared.push(b"y".to_vec()),
            Err(ClusterError::QueueFull)
        ));
        assert_eq!(shared.clear(), OUTBOX_LIMIT);
        shared.push(b"z".to_vec()).unwrap();
    }

    #[test]
    fn the_outbox_is_bounded_by_bytes() {
        let shared = Shared::default();
        let big = vec![0; MAX_EVENT_BYTES];
        for _ in 0..OUTBOX_BYTES / MAX_EVENT_BYTES {
            shared.push(big.clone()).unwrap();
        }
        // Far below the count limit, but over the byte budget.
        assert!(matches!(
            shared.push(b"y".to_vec()),
            Err(ClusterError::QueueFull)
        ));
        // Sending one frees its bytes.
        assert_eq!(shared.try_next().map(|p| p.len()), Some(MAX_EVENT_BYTES));
        shared.push(big).unwrap();
        assert!(matches!(
            shared.push(b"y".to_vec()),
            Err(ClusterError::QueueFull)
        ));
        shared.clear();
        shared.push(vec![0; MAX_EVENT_BYTES]).unwrap();
    }

    #[test]
    fn backoff_grows_with_jitter_up_to_a_cap() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        for attempt in [7, 50, u32::MAX] {
            let delay = backoff(attempt);
            assert!(delay >= Duration::from_millis(2500) && delay <= Duration::from_secs(5));
        }
    }
}
