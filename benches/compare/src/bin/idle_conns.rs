//! Opens N keep-alive connections to a server, sends `GET / HTTP/1.1` on each
//! and reads its response, then holds them all open, idle, until stdin closes
//! (or the process is killed). Prints `ready N` once every connection has had
//! its response.
//!
//! ```text
//! idle_conns HOST:PORT [N]       # default 10000
//! ```
//! Connections are opened one after another (no listen-backlog overflow).

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The request each connection sends once.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Reads one response (head, then a `content-length` body) from `s`.
fn read_response(s: &mut TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        if !head.starts_with("http/1.1 200") {
            return Err(io::Error::other(format!("unexpected response: {head}")));
        }
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return Ok(());
        }
    }
}

/// Connects, sends the request, reads the answer.
fn open(addr: &str) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(REQUEST)?;
    read_response(&mut s)?;
    Ok(s)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        match open(&addr) {
            Ok(s) => conns.push(s),
            Err(e) => {
                eprintln!("idle_conns: connection {i} to {addr}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("ready {}", conns.len());
    let _ = io::stdout().flush();
    // Hold until stdin closes.
    let mut line = String::new();
    while io::stdin().lock().read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
    drop(conns);
}
