//! A websocket echo server: every message comes back as it went. The
//! Autobahn fuzzingclient runs against it (tests/autobahn/run.sh).
//!
//! ```text
//! cargo run --release --example ws_echo                    # ws://127.0.0.1:9001/
//! SANIO_PORT=9002 SANIO_WS_MAX=16777216 cargo run --release --example ws_echo
//! ```
//!
//! `SANIO_WS_MAX` sets the largest message and frame, in bytes (default
//! 1 MiB, `WsConfig`'s).

use sanio::{App, Config, Request, WebSocket, WsConfig};

fn main() -> Result<(), sanio::Error> {
    let app = App::new("ws_echo");
    app.websocket("/", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            ws.send(message).await?;
        }
        Ok::<(), sanio::WsError>(())
    })?;
    let mut websocket = WsConfig::new();
    if let Some(max) = std::env::var("SANIO_WS_MAX")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        websocket = websocket.max_message_size(max).max_frame_size(max);
    }
    let mut config = Config::from_env().websocket(websocket);
    if std::env::var_os("SANIO_PORT").is_none() {
        config = config.port(9001);
    }
    println!(
        "ws_echo: listening on ws://{}:{}/",
        config.get_host(),
        config.get_port()
    );
    app.run(config)
}
