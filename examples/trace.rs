//! Trace mode on a short scripted scenario, on one loop: one HTTP request
//! over loopback, one websocket echo, one task cancelled with a grace period
//! it uses, and one timer.
//!
//! ```text
//! cargo run --release --example trace                       # writes trace.json
//! SANIO_TRACE_OUT=/tmp/t.json cargo run --release --example trace
//! ```
//!
//! It prints the text timeline and writes Chrome trace-event JSON: open it
//! at <https://ui.perfetto.dev> (or `chrome://tracing`). The guide's chapter
//! "Reading a trace" walks through it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sanio::net::TcpStream;
use sanio::{App, Config, Request, Runtime, WebSocket};

/// Reads from `stream` until `done` says the bytes so far are complete.
async fn read_until(stream: &TcpStream, done: impl Fn(&[u8]) -> bool) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while !done(&got) {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

/// One `GET /`, raw bytes over loopback.
async fn http_get(addr: SocketAddr) -> io::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: trace\r\nConnection: close\r\n\r\n")
        .await?;
    let reply = read_until(&stream, |_| false).await?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// A websocket handshake, one masked text frame, its echo, then a close.
async fn ws_echo(addr: SocketAddr) -> io::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            b"GET /echo HTTP/1.1\r\nHost: trace\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .await?;
    read_until(&stream, |got| got.ends_with(b"\r\n\r\n")).await?;
    let mask = [1, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 5];
    frame.extend_from_slice(&mask);
    frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).await?;
    let echo = read_until(&stream, |got| got.len() >= 2 + 5).await?;
    stream.write_all(&[0x88, 0x80, 0, 0, 0, 0]).await?; // close, empty
    Ok(String::from_utf8_lossy(&echo[2..]).into_owned())
}

/// The scripted scenario, run as the main future of the loop.
async fn scenario(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let page = sanio::rt::spawn_named("http-client", http_get(addr)).await??;
    println!("# GET / -> {:?}", page.lines().next().unwrap_or(""));
    let echo = sanio::rt::spawn_named("ws-client", ws_echo(addr)).await??;
    println!("# websocket echo -> {echo:?}");

    let cleaner = sanio::rt::spawn_named("cleaner", async {
        match sanio::cancellable(sanio::sleep(Duration::from_secs(3600))).await {
            Ok(()) => "slept an hour",
            Err(_cancelled) => {
                sanio::sleep(Duration::from_millis(5)).await; // cleanup, within the grace
                "cleaned up"
            }
        }
    });
    sanio::rt::yield_now().await;
    cleaner.cancel_with_grace("demo", Duration::from_millis(100));
    println!("# cancelled task -> {:?}", cleaner.await);

    sanio::rt::spawn_named("timer", sanio::sleep(Duration::from_millis(2))).await?;
    println!("# timer fired");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App::new("trace");
    app.get("/", |_req: Request| async { "Hello, World!" })?;
    app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            ws.send(message).await?;
        }
        Ok::<(), sanio::WsError>(())
    })?;

    let rt = Runtime::new()?.with_trace(100_000);
    let config = Config::default()
        .host("127.0.0.1")
        .port(0)
        .access_log(false);
    let attached = app.attach(&rt, config)?;
    rt.block_on(scenario(attached.local_addr()))?;
    attached.finish(&rt)?;

    let log = rt.trace().ok_or("tracing is on")?;
    println!("\n# The loop's timeline ({} events):\n", log.len());
    print!("{}", log.to_text());
    let path = std::env::var(sanio::rt::TRACE_OUT_ENV).unwrap_or_else(|_| "trace.json".into());
    std::fs::write(&path, log.to_chrome_json())?;
    println!("\n# Chrome trace written to {path}: open it at https://ui.perfetto.dev");
    Ok(())
}
