//! `Limits`: the sizes and timeouts a connection enforces, with Sanic's
//! defaults.

use std::time::Duration;

/// Sizes and timeouts for HTTP connections. `Default` gives Sanic's values;
/// the chained setters change one each.
///
/// | field | default | when exceeded |
/// |---|---|---|
/// | `max_head_bytes` | 8 KiB | 431 |
/// | `max_uri_bytes` | 8 KiB | 414 |
/// | `max_headers` | 100 | 431 |
/// | `max_body_bytes` | 100 MB | 413 |
/// | `request_timeout` | 60 s | 408 (the head must be complete in time) |
/// | `body_timeout` | 60 s | 408 (a body that stalls) |
/// | `response_timeout` | 60 s | the connection is cut (client not reading) |
/// | `keep_alive_timeout` | 120 s | an idle connection is closed quietly |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sanio::Limits;
///
/// let limits = Limits::default()
///     .max_body_bytes(1 << 20)
///     .keep_alive_timeout(Duration::from_secs(5));
/// assert_eq!(limits.max_body_bytes, 1 << 20);
/// assert_eq!(limits.max_head_bytes, 8192);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes in a request head (request line and headers).
    pub max_head_bytes: usize,
    /// Most bytes in a request target.
    pub max_uri_bytes: usize,
    /// Most header fields in a request.
    pub max_headers: usize,
    /// Most bytes in a request body.
    pub max_body_bytes: u64,
    /// Time from the first byte of a request (or from the connection's
    /// start) until its head is complete.
    pub request_timeout: Duration,
    /// Longest wait for the next bytes of a body.
    pub body_timeout: Duration,
    /// Longest wait for the client to take more of a response.
    pub response_timeout: Duration,
    /// How long an idle keep-alive connection is kept.
    pub keep_alive_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 8192,
            max_uri_bytes: 8192,
            max_headers: 100,
            max_body_bytes: 100_000_000,
            request_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            response_timeout: Duration::from_secs(60),
            keep_alive_timeout: Duration::from_secs(120),
        }
    }
}

/// One chained setter per field.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl Limits {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets `max_head_bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Limits::default().max_head_bytes(1024).max_head_bytes, 1024);
    /// ```
    max_head_bytes: usize;
    /// Sets `max_uri_bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Limits::default().max_uri_bytes(512).max_uri_bytes, 512);
    /// ```
    max_uri_bytes: usize;
    /// Sets `max_headers`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Limits::default().max_headers(10).max_headers, 10);
    /// ```
    max_headers: usize;
    /// Sets `max_body_bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Limits::default().max_body_bytes(10).max_body_bytes, 10);
    /// ```
    max_body_bytes: u64;
    /// Sets `request_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = sanio::Limits::default().request_timeout(Duration::from_secs(1));
    /// assert_eq!(limits.request_timeout, Duration::from_secs(1));
    /// ```
    request_timeout: std::time::Duration;
    /// Sets `body_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = sanio::Limits::default().body_timeout(Duration::from_secs(1));
    /// assert_eq!(limits.body_timeout, Duration::from_secs(1));
    /// ```
    body_timeout: std::time::Duration;
    /// Sets `response_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = sanio::Limits::default().response_timeout(Duration::from_secs(1));
    /// assert_eq!(limits.response_timeout, Duration::from_secs(1));
    /// ```
    response_timeout: std::time::Duration;
    /// Sets `keep_alive_timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = sanio::Limits::default().keep_alive_timeout(Duration::from_secs(1));
    /// assert_eq!(limits.keep_alive_timeout, Duration::from_secs(1));
    /// ```
    keep_alive_timeout: std::time::Duration;
}
