//! A small websocket load client: N connections, each sending a 32-byte text
//! message and waiting for its echo, over and over, for D seconds. Prints the
//! round-trips per second over all connections (and the total).
//!
//! ```text
//! ws_load URL [CONNECTIONS] [SECONDS]     # defaults: 64 connections, 5 s
//! ws_load ws://127.0.0.1:8082/ 64 5
//! ```
//! Runs on tokio's current-thread runtime (pin it to its own core).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// The message every round-trip sends: 32 bytes of text.
const PAYLOAD: &str = "0123456789abcdef0123456789abcdef";

/// One connection: ping-pong until `end`; returns the round-trips done.
async fn client(url: String, end: Instant) -> Result<u64, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|e| format!("connect {url}: {e}"))?;
    let mut done = 0;
    while Instant::now() < end {
        ws.send(Message::text(PAYLOAD))
            .await
            .map_err(|e| format!("send: {e}"))?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == PAYLOAD => done += 1,
            Some(Ok(other)) => return Err(format!("unexpected reply {other:?}")),
            Some(Err(e)) => return Err(format!("recv: {e}")),
            None => return Err("server closed".into()),
        }
    }
    let _ = ws.close(None).await;
    Ok(done)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:8082/".into());
    let conns: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let secs: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building a tokio runtime");
    let result = rt.block_on(async move {
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(secs);
        let tasks: Vec<_> = (0..conns)
            .map(|_| tokio::task::spawn(client(url.clone(), end)))
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.map_err(|e| e.to_string())??;
        }
        Ok::<_, String>((total, start.elapsed()))
    });
    match result {
        Ok((total, elapsed)) => {
            println!(
                "round_trips_per_sec {:.0} total {total} seconds {:.3} connections {conns}",
                total as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("ws_load: {e}");
            std::process::exit(1);
        }
    }
}
