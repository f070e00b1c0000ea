//! Socket-level tests of the connection driver: a loop on a thread serves
//! a small test service on 127.0.0.1:0, and `std::net::TcpStream` clients
//! send raw bytes. Timeouts in `Limits` are short so the timeout paths run
//! quickly; every wait on the client side has a generous hang guard and no
//! test asserts on how long anything took.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::conn::serve_connection;
use super::service::{Service, Shutdown};
use super::{Limits, Request, Response, StatusCode};
use crate::net::TcpListener;

/// The longest any client read waits before the test fails.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// Bytes in the `/big` body: more than loopback socket buffers hold.
const BIG: usize = 32 << 20;

/// Handlers of `/hang` started and dropped.
static HANG_STARTED: AtomicUsize = AtomicUsize::new(0);
/// See [`HANG_STARTED`].
static HANG_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Handlers of `/wait-shutdown` started.
static SHUTDOWN_WAITERS: AtomicUsize = AtomicUsize::new(0);

/// Counts a drop of a `/hang` handler.
struct DropCounter;

impl Drop for DropCounter {
    fn drop(&mut self) {
        HANG_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// The test application.
struct TestService {
    /// The worker's stop signal, triggered by `/shutdown`.
    shutdown: Shutdown,
}

impl Service for TestService {
    fn call(self: Rc<Self>, request: Request) -> crate::rt::PooledFuture<Response> {
        crate::rt::PooledFuture::new(async move { self.answer(request).await })
    }
}

impl TestService {
    /// Routes by path.
    async fn answer(&self, request: Request) -> Response {
        match request.path() {
            "/" => Response::text("hello"),
            "/big" => Response::bytes(vec![b'x'; BIG]),
            "/echo" => Response::bytes(request.body().to_vec()),
            "/panic" => panic!("handler failure on purpose"),
            "/hang" => {
                let _counter = DropCounter;
                HANG_STARTED.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
                Response::text("never")
            }
            "/wait-shutdown" => {
                SHUTDOWN_WAITERS.fetch_add(1, Ordering::SeqCst);
                self.shutdown.triggered().await;
                Response::text("bye")
            }
            "/shutdown" => {
                self.shutdown.trigger();
                Response::text("stopping")
            }
            "/stream" => {
                let (response, mut sender) = Response::stream("text/plain");
                crate::spawn(async move {
                    for part in ["a", "bb", "ccc"] {
                        crate::sleep(Duration::from_millis(5)).await;
                        if sender.send(part).await.is_err() {
                            return;
                        }
                    }
                });
                response
            }
            path => Response::text(format!("path={path}")),
        }
    }
}

/// Limits with short timeouts and small sizes.
fn test_limits() -> Limits {
    Limits::default()
        .max_head_bytes(1024)
        .max_uri_bytes(256)
        .max_headers(20)
        .max_body_bytes(1000)
        .request_timeout(Duration::from_millis(300))
        .body_timeout(Duration::from_millis(300))
        .keep_alive_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_secs(1))
}

/// Starts a server on a thread with `limits`; returns its address.
fn start(limits: Limits) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = crate::Runtime::new().expect("a runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let shutdown = Shutdown::new();
            let service = Rc::new(TestService {
                shutdown: shutdown.clone(),
            });
            let limits = Rc::new(limits);
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let conn = serve_connection(
                    stream,
                    peer,
                    Rc::clone(&service),
                    Rc::clone(&limits),
                    shutdown.clone(),
                );
                crate::spawn(conn);
            }
        });
    });
    rx.recv().expect("the server starts")
}

/// A connected client with the hang guard set.
fn connect(addr: SocketAddr) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(HANG_GUARD)).expect("timeout");
    stream
}

/// Everything until the server closes.
fn read_to_close(stream: &mut std::net::TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(err) => panic!("the server neither answered nor closed: {err}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One parsed response.
#[derive(Debug)]
struct Answer {
    /// The status code.
    status: u16,
    /// Header fields, names lowercased.
    headers: Vec<(String, String)>,
    /// The body, de-chunked.
    body: String,
}

impl Answer {
    /// A header's value.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response from `stream`, keeping extra bytes in `pending`.
fn read_answer(stream: &mut std::net::TcpStream, pending: &mut Vec<u8>, head_only: bool) -> Answer {
    let (status, headers, len) = loop {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut slots);
        if let httparse::Status::Complete(len) = parsed.parse(pending).expect("a valid response") {
            let headers = parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            break (parsed.code.expect("a code"), headers, len);
        }
        fill(stream, pending);
    };
    pending.drain(..len);
    let mut answer = Answer {
        status,
        headers,
        body: String::new(),
    };
    if head_only || status < 200 {
        return answer;
    }
    let body = if answer.header("transfer-encoding") == Some("chunked") {
        read_chunked(stream, pending)
    } else {
        let n: usize = answer
            .header("content-length")
            .map_or(0, |v| v.parse().expect("a length"));
        while pending.len() < n {
            fill(stream, pending);
        }
        pending.drain(..n).collect()
    };
    answer.body = String::from_utf8(body).expect("a text body");
    answer
}

/// Reads more bytes into `pending`, failing the test on EOF or timeout.
fn fill(stream: &mut std::net::TcpStream, pending: &mut Vec<u8>) {
    let mut buf = [0; 4096];
    let n = stream.read(&mut buf).expect("more of the response");
    assert!(
        n > 0,
        "connection closed mid-response: {:?}",
        String::from_utf8_lossy(pending)
    );
    pending.extend_from_slice(&buf[..n]);
}

/// A chunked body.
fn read_chunked(stream: &mut std::net::TcpStream, pending: &mut Vec<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        while !pending.windows(2).any(|w| w == b"\r\n") {
            fill(stream, pending);
        }
        let line_end = pending
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a line");
        let size =
            usize::from_str_radix(std::str::from_utf8(&pending[..line_end]).expect("hex"), 16)
                .expect("a size");
        while pending.len() < line_end + 2 + size + 2 {
            fill(stream, pending);
        }
        body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
        pending.drain(..line_end + 2 + size + 2);
        if size == 0 {
            return body;
        }
    }
}

/// Sends `bytes` on a new connection and returns everything until close.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("write");
    read_to_close(&mut stream)
}

/// A valid request, sent after hostile ones: it must never be answered.
const NEXT: &str = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn hostile_requests_get_their_status_and_a_close() {
    let addr = start(test_limits());
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(300));
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(1100)
    );
    let many = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-H: 1\r\n".repeat(25)
    );
    let table: Vec<(String, u16)> = vec![
        ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n".into(), 501),
        ("GET / HTTP/1.1\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".into(), 400),
        (many, 431),
        (big_head, 431),
        (long_uri, 414),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n".into(), 413),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a\0b\r\nabc\r\n0\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n".into(), 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d1\r\n".into(), 413),
    ];
    for (request, status) in table {
        let reply = exchange(addr, format!("{request}{NEXT}").as_bytes());
        let shown = request.escape_debug().to_string();
        assert!(
            reply.starts_with(&format!("HTTP/1.1 {status} ")),
            "{shown} -> {reply:?}"
        );
        assert_eq!(
            reply.matches("HTTP/1.1 ").count(),
            1,
            "{shown}: bytes after a bad request were answered: {reply:?}"
        );
        assert!(
            reply.contains("connection: close\r\n"),
            "{shown} -> {reply:?}"
        );
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    let batch: String = (0..16)
        .map(|i| format!("GET /n/{i} HTTP/1.1\r\nHost: x\r\n\r\n"))
        .collect();
    stream.write_all(batch.as_bytes()).expect("write");
    let mut pending = Vec::new();
    for i in 0..16 {
        let answer = read_answer(&mut stream, &mut pending, false);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, format!("path=/n/{i}").as_str())
        );
        assert!(answer.header("date").is_some());
    }
}

#[test]
fn a_slow_head_gets_408() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let reply = read_to_close(&mut stream);
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply:?}");
    trickle.join().expect("the writer ends");
}

#[test]
fn a_stalled_body_gets_408() {
    let addr = start(test_limits());
    let reply = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
    );
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply:?}");
}

#[test]
fn chunked_bodies_are_decoded() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n")
        .expect("write");
    let answer = read_answer(&mut stream, &mut Vec::new(), false);
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello world"));
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .expect("write");
    let mut pending = Vec::new();
    let interim = read_answer(&mut stream, &mut pending, false);
    assert_eq!(interim.status, 100);
    stream.write_all(b"hello").expect("write body");
    let answer = read_answer(&mut stream, &mut pending, false);
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello"));
}

#[test]
fn head_has_the_length_but_no_body() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    stream
        .write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut pending = Vec::new();
    let head = read_answer(&mut stream, &mut pending, true);
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("5"))
    );
    let next = read_answer(&mut stream, &mut pending, false);
    assert_eq!(
        next.body, "path=/after",
        "a HEAD response must not carry a body"
    );
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let addr = start(test_limits());
    let reply = exchange(addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(
        reply.starts_with("HTTP/1.1 200 ") && reply.ends_with("hello"),
        "{reply:?}"
    );
    assert!(reply.contains("connection: close\r\n"));

    let mut stream = connect(addr);
    let request = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let mut pending = Vec::new();
    for _ in 0..2 {
        stream.write_all(request).expect("write");
        let answer = read_answer(&mut stream, &mut pending, false);
        assert_eq!(answer.header("connection"), Some("keep-alive"));
        assert_eq!(answer.body, "hello");
    }
}

#[test]
fn connection_close_is_honoured() {
    let addr = start(test_limits());
    let reply = exchange(
        addr,
        format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n{NEXT}").as_bytes(),
    );
    assert_eq!(reply.matches("HTTP/1.1 ").count(), 1, "{reply:?}");
    assert!(
        reply.contains("connection: close\r\n") && reply.ends_with("hello"),
        "{reply:?}"
    );
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_lives() {
    let addr = start(test_limits());
    let reply = exchange(addr, b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 500 "), "{reply:?}");
    let mut stream = connect(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_answer(&mut stream, &mut Vec::new(), false).body,
        "hello"
    );
}

#[test]
fn a_client_that_leaves_drops_its_handler() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    wait_until(|| HANG_STARTED.load(Ordering::SeqCst) >= 1);
    assert_eq!(HANG_DROPPED.load(Ordering::SeqCst), 0);
    // Leaving is a reset: a FIN alone is a half-close, and is answered.
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("linger");
    drop(stream);
    wait_until(|| HANG_DROPPED.load(Ordering::SeqCst) >= 1);
}

/// Polls `condition` until it holds, failing after the hang guard.
fn wait_until(condition: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(start.elapsed() < HANG_GUARD, "condition never held");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut pending = Vec::new();
    let answer = read_answer(&mut stream, &mut pending, false);
    assert_eq!(answer.header("connection"), None, "kept alive");
    assert_eq!(read_to_close(&mut stream), "", "closed quietly when idle");
}

#[test]
fn streamed_bodies_are_chunked() {
    let addr = start(test_limits());
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut pending = Vec::new();
    let answer = read_answer(&mut stream, &mut pending, false);
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    assert_eq!(answer.body, "abbccc");
    assert_eq!(read_answer(&mut stream, &mut pending, false).body, "hello");
}

#[test]
fn shutdown_closes_idle_connections_and_finishes_in_flight_ones() {
    let limits = test_limits()
        .keep_alive_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(60));
    let addr = start(limits);
    let mut idle = connect(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    assert_eq!(read_answer(&mut idle, &mut Vec::new(), false).body, "hello");
    let mut in_flight = connect(addr);
    in_flight
        .write_all(b"GET /wait-shutdown HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    wait_until(|| SHUTDOWN_WAITERS.load(Ordering::SeqCst) >= 1);
    let reply = exchange(
        addr,
        b"GET /shutdown HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.ends_with("stopping"), "{reply:?}");
    assert_eq!(read_to_close(&mut idle), "", "the idle connection closes");
    let reply = read_to_close(&mut in_flight);
    assert!(
        reply.starts_with("HTTP/1.1 200 ") && reply.ends_with("bye"),
        "{reply:?}"
    );
    assert!(reply.contains("connection: close\r\n"), "{reply:?}");
}

#[test]
fn status_code_helpers_agree() {
    assert_eq!(StatusCode::REQUEST_TIMEOUT.as_u16(), 408);
}

#[test]
fn an_idle_connection_costs_little() {
    let rt = crate::Runtime::new().expect("a runtime");
    let size = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let _client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (stream, peer) = listener.accept().await.expect("accept");
        let shutdown = Shutdown::new();
        let service = Rc::new(TestService {
            shutdown: shutdown.clone(),
        });
        let conn = serve_connection(stream, peer, service, Rc::new(Limits::default()), shutdown);
        std::mem::size_of_val(&conn)
    });
    // The task's future is all an idle connection keeps in user space
    // (its buffers go back to the pool): about 1 KiB in a debug build, and
    // it must stay well under the 4 KiB budget per idle connection.
    assert!(size <= 2048, "a connection future takes {size} bytes");
}

#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let addr = start(test_limits().response_timeout(Duration::from_millis(200)));
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    // Not reading: the server's writes stall until its response timeout.
    std::thread::sleep(Duration::from_secs(2));
    let mut received = 0;
    let mut buf = vec![0; 1 << 16];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n,
        }
    }
    assert!(received > 0, "the response started");
    assert!(
        received < BIG,
        "the connection was cut before the whole body"
    );
}
