//! The floor: a bare mio loop that answers every request with a fixed
//! plaintext response and does nothing else. No parsing (a request is
//! counted by its blank line, `\r\n\r\n`), no routing, no `Date`, no
//! timers: what is left is the syscalls (accept, read, write, epoll_wait)
//! and the kernel's loopback path, the physical limit of this machine for
//! the plaintext tests. Pipelined requests are answered in one write, as
//! the servers measured against it do. `GET /json` is not told apart: the
//! floor is one fixed response.
//!
//! ```text
//! mio_floor [PORT]               # or PORT=8090; default 8090, host 127.0.0.1
//! ```

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The one response.
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: text/plain\r\n\r\nHello, World!";
/// The listener's token; connections count up from 1.
const LISTENER: Token = Token(0);

/// One connection: its socket, the tail of the last read (a blank line may
/// be split between reads) and the responses not yet written.
struct Conn {
    /// The socket.
    stream: TcpStream,
    /// Up to the last three bytes read, to find a split `\r\n\r\n`.
    tail: Vec<u8>,
    /// Responses waiting for the socket.
    out: Vec<u8>,
}

/// How many `\r\n\r\n` end in `bytes`, given `tail` read before them.
fn requests_in(tail: &mut Vec<u8>, bytes: &[u8]) -> usize {
    let mut seen = std::mem::take(tail);
    let skip = seen.len();
    seen.extend_from_slice(bytes);
    let count = seen
        .windows(4)
        .enumerate()
        .filter(|(i, w)| *w == b"\r\n\r\n" && i + 4 > skip)
        .count();
    let keep = seen.len().saturating_sub(3);
    tail.extend_from_slice(&seen[keep..]);
    count
}

/// Reads all that is there and queues one response per request; false
/// when the connection is done.
fn serve(conn: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                for _ in 0..requests_in(&mut conn.tail, &buf[..n]) {
                    conn.out.extend_from_slice(RESPONSE);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    flush(conn)
}

/// Writes what is queued; false when the connection failed.
fn flush(conn: &mut Conn) -> bool {
    while !conn.out.is_empty() {
        match conn.stream.write(&conn.out) {
            Ok(0) => return false,
            Ok(n) => {
                conn.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

fn main() -> io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .unwrap_or_else(|| "8090".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut listener = TcpListener::bind(addr)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    eprintln!("mio_floor on {addr}");
    let mut events = Events::with_capacity(1024);
    let mut conns: HashMap<Token, Conn> = HashMap::new();
    let mut next = 1;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            let token = Token(next);
                            next += 1;
                            poll.registry().register(
                                &mut stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            let conn = Conn {
                                stream,
                                tail: Vec::with_capacity(8),
                                out: Vec::with_capacity(4096),
                            };
                            conns.insert(token, conn);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let token = event.token();
            let Some(conn) = conns.get_mut(&token) else {
                continue;
            };
            let alive = if event.is_readable() {
                serve(conn, &mut buf)
            } else {
                flush(conn)
            };
            if !alive {
                if let Some(mut conn) = conns.remove(&token) {
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            }
        }
    }
}
