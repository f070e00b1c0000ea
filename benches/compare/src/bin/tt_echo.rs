//! tokio-tungstenite websocket echo server on tokio's current-thread runtime:
//! every text or binary message comes back unchanged.
//!
//! ```text
//! tt_echo [PORT]      # or PORT=8082; default 8082, host 127.0.0.1
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};

/// Echoes one connection's messages until it closes.
async fn echo(stream: TcpStream) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut ws = tokio_tungstenite::accept_async(stream).await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg).await?;
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .unwrap_or_else(|| "8082".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(format!("{host}:{port}")).await?;
        eprintln!("tt_echo on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::task::spawn(async move {
                let _ = echo(stream).await;
            });
        }
    })
}
