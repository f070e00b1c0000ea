//! Entry points for the fuzz targets (`fuzz/`) and the differential
//! harness (`tests/differential`): the crate-private parsers, the router
//! and the websocket handshake check, behind plain owned types.
//!
//! Compiled only with the non-default `fuzzing` feature and hidden from the
//! docs: this is not part of the public API and may change at any time.
//! Each function mirrors what the connection code does with the same
//! pieces (`http/conn.rs`: head, then body, then the next request), without
//! a socket.

use httparse::Status;

use crate::http::{parse_head, BodyDecoder, BodyKind, Limits, Match, Method, Router};

/// The largest body these helpers accept (bounded memory per input).
pub const MAX_BODY: u64 = 1 << 20;

/// One request as sanio framed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The method token.
    pub method: String,
    /// The request target, as sent.
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
    /// Whether the body was chunked.
    pub chunked: bool,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// Where the next request starts in the input.
    pub consumed: usize,
}

/// What sanio made of the start of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// More bytes are needed.
    Incomplete,
    /// Refused with this status.
    Rejected(u16),
    /// A request.
    Request(Parsed),
}

/// The limits the helpers use: the defaults, with [`MAX_BODY`].
fn limits() -> Limits {
    Limits::default().max_body_bytes(MAX_BODY)
}

/// Parses the first request in `input` (head, then body), as a connection
/// does when all of `input` has arrived.
pub fn parse_request(input: &[u8]) -> Outcome {
    parse_split(input, &[])
}

/// Like [`parse_request`], with `input` arriving in pieces cut at `cuts`
/// (offsets, any order, out-of-range ones ignored): the head is retried
/// after each piece, and the body decoder is fed what is buffered.
pub fn parse_split(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut ends: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < input.len())
        .collect();
    ends.push(input.len());
    ends.sort_unstable();
    ends.dedup();
    let limits = limits();
    let mut pieces = ends.into_iter();
    // The head.
    let (head, mut arrived) = loop {
        let Some(arrived) = pieces.next() else {
            return Outcome::Incomplete;
        };
        match parse_head(&input[..arrived], &limits) {
            Ok(Status::Complete(head)) => break (head, arrived),
            Ok(Status::Partial) => {}
            Err(err) => return Outcome::Rejected(err.status().as_u16()),
        }
    };
    if let BodyKind::Length(n) = head.body {
        if n > limits.max_body_bytes {
            return Outcome::Rejected(413);
        }
    }
    // The body, fed what is buffered after each piece.
    let mut pos = head.len;
    let mut decoder = BodyDecoder::new(head.body);
    let mut body = Vec::new();
    loop {
        match decoder.decode(&input[pos..arrived], &mut body, limits.max_body_bytes) {
            Ok(progress) => {
                pos += progress.consumed;
                if progress.done {
                    break;
                }
            }
            Err(err) => return Outcome::Rejected(err.status().as_u16()),
        }
        match pieces.next() {
            Some(end) => arrived = end,
            None => return Outcome::Incomplete,
        }
    }
    Outcome::Request(Parsed {
        method: head.method.as_str().to_owned(),
        target: head.target.clone(),
        version: head.version.as_str(),
        headers: head
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        body,
        chunked: head.body == BodyKind::Chunked,
        keep_alive: head.keep_alive,
        expect_continue: head.expect_continue,
        consumed: pos,
    })
}

/// Every request in `input`, in order, as a keep-alive connection reads
/// them, and what ended the stream (incomplete or a rejection).
pub fn parse_pipeline(input: &[u8]) -> (Vec<Parsed>, Outcome) {
    let mut requests = Vec::new();
    let mut rest = input;
    // Each request consumes at least one byte, so this ends.
    while !rest.is_empty() {
        match parse_request(rest) {
            Outcome::Request(parsed) => {
                rest = &rest[parsed.consumed.max(1)..];
                let close = !parsed.keep_alive;
                requests.push(parsed);
                if close {
                    return (requests, Outcome::Incomplete);
                }
            }
            other => return (requests, other),
        }
    }
    (requests, Outcome::Incomplete)
}

/// Writes a parsed request out again: the same request line and fields,
/// the body as one chunk when it was chunked.
pub fn encode(parsed: &Parsed) -> Vec<u8> {
    let mut out = format!("{} {} {}\r\n", parsed.method, parsed.target, parsed.version);
    for (name, value) in &parsed.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if parsed.chunked {
        if !parsed.body.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", parsed.body.len()).as_bytes());
            out.extend_from_slice(&parsed.body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(&parsed.body);
    }
    out
}

/// What the router said about one lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// The index of the pattern in the input, and the parameters.
    Found(usize, Vec<(String, String)>),
    /// The path exists for other methods.
    MethodNotAllowed(Vec<String>),
    /// No route.
    NotFound,
}

/// Adds `patterns` (malformed or duplicate ones are skipped, as `App`
/// refuses them) for GET and looks `path` up with `method`.
pub fn route(patterns: &[&str], method: &str, path: &str, strict_slashes: bool) -> Routed {
    let mut router = Router::new();
    router.set_strict_slashes(strict_slashes);
    for (i, pattern) in patterns.iter().enumerate() {
        let _ = router.add(Method::Get, pattern, i);
    }
    match router.at(&Method::from_bytes(method.as_bytes()), path) {
        Match::Found(i, params) => Routed::Found(
            *i,
            params
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        ),
        Match::MethodNotAllowed(methods) => {
            Routed::MethodNotAllowed(methods.iter().map(|m| m.as_str().to_owned()).collect())
        }
        Match::NotFound => Routed::NotFound,
    }
}

/// Checks a websocket opening handshake: `Ok` with the response headers,
/// or the refusal's status.
#[cfg(feature = "ws")]
pub fn ws_handshake(
    method: &str,
    headers: &[(String, String)],
    protocols: &[&str],
) -> Result<Vec<(&'static str, String)>, u16> {
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    crate::ws::check_upgrade(method, lookup, protocols)
        .map(|accept| accept.response_headers())
        .map_err(|err| err.status())
}

/// What one websocket session did.
#[cfg(feature = "ws")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Messages the echo handler received.
    pub received: usize,
    /// Bytes the server wrote back (echoes, pongs, its close frame).
    pub written: usize,
    /// The session ended within the hang guard.
    pub finished: bool,
}

/// Runs one websocket connection through its driver: `frames` are the
/// client's bytes right after the handshake (handed to the driver as
/// already read), then, once the loop has turned a few times, the client
/// half-closes; an echo handler answers;
/// the client reads everything the server writes until the server closes.
/// Over a loopback socket pair on a fresh runtime; limits are
/// small (64 KiB messages) and the session is cut after `guard`.
#[cfg(feature = "ws")]
pub fn ws_session(frames: &[u8], guard: std::time::Duration) -> std::io::Result<Session> {
    use crate::net::{TcpListener, TcpStream};
    use crate::ws::{WebSocket, WsConfig};
    use std::cell::Cell;
    use std::rc::Rc;

    let config = WsConfig::new()
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .close_timeout(std::time::Duration::from_millis(200));
    let frames = frames.to_vec();
    let rt = crate::Runtime::new()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let received = Rc::new(Cell::new(0));
        let count = Rc::clone(&received);
        let handler = crate::spawn(async move {
            let ws = WebSocket::start(server, frames, &config);
            while let Some(message) = ws.recv().await {
                count.set(count.get() + 1);
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        });
        // Let the driver and the handler work through the frames (and the
        // echoes go out) before the client half-closes.
        for _ in 0..32 {
            crate::rt::yield_now().await;
        }
        client.shutdown(std::net::Shutdown::Write)?;
        let read_all = async {
            let mut written = 0;
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n @ 1..) = client.read(&mut buf).await {
                written += n;
            }
            written
        };
        let outcome = crate::timeout(guard, read_all).await;
        let _ = crate::timeout(guard, handler).await;
        Ok(Session {
            received: received.get(),
            written: *outcome.as_ref().unwrap_or(&0),
            finished: outcome.is_ok(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_split_and_round_trip() {
        let input = b"\r\nGET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n\
POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
PUT /c HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
        let (requests, end) = parse_pipeline(input);
        assert_eq!(end, Outcome::Incomplete);
        let summary: Vec<_> = requests
            .iter()
            .map(|r| (r.method.as_str(), r.target.as_str(), r.body.as_slice()))
            .collect();
        assert_eq!(
            summary,
            [
                ("GET", "/a?x=1", &b""[..]),
                ("POST", "/b", b"abc"),
                ("PUT", "/c", b"hi")
            ]
        );
        let whole = parse_request(&input[requests[0].consumed..]);
        for cut in 0..input.len() {
            assert_eq!(
                parse_split(&input[requests[0].consumed..], &[cut, cut / 2]),
                whole
            );
        }
        let Outcome::Request(post) = whole else {
            panic!("a request")
        };
        let Outcome::Request(again) = parse_request(&encode(&post)) else {
            panic!("a request again")
        };
        assert_eq!((again.method, again.body), (post.method, post.body));
    }

    #[test]
    fn routes_and_handshakes() {
        assert_eq!(
            route(&["/a/<id:int>", "/a/b"], "GET", "/a/7", false),
            Routed::Found(0, vec![("id".into(), "7".into())])
        );
        assert_eq!(
            route(&["/a"], "POST", "/a", false),
            Routed::MethodNotAllowed(vec!["GET".into(), "HEAD".into()])
        );
        #[cfg(feature = "ws")]
        assert_eq!(ws_handshake("GET", &[], &[]), Err(426));
    }

    #[cfg(feature = "ws")]
    #[test]
    fn a_session_echoes_and_ends() {
        let mask = [1, 2, 3, 4];
        let mut frames = vec![0x81, 0x82];
        frames.extend_from_slice(&mask);
        frames.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let guard = std::time::Duration::from_secs(30);
        let session = ws_session(&frames, guard).expect("a session");
        assert_eq!(
            (session.received, session.written, session.finished),
            (1, 4, true),
            "the echo, then the end (no close frame came)"
        );
        let junk = ws_session(b"\xff\xff\xff", guard).expect("a session");
        assert!(junk.finished);
    }
}
