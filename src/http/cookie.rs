//! PURE: cookies. Reading the `Cookie` request header and building
//! `Set-Cookie` response fields ([`Cookie`]), RFC 6265.
//!
//! Written here rather than taken from the `cookie` crate: that crate pulls
//! in `time` (and its macros) for the one date it formats, which `httpdate`
//! (already a dependency) writes; the grammar itself is a split on `;` and
//! `=` plus the character classes below. Values are percent-encoded when
//! they hold bytes a cookie value may not carry, and decoded when read.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use super::error::HttpError;
use super::request::Request;
use super::response::{IntoResponse, Response};

/// Bytes a cookie value (RFC 6265 `cookie-octet`) may not hold, plus `%`
/// so that encoding round-trips.
const VALUE_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// Bytes a `Path` or `Domain` attribute may not hold.
const ATTR_ESCAPES: &AsciiSet = &CONTROLS.add(b';').add(b'%');

/// `SameSite`: when a browser sends the cookie on cross-site requests.
///
/// # Examples
///
/// ```
/// assert_eq!(sanio::http::SameSite::Lax.as_str(), "Lax");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Never on cross-site requests.
    Strict,
    /// On top-level cross-site navigations only (browsers' default).
    Lax,
    /// Always (browsers then require `Secure`).
    None,
}

impl SameSite {
    /// The attribute's value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::SameSite::None.as_str(), "None");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Why a cookie could not be made: its name is not an RFC 7230 token.
///
/// # Examples
///
/// ```
/// let err = sanio::http::Cookie::new("a b", "1").unwrap_err();
/// assert!(err.to_string().contains("a b"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieError {
    /// The refused name.
    name: String,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid cookie name {:?}: a name is one or more letters, digits or !#$%&'*+-.^_`|~",
            self.name
        )
    }
}

impl std::error::Error for CookieError {}

impl From<CookieError> for HttpError {
    /// A 500: cookie names are chosen by the program, so a bad one is the
    /// server's fault.
    fn from(err: CookieError) -> Self {
        HttpError::internal(err.to_string())
    }
}

impl IntoResponse for CookieError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// A `Set-Cookie` field to send: name, value and attributes.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sanio::http::{Cookie, SameSite};
///
/// let cookie = Cookie::new("sid", "abc123")?
///     .path("/")
///     .max_age(Duration::from_secs(3600))
///     .http_only(true)
///     .secure(true)
///     .same_site(SameSite::Lax);
/// assert_eq!(
///     cookie.to_string(),
///     "sid=abc123; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"
/// );
/// let response = sanio::Response::text("hi").with_cookie(&cookie);
/// assert_eq!(response.headers().get("set-cookie"), Some(cookie.to_string().as_str()));
/// # Ok::<(), sanio::http::CookieError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The name (a token).
    name: String,
    /// The value, not yet encoded.
    value: String,
    /// `Max-Age`, in seconds.
    max_age: Option<u64>,
    /// `Expires`.
    expires: Option<SystemTime>,
    /// `Path`.
    path: Option<String>,
    /// `Domain`.
    domain: Option<String>,
    /// `Secure`.
    secure: bool,
    /// `HttpOnly`.
    http_only: bool,
    /// `SameSite`.
    same_site: Option<SameSite>,
}

impl Cookie {
    /// A session cookie (no expiry) named `name` holding `value`.
    ///
    /// # Errors
    ///
    /// [`CookieError`] when `name` is empty or not a token.
    ///
    /// # Examples
    ///
    /// ```
    /// let cookie = sanio::http::Cookie::new("theme", "dark; light")?;
    /// assert_eq!(cookie.to_string(), "theme=dark%3B%20light");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    pub fn new(name: &str, value: &str) -> Result<Cookie, CookieError> {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(CookieError {
                name: name.to_owned(),
            });
        }
        Ok(Cookie {
            name: name.to_owned(),
            value: value.to_owned(),
            max_age: None,
            expires: None,
            path: None,
            domain: None,
            secure: false,
            http_only: false,
            same_site: None,
        })
    }

    /// A cookie that tells the browser to delete `name` (empty value,
    /// `Max-Age=0` and an `Expires` in 1970). Give it the same `Path` and
    /// `Domain` the cookie was set with.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// let gone = sanio::http::Cookie::removal("sid")?.path("/");
    /// assert_eq!(
    ///     gone.to_string(),
    ///     "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
    /// );
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    pub fn removal(name: &str) -> Result<Cookie, CookieError> {
        Ok(Cookie::new(name, "")?
            .max_age(Duration::ZERO)
            .expires(SystemTime::UNIX_EPOCH))
    }

    /// The name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::Cookie::new("a", "1")?.name(), "a");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value (as given, before encoding).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::http::Cookie::new("a", "x y")?.value(), "x y");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `Max-Age`: the cookie expires this long after it is received
    /// (whole seconds).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = sanio::http::Cookie::new("a", "1")?.max_age(std::time::Duration::from_secs(60));
    /// assert_eq!(c.to_string(), "a=1; Max-Age=60");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Cookie {
        self.max_age = Some(age.as_secs());
        self
    }

    /// `Expires`: the cookie expires at `at` (browsers prefer `Max-Age`
    /// when both are set).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    /// let c = sanio::http::Cookie::new("a", "1")?.expires(at);
    /// assert_eq!(c.to_string(), "a=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn expires(mut self, at: SystemTime) -> Cookie {
        self.expires = Some(at);
        self
    }

    /// `Path`: the cookie is sent for this path and below.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = sanio::http::Cookie::new("a", "1")?.path("/admin");
    /// assert_eq!(c.to_string(), "a=1; Path=/admin");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn path(mut self, path: &str) -> Cookie {
        self.path = Some(path.to_owned());
        self
    }

    /// `Domain`: the cookie is sent to this domain and its subdomains.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = sanio::http::Cookie::new("a", "1")?.domain("example.com");
    /// assert_eq!(c.to_string(), "a=1; Domain=example.com");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn domain(mut self, domain: &str) -> Cookie {
        self.domain = Some(domain.to_owned());
        self
    }

    /// `Secure`: sent over HTTPS only.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = sanio::http::Cookie::new("a", "1")?.secure(true);
    /// assert_eq!(c.to_string(), "a=1; Secure");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn secure(mut self, on: bool) -> Cookie {
        self.secure = on;
        self
    }

    /// `HttpOnly`: hidden from page scripts.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = sanio::http::Cookie::new("a", "1")?.http_only(true);
    /// assert_eq!(c.to_string(), "a=1; HttpOnly");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn http_only(mut self, on: bool) -> Cookie {
        self.http_only = on;
        self
    }

    /// `SameSite`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::http::{Cookie, SameSite};
    /// let c = Cookie::new("a", "1")?.same_site(SameSite::Strict);
    /// assert_eq!(c.to_string(), "a=1; SameSite=Strict");
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Cookie {
        self.same_site = Some(same_site);
        self
    }
}

impl fmt::Display for Cookie {
    /// The `Set-Cookie` field value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}",
            self.name,
            utf8_percent_encode(&self.value, VALUE_ESCAPES)
        )?;
        if let Some(age) = self.max_age {
            write!(f, "; Max-Age={age}")?;
        }
        if let Some(at) = self.expires {
            write!(f, "; Expires={}", httpdate::fmt_http_date(at))?;
        }
        if let Some(path) = &self.path {
            write!(f, "; Path={}", utf8_percent_encode(path, ATTR_ESCAPES))?;
        }
        if let Some(domain) = &self.domain {
            write!(f, "; Domain={}", utf8_percent_encode(domain, ATTR_ESCAPES))?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        if let Some(same_site) = self.same_site {
            write!(f, "; SameSite={}", same_site.as_str())?;
        }
        Ok(())
    }
}

/// True for the bytes of an RFC 7230 token.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The `(name, value)` pairs of `Cookie` header values, in order, values
/// unquoted and percent-decoded. Pairs without `=` or with an empty name
/// are skipped.
pub(crate) fn parse_cookies<'a>(
    headers: impl Iterator<Item = &'a str> + 'a,
) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
    headers
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((name, percent_decode_str(value).decode_utf8_lossy()))
        })
}

impl Request {
    /// The value of the cookie `name` sent with this request (the first,
    /// if sent twice), percent-decoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{Method, Request};
    ///
    /// let request = Request::new(Method::Get, "/").with_header("Cookie", "sid=abc; theme=dark%20blue");
    /// assert_eq!(request.cookie("theme").as_deref(), Some("dark blue"));
    /// assert_eq!(request.cookie("nope"), None);
    /// ```
    pub fn cookie(&self, name: &str) -> Option<String> {
        parse_cookies(self.headers().get_all("cookie"))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Every cookie sent with this request, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{Method, Request};
    ///
    /// let request = Request::new(Method::Get, "/").with_header("Cookie", "a=1; b=2");
    /// assert_eq!(request.cookies(), [("a".into(), "1".into()), ("b".into(), "2".into())]);
    /// ```
    pub fn cookies(&self) -> Vec<(String, String)> {
        parse_cookies(self.headers().get_all("cookie"))
            .map(|(n, v)| (n.to_owned(), v.into_owned()))
            .collect()
    }
}

impl Response {
    /// This response with a `Set-Cookie` field for `cookie` (added to any
    /// others).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::http::Cookie;
    ///
    /// let response = sanio::Response::text("bye")
    ///     .with_cookie(&Cookie::new("a", "1")?)
    ///     .with_cookie(&Cookie::removal("b")?);
    /// assert_eq!(response.headers().get_all("set-cookie").count(), 2);
    /// # Ok::<(), sanio::http::CookieError>(())
    /// ```
    #[must_use]
    pub fn with_cookie(mut self, cookie: &Cookie) -> Response {
        self.headers_mut().append("set-cookie", &cookie.to_string());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        type Case = (
            &'static [&'static str],
            &'static [(&'static str, &'static str)],
        );
        let table: &[Case] = &[
            (&["a=1"], &[("a", "1")]),
            (&["a=1; b=2"], &[("a", "1"), ("b", "2")]),
            (&["a=1;b=2", "c=3"], &[("a", "1"), ("b", "2"), ("c", "3")]),
            (&["a=\"quoted\""], &[("a", "quoted")]),
            (&["a=x%20y"], &[("a", "x y")]),
            (&["a=b=c"], &[("a", "b=c")]),
            (&["novalue; =x; a=1"], &[("a", "1")]),
            (&[""], &[]),
            (&[";;;"], &[]),
            (&["a="], &[("a", "")]),
        ];
        for (headers, want) in table {
            let got: Vec<(&str, String)> = parse_cookies(headers.iter().copied())
                .map(|(n, v)| (n, v.into_owned()))
                .collect();
            let want: Vec<(&str, String)> =
                want.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
            assert_eq!(got, want, "{headers:?}");
        }
    }

    #[test]
    fn names_must_be_tokens() {
        for bad in ["", "a b", "a;b", "a=b", "a\"", "é", "a\r\n"] {
            assert!(Cookie::new(bad, "1").is_err(), "{bad:?}");
        }
        for good in ["a", "session_id", "__Host-x", "a.b-c"] {
            assert!(Cookie::new(good, "1").is_ok(), "{good:?}");
        }
    }

    #[test]
    fn values_and_attributes_cannot_inject() {
        let cookie = Cookie::new("a", "x; Domain=evil\r\nX: y")
            .unwrap()
            .path("/; Secure")
            .domain("a.com;b");
        let text = cookie.to_string();
        assert_eq!(
            text,
            "a=x%3B%20Domain=evil%0D%0AX:%20y; Path=/%3B Secure; Domain=a.com%3Bb"
        );
        assert!(!text.contains('\r') && !text.contains('\n'));
        // What was written reads back as it was given.
        let round: Vec<_> = parse_cookies(std::iter::once(text.split(';').next().unwrap()))
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(round, ["x; Domain=evil\r\nX: y"]);
    }
}
