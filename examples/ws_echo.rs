//! A websocket echo server: every message comes back as it went. The
//! Autobahn fuzzingclient runs against it (tests/autobahn/run.sh).
//!
//! ```text
//! cargo run --release --example ws_echo                    # ws://127.0.0.1:9001/
//! SANIO_PORT=9002 SANIO_WS_MAX_MESSAGE_SIZE=16M SANIO_WS_MAX_FRAME_SIZE=16M cargo run --release --example ws_echo
//! ```
//!
//! Every setting comes from `SANIO_*` variables (`Config::from_env`);
//! `SANIO_WS_MAX_MESSAGE_SIZE` and `SANIO_WS_MAX_FRAME_SIZE` set the largest
//! message and frame (default 1 MiB, `WsConfig`'s).

use sanio::{App, Config, Request, WebSocket};

fn main() -> Result<(), sanio::Error> {
    let app = App::new("ws_echo");
    app.websocket("/", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            ws.send(message).await?;
        }
        Ok::<(), sanio::WsError>(())
    })?;
    // SANIO_WS_MAX_MESSAGE_SIZE / SANIO_WS_MAX_FRAME_SIZE set the limits.
    let mut config = Config::from_env()?;
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
