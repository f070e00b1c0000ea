//! Bytes per idle websocket connection, with many open (10,000 by
//! default): the server runs in a child process (this binary with
//! `--server`), one worker, an echo route; the parent opens the
//! connections one after another, does the handshake and one echo on each
//! by hand (raw frames, so that the client holds nothing but its sockets),
//! waits a second and reads the child's resident memory (`VmRSS`) and live
//! heap bytes (a counting allocator in the child) against the figures
//! after one connection. Kernel socket buffers are not in either figure.
//!
//! ```text
//! benches/ws_idle.sh                  # raises `ulimit -n`, builds, runs
//! WS_IDLE_CONNS=2000 cargo bench --bench ws_idle
//! ```
//!
//! The count is lowered to fit the open-files limit (each connection is
//! one descriptor in each process); the output says so.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use sanio::{App, Config, Request, WebSocket};

/// Live heap bytes of this process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Sizes up to which live allocations are also counted by exact size.
const SIZED: usize = 16 * 1024;

/// Live allocations by size (the last entry: anything larger), for the
/// breakdown printed after the totals.
static LIVE_BY_SIZE: [AtomicIsize; SIZED + 1] = [const { AtomicIsize::new(0) }; SIZED + 1];

/// Counts one allocation of `size` bytes in (`+1`) or out (`-1`).
fn count(size: usize, delta: isize) {
    LIVE.fetch_add(delta * size as isize, Ordering::Relaxed);
    LIVE_BY_SIZE[size.min(SIZED)].fetch_add(delta, Ordering::Relaxed);
}

/// Forwards to `System`, keeping [`LIVE`].
struct Counting;

// SAFETY: forwards every call to `System` unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 1);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout.size(), -1);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(layout.size(), -1);
        count(new_size, 1);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Connections unless `WS_IDLE_CONNS` says otherwise.
const CONNS: usize = 10_000;

/// The child: serves `/echo` on port 0, prints the port, then answers each
/// line on stdin with `<VmRSS KiB> <live heap bytes> <size>:<count>...`
/// (the live allocations of each size).
fn server() {
    let app = App::new("ws_idle");
    app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
    .expect("route");
    let config = Config::default()
        .port(0)
        .workers(1)
        .access_log(false)
        // Idle connections must outlive the measurement.
        .websocket(sanio::WsConfig::default().ping_interval(None::<Duration>));
    let server = app.serve(config).expect("serve");
    println!("{}", server.local_addr().port());
    for _line in std::io::stdin().lock().lines() {
        let sizes: Vec<String> = LIVE_BY_SIZE
            .iter()
            .enumerate()
            .map(|(size, n)| (size, n.load(Ordering::Relaxed)))
            .filter(|&(_, n)| n != 0)
            .map(|(size, n)| format!("{size}:{n}"))
            .collect();
        println!(
            "{} {} {}",
            rss_kib(std::process::id()),
            LIVE.load(Ordering::Relaxed),
            sizes.join(" ")
        );
    }
    server.stop();
    let _ = server.join();
}

/// `VmRSS` of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("reading /proc/PID/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The soft open-files limit of this process.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// Opens a websocket to `/echo` and echoes one 32-byte text message.
fn open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .expect("write handshake");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("read handshake");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "no upgrade");
    // A masked text frame (mask zero: the payload goes as it is).
    let text = b"0123456789abcdef0123456789abcdef";
    let mut frame = vec![0x81, 0x80 | text.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(text);
    s.write_all(&frame).expect("write frame");
    let mut echo = [0u8; 2 + 32];
    s.read_exact(&mut echo).expect("read echo");
    assert_eq!(&echo[2..], text, "echoed");
    s
}

fn main() {
    if std::env::args().any(|a| a == "--server") {
        server();
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench targets without `--bench`:
        // ten thousand sockets mean nothing in a debug build.
        eprintln!("ws_idle: skipped (run it with benches/ws_idle.sh)");
        return;
    }
    let wanted = std::env::var("WS_IDLE_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CONNS);
    let limit = open_files_limit();
    let conns = wanted.min(limit.saturating_sub(64));
    if conns < wanted {
        println!("NOTE: open-files limit {limit}; {conns} connections instead of {wanted}");
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut ask = child.stdin.take().expect("stdin");
    let mut answers = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port: u16 = answers
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.trim().parse().ok())
        .expect("the server's port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut figures = || {
        std::thread::sleep(Duration::from_secs(1));
        writeln!(ask, "figures").expect("ask");
        let line = answers.next().and_then(Result::ok).expect("figures");
        let mut parts = line.split_whitespace();
        let mut number = || parts.next().and_then(|p| p.parse::<i64>().ok());
        let (rss, heap) = (number().expect("rss"), number().expect("heap"));
        let sizes: HashMap<usize, i64> = parts
            .filter_map(|p| {
                let (size, n) = p.split_once(':')?;
                Some((size.parse().ok()?, n.parse().ok()?))
            })
            .collect();
        (rss, heap, sizes)
    };
    let first = open(addr);
    let (rss0, heap0, sizes0) = figures();
    let mut open_conns = Vec::with_capacity(conns);
    for _ in 1..conns {
        open_conns.push(open(addr));
    }
    let (rss1, heap1, sizes1) = figures();
    let n = (conns - 1) as f64;
    println!("| idle websockets | VmRSS before KiB | VmRSS after KiB | RSS B/conn | heap B/conn |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {conns} | {rss0} | {rss1} | {:.0} | {:.0} |",
        (rss1 - rss0) as f64 * 1024.0 / n,
        (heap1 - heap0) as f64 / n
    );
    // Where the bytes are: the allocation sizes whose live count grew
    // with the connections, as allocations per connection.
    let mut grown: Vec<(usize, f64)> = sizes1
        .iter()
        .map(|(&size, &n1)| {
            (
                size,
                (n1 - sizes0.get(&size).copied().unwrap_or(0)) as f64 / n,
            )
        })
        .filter(|&(_, per_conn)| per_conn >= 0.5)
        .collect();
    grown.sort_by(|a, b| (b.0 as f64 * b.1).total_cmp(&(a.0 as f64 * a.1)));
    println!();
    println!("| allocation size B | live per connection | B per connection |");
    println!("|---:|---:|---:|");
    for (size, per_conn) in grown {
        let shown = if size == SIZED {
            format!(">= {SIZED}")
        } else {
            size.to_string()
        };
        println!(
            "| {shown} | {per_conn:.2} | {:.0} |",
            size as f64 * per_conn
        );
    }
    drop(open_conns);
    drop(first);
    drop(ask);
    let _ = child.wait();
}
