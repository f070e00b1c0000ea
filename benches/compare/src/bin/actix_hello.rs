//! actix-web 4 plaintext server with one worker: `GET /` answers
//! `Hello, World!` as `text/plain`.
//!
//! ```text
//! actix_hello [PORT]             # or PORT=8083; default 8083, host 127.0.0.1
//! ```
//! Keep-alive is left to the OS (no idle timeout), so idle connections stay
//! open for the idle-connection memory test.

use actix_web::http::KeepAlive;
use actix_web::{web, App, HttpResponse, HttpServer};

/// Answers `GET /`.
async fn hello() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("Hello, World!")
}

/// TechEmpower's json object, serialized per request.
#[derive(serde::Serialize)]
struct Message {
    /// Always "Hello, World!".
    message: &'static str,
}

/// Answers `GET /json`.
async fn json() -> HttpResponse {
    let body = serde_json::to_vec(&Message {
        message: "Hello, World!",
    })
    .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .unwrap_or_else(|| "8083".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    eprintln!("actix_hello on {host}:{port} (1 worker)");
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new()
                .route("/", web::get().to(hello))
                .route("/json", web::get().to(json)))
            .workers(1)
            .keep_alive(KeepAlive::Os)
            .max_connections(1 << 20)
            .backlog(1024)
            .bind(format!("{host}:{port}"))?
            .run()
            .await
    })
}
