//! hyper 1.x plaintext server on tokio's current-thread runtime:
//! `GET /` (any request) answers `Hello, World!` as `text/plain`.
//!
//! ```text
//! hyper_hello [PORT]             # or PORT=8081; default 8081, host 127.0.0.1
//! PIPELINE_FLUSH=1 hyper_hello   # hyper's http1 pipeline_flush(true)
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The one response body.
const BODY: &[u8] = b"Hello, World!";

/// TechEmpower's json object, serialized per request.
#[derive(serde::Serialize)]
struct Message {
    /// Always "Hello, World!".
    message: &'static str,
}

/// Answers `/json` with the object above, every other path with the body
/// above.
async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/json" {
        let body = serde_json::to_vec(&Message {
            message: "Hello, World!",
        })
        .unwrap_or_default();
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(resp);
    }
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .unwrap_or_else(|| "8081".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let flush = std::env::var("PIPELINE_FLUSH").is_ok_and(|v| v == "1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(format!("{host}:{port}")).await?;
        eprintln!(
            "hyper_hello on {} (pipeline_flush={flush})",
            listener.local_addr()?
        );
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(flush)
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
