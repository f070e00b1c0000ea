//! `Method` and `Version`: the request line's method and protocol version.

use std::fmt;
use std::str::FromStr;

use super::error::HttpError;

/// A request method. The common ones are variants; any other token is kept
/// in `Other`.
///
/// # Examples
///
/// ```
/// use sanio::Method;
///
/// assert_eq!("GET".parse::<Method>().unwrap(), Method::Get);
/// assert_eq!(Method::from_bytes(b"PURGE"), Method::Other("PURGE".into()));
/// assert_eq!(Method::Delete.as_str(), "DELETE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `CONNECT`
    Connect,
    /// Any other method token (methods are case-sensitive).
    Other(String),
}

impl Method {
    /// The method for a token, without allocating for the common ones.
    /// Bytes that are not UTF-8 are replaced (httparse only lets token
    /// characters through, so this does not happen for parsed requests).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Method::from_bytes(b"POST"), sanio::Method::Post);
    /// ```
    pub fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"PATCH" => Method::Patch,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"CONNECT" => Method::Connect,
            other => Method::Other(String::from_utf8_lossy(other).into_owned()),
        }
    }

    /// The token as sent on the wire.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Method::Patch.as_str(), "PATCH");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Other(token) => token,
        }
    }
}

/// True for the characters RFC 9110 allows in a token.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl FromStr for Method {
    type Err = HttpError;

    /// Parses a method token; an empty string or one with non-token
    /// characters is an error (400).
    fn from_str(token: &str) -> Result<Method, HttpError> {
        if token.is_empty() || !token.bytes().all(is_token_byte) {
            return Err(HttpError::bad_request(format!("invalid method {token:?}")));
        }
        Ok(Method::from_bytes(token.as_bytes()))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP version of a request.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::http::Version::Http11.as_str(), "HTTP/1.1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HTTP/1.0: the connection closes after each response unless the
    /// client asks for keep-alive.
    Http10,
    /// HTTP/1.1: keep-alive unless either side says `Connection: close`.
    Http11,
}

impl Version {
    /// The version as written in a request line.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::Version::Http10.as_str(), "HTTP/1.0");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_tokens() {
        for name in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PURGE",
        ] {
            assert_eq!(name.parse::<Method>().unwrap().as_str(), name);
        }
        assert!("".parse::<Method>().is_err());
        assert!("GE T".parse::<Method>().is_err());
        assert_eq!(Method::from_bytes(b"get"), Method::Other("get".into()));
    }
}
