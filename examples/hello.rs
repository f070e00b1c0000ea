//! The plaintext benchmark app: `GET /` answers "Hello, World!".
//!
//! ```text
//! cargo run --release --example hello
//! SANIO_PORT=8080 SANIO_WORKERS=2 cargo run --release --example hello
//! ```

use sanio::{App, Config, Request};

fn main() -> Result<(), sanio::Error> {
    let app = App::new("hello");
    app.get("/", |_req: Request| async { "Hello, World!" })?;
    let config = Config::from_env()?;
    println!(
        "hello: listening on http://{}:{} ({} worker(s))",
        config.get_host(),
        config.get_port(),
        config.get_workers()
    );
    app.run(config)
}
