//! The demo, twice, as separate processes joined through one real
//! `redis-server`: a cluster notify reaches `/feed` websockets on every
//! worker of the other instance; both instances ride out a Redis restart;
//! the cluster singleton moves on `kill -9` and on a graceful stop.
//!
//! The demo binary is built by cargo before the tests run
//! (`cargo test --features redis --all-targets`, or
//! `cargo build --features redis --example demo` before
//! `cargo test --features redis --test cluster_demo`): a test cannot run
//! cargo itself, because cargo holds the target directory while it tests.
#![cfg(all(feature = "redis", feature = "ws", feature = "json"))]

mod support;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::client::{get, request};
use support::redis::{free_port, prefix, wait_for, Redis, GUARD};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

/// The demo's cluster singleton.
const SINGLETON: &str = "demo-announcer";

/// `target/<profile>/examples/demo`, next to this test's binary.
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let demo = profile_dir.join("examples").join("demo");
    assert!(
        demo.exists(),
        "{} is missing: run `cargo build --features redis --example demo` first",
        demo.display()
    );
    demo
}

/// One demo instance: a child process with 2 workers on its own port.
struct Demo {
    /// Where it listens.
    addr: SocketAddr,
    /// The process; `None` once it was killed or stopped.
    child: Option<Child>,
}

impl Demo {
    /// Starts the demo and waits until every worker runs and its bridge is
    /// connected.
    fn start(redis: &Redis, prefix: &str, lease_ttl_secs: u32) -> Demo {
        let port = free_port();
        let child = Command::new(demo_binary())
            .env("SANIO_HOST", "127.0.0.1")
            .env("SANIO_PORT", port.to_string())
            .env("SANIO_WORKERS", "2")
            .env("SANIO_REDIS_URL", redis.url())
            .env("SANIO_REDIS_PREFIX", prefix)
            .env("SANIO_REDIS_LEASE_TTL", lease_ttl_secs.to_string())
            // The test's websockets sit unread during the Redis outage.
            .env("SANIO_WS_PING_INTERVAL", "off")
            .env("SANIO_GRACEFUL_TIMEOUT", "5")
            .env_remove("SANIO_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the demo starts");
        let mut demo = Demo {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: Some(child),
        };
        wait_for("the demo to be live and connected", || {
            demo.assert_alive();
            demo.health()
                .is_some_and(|h| h["live"] == true && h["redis"] == "connected")
        });
        demo
    }

    /// Panics if the process has exited (a demo built without `redis`
    /// refuses `SANIO_REDIS_URL` and exits at once).
    fn assert_alive(&mut self) {
        let child = self.child.as_mut().expect("running");
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the demo exited ({status}); was it built with --features redis? \
                 (cargo build --features redis --example demo)"
            );
        }
    }

    /// `GET /healthz` as JSON, `None` if it cannot be reached.
    fn health(&self) -> Option<Value> {
        let mut stream = TcpStream::connect(self.addr).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        use std::io::Write;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .ok()?;
        let reply = support::client::read_reply(&mut stream)?;
        serde_json::from_slice(&reply.body).ok()
    }

    /// Whether the bridge says it is connected.
    fn connected(&self) -> bool {
        self.health().is_some_and(|h| h["redis"] == "connected")
    }

    /// `GET /tasks` from whichever worker answers.
    fn tasks(&self) -> Value {
        serde_json::from_slice(&get(self.addr, "/tasks").body).expect("JSON")
    }

    /// Whether `GET /tasks` says the singleton runs on this instance.
    fn holds_singleton(&self) -> bool {
        self.tasks()["cluster"]["singletons_here"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n == SINGLETON))
    }

    /// `POST /notify?scope=cluster` with `message`; the status.
    fn notify_cluster(&self, message: &str) -> u16 {
        request(self.addr, "POST", "/notify?scope=cluster", message).status
    }

    /// SIGKILL: no lease release, no goodbye.
    fn kill_9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }

    /// SIGTERM, then waits (hang-guarded) for the graceful stop to end.
    fn terminate(&mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success());
        wait_for("the demo to stop", || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `/feed` websocket whose request id names its receiver task.
type Feed = WebSocket<TcpStream>;

fn open_feed(addr: SocketAddr, id: &str) -> Feed {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(GUARD)).expect("hang guard");
    let mut req = format!("ws://{addr}/feed")
        .into_client_request()
        .expect("a request");
    req.headers_mut()
        .insert("x-request-id", id.parse().expect("a header value"));
    let (socket, response) = tungstenite::client(req, stream).expect("the handshake");
    assert_eq!(response.status(), 101);
    socket
}

/// Reads until `expected` arrives (skipping the singleton's
/// announcements); panics on a close or after the hang guard.
fn expect_message(feed: &mut Feed, expected: &str) {
    loop {
        match feed.read().expect("a message before the hang guard") {
            Message::Text(text) if text.as_str() == expected => return,
            Message::Close(frame) => panic!("feed closed: {frame:?}"),
            _ => {}
        }
    }
}

/// The worker of each `receiver:<id>` task `GET /tasks` lists (the tasks
/// of every worker, each with its worker).
fn receivers(demo: &Demo, into: &mut BTreeMap<String, usize>) {
    let listed = demo.tasks();
    for task in listed["tasks"].as_array().expect("a task list") {
        let name = task["name"].as_str().unwrap_or("");
        if let Some(id) = name.strip_prefix("receiver:") {
            let worker = task["worker"].as_u64().expect("a worker index") as usize;
            if task["state"] == "running" {
                into.insert(id.to_owned(), worker);
            }
        }
    }
}

/// Opens feeds on `demo` until both of its workers serve at least one;
/// returns each feed with its worker.
fn feeds_on_both_workers(demo: &Demo) -> Vec<(Feed, usize)> {
    let mut feeds = Vec::new();
    let mut workers: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..64 {
        let id = format!("feed-{n}");
        feeds.push((id.clone(), open_feed(demo.addr, &id)));
        // New connections land on either worker: poll until one lists it.
        wait_for("the feed's receiver task", || {
            receivers(demo, &mut workers);
            workers.contains_key(&id)
        });
        let on: std::collections::BTreeSet<_> = workers.values().collect();
        if on.len() == 2 {
            break;
        }
    }
    let feeds: Vec<(Feed, usize)> = feeds
        .into_iter()
        .map(|(id, feed)| (feed, workers[&id]))
        .collect();
    for worker in [0, 1] {
        assert!(
            feeds.iter().any(|(_, w)| *w == worker),
            "no feed landed on worker {worker} in 64 connections"
        );
    }
    feeds
}

#[test]
fn a_cluster_notify_reaches_every_worker_of_the_other_instance_across_a_redis_restart() {
    let mut redis = Redis::start();
    let prefix = prefix();
    let a = Demo::start(&redis, &prefix, 10);
    let b = Demo::start(&redis, &prefix, 10);
    let mut feeds = feeds_on_both_workers(&b);

    assert_eq!(a.notify_cluster("first"), 202);
    for (feed, _) in &mut feeds {
        expect_message(feed, "first");
    }

    redis.kill();
    wait_for("both bridges to notice", || {
        !a.connected() && !b.connected()
    });
    // Both keep serving; a cluster notify is refused, not queued.
    for demo in [&a, &b] {
        assert_eq!(get(demo.addr, "/").text(), "Hello, World!");
        let health = demo.health().expect("health");
        assert_eq!(
            (health["ready"].clone(), health["redis"].clone()),
            (Value::Bool(true), "disconnected".into())
        );
    }
    assert_eq!(a.notify_cluster("lost"), 503);
    // Local notifies keep working on B's own workers.
    assert_eq!(request(b.addr, "POST", "/notify", "local").status, 202);
    for (feed, _) in &mut feeds {
        expect_message(feed, "local");
    }

    redis.spawn();
    wait_for("both bridges to reconnect", || {
        a.connected() && b.connected()
    });
    assert_eq!(a.notify_cluster("second"), 202);
    for (feed, _) in &mut feeds {
        // "lost" was never delivered: the next message is "second".
        expect_message_next(feed, "second");
    }
}

/// Like [`expect_message`], but the first text that is not an
/// announcement must be `expected`.
fn expect_message_next(feed: &mut Feed, expected: &str) {
    loop {
        match feed.read().expect("a message before the hang guard") {
            Message::Text(text) if text.starts_with("singleton on ") => {}
            Message::Text(text) => {
                assert_eq!(text.as_str(), expected);
                return;
            }
            Message::Close(frame) => panic!("feed closed: {frame:?}"),
            _ => {}
        }
    }
}

#[test]
fn the_cluster_singleton_moves_on_kill_9_and_at_once_on_a_graceful_stop() {
    let redis = Redis::start();
    let prefix = prefix();
    let key = format!("{prefix}:lease:{SINGLETON}");

    // A first, so A holds; B waits.
    let mut a = Demo::start(&redis, &prefix, 3);
    wait_for("A to run the singleton", || a.holds_singleton());
    let mut b = Demo::start(&redis, &prefix, 30);
    assert!(!b.holds_singleton(), "one holder at a time");

    // kill -9: A's lease is never released; it expires (3 s) and B takes it.
    a.kill_9();
    wait_for("B to take over from the dead holder", || {
        b.holds_singleton()
    });

    // A comes back and waits; B stops gracefully and releases at once: its
    // token is gone from the key as soon as it has exited, long before its
    // 30 s lease would have run out.
    let a2 = Demo::start(&redis, &prefix, 3);
    assert!(!a2.holds_singleton(), "B still holds it");
    let held_by_b = redis.reply(&format!("GET {key}"));
    assert!(
        held_by_b.starts_with('$') && held_by_b != "$-1",
        "{held_by_b}"
    );
    b.terminate();
    assert_ne!(redis.reply(&format!("GET {key}")), held_by_b);
    wait_for("A to take over from the stopped holder", || {
        a2.holds_singleton()
    });
}
