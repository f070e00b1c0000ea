//! may_minihttp plaintext server with one worker (the shape of its
//! hello-world example): every request answers `Hello, World!`.
//!
//! ```text
//! may_hello [PORT]               # or PORT=8084; default 8084, host 127.0.0.1
//! ```

use std::io;

use bytes::BufMut;
use may_minihttp::{HttpServer, HttpService, Request, Response};

/// The service: one body for every request.
#[derive(Clone)]
struct HelloWorld;

/// TechEmpower's json object, serialized per request.
#[derive(serde::Serialize)]
struct Message {
    /// Always "Hello, World!".
    message: &'static str,
}

impl HttpService for HelloWorld {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        if req.path() == "/json" {
            // Serialized straight into the response buffer, as may_minihttp's
            // own TechEmpower entry does.
            rsp.header("Content-Type: application/json");
            serde_json::to_writer(
                rsp.body_mut().writer(),
                &Message {
                    message: "Hello, World!",
                },
            )?;
            return Ok(());
        }
        rsp.header("Content-Type: text/plain");
        rsp.body("Hello, World!");
        Ok(())
    }
}

fn main() {
    let port = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .unwrap_or_else(|| "8084".into());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    may::config().set_workers(1);
    eprintln!("may_hello on {host}:{port} (1 worker)");
    let server = HttpServer(HelloWorld)
        .start(format!("{host}:{port}"))
        .expect("binding the listener");
    server.wait();
}
