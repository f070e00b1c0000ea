//! axum plaintext server on tokio's current-thread runtime: `GET /` answers
//! `Hello, World!` as `text/plain`.
//!
//! ```text
//! axum_hello [PORT]              # or PORT=8085; default 8085, host 127.0.0.1
//! ```

use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

/// TechEmpower's json object, serialized per request.
#[derive(serde::Serialize)]
struct Message {
    /// Always "Hello, World!".
    message: &'static str,
}

/// Answers `GET /json` (serialized with serde_json, as the other servers do).
async fn json() -> ([(axum::http::header::HeaderName, &'static str); 1], Vec<u8>) {
    let body = serde_json::to_vec(&Message {
        message: "Hello, World!",
    })
    .unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body)
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .unwrap_or_else(|| "8085".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    rt.block_on(async move {
        let app = Router::new()
            .route("/", get(|| async { "Hello, World!" }))
            .route("/json", get(json));
        let listener = TcpListener::bind(format!("{host}:{port}")).await?;
        eprintln!("axum_hello on {}", listener.local_addr()?);
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await
    })
}
