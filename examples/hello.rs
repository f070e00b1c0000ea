//! The plaintext benchmark app: `GET /` answers "Hello, World!", and
//! `GET /json` answers TechEmpower's json test, `{"message":"Hello, World!"}`
//! serialized per request (with the default `json` feature).
//!
//! ```text
//! cargo run --release --example hello
//! SANIO_PORT=8080 SANIO_WORKERS=2 cargo run --release --example hello
//! ```

use sanio::{App, Config, Request};

/// TechEmpower's json object (serde's derive is not a dependency of sanio,
/// so its one field is written out by hand).
#[cfg(feature = "json")]
struct Message {
    /// Always "Hello, World!".
    message: &'static str,
}

#[cfg(feature = "json")]
impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut object = serializer.serialize_struct("Message", 1)?;
        object.serialize_field("message", self.message)?;
        object.end()
    }
}

fn main() -> Result<(), sanio::Error> {
    let app = App::new("hello");
    app.get("/", |_req: Request| async { "Hello, World!" })?;
    #[cfg(feature = "json")]
    app.get("/json", |_req: Request| async {
        sanio::Response::json(&Message {
            message: "Hello, World!",
        })
    })?;
    let config = Config::from_env()?;
    println!(
        "hello: listening on http://{}:{} ({} worker(s))",
        config.get_host(),
        config.get_port(),
        config.get_workers()
    );
    app.run(config)
}
