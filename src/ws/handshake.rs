//! The server side of the opening handshake (RFC 6455 §4.2), as a pure
//! function over the request's method and a header lookup: it takes no
//! socket and no HTTP types, so the HTTP layer (or a test) supplies both.

use std::fmt;

/// The WebSocket protocol version this server speaks.
pub(crate) const VERSION: &str = "13";

/// A handshake that may be accepted: what the 101 response must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accept {
    /// The `Sec-WebSocket-Accept` value derived from the client's key.
    pub(crate) accept_key: String,
    /// The subprotocol chosen for `Sec-WebSocket-Protocol`, if any.
    pub(crate) protocol: Option<String>,
}

impl Accept {
    /// The headers of the `101 Switching Protocols` response.
    pub(crate) fn response_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            ("Sec-WebSocket-Accept", self.accept_key.clone()),
        ];
        if let Some(protocol) = &self.protocol {
            headers.push(("Sec-WebSocket-Protocol", protocol.clone()));
        }
        headers
    }
}

/// Why a handshake was refused, with the HTTP status to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HandshakeError {
    /// 400 (bad handshake) or 426 (upgrade required / wrong version).
    status: u16,
    /// A short explanation for the response body and the log.
    reason: &'static str,
}

impl HandshakeError {
    /// A 400 Bad Request.
    const fn bad(reason: &'static str) -> Self {
        Self {
            status: 400,
            reason,
        }
    }

    /// A 426 Upgrade Required.
    const fn upgrade_required(reason: &'static str) -> Self {
        Self {
            status: 426,
            reason,
        }
    }

    /// The HTTP status to answer with.
    pub(crate) fn status(&self) -> u16 {
        self.status
    }

    /// A short explanation.
    pub(crate) fn reason(&self) -> &'static str {
        self.reason
    }

    /// Headers the refusal must carry: a 426 names the protocol and the
    /// version the client should retry with.
    pub(crate) fn headers(&self) -> Vec<(&'static str, &'static str)> {
        if self.status == 426 {
            vec![("Upgrade", "websocket"), ("Sec-WebSocket-Version", VERSION)]
        } else {
            Vec::new()
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "websocket handshake refused ({}): {}",
            self.status, self.reason
        )
    }
}

impl std::error::Error for HandshakeError {}

/// Whether a request asks for a websocket: its `Upgrade` header lists the
/// `websocket` token. Whether the rest of the handshake is right is
/// [`check_upgrade`]'s question.
pub(crate) fn is_upgrade_request<'h>(header: impl Fn(&str) -> Option<&'h str>) -> bool {
    header("upgrade").is_some_and(|value| has_token(value, "websocket"))
}

/// Checks an opening handshake and works out the answer.
///
/// `header` looks a header up by name, case-insensitively (names are
/// passed in lower case). `supported_protocols` are the route's
/// subprotocols; the first one the client offers (in the client's order)
/// that the route supports is chosen.
///
/// # Errors
///
/// - 400 when the method is not GET, `Connection` lacks the `upgrade`
///   token, or `Sec-WebSocket-Key` is missing or not 16 bytes in base64;
/// - 426 (with `Sec-WebSocket-Version: 13`) when there is no
///   `Upgrade: websocket` (a plain GET) or the version is not 13.
pub(crate) fn check_upgrade<'h>(
    method: &str,
    header: impl Fn(&str) -> Option<&'h str>,
    supported_protocols: &[&str],
) -> Result<Accept, HandshakeError> {
    if method != "GET" {
        return Err(HandshakeError::bad("a websocket handshake must be a GET"));
    }
    if !is_upgrade_request(&header) {
        return Err(HandshakeError::upgrade_required(
            "this resource needs a websocket upgrade",
        ));
    }
    if !header("connection").is_some_and(|value| has_token(value, "upgrade")) {
        return Err(HandshakeError::bad(
            "Connection header lacks the upgrade token",
        ));
    }
    if header("sec-websocket-version").map(str::trim) != Some(VERSION) {
        return Err(HandshakeError::upgrade_required(
            "unsupported websocket version",
        ));
    }
    let key = header("sec-websocket-key")
        .map(str::trim)
        .filter(|key| is_valid_key(key))
        .ok_or(HandshakeError::bad("missing or invalid Sec-WebSocket-Key"))?;
    let protocol = header("sec-websocket-protocol").and_then(|offered| {
        offered
            .split(',')
            .map(str::trim)
            .find(|offer| supported_protocols.contains(offer))
            .map(str::to_owned)
    });
    Ok(Accept {
        accept_key: tungstenite::handshake::derive_accept_key(key.as_bytes()),
        protocol,
    })
}

/// Whether a comma-separated header value lists `token` (ASCII
/// case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Whether `key` is the base64 encoding of exactly 16 bytes: 22 alphabet
/// characters and `==` (tungstenite hashes any string; RFC 6455 §4.2.1
/// requires this shape).
fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes.ends_with(b"==")
        && bytes[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key and accept value from RFC 6455 §1.3.
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    /// Runs `check_upgrade` over a list of headers.
    fn check(
        method: &str,
        headers: &[(&str, &str)],
        protocols: &[&str],
    ) -> Result<Accept, HandshakeError> {
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        check_upgrade(method, lookup, protocols)
    }

    /// A valid handshake with one header replaced (or removed when `value` is None).
    fn with(name: &str, value: Option<&'static str>) -> Vec<(String, &'static str)> {
        let mut headers: Vec<(String, &'static str)> = vec![
            ("Host".into(), "example.com"),
            ("Upgrade".into(), "websocket"),
            ("Connection".into(), "Upgrade"),
            ("Sec-WebSocket-Key".into(), KEY),
            ("Sec-WebSocket-Version".into(), "13"),
        ];
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if let Some(value) = value {
            headers.push((name.to_owned(), value));
        }
        headers
    }

    fn status_of(method: &str, headers: &[(String, &'static str)]) -> Result<String, u16> {
        let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        check(method, &borrowed, &[])
            .map(|accept| accept.accept_key)
            .map_err(|err| err.status())
    }

    #[test]
    fn table_of_handshakes() {
        /// (case, header to replace, its new value or None to remove it, expected).
        type Case = (
            &'static str,
            &'static str,
            Option<&'static str>,
            Result<&'static str, u16>,
        );
        let cases: &[Case] = &[
            ("valid", "Host", Some("example.com"), Ok(ACCEPT)),
            ("post", "x", None, Err(400)),
            ("upgrade case", "Upgrade", Some("WebSocket"), Ok(ACCEPT)),
            (
                "upgrade list",
                "Upgrade",
                Some("h2c, websocket"),
                Ok(ACCEPT),
            ),
            ("no upgrade", "Upgrade", None, Err(426)),
            ("other upgrade", "Upgrade", Some("h2c"), Err(426)),
            (
                "connection list",
                "Connection",
                Some("keep-alive, UPGRADE"),
                Ok(ACCEPT),
            ),
            ("no connection", "Connection", None, Err(400)),
            ("connection close", "Connection", Some("close"), Err(400)),
            (
                "connection substring",
                "Connection",
                Some("upgraded"),
                Err(400),
            ),
            ("version 8", "Sec-WebSocket-Version", Some("8"), Err(426)),
            ("no version", "Sec-WebSocket-Version", None, Err(426)),
            (
                "version padded",
                "Sec-WebSocket-Version",
                Some(" 13 "),
                Ok(ACCEPT),
            ),
            ("no key", "Sec-WebSocket-Key", None, Err(400)),
            ("empty key", "Sec-WebSocket-Key", Some(""), Err(400)),
            (
                "short key",
                "Sec-WebSocket-Key",
                Some("dGhlIHNhbXBsZQ=="),
                Err(400),
            ),
            (
                "key not base64",
                "Sec-WebSocket-Key",
                Some("dGhlIHNhbXBsZSBub25j*Q=="),
                Err(400),
            ),
            (
                "key no padding",
                "Sec-WebSocket-Key",
                Some("dGhlIHNhbXBsZSBub25jZQ"),
                Err(400),
            ),
            (
                "key 17 bytes",
                "Sec-WebSocket-Key",
                Some("dGhlIHNhbXBsZSBub25jZXM="),
                Err(400),
            ),
        ];
        for (name, header, value, expected) in cases {
            let method = if *name == "post" { "POST" } else { "GET" };
            let headers = with(header, *value);
            let got = status_of(method, &headers);
            let expected = expected.map(str::to_owned);
            assert_eq!(got, expected, "case {name}");
        }
    }

    #[test]
    fn refusals_carry_the_right_headers() {
        let plain_get = check("GET", &[("Host", "x")], &[]).unwrap_err();
        assert_eq!(plain_get.status(), 426);
        assert!(plain_get
            .headers()
            .contains(&("Sec-WebSocket-Version", "13")));
        let bad = check("DELETE", &[], &[]).unwrap_err();
        assert_eq!(bad.status(), 400);
        assert!(bad.headers().is_empty());
        assert!(bad.to_string().contains("400"));
        assert!(!bad.reason().is_empty());
    }

    #[test]
    fn subprotocol_is_the_first_offered_that_is_supported() {
        let cases: &[(Option<&str>, &[&str], Option<&str>)] = &[
            (None, &["chat"], None),
            (Some("chat"), &[], None),
            (Some("chat"), &["chat"], Some("chat")),
            (
                Some("superchat, chat"),
                &["chat", "superchat"],
                Some("superchat"),
            ),
            (Some("v2,v1"), &["v1"], Some("v1")),
            (Some("Chat"), &["chat"], None),
            (Some("a, b"), &["c"], None),
        ];
        for (offered, supported, expected) in cases {
            let mut headers = vec![
                ("Upgrade", "websocket"),
                ("Connection", "upgrade"),
                ("Sec-WebSocket-Key", KEY),
                ("Sec-WebSocket-Version", "13"),
            ];
            if let Some(offered) = offered {
                headers.push(("Sec-WebSocket-Protocol", offered));
            }
            let accept = check("GET", &headers, supported).unwrap();
            assert_eq!(accept.protocol.as_deref(), *expected, "offered {offered:?}");
            let has_header = accept
                .response_headers()
                .iter()
                .any(|(n, _)| *n == "Sec-WebSocket-Protocol");
            assert_eq!(has_header, expected.is_some());
        }
    }

    #[test]
    fn upgrade_requests_are_recognised() {
        let lookup = |value: Option<&'static str>| {
            move |name: &str| (name == "upgrade").then_some(value).flatten()
        };
        assert!(is_upgrade_request(lookup(Some("websocket"))));
        assert!(is_upgrade_request(lookup(Some("foo, WebSocket"))));
        assert!(!is_upgrade_request(lookup(Some("h2c"))));
        assert!(!is_upgrade_request(lookup(None)));
    }
}
