//! Health and readiness for load balancers: [`App::health`] and the
//! `/healthz` + `/readyz` routes of [`App::add_health_routes`].
//!
//! *Live*: the app runs and every worker's loop is open. *Ready*: live and
//! not draining; readiness turns false the moment a graceful stop begins
//! (`app.stop()`, SIGINT/SIGTERM), before connections are closed. With a
//! [drain delay](crate::Config::drain_delay) the workers then go on
//! accepting and serving for that long, so a balancer polling readiness
//! (on a kept-alive connection or a new one) reads 503 and stops sending
//! before any connection is refused or closed. The Redis bridge's state (feature `redis`) is reported but does
//! not make an instance unready: a Redis outage should not take every
//! instance out of the balancer at once.

use std::sync::atomic::Ordering;

use super::{App, Error};
use crate::http::{Request, Response, StatusCode};

/// A snapshot of an app's health.
///
/// # Examples
///
/// ```
/// let health = sanio::App::new("demo").health();
/// assert!(!health.is_live()); // not running
/// assert!(!health.is_ready());
/// assert!(health.to_json().contains("\"draining\":false"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether the app runs.
    running: bool,
    /// Workers the config asks for.
    workers: usize,
    /// Worker loops open now.
    loops_alive: usize,
    /// Whether a graceful stop has begun.
    draining: bool,
    /// Whether the Redis bridge is connected; `None` without a cluster.
    redis: Option<bool>,
}

impl Health {
    /// Running with every worker's loop open.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    pub fn is_live(&self) -> bool {
        self.running && self.workers > 0 && self.loops_alive >= self.workers
    }

    /// Live and not draining: should get new requests.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    pub fn is_ready(&self) -> bool {
        self.is_live() && !self.draining
    }

    /// Whether a graceful stop has begun.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// The Redis bridge: `Some(connected)` in a cluster, `None` otherwise.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    pub fn redis_connected(&self) -> Option<bool> {
        self.redis
    }

    /// A one-line JSON object with every field.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    pub fn to_json(&self) -> String {
        let redis = match self.redis {
            None => "null",
            Some(true) => "\"connected\"",
            Some(false) => "\"disconnected\"",
        };
        format!(
            "{{\"live\":{},\"ready\":{},\"workers\":{},\"loops_alive\":{},\"draining\":{},\"redis\":{}}}",
            self.is_live(),
            self.is_ready(),
            self.workers,
            self.loops_alive,
            self.draining,
            redis
        )
    }

    /// The JSON with 200 when `ok`, else 503.
    fn response(&self, ok: bool) -> Response {
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        Response::text(self.to_json())
            .with_status(status)
            .with_header("content-type", "application/json")
            .with_header("cache-control", "no-store")
    }
}

impl App {
    /// This app's health now; callable from any thread.
    ///
    /// # Examples
    ///
    /// See [`Health`].
    pub fn health(&self) -> Health {
        let workers = self.running_config().map_or(0, |c| c.get_workers());
        #[cfg(feature = "redis")]
        let redis = self
            .running_config()
            .and_then(|c| c.redis_url.as_ref().map(|_| self.cluster_connected()));
        #[cfg(not(feature = "redis"))]
        let redis = None;
        Health {
            running: self.is_running(),
            workers,
            loops_alive: self.loops().iter().filter(|l| l.is_open()).count(),
            draining: self.inner.stopping.load(Ordering::Acquire),
            redis,
        }
    }

    /// Routes `GET health_path` (200 while live, else 503) and `GET
    /// ready_path` (200 while ready, 503 from the start of a graceful
    /// stop), both answering [`Health::to_json`].
    ///
    /// # Errors
    ///
    /// As [`route`](Self::route).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// app.add_health_routes("/healthz", "/readyz").unwrap();
    /// ```
    pub fn add_health_routes(&self, health_path: &str, ready_path: &str) -> Result<(), Error> {
        self.get(health_path, |req: Request| async move {
            let health = req.app().health();
            health.response(health.is_live())
        })?;
        self.get(ready_path, |req: Request| async move {
            let health = req.app().health();
            health.response(health.is_ready())
        })
    }
}
