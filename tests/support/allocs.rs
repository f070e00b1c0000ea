//! Allocations per request, counted on the server's worker thread only.
//!
//! Shared by `tests/allocs.rs` (which fails when the plaintext figure
//! rises) and `benches/allocs.rs` (which prints the table in
//! benches/README.md). Each of them installs [`Counting`] as its
//! `#[global_allocator]`; the client runs in the same process, so only
//! allocations made on the thread that marked itself with
//! [`count_this_thread`] (the server's worker, from a
//! `before_server_start` listener) are counted.
//!
//! The scenarios drive a real server over real sockets on 127.0.0.1 port 0:
//! a warm-up first (pools filled, the `Date` cache made, the router's and
//! the loop's tables grown), then `rounds` request/response round trips on
//! one keep-alive connection (or one websocket), the counter read before
//! and after. The client waits for each answer, so the server is idle in
//! `epoll_wait` when the counter is read.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sanio::{App, Config, HttpError, Lifecycle, Request, Response, WebSocket};

/// Allocations (and reallocations) made on counted threads.
static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Bytes those allocations asked for.
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations are counted.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// A global allocator that forwards to `System` and counts the
/// allocations of marked threads.
pub struct Counting;

/// True when the current thread is counted (false while its thread-locals
/// are being torn down).
fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

/// Notes one allocation of `size` bytes.
fn note(size: usize) {
    if counted() {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to `System` unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Counts the current thread's allocations from now on.
pub fn count_this_thread() {
    COUNTED.with(|c| c.set(true));
}

/// (allocations, bytes) counted so far.
fn counters() -> (u64, u64) {
    (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    )
}

/// One scenario's figure.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// The scenario's name.
    pub name: &'static str,
    /// Round trips measured.
    pub rounds: u64,
    /// Allocations on the server thread during them.
    pub allocs: u64,
    /// Bytes those allocations asked for.
    pub bytes: u64,
}

impl Figure {
    /// Allocations per request.
    pub fn per_request(&self) -> f64 {
        self.allocs as f64 / self.rounds as f64
    }

    /// Bytes allocated per request.
    pub fn bytes_per_request(&self) -> f64 {
        self.bytes as f64 / self.rounds as f64
    }
}

/// TechEmpower's json object, `{"message":"Hello, World!"}`, serialized
/// per request (by hand: serde's derive is not a dependency here).
struct Message {
    /// The one field.
    message: &'static str,
}

impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut object = serializer.serialize_struct("Message", 1)?;
        object.serialize_field("message", self.message)?;
        object.end()
    }
}

/// The app measured: the TechEmpower plaintext and json routes, a routed
/// request with a typed parameter, a websocket echo.
pub fn app() -> App {
    let app = App::new("allocs");
    app.listener(Lifecycle::BeforeServerStart, |_app: App| async {
        count_this_thread();
    })
    .expect("listener");
    app.get("/", |_req: Request| async { "Hello, World!" })
        .expect("route");
    app.get("/json", |_req: Request| async {
        Response::json(&Message {
            message: "Hello, World!",
        })
    })
    .expect("route");
    app.get("/user/<id:int>", |req: Request| async move {
        let id: i64 = req.param("id")?;
        Ok::<_, HttpError>(if id > 0 { "a user" } else { "no user" })
    })
    .expect("route");
    app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
    .expect("route");
    app
}

/// Starts [`app`] on port 0 with one worker.
pub fn serve() -> sanio::Server {
    let config = Config::default()
        .port(0)
        .workers(1)
        .access_log(false)
        .graceful_timeout(Duration::from_secs(5));
    app().serve(config).expect("serve")
}

/// Sends `request` and reads one response to it; returns its body length.
fn round_trip(stream: &mut TcpStream, buf: &mut Vec<u8>, request: &[u8]) -> usize {
    stream.write_all(request).expect("write");
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).expect("utf-8 head");
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("content-length");
            if buf.len() >= end + 4 + length {
                assert_eq!(buf.len(), end + 4 + length, "one response only");
                return length;
            }
        }
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Allocations per request of `GET path` on one keep-alive connection.
pub fn http(addr: SocketAddr, name: &'static str, path: &str, rounds: u64) -> Figure {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut buf = Vec::with_capacity(4096);
    for _ in 0..WARM_UP {
        round_trip(&mut stream, &mut buf, request.as_bytes());
    }
    let before = counters();
    for _ in 0..rounds {
        round_trip(&mut stream, &mut buf, request.as_bytes());
    }
    let after = counters();
    Figure {
        name,
        rounds,
        allocs: after.0 - before.0,
        bytes: after.1 - before.1,
    }
}

/// Allocations per echoed 32-byte text message on one websocket.
pub fn ws(addr: SocketAddr, rounds: u64) -> Figure {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let url = format!("ws://{addr}/echo");
    let (mut client, _) = tungstenite::client(url.as_str(), stream).expect("handshake");
    let text = "0123456789abcdef0123456789abcdef";
    let mut echo = || {
        client.send(tungstenite::Message::text(text)).expect("send");
        match client.read().expect("read") {
            tungstenite::Message::Text(reply) => assert_eq!(reply.as_str(), text),
            other => panic!("unexpected {other:?}"),
        }
    };
    for _ in 0..WARM_UP {
        echo();
    }
    let before = counters();
    for _ in 0..rounds {
        echo();
    }
    let after = counters();
    Figure {
        name: "websocket echo (32 B text)",
        rounds,
        allocs: after.0 - before.0,
        bytes: after.1 - before.1,
    }
}

/// Round trips before counting starts.
const WARM_UP: u64 = 200;

/// Every scenario, `rounds` round trips each, on a fresh server.
pub fn all(rounds: u64) -> Vec<Figure> {
    let server = serve();
    let addr = server.local_addr();
    let figures = vec![
        http(addr, "plaintext keep-alive", "/", rounds),
        http(addr, "json", "/json", rounds),
        http(addr, "routed, typed param", "/user/42", rounds),
        ws(addr, rounds),
    ];
    server.stop();
    server.join().expect("server stopped cleanly");
    figures
}
