//! End-to-end tests of the websocket layer on real sockets: a sanio loop on
//! its own thread accepts, checks the handshake with `check_upgrade`,
//! answers 101 and runs a handler on `WebSocket::start`; the client is
//! tungstenite's (blocking, on the test thread) or raw bytes.
//!
//! No timing assertions: timeouts here are hang guards only.

mod echo;
mod goaway;
mod overflow;
mod protocol;

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{check_upgrade, WebSocket, WsConfig};
use crate::net::{TcpListener, TcpStream};

/// Longest any single wait in a test may take before it counts as a hang.
const GUARD: Duration = Duration::from_secs(30);

/// Where a handler reports what it saw.
type Events = mpsc::Sender<String>;

/// A websocket server on its own thread and loop.
struct Server {
    /// Where it listens.
    addr: SocketAddr,
    /// What handlers reported.
    events: mpsc::Receiver<String>,
    /// Ok once every connection ended and the loop's stats were back at
    /// their baseline; the difference otherwise.
    report: mpsc::Receiver<Result<(), String>>,
}

impl Server {
    /// Waits for the server to finish its connections and returns the
    /// handlers' events, asserting nothing leaked.
    fn finish(self) -> Vec<String> {
        let report = self
            .report
            .recv_timeout(GUARD * 2)
            .expect("server finished");
        assert_eq!(report, Ok(()), "loop stats back at baseline");
        self.events.try_iter().collect()
    }
}

/// Serves `connections` websocket connections with `handler`.
fn serve<H, F>(config: WsConfig, connections: usize, handler: H) -> Server
where
    H: Fn(WebSocket, Events) -> F + Send + 'static,
    F: Future<Output = ()> + 'static,
{
    let (addr_tx, addr_rx) = mpsc::channel();
    let (event_tx, event_rx) = mpsc::channel();
    let (report_tx, report_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = crate::Runtime::new()
            .expect("runtime")
            .with_grace_period(Duration::from_secs(1));
        let report = rt.block_on(run(config, connections, handler, event_tx, addr_tx));
        let _ = report_tx.send(report);
    });
    let addr = addr_rx.recv_timeout(GUARD).expect("server started");
    Server {
        addr,
        events: event_rx,
        report: report_rx,
    }
}

/// The server's accept loop, then the leak check.
async fn run<H, F>(
    config: WsConfig,
    connections: usize,
    handler: H,
    events: Events,
    addr_tx: mpsc::Sender<SocketAddr>,
) -> Result<(), String>
where
    H: Fn(WebSocket, Events) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    addr_tx
        .send(listener.local_addr().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let baseline = crate::rt::stats().map_err(|e| e.to_string())?;
    let handler = Rc::new(handler);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let (handler, events, config) = (Rc::clone(&handler), events.clone(), config.clone());
        tasks.push(crate::spawn(async move {
            if let Some((stream, leftover)) = upgrade(stream).await {
                let ws = WebSocket::start(stream, leftover, &config);
                handler(ws, events).await;
            }
        }));
    }
    for task in tasks {
        if let Err(err) = task.await {
            let _ = events.send(format!("handler ended: {err}"));
        }
    }
    let deadline = Instant::now() + GUARD;
    loop {
        let now = crate::rt::stats().map_err(|e| e.to_string())?;
        if now == baseline {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("stats {now:?} != baseline {baseline:?}"));
        }
        crate::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads the request head, checks it and answers 101 (or the refusal).
/// Returns the stream and the bytes read past the head.
async fn upgrade(stream: TcpStream) -> Option<(TcpStream, Vec<u8>)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?;
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let response = match check_upgrade(method, lookup, &["chat"]) {
        Ok(accept) => {
            let mut response = "HTTP/1.1 101 Switching Protocols\r\n".to_owned();
            for (name, value) in accept.response_headers() {
                response += &format!("{name}: {value}\r\n");
            }
            response + "\r\n"
        }
        Err(err) => {
            let mut response =
                format!("HTTP/1.1 {} Refused\r\nContent-Length: 0\r\n", err.status());
            for (name, value) in err.headers() {
                response += &format!("{name}: {value}\r\n");
            }
            stream
                .write_all((response + "\r\n").as_bytes())
                .await
                .ok()?;
            return None;
        }
    };
    stream.write_all(response.as_bytes()).await.ok()?;
    Some((stream, buf[head_end..].to_vec()))
}

/// tungstenite's blocking client over a std socket.
type Client = tungstenite::WebSocket<std::net::TcpStream>;

/// Connects a tungstenite client.
fn client(addr: SocketAddr) -> Client {
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let (ws, response) = tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
    assert_eq!(response.status(), 101);
    ws
}

/// Reads until the connection is closed; returns the data messages and the
/// close frame's code, if one came.
fn read_until_closed(client: &mut Client) -> (Vec<tungstenite::Message>, Option<u16>) {
    let mut messages = Vec::new();
    let mut code = None;
    loop {
        match client.read() {
            Ok(tungstenite::Message::Close(frame)) => code = frame.map(|f| u16::from(f.code)),
            Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_)) => {}
            Ok(message) => messages.push(message),
            Err(_) => return (messages, code),
        }
    }
}

/// The handshake a raw client sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// A client that speaks raw bytes.
struct Raw {
    /// The socket.
    stream: std::net::TcpStream,
    /// Bytes read and not yet parsed.
    buf: Vec<u8>,
}

impl Raw {
    /// Connects and sends `REQUEST` followed by `extra`, in one write.
    fn connect(addr: SocketAddr, extra: &[u8]) -> Raw {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        (&stream).write_all(&[REQUEST, extra].concat()).unwrap();
        let mut raw = Raw {
            stream,
            buf: Vec::new(),
        };
        let head = raw.read_head();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw
    }

    /// Reads the response head.
    fn read_head(&mut self) -> String {
        loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..pos + 4).collect();
                return String::from_utf8(head).unwrap();
            }
            assert!(self.fill(), "EOF before the response head");
        }
    }

    /// Reads more bytes; false at EOF or on an error (a reset).
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next (unmasked) server frame, up to 64 KiB, as (first byte,
    /// payload); `None` at EOF.
    fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 4 || (self.buf.len() >= 2 && self.buf[1] & 0x7f < 126) {
                let (header, len) = match self.buf[1] & 0x7f {
                    126 => (
                        4,
                        usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
                    ),
                    127 => panic!("tests expect server frames up to 64 KiB"),
                    short => (2, usize::from(short)),
                };
                if self.buf.len() >= header + len {
                    let frame: Vec<u8> = self.buf.drain(..header + len).collect();
                    return Some((frame[0], frame[header..].to_vec()));
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads frames until the server's close frame; returns its code and
    /// the opcodes seen before it.
    fn close_code(&mut self) -> (Option<u16>, Vec<u8>) {
        let mut seen = Vec::new();
        while let Some((first, payload)) = self.frame() {
            if first & 0x0f == 0x8 {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return (code, seen);
            }
            seen.push(first & 0x0f);
        }
        (None, seen)
    }

    /// Reads until EOF (or a reset), discarding; false if the hang guard
    /// ran out first.
    fn wait_eof(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }

    /// Sends bytes.
    fn send(&mut self, bytes: &[u8]) {
        (&self.stream).write_all(bytes).unwrap();
    }
}

/// A masked client frame: `first` is the FIN/RSV/opcode byte.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A masked, final text frame.
fn text(payload: &str) -> Vec<u8> {
    masked(0x81, payload.as_bytes())
}
