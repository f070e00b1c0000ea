//! PURE: a request head from bytes. httparse tokenizes; this file applies
//! the framing rules of RFC 9112 that httparse leaves to its caller (which
//! of `Content-Length` and `Transfer-Encoding` decide the body, `Host`,
//! limits) and turns the result into a [`Head`].
//!
//! "Need more bytes" is `Status::Partial`, not an error. Nothing here touches
//! a socket.

use std::mem::MaybeUninit;

use httparse::{Header, Status};

use super::error::ParseError;
use super::headers::Headers;
use super::limits::Limits;
use super::method::{Method, Version};

/// How the body of a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// No body (no `Content-Length`, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head, owning its bytes.
#[derive(Debug)]
pub(crate) struct Head {
    /// The method.
    pub(crate) method: Method,
    /// The request target as sent (origin-form, absolute-form, `*`, ...).
    pub(crate) target: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub(crate) version: Version,
    /// Every header field, in order.
    pub(crate) headers: Headers,
    /// How the body is framed.
    pub(crate) body: BodyKind,
    /// Whether the client allows the connection to stay open afterwards.
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub(crate) expect_continue: bool,
    /// Bytes the head took in the buffer, final blank line included.
    pub(crate) len: usize,
}

/// Header slots kept on the stack; more than this many allowed fields use
/// the heap.
const STACK_HEADERS: usize = 128;

/// Parses one request head at the start of `buf`.
///
/// # Errors
///
/// The [`ParseError`] whose status answers the request.
pub(crate) fn parse_head(buf: &[u8], limits: &Limits) -> Result<Status<Head>, ParseError> {
    let mut stack = [const { MaybeUninit::<Header<'_>>::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = if limits.max_headers <= STACK_HEADERS {
        &mut stack[..limits.max_headers]
    } else {
        heap.reserve_exact(limits.max_headers);
        &mut heap.spare_capacity_mut()[..limits.max_headers]
    };
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(buf, slots) {
        Ok(Status::Complete(len)) if len > limits.max_head_bytes => Err(
            match req.path.is_some_and(|t| t.len() > limits.max_uri_bytes) {
                true => ParseError::UriTooLong,
                false => ParseError::HeadTooLarge,
            },
        ),
        Ok(Status::Complete(len)) => build_head(&req, len, limits).map(Status::Complete),
        Ok(Status::Partial) => check_partial(buf, limits).map(|()| Status::Partial),
        Err(err) => Err(classify(err, buf, limits)),
    }
}

/// A partial head is fine unless it is already over a limit.
#[cold]
fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    if target_too_long(buf, limits.max_uri_bytes) {
        return Err(ParseError::UriTooLong);
    }
    if buf.len() > limits.max_head_bytes {
        // A request line that has not ended within the whole head budget is
        // a target that is too long, whatever the URI limit says.
        return Err(match memchr(b'\n', buf) {
            None => ParseError::UriTooLong,
            Some(_) => ParseError::HeadTooLarge,
        });
    }
    Ok(())
}

/// True when the request line in `buf` (complete or not) has a target
/// longer than `max`.
fn target_too_long(buf: &[u8], max: usize) -> bool {
    let line = match memchr(b'\n', buf) {
        Some(end) => &buf[..end],
        None => buf,
    };
    let Some(space) = memchr(b' ', line) else {
        return false;
    };
    let rest = &line[space + 1..];
    let target = match memchr(b' ', rest) {
        Some(end) => &rest[..end],
        None => rest,
    };
    target.len() > max
}

/// The first index of `byte` in `hay`.
fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == byte)
}

/// Maps an httparse error to ours.
#[cold]
fn classify(err: httparse::Error, buf: &[u8], limits: &Limits) -> ParseError {
    match err {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        _ if target_too_long(buf, limits.max_uri_bytes) => ParseError::UriTooLong,
        httparse::Error::HeaderValue => ParseError::BadHeaderValue,
        _ => ParseError::Malformed,
    }
}

/// What the framing headers said, gathered in one pass.
#[derive(Default)]
struct Framing {
    /// The `Content-Length` value, if sent.
    content_length: Option<u64>,
    /// A `Transfer-Encoding` header was sent.
    transfer_encoding: bool,
    /// How many `Host` fields.
    hosts: usize,
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive`.
    keep_alive: bool,
    /// `Expect: 100-continue`.
    expect_continue: bool,
}

/// Builds the owned head and applies the framing rules.
fn build_head(
    req: &httparse::Request<'_, '_>,
    len: usize,
    limits: &Limits,
) -> Result<Head, ParseError> {
    let target = req.path.ok_or(ParseError::Malformed)?;
    if target.len() > limits.max_uri_bytes {
        return Err(ParseError::UriTooLong);
    }
    let version = match req.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(ParseError::Malformed),
    };
    let method = Method::from_bytes(req.method.ok_or(ParseError::Malformed)?.as_bytes());
    check_target_form(&method, target)?;
    let bytes = req
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum();
    let mut headers = Headers::with_capacity(req.headers.len(), bytes);
    let mut framing = Framing::default();
    for header in req.headers.iter() {
        check_value(header.value)?;
        framing.note(header)?;
        headers.append_bytes(header.name, header.value);
    }
    let body = framing.body_kind(version)?;
    let keep_alive = match version {
        Version::Http11 => !framing.close,
        Version::Http10 => framing.keep_alive && !framing.close,
    };
    Ok(Head {
        method,
        target: target.to_owned(),
        version,
        headers,
        body,
        keep_alive,
        // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0
        // request MUST be ignored (no 100 is sent).
        expect_continue: framing.expect_continue && version == Version::Http11,
        len,
    })
}

/// Rejects a NUL or a CR in a field value. httparse already stops at most
/// control characters; this keeps the rule here whatever its version does.
fn check_value(value: &[u8]) -> Result<(), ParseError> {
    if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return Err(ParseError::BadHeaderValue);
    }
    Ok(())
}

impl Framing {
    /// Takes note of one header.
    fn note(&mut self, header: &Header<'_>) -> Result<(), ParseError> {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            if self.content_length.is_some() {
                return Err(ParseError::BadContentLength);
            }
            self.content_length = Some(parse_length(header.value)?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if self.transfer_encoding {
                // Several fields are one list; only "chunked" once is allowed.
                return Err(ParseError::BadTransferEncoding);
            }
            self.transfer_encoding = true;
            check_transfer_encoding(header.value)?;
        } else if name.eq_ignore_ascii_case("host") {
            self.hosts += 1;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in tokens(header.value) {
                self.close |= token.eq_ignore_ascii_case(b"close");
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            self.expect_continue = header
                .value
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }

    /// The body framing, after every header was seen.
    fn body_kind(&self, version: Version) -> Result<BodyKind, ParseError> {
        match self.hosts {
            0 if version == Version::Http11 => return Err(ParseError::MissingHost),
            0 | 1 => {}
            _ => return Err(ParseError::DuplicateHost),
        }
        if self.transfer_encoding && version == Version::Http10 {
            // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding
            // has faulty framing (1.0 has no chunked coding).
            return Err(ParseError::BadTransferEncoding);
        }
        match (self.transfer_encoding, self.content_length) {
            (true, Some(_)) => Err(ParseError::LengthAndChunked),
            (true, None) => Ok(BodyKind::Chunked),
            (false, Some(0) | None) => Ok(BodyKind::Empty),
            (false, Some(n)) => Ok(BodyKind::Length(n)),
        }
    }
}

/// RFC 9112 §3.2: the four request-target forms, each where it belongs:
/// origin-form (`/path?query`) for any method but CONNECT, absolute-form
/// (`scheme:...`) likewise, authority-form (`host:port`) only and always
/// with CONNECT, asterisk-form (`*`) only with OPTIONS. Anything else
/// (`p`, `HTTP/1.0/`) is no request target.
fn check_target_form(method: &Method, target: &str) -> Result<(), ParseError> {
    let connect = method.as_str() == "CONNECT";
    let ok = if connect {
        is_authority_form(target)
    } else if target == "*" {
        method.as_str() == "OPTIONS"
    } else {
        target.starts_with('/') || is_absolute_form(target)
    };
    match ok {
        true => Ok(()),
        false => Err(ParseError::Malformed),
    }
}

/// `scheme ":" ...` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_absolute_form(target: &str) -> bool {
    let Some((scheme, _)) = target.split_once(':') else {
        return false;
    };
    let mut chars = scheme.bytes();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// `host ":" port`: a non-empty host without `/ ? # @`, a decimal port.
fn is_authority_form(target: &str) -> bool {
    let Some((host, port)) = target.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && !host.bytes().any(|b| matches!(b, b'/' | b'?' | b'#' | b'@'))
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
}

/// `1*DIGIT`, nothing else (no sign, no spaces inside, no list).
fn parse_length(value: &[u8]) -> Result<u64, ParseError> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadContentLength);
    }
    Ok(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Only `chunked`, once, is supported.
fn check_transfer_encoding(value: &[u8]) -> Result<(), ParseError> {
    let mut chunked = 0;
    for coding in tokens(value) {
        if coding.eq_ignore_ascii_case(b"chunked") {
            chunked += 1;
        } else {
            return Err(ParseError::UnsupportedEncoding);
        }
    }
    if chunked != 1 {
        return Err(ParseError::BadTransferEncoding);
    }
    Ok(())
}

/// The comma-separated, trimmed, non-empty items of a list header.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses with default limits.
    fn parse(bytes: &[u8]) -> Result<Status<Head>, ParseError> {
        parse_head(bytes, &Limits::default())
    }

    /// The complete head, or a panic naming the input.
    fn head(bytes: &[u8]) -> Head {
        match parse(bytes) {
            Ok(Status::Complete(head)) => head,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn simple_get() {
        let h = head(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nrest");
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target, "/a?b=1");
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.headers.get("accept"), Some("*/*"));
        assert_eq!(h.body, BodyKind::Empty);
        assert!(h.keep_alive);
        assert_eq!(h.len, 45);
    }

    #[test]
    fn framing_and_connection_table() {
        let table: &[(&[u8], BodyKind, bool, bool)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
                BodyKind::Length(5),
                true,
                false,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                BodyKind::Empty,
                true,
                false,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n",
                BodyKind::Chunked,
                true,
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                BodyKind::Empty,
                false,
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", BodyKind::Empty, false, false),
            (
                b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                BodyKind::Empty,
                true,
                false,
            ),
            (
                b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
                BodyKind::Length(1),
                true,
                true,
            ),
        ];
        for (bytes, body, keep_alive, expect) in table {
            let h = head(bytes);
            assert_eq!(
                (h.body, h.keep_alive, h.expect_continue),
                (*body, *keep_alive, *expect),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn hostile_heads_table() {
        use ParseError::*;
        let table: &[(&[u8], ParseError)] = &[
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", LengthAndChunked),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", BadContentLength),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", BadContentLength),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", BadContentLength),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", BadContentLength),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", BadContentLength),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", BadContentLength),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", UnsupportedEncoding),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", UnsupportedEncoding),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", BadTransferEncoding),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", BadTransferEncoding),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n", BadTransferEncoding),
            (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", DuplicateHost),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", Malformed),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", BadHeaderValue),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", BadHeaderValue),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n", Malformed),
            (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", Malformed),
            (b"G\0T / HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Malformed),
            // Found by the differential harness (tests/differential).
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BadTransferEncoding),
            (b"GET HTTP/1.0/ HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"GET p HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"CONNECT http://x:80/ HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
        ];
        for (bytes, want) in table {
            match parse(bytes) {
                Err(got) => assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(bytes)),
                Ok(other) => panic!("{:?} parsed: {other:?}", String::from_utf8_lossy(bytes)),
            }
        }
    }

    #[test]
    fn expect_100_continue_is_ignored_from_http10() {
        let expect = |version: &str| {
            let bytes = format!(
                "POST / {version}\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"
            );
            head(bytes.as_bytes()).expect_continue
        };
        assert!(expect("HTTP/1.1"));
        assert!(!expect("HTTP/1.0"));
    }

    #[test]
    fn the_four_target_forms_each_where_it_belongs() {
        for (line, target) in [
            ("GET /a?b HTTP/1.1", "/a?b"),
            ("GET http://x/a HTTP/1.1", "http://x/a"),
            ("GET x:80 HTTP/1.1", "x:80"),
            ("OPTIONS * HTTP/1.1", "*"),
            ("CONNECT x:443 HTTP/1.1", "x:443"),
            ("CONNECT [::1]:443 HTTP/1.1", "[::1]:443"),
            ("BREW /pot HTTP/1.1", "/pot"),
        ] {
            let bytes = format!("{line}\r\nHost: x\r\n\r\n");
            if target == "x:80" {
                // `x:80` is an absolute-URI with scheme `x` for GET.
                assert!(parse(bytes.as_bytes()).is_ok(), "{line}");
                continue;
            }
            assert_eq!(head(bytes.as_bytes()).target, target, "{line}");
        }
    }

    #[test]
    fn partial_is_a_status_not_an_error() {
        for cut in [0, 1, 5, 16, 20, 30] {
            let full = b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n";
            assert!(
                matches!(parse(&full[..cut]), Ok(Status::Partial)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn limits_give_414_and_431() {
        let limits = Limits::default()
            .max_uri_bytes(10)
            .max_head_bytes(64)
            .max_headers(2);
        let long_uri = b"GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            parse_head(long_uri, &limits).unwrap_err(),
            ParseError::UriTooLong
        );
        assert_eq!(
            parse_head(&long_uri[..20], &limits).unwrap_err(),
            ParseError::UriTooLong
        );
        let many = b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n";
        assert_eq!(
            parse_head(many, &limits).unwrap_err(),
            ParseError::TooManyHeaders
        );
        let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nA: ".to_vec();
        big.extend_from_slice(&[b'a'; 100]);
        assert_eq!(
            parse_head(&big, &limits).unwrap_err(),
            ParseError::HeadTooLarge
        );
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse_head(&big, &limits).unwrap_err(),
            ParseError::HeadTooLarge
        );
        let wide = Limits::default().max_headers(200);
        assert!(matches!(parse_head(many, &wide), Ok(Status::Complete(_))));
    }

    #[test]
    fn http10_needs_no_host() {
        assert_eq!(head(b"GET / HTTP/1.0\r\n\r\n").version, Version::Http10);
    }
}
