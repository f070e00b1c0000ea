//! Settings from `SANIO_*` variables: one table of names, and the parsers
//! for their units (seconds, bytes with a K/M suffix, counts, switches).
//!
//! A malformed value is an [`EnvError`] naming the variable and the value:
//! a typo in a deployment must stop the start, never fall back to a default
//! silently. Reading goes through a lookup function so that the tests (and
//! [`Config::from_vars`]) never touch the process environment.

use std::fmt;
use std::time::Duration;

use super::{Config, PanicPolicy};

/// A `SANIO_*` variable whose value could not be used.
///
/// # Examples
///
/// ```
/// let err = sanio::Config::from_vars([("SANIO_PORT", "eighty")]).unwrap_err();
/// assert_eq!(err.name(), "SANIO_PORT");
/// assert_eq!(err.value(), "eighty");
/// assert!(err.to_string().contains("SANIO_PORT=\"eighty\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// The variable.
    name: String,
    /// Its value, as given.
    value: String,
    /// What a valid value looks like (or why the value failed).
    expected: String,
}

impl EnvError {
    /// The variable's name.
    ///
    /// # Examples
    ///
    /// See [`EnvError`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value that was refused.
    ///
    /// # Examples
    ///
    /// See [`EnvError`].
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.name, self.value, self.expected
        )
    }
}

impl std::error::Error for EnvError {}

/// Reads the variables one by one; `lookup` gives a variable's value.
pub(super) struct Vars<F> {
    /// The source of values: the process environment or a list.
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// Reads through `lookup`.
    pub(super) fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The value of `name` parsed by `parse`, or `None` when unset.
    pub(super) fn get<T>(
        &self,
        name: &str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, EnvError> {
        let Some(value) = (self.lookup)(name) else {
            return Ok(None);
        };
        match parse(value.trim()) {
            Some(parsed) => Ok(Some(parsed)),
            None => Err(EnvError {
                name: name.to_owned(),
                value,
                expected: expected.to_owned(),
            }),
        }
    }

    /// A string, as given.
    pub(super) fn text(&self, name: &str) -> Result<Option<String>, EnvError> {
        self.get(name, "text", |v| Some(v.to_owned()))
    }

    /// A whole number (count or port).
    pub(super) fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, EnvError> {
        self.get(name, "a whole number", |v| v.parse().ok())
    }

    /// A size in bytes: digits, optionally followed by `K` (1024) or `M`.
    pub(super) fn bytes(&self, name: &str) -> Result<Option<u64>, EnvError> {
        self.get(name, "a size in bytes, e.g. 65536, 64K or 1M", parse_bytes)
    }

    /// A size in bytes that must fit in memory (`usize`).
    pub(super) fn bytes_usize(&self, name: &str) -> Result<Option<usize>, EnvError> {
        self.get(name, "a size in bytes, e.g. 65536, 64K or 1M", |v| {
            parse_bytes(v).and_then(|n| usize::try_from(n).ok())
        })
    }

    /// A duration in seconds (fractions allowed: `0.5`).
    pub(super) fn seconds(&self, name: &str) -> Result<Option<Duration>, EnvError> {
        self.get(name, "a number of seconds, e.g. 30 or 0.5", parse_seconds)
    }

    /// A duration in seconds, or `none`/`off` for no timer at all; zero
    /// is refused (a zero interval would never rest).
    #[cfg(feature = "ws")]
    pub(super) fn seconds_or_off(&self, name: &str) -> Result<Option<Option<Duration>>, EnvError> {
        self.get(
            name,
            "a number of seconds above 0, or none/off",
            |v| match v.to_ascii_lowercase().as_str() {
                "none" | "off" => Some(None),
                _ => parse_seconds(v).filter(|d| !d.is_zero()).map(Some),
            },
        )
    }

    /// A switch: `1/true/yes/on` or `0/false/no/off`.
    pub(super) fn switch(&self, name: &str) -> Result<Option<bool>, EnvError> {
        self.get(
            name,
            "a switch: 1, true, yes, on, 0, false, no or off",
            |v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Some(true),
                "0" | "false" | "no" | "off" => Some(false),
                _ => None,
            },
        )
    }
}

/// Digits with an optional `K` (×1024) or `M` (×1024²) suffix, either case.
fn parse_bytes(value: &str) -> Option<u64> {
    let (digits, unit) = match value.as_bytes().last()? {
        b'k' | b'K' => (&value[..value.len() - 1], 1024),
        b'm' | b'M' => (&value[..value.len() - 1], 1024 * 1024),
        _ => (value, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// A non-negative, finite number of seconds.
fn parse_seconds(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    Duration::try_from_secs_f64(value.parse().ok()?).ok()
}

/// Applies every `SANIO_*` variable that is set to `config`.
pub(super) fn apply<F: Fn(&str) -> Option<String>>(
    mut config: Config,
    vars: &Vars<F>,
) -> Result<Config, EnvError> {
    if let Some(host) = vars.text("SANIO_HOST")? {
        config.host = host;
    }
    if let Some(port) = vars.number("SANIO_PORT")? {
        config.port = port;
    }
    if let Some(workers) = vars.number::<usize>("SANIO_WORKERS")? {
        config.workers = workers.max(1);
    }
    if let Some(backlog) = vars.number("SANIO_BACKLOG")? {
        config.backlog = backlog;
    }
    if let Some(on) = vars.switch("SANIO_REUSE_PORT")? {
        config.reuse_port = on;
    }
    if let Some(timeout) = vars.seconds("SANIO_GRACEFUL_TIMEOUT")? {
        config.graceful_timeout = timeout;
    }
    if let Some(delay) = vars.seconds("SANIO_DRAIN_DELAY")? {
        config.drain_delay = delay;
    }
    if let Some(on) = vars.switch("SANIO_ACCESS_LOG")? {
        config.access_log = on;
    }
    if let Some(on) = vars.switch("SANIO_HANDLE_SIGNALS")? {
        config.handle_signals = on;
    }
    apply_tasks(&mut config, vars)?;
    apply_limits(&mut config.limits, vars)?;
    apply_tls(&mut config, vars)?;
    apply_redis(&mut config, vars)?;
    #[cfg(feature = "ws")]
    apply_websocket(&mut config.websocket, vars)?;
    Ok(config)
}

/// The background-task settings.
fn apply_tasks<F: Fn(&str) -> Option<String>>(
    config: &mut Config,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    if let Some(timeout) = vars.seconds("SANIO_TASK_QUERY_TIMEOUT")? {
        config.task_query_timeout = timeout;
    }
    if let Some(on) = vars.switch("SANIO_UNIQUE_TASK_NAMES")? {
        config.unique_task_names = on;
    }
    if let Some(on) = vars.switch("SANIO_DUMP_ON_SIGUSR1")? {
        config.dump_on_sigusr1 = on;
    }
    if let Some(threshold) = vars.seconds("SANIO_SLOW_POLL_THRESHOLD")? {
        config.slow_poll_threshold = Some(threshold);
    }
    let policy = vars.get(
        "SANIO_TASK_PANIC_POLICY",
        "report, restart, stop-worker or stop-app",
        |v| match v.to_ascii_lowercase().as_str() {
            "report" => Some(PanicPolicy::Report),
            "restart" => Some(PanicPolicy::Restart),
            "stop-worker" => Some(PanicPolicy::StopWorker),
            "stop-app" => Some(PanicPolicy::StopApp),
            _ => None,
        },
    )?;
    if let Some(policy) = policy {
        config.task_panic_policy = policy;
    }
    Ok(())
}

/// The TLS settings: both `SANIO_TLS_CERT` and `SANIO_TLS_KEY` (PEM
/// files) turn HTTPS on; `SANIO_TLS_MIN_VERSION` (`1.2` or `1.3`) and
/// `SANIO_TLS_HANDSHAKE_TIMEOUT` (seconds) adjust it.
#[cfg(feature = "tls")]
fn apply_tls<F: Fn(&str) -> Option<String>>(
    config: &mut Config,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    use crate::net::{TlsConfig, TlsVersion};
    let version = vars.get("SANIO_TLS_MIN_VERSION", "1.2 or 1.3", |v| match v {
        "1.2" => Some(TlsVersion::Tls12),
        "1.3" => Some(TlsVersion::Tls13),
        _ => None,
    })?;
    let timeout = vars.seconds("SANIO_TLS_HANDSHAKE_TIMEOUT")?;
    let cert = vars.text("SANIO_TLS_CERT")?;
    let key = vars.text("SANIO_TLS_KEY")?;
    let mut tls = match (cert, key, config.tls.take()) {
        (Some(cert), Some(key), _) => {
            TlsConfig::from_pem_files(&cert, &key).map_err(|err| EnvError {
                name: "SANIO_TLS_CERT".to_owned(),
                value: cert,
                expected: format!("PEM files for SANIO_TLS_CERT and SANIO_TLS_KEY ({err})"),
            })?
        }
        (Some(value), None, _) | (None, Some(value), _) => {
            let name = if vars.text("SANIO_TLS_CERT")?.is_some() {
                "SANIO_TLS_CERT"
            } else {
                "SANIO_TLS_KEY"
            };
            return Err(EnvError {
                name: name.to_owned(),
                value,
                expected: "both SANIO_TLS_CERT and SANIO_TLS_KEY".to_owned(),
            });
        }
        (None, None, Some(tls)) => tls,
        (None, None, None) => return Ok(()),
    };
    if let Some(version) = version {
        tls = tls.min_version(version);
    }
    if let Some(timeout) = timeout {
        tls = tls.handshake_timeout(timeout);
    }
    config.tls = Some(tls);
    Ok(())
}

/// Without the `tls` feature, asking for HTTPS is an error, not a plain
/// HTTP server.
#[cfg(not(feature = "tls"))]
fn apply_tls<F: Fn(&str) -> Option<String>>(
    _config: &mut Config,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    for name in ["SANIO_TLS_CERT", "SANIO_TLS_KEY"] {
        vars.get(
            name,
            "nothing: sanio was built without the `tls` feature",
            |_| None::<()>,
        )?;
    }
    Ok(())
}

/// The cluster settings: `SANIO_REDIS_URL` (a `redis://` URL, checked
/// here; empty means no cluster), `SANIO_REDIS_PREFIX` and
/// `SANIO_REDIS_LEASE_TTL` (seconds).
#[cfg(feature = "redis")]
fn apply_redis<F: Fn(&str) -> Option<String>>(
    config: &mut Config,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    use super::cluster::RedisUrl;
    if let Some(url) = vars.text("SANIO_REDIS_URL")? {
        if url.is_empty() {
            config.redis_url = None;
        } else if let Err(err) = RedisUrl::parse(&url) {
            return Err(EnvError {
                name: "SANIO_REDIS_URL".to_owned(),
                value: url,
                expected: format!("redis://[user[:password]@]host[:port][/db] ({err})"),
            });
        } else {
            config.redis_url = Some(url);
        }
    }
    if let Some(prefix) = vars.get("SANIO_REDIS_PREFIX", "a non-empty prefix", |v| {
        Some(v.to_owned()).filter(|v| !v.is_empty())
    })? {
        config.redis_prefix = prefix;
    }
    if let Some(ttl) = vars.seconds("SANIO_REDIS_LEASE_TTL")? {
        *config = std::mem::take(config).redis_lease_ttl(ttl);
    }
    Ok(())
}

/// Without the `redis` feature, asking for a cluster is an error, not a
/// lone instance that believes it is part of one.
#[cfg(not(feature = "redis"))]
fn apply_redis<F: Fn(&str) -> Option<String>>(
    _config: &mut Config,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    vars.get(
        "SANIO_REDIS_URL",
        "nothing: sanio was built without the `redis` feature",
        |v| v.is_empty().then_some(()),
    )?;
    Ok(())
}

/// The `Limits` fields.
fn apply_limits<F: Fn(&str) -> Option<String>>(
    limits: &mut crate::http::Limits,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    if let Some(n) = vars.bytes_usize("SANIO_MAX_HEAD_BYTES")? {
        limits.max_head_bytes = n;
    }
    if let Some(n) = vars.bytes_usize("SANIO_MAX_URI_BYTES")? {
        limits.max_uri_bytes = n;
    }
    if let Some(n) = vars.number("SANIO_MAX_HEADERS")? {
        limits.max_headers = n;
    }
    if let Some(n) = vars.bytes("SANIO_MAX_BODY_BYTES")? {
        limits.max_body_bytes = n;
    }
    if let Some(d) = vars.seconds("SANIO_REQUEST_TIMEOUT")? {
        limits.request_timeout = d;
    }
    if let Some(d) = vars.seconds("SANIO_BODY_TIMEOUT")? {
        limits.body_timeout = d;
    }
    if let Some(d) = vars.seconds("SANIO_RESPONSE_TIMEOUT")? {
        limits.response_timeout = d;
    }
    if let Some(d) = vars.seconds("SANIO_KEEP_ALIVE_TIMEOUT")? {
        limits.keep_alive_timeout = d;
    }
    Ok(())
}

/// The `WsConfig` fields.
#[cfg(feature = "ws")]
fn apply_websocket<F: Fn(&str) -> Option<String>>(
    ws: &mut crate::ws::WsConfig,
    vars: &Vars<F>,
) -> Result<(), EnvError> {
    let mut next = ws.clone();
    if let Some(n) = vars.bytes_usize("SANIO_WS_MAX_MESSAGE_SIZE")? {
        next = next.max_message_size(n);
    }
    if let Some(n) = vars.bytes_usize("SANIO_WS_MAX_FRAME_SIZE")? {
        next = next.max_frame_size(n);
    }
    if let Some(d) = vars.seconds_or_off("SANIO_WS_PING_INTERVAL")? {
        next = next.ping_interval(d);
    }
    if let Some(d) = vars.seconds_or_off("SANIO_WS_PING_TIMEOUT")? {
        next = next.ping_timeout(d);
    }
    if let Some(n) = vars.number("SANIO_WS_INCOMING_QUEUE")? {
        next = next.incoming_queue(n);
    }
    if let Some(n) = vars.bytes_usize("SANIO_WS_OUTBOUND_BUFFER")? {
        next = next.outbound_buffer(n);
    }
    if let Some(d) = vars.seconds("SANIO_WS_CLOSE_TIMEOUT")? {
        next = next.close_timeout(d);
    }
    *ws = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, EnvError> {
        Config::from_vars(vars.iter().copied())
    }

    #[test]
    fn units() {
        assert_eq!(parse_bytes("65536"), Some(65536));
        assert_eq!(parse_bytes("64K"), Some(65536));
        assert_eq!(parse_bytes("64k"), Some(65536));
        assert_eq!(parse_bytes("2M"), Some(2 << 20));
        for bad in [
            "",
            "K",
            "1.5M",
            "-1",
            "1G",
            "1 K",
            "99999999999999999999",
            "18014398509481984M",
        ] {
            assert_eq!(parse_bytes(bad), None, "{bad:?}");
        }
        assert_eq!(parse_seconds("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_seconds("0.5"), Some(Duration::from_millis(500)));
        for bad in ["", "-1", "1e3", "inf", "NaN", "5s", "1.2.3"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_field_is_read() {
        let config = from(&[
            ("SANIO_HOST", "0.0.0.0"),
            ("SANIO_PORT", "9000"),
            ("SANIO_WORKERS", "3"),
            ("SANIO_BACKLOG", "64"),
            ("SANIO_REUSE_PORT", "off"),
            ("SANIO_GRACEFUL_TIMEOUT", "2.5"),
            ("SANIO_DRAIN_DELAY", "4"),
            ("SANIO_ACCESS_LOG", "yes"),
            ("SANIO_HANDLE_SIGNALS", "0"),
            ("SANIO_MAX_HEAD_BYTES", "16K"),
            ("SANIO_MAX_URI_BYTES", "4096"),
            ("SANIO_MAX_HEADERS", "50"),
            ("SANIO_MAX_BODY_BYTES", "10M"),
            ("SANIO_REQUEST_TIMEOUT", "5"),
            ("SANIO_BODY_TIMEOUT", "6"),
            ("SANIO_RESPONSE_TIMEOUT", "7"),
            ("SANIO_KEEP_ALIVE_TIMEOUT", "8"),
        ])
        .unwrap();
        assert_eq!(
            (config.host.as_str(), config.port, config.workers),
            ("0.0.0.0", 9000, 3)
        );
        assert_eq!(config.backlog, 64);
        assert!(!config.reuse_port && config.access_log && !config.handle_signals);
        assert_eq!(config.graceful_timeout, Duration::from_millis(2500));
        assert_eq!(config.drain_delay, Duration::from_secs(4));
        let l = &config.limits;
        assert_eq!(
            (l.max_head_bytes, l.max_uri_bytes, l.max_headers),
            (16384, 4096, 50)
        );
        assert_eq!(l.max_body_bytes, 10 << 20);
        assert_eq!(
            [
                l.request_timeout,
                l.body_timeout,
                l.response_timeout,
                l.keep_alive_timeout
            ],
            [5, 6, 7, 8].map(Duration::from_secs)
        );
    }

    #[test]
    fn task_fields_are_read() {
        let config = from(&[
            ("SANIO_TASK_QUERY_TIMEOUT", "0.5"),
            ("SANIO_UNIQUE_TASK_NAMES", "on"),
            ("SANIO_DUMP_ON_SIGUSR1", "1"),
            ("SANIO_TASK_PANIC_POLICY", "stop-app"),
            ("SANIO_SLOW_POLL_THRESHOLD", "0.02"),
        ])
        .unwrap();
        assert_eq!(config.slow_poll_threshold, Some(Duration::from_millis(20)));
        assert_eq!(config.task_query_timeout, Duration::from_millis(500));
        assert!(config.unique_task_names && config.dump_on_sigusr1);
        assert_eq!(config.task_panic_policy, PanicPolicy::StopApp);
        let err = from(&[("SANIO_TASK_PANIC_POLICY", "ignore")]).unwrap_err();
        assert_eq!(
            (err.name(), err.value()),
            ("SANIO_TASK_PANIC_POLICY", "ignore")
        );
    }

    #[cfg(feature = "ws")]
    #[test]
    fn websocket_fields_are_read() {
        let ws = from(&[
            ("SANIO_WS_MAX_MESSAGE_SIZE", "2M"),
            ("SANIO_WS_MAX_FRAME_SIZE", "64K"),
            ("SANIO_WS_PING_INTERVAL", "none"),
            ("SANIO_WS_PING_TIMEOUT", "3"),
            ("SANIO_WS_INCOMING_QUEUE", "4"),
            ("SANIO_WS_OUTBOUND_BUFFER", "1K"),
            ("SANIO_WS_CLOSE_TIMEOUT", "0.25"),
        ])
        .unwrap()
        .websocket;
        assert_eq!(ws.max_message_size_bytes(), 2 << 20);
        assert_eq!(ws.max_frame_size_bytes(), 64 << 10);
        assert_eq!(ws.ping_interval_duration(), None);
        assert_eq!(ws.ping_timeout_duration(), Some(Duration::from_secs(3)));
        assert_eq!(ws.incoming_queue_len(), 4);
        assert_eq!(ws.outbound_buffer_bytes(), 1024);
        assert_eq!(ws.close_timeout_duration(), Duration::from_millis(250));
        let err = from(&[("SANIO_WS_PING_INTERVAL", "0")]).unwrap_err();
        assert_eq!(err.name(), "SANIO_WS_PING_INTERVAL");
    }

    #[test]
    fn a_malformed_value_names_the_variable_and_the_value() {
        for (name, value) in [
            ("SANIO_PORT", "70000"),
            ("SANIO_WORKERS", "-2"),
            ("SANIO_REUSE_PORT", "maybe"),
            ("SANIO_GRACEFUL_TIMEOUT", "15s"),
            ("SANIO_MAX_BODY_BYTES", "1G"),
            ("SANIO_MAX_HEADERS", "many"),
            ("SANIO_KEEP_ALIVE_TIMEOUT", ""),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!((err.name(), err.value()), (name, value));
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_settings_are_read() {
        let config = from(&[
            ("SANIO_TLS_CERT", "tests/data/cert.pem"),
            ("SANIO_TLS_KEY", "tests/data/key.pem"),
            ("SANIO_TLS_MIN_VERSION", "1.3"),
            ("SANIO_TLS_HANDSHAKE_TIMEOUT", "7"),
        ])
        .unwrap();
        let tls = config.tls.expect("tls on");
        assert_eq!(tls.get_handshake_timeout(), Duration::from_secs(7));
        for (vars, name) in [
            (
                &[("SANIO_TLS_CERT", "tests/data/cert.pem")][..],
                "SANIO_TLS_CERT",
            ),
            (
                &[("SANIO_TLS_KEY", "tests/data/key.pem")][..],
                "SANIO_TLS_KEY",
            ),
            (
                &[
                    ("SANIO_TLS_CERT", "missing.pem"),
                    ("SANIO_TLS_KEY", "tests/data/key.pem"),
                ][..],
                "SANIO_TLS_CERT",
            ),
            (
                &[("SANIO_TLS_MIN_VERSION", "1.1")][..],
                "SANIO_TLS_MIN_VERSION",
            ),
            (
                &[("SANIO_TLS_HANDSHAKE_TIMEOUT", "soon")][..],
                "SANIO_TLS_HANDSHAKE_TIMEOUT",
            ),
        ] {
            assert_eq!(from(vars).unwrap_err().name(), name);
        }
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn asking_for_tls_without_the_feature_is_an_error() {
        let err =
            from(&[("SANIO_TLS_CERT", "cert.pem"), ("SANIO_TLS_KEY", "key.pem")]).unwrap_err();
        assert_eq!(err.name(), "SANIO_TLS_CERT");
        assert!(err.to_string().contains("`tls` feature"), "{err}");
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_settings_are_read() {
        let config = from(&[
            ("SANIO_REDIS_URL", "redis://:secret@127.0.0.1:6390/2"),
            ("SANIO_REDIS_PREFIX", "shop"),
            ("SANIO_REDIS_LEASE_TTL", "4"),
        ])
        .unwrap();
        assert_eq!(
            config.redis_url.as_deref(),
            Some("redis://:secret@127.0.0.1:6390/2")
        );
        assert_eq!(config.redis_prefix, "shop");
        assert_eq!(config.redis_lease_ttl, Duration::from_secs(4));
        assert_eq!(from(&[("SANIO_REDIS_URL", "")]).unwrap().redis_url, None);
        for (name, value) in [
            ("SANIO_REDIS_URL", "http://127.0.0.1:6379"),
            ("SANIO_REDIS_URL", "redis://127.0.0.1:6379/x"),
            ("SANIO_REDIS_PREFIX", ""),
            ("SANIO_REDIS_LEASE_TTL", "soon"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!((err.name(), err.value()), (name, value));
        }
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn asking_for_a_cluster_without_the_feature_is_an_error() {
        let err = from(&[("SANIO_REDIS_URL", "redis://127.0.0.1:6379")]).unwrap_err();
        assert_eq!(err.name(), "SANIO_REDIS_URL");
        assert!(err.to_string().contains("`redis` feature"), "{err}");
        assert!(from(&[("SANIO_REDIS_URL", "")]).is_ok());
    }

    #[test]
    fn unset_variables_keep_the_defaults() {
        let config = from(&[("UNRELATED", "x")]).unwrap();
        assert_eq!(config.port, 8000);
        assert_eq!(config.limits, crate::http::Limits::default());
    }
}
