//! The sanio demo: Sanic's background-tasks page, in Rust, on one page.
//!
//! ```text
//! cargo run --release --example demo      # http://127.0.0.1:8000/static/
//! SANIO_WORKERS=2 SANIO_PORT=8080 cargo run --release --example demo
//! SANIO_TLS_CERT=cert.pem SANIO_TLS_KEY=key.pem cargo run --release --features tls --example demo
//! ```
//!
//! Routes:
//! - `GET /` plaintext "Hello, World!" (the benchmark route)
//! - `GET /tasks` the named tasks of every worker (and, with Redis, whether
//!   the cluster singleton runs on this instance)
//! - `POST /tasks/<name>?seconds=S&fail=1&restart=on-failure` start a named
//!   task that sleeps S seconds, then finishes (or fails, and is restarted
//!   with backoff from 100 ms)
//! - `DELETE /tasks/<name>` cancel it on whichever worker runs it and wait
//!   until it is gone
//! - `POST /tasks/purge` forget finished tasks on every worker
//! - `POST /notify` broadcast `my.custom.event` (the body is the message) to every worker;
//!   `POST /notify?scope=cluster` to every worker of every instance (built with
//!   `--features redis`, `SANIO_REDIS_URL=redis://127.0.0.1:6379/0` set)
//! - `GET /healthz`, `GET /readyz` liveness and readiness (503 once draining), as JSON
//! - `GET /feed` websocket: the receiver-task pattern, with a receiver
//!   scoped to the handler
//! - `GET /echo` websocket echo (the benchmark route)
//! - `GET /events` server-sent events, one per `my.custom.event`
//! - `GET /static/` the page (`index.html`, `app.js`, `style.css` from
//!   `examples/demo/static/`) that uses `/feed`, `/notify`, `/upload` and
//!   shows every worker's live task tree; `GET /app` redirects there
//! - `POST /upload` a multipart or urlencoded form, answered as JSON
//! - `GET /admin/tasks` every worker's task dump as JSON (`?format=text`:
//!   the text tree), behind `Authorization: Bearer $SANIO_ADMIN_TOKEN` when
//!   that is set; `GET /admin/stats` this worker's loop counts (tasks,
//!   timers, sockets) behind the same token
//!
//! A singleton task `ticker` runs on exactly one worker.
//!
//! Every response carries `X-Request-ID` and `Server-Timing`.

mod app;

use sanio::{Config, Error};

fn main() -> Result<(), Error> {
    sanio::log_to_stderr(log::LevelFilter::Info).ok();

    let app = app::build()?;
    let config = Config::from_env()?;
    #[cfg(feature = "tls")]
    let scheme = if config.get_tls().is_some() {
        "https"
    } else {
        "http"
    };
    #[cfg(not(feature = "tls"))]
    let scheme = "http";
    println!(
        "demo: listening on {scheme}://{}:{}/static/ ({} worker(s)); Ctrl-C stops",
        config.get_host(),
        config.get_port(),
        config.get_workers()
    );
    app.run(config)
}
