//! Cluster events, leases and health against a real `redis-server`
//! (Debian's, started here on a free port with no persistence). Two apps in
//! this process are two instances, each with two workers.
#![cfg(feature = "redis")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanio::app::cluster::{ClusterError, ClusterPayload, Lease};
use sanio::{App, Config, Event, Server, Singleton};
use support::redis::{prefix, wait_for, Redis};

/// Deliveries seen: (instance name, worker, event name, origin).
type Seen = Arc<Mutex<Vec<(String, usize, String, Option<String>)>>>;

/// An app that records every `cluster.test.*` event it handles.
fn recording_app(name: &str, seen: &Seen) -> App {
    let app = App::new(name);
    let seen = Arc::clone(seen);
    let label = name.to_owned();
    app.signal("cluster.test.<kind>", move |app: App, event: Event| {
        let seen = Arc::clone(&seen);
        let label = label.clone();
        async move {
            seen.lock().unwrap().push((
                label,
                app.worker().unwrap(),
                event.name().to_owned(),
                event.origin().map(str::to_owned),
            ));
        }
    })
    .unwrap();
    app
}

fn config(redis: &Redis, prefix: &str) -> Config {
    Config::default()
        .port(0)
        .workers(2)
        .handle_signals(false)
        .graceful_timeout(Duration::from_secs(5))
        .redis(redis.url())
        .redis_prefix(prefix)
}

/// Serves two instances on one Redis and waits until both bridges are up.
fn serve_pair(redis: &Redis, prefix: &str, a: &App, b: &App) -> (Server, Server) {
    let server_a = a.serve(config(redis, prefix)).unwrap();
    let server_b = b.serve(config(redis, prefix)).unwrap();
    wait_for("both bridges", || {
        a.cluster_connected() && b.cluster_connected()
    });
    (server_a, server_b)
}

fn count(seen: &Seen, event: &str) -> usize {
    seen.lock().unwrap().iter().filter(|s| s.2 == event).count()
}

fn stop(server: Server) {
    server.stop();
    server.join().unwrap();
}

#[test]
fn events_reach_every_worker_of_every_instance_once() {
    let redis = Redis::start();
    let prefix = prefix();
    let seen: Seen = Arc::default();
    let a = recording_app("a", &seen);
    let b = recording_app("b", &seen);
    let (server_a, server_b) = serve_pair(&redis, &prefix, &a, &b);
    assert!(a.health().is_ready() && a.health().redis_connected() == Some(true));

    a.dispatch_cluster("cluster.test.ping", Some("hi")).unwrap();
    b.dispatch_cluster("cluster.test.done", None).unwrap();
    wait_for("the done events", || count(&seen, "cluster.test.done") == 4);
    wait_for("the ping events", || count(&seen, "cluster.test.ping") == 4);
    // Published on one channel in order: both pings came before the dones,
    // so no more can come.
    let seen = seen.lock().unwrap().clone();
    let mut pings: Vec<(String, usize)> = seen
        .iter()
        .filter(|s| s.2 == "cluster.test.ping")
        .map(|s| (s.0.clone(), s.1))
        .collect();
    pings.sort();
    let expected = [("a", 0), ("a", 1), ("b", 0), ("b", 1)].map(|(n, w)| (n.to_owned(), w));
    assert_eq!(pings, expected);
    for s in &seen {
        let origin = if s.2 == "cluster.test.ping" { &a } else { &b };
        assert_eq!(s.3.as_deref(), Some(origin.instance_id()), "{s:?}");
    }
    assert!(matches!(
        a.dispatch_cluster("not-an-event", None),
        Err(ClusterError::Event(_))
    ));
    stop(server_a);
    stop(server_b);
}

#[test]
fn json_and_byte_payloads_cross_to_every_instance() {
    let redis = Redis::start();
    let prefix = prefix();
    type Got = Arc<Mutex<Vec<(String, Option<ClusterPayload>)>>>;
    let got: Got = Arc::default();
    let receiver = App::new("receiver");
    let sink = Arc::clone(&got);
    receiver
        .signal("shop.order.<kind>", move |app: App, event: Event| {
            let sink = Arc::clone(&sink);
            async move {
                if app.worker() == Some(0) {
                    let payload = event.payload::<ClusterPayload>().cloned();
                    sink.lock()
                        .unwrap()
                        .push((event.name().to_owned(), payload));
                }
            }
        })
        .unwrap();
    let sender = App::new("sender");
    let (server_r, server_s) = serve_pair(&redis, &prefix, &receiver, &sender);

    let order = serde_json::json!({"id": 7, "items": ["tea"]});
    sender
        .dispatch_cluster_json("shop.order.placed", None, &order)
        .unwrap();
    sender
        .dispatch_cluster_bytes("shop.order.raw", Some("bytes"), vec![0u8, 255, 1])
        .unwrap();
    sender.dispatch_cluster("shop.order.plain", None).unwrap();
    let too_big = vec![0u8; sanio::app::cluster::MAX_EVENT_BYTES + 1];
    assert!(matches!(
        sender.dispatch_cluster_bytes("shop.order.raw", None, too_big),
        Err(ClusterError::TooLarge(_))
    ));
    wait_for("three events", || got.lock().unwrap().len() == 3);

    let got = got.lock().unwrap();
    assert_eq!(got[0].0, "shop.order.placed");
    let placed = got[0].1.as_ref().expect("a payload");
    assert_eq!(placed.json::<serde_json::Value>().unwrap(), order);
    assert_eq!(
        got[1].1.as_ref().map(ClusterPayload::bytes),
        Some(&[0u8, 255, 1][..])
    );
    assert!(got[1]
        .1
        .as_ref()
        .unwrap()
        .json::<serde_json::Value>()
        .is_err());
    assert_eq!(got[2], ("shop.order.plain".to_owned(), None));
    drop(got);
    stop(server_r);
    stop(server_s);
}

#[test]
fn bridge_reconnects_after_redis_restarts() {
    let mut redis = Redis::start();
    let prefix = prefix();
    let seen: Seen = Arc::default();
    let a = recording_app("a", &seen);
    let b = recording_app("b", &seen);
    let (server_a, server_b) = serve_pair(&redis, &prefix, &a, &b);

    redis.kill();
    wait_for("both to notice", || {
        !a.cluster_connected() && !b.cluster_connected()
    });
    assert!(matches!(
        a.dispatch_cluster("cluster.test.lost", None),
        Err(ClusterError::Disconnected)
    ));
    // Local dispatch keeps working, and the app keeps serving.
    assert_eq!(a.dispatch_all("cluster.test.local", None).unwrap(), 2);
    wait_for("the local events", || {
        count(&seen, "cluster.test.local") == 2
    });
    let health = a.health();
    assert!(health.is_ready() && health.redis_connected() == Some(false));
    let mut http = TcpStream::connect(server_a.local_addr()).unwrap();
    http.write_all(b"GET /nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    http.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");

    redis.spawn();
    wait_for("both to reconnect", || {
        a.cluster_connected() && b.cluster_connected()
    });
    b.dispatch_cluster("cluster.test.back", None).unwrap();
    wait_for("events after the restart", || {
        count(&seen, "cluster.test.back") == 4
    });
    assert_eq!(count(&seen, "cluster.test.lost"), 0);
    stop(server_a);
    stop(server_b);
}

/// An app with the singleton `job`, which marks `running` while it runs.
fn singleton_app(name: &str) -> App {
    let app = App::new(name);
    app.add_cluster_singleton("job", |_app: App| async {
        loop {
            sanio::sleep(Duration::from_secs(3600)).await;
        }
    })
    .unwrap();
    app
}

#[test]
fn singleton_takes_over_when_the_holder_dies() {
    let redis = Redis::start();
    let prefix = prefix();
    let key = format!("{prefix}:lease:job");
    // A holder that dies: takes the lease and never renews or releases it.
    let runtime = sanio::Runtime::new().unwrap();
    let dead = runtime
        .block_on(Lease::acquire(&redis.url(), &key, Duration::from_secs(3)))
        .unwrap()
        .expect("the key is free");
    drop(dead);
    let held_by_dead = redis.command(&format!("GET {key}"));
    assert!(held_by_dead.starts_with('$'), "{held_by_dead}");

    let a = singleton_app("a");
    let cfg = config(&redis, &prefix).redis_lease_ttl(Duration::from_secs(3));
    let server = a.serve(cfg).unwrap();
    wait_for("a to take over", || a.cluster_singletons_held() == ["job"]);
    // The key now holds a's token, not the dead holder's.
    wait_for("the new token", || {
        let now = redis.command(&format!("GET {key}"));
        now.starts_with('$') && now != "$-1"
    });
    stop(server);
    assert!(a.cluster_singletons_held().is_empty());
}

#[test]
fn graceful_stop_hands_the_singleton_over_at_once() {
    let redis = Redis::start();
    let prefix = prefix();
    let key = format!("{prefix}:lease:job");
    // Long enough that only an explicit release frees the key in time for
    // the check below.
    let ttl = Duration::from_secs(30);
    let a = singleton_app("a");
    let b = singleton_app("b");
    let server_a = a
        .serve(config(&redis, &prefix).redis_lease_ttl(ttl))
        .unwrap();
    wait_for("a to hold", || a.cluster_singletons_held() == ["job"]);
    let server_b = b
        .serve(config(&redis, &prefix).redis_lease_ttl(ttl))
        .unwrap();
    wait_for("b's bridge", || b.cluster_connected());
    assert!(
        b.cluster_singletons_held().is_empty(),
        "one holder at a time"
    );

    stop(server_a);
    // Released at the stop, not left to expire.
    assert_eq!(redis.command(&format!("EXISTS {key}")), ":0");
    assert!(!a.health().is_ready());
    wait_for("b to take over", || b.cluster_singletons_held() == ["job"]);
    stop(server_b);
    assert_eq!(redis.command(&format!("EXISTS {key}")), ":0");
}

#[test]
fn readiness_turns_off_when_a_graceful_stop_begins() {
    let redis = Redis::start();
    let app = App::new("a");
    app.add_health_routes("/healthz", "/readyz").unwrap();
    let server = app.serve(config(&redis, &prefix())).unwrap();
    wait_for("the bridge", || app.cluster_connected());
    let get = |path: &str| {
        let mut http = TcpStream::connect(server.local_addr()).unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        http.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        http.read_to_string(&mut reply).unwrap();
        reply
    };
    let ready = get("/readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains("\"redis\":\"connected\""), "{ready}");
    assert!(get("/healthz").starts_with("HTTP/1.1 200"));
    app.stop();
    assert!(app.health().is_draining() && !app.health().is_ready());
    server.join().unwrap();
}

/// Not a test on its own: the other instance of
/// `singleton_takes_over_after_kill_9`, run in a child process of this
/// test binary when `SANIO_CLUSTER_CHILD` names the Redis URL and prefix.
#[test]
fn child_instance() {
    let Ok(spec) = std::env::var("SANIO_CLUSTER_CHILD") else {
        return;
    };
    let (url, prefix) = spec.split_once(' ').unwrap();
    let app = singleton_app("child");
    let config = Config::default()
        .port(0)
        .workers(2)
        .handle_signals(false)
        .redis(url)
        .redis_prefix(prefix)
        .redis_lease_ttl(Duration::from_secs(3));
    app.run(config).unwrap();
}

/// A child process killed if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn singleton_takes_over_after_kill_9() {
    let redis = Redis::start();
    let prefix = prefix();
    let key = format!("{prefix}:lease:job");
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_instance", "--nocapture"])
            .env("SANIO_CLUSTER_CHILD", format!("{} {prefix}", redis.url()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the child to take the lease", || {
        redis.command(&format!("EXISTS {key}")) == ":1"
    });
    let b = singleton_app("b");
    let cfg = config(&redis, &prefix).redis_lease_ttl(Duration::from_secs(3));
    let server = b.serve(cfg).unwrap();
    wait_for("b's bridge", || b.cluster_connected());
    assert!(b.cluster_singletons_held().is_empty(), "the child holds it");

    child.0.kill().unwrap(); // SIGKILL: no release, the key must expire
    child.0.wait().unwrap();
    wait_for("b to take over", || b.cluster_singletons_held() == ["job"]);
    stop(server);
}

#[test]
fn the_task_builder_places_a_cluster_singleton() {
    let redis = Redis::start();
    let prefix = prefix();
    let builder_app = |name: &str| {
        let app = App::new(name);
        let added = app
            .task("job")
            .singleton(Singleton::Cluster)
            .add_task(|_app: App| async {
                sanio::sleep(Duration::from_secs(3600)).await;
            })
            .unwrap();
        assert!(added.is_none(), "kept for the lease loop");
        app
    };
    let a = builder_app("a");
    let b = builder_app("b");
    // A plain future cannot be started again on another instance.
    assert!(matches!(
        a.task("once")
            .singleton(Singleton::Cluster)
            .add_task(async {}),
        Err(sanio::Error::NeedsFactory(_))
    ));
    let server_a = a.serve(config(&redis, &prefix)).unwrap();
    let server_b = b.serve(config(&redis, &prefix)).unwrap();
    wait_for("one holder", || {
        a.cluster_singletons_held().len() + b.cluster_singletons_held().len() == 1
    });
    wait_for("both bridges", || {
        a.cluster_connected() && b.cluster_connected()
    });
    assert_eq!(
        a.cluster_singletons_held().len() + b.cluster_singletons_held().len(),
        1,
        "one holder at a time"
    );
    stop(server_a);
    wait_for("b to hold it", || b.cluster_singletons_held() == ["job"]);
    stop(server_b);
}
