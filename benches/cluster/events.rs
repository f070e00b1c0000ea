//! Cross-instance event latency and throughput through one Redis (not CI).
//!
//! ```text
//! cargo bench --features redis --bench cluster_events
//! ```
//!
//! Starts `redis-server` on a free port (no persistence), two instances in
//! this process (one worker each), and has instance A `dispatch_cluster`
//! events whose message is the send time; instance B's signal handler
//! records the delay. Prints p50/p99 latency for paced events, then
//! events/s for a burst.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sanio::{App, Config, Event};

fn main() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server installed");
    let epoch = Instant::now();
    let seen: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let config = || {
        Config::default()
            .port(0)
            .workers(1)
            .handle_signals(false)
            .redis(format!("redis://127.0.0.1:{port}/0"))
            .redis_prefix("bench")
    };
    let a = App::new("a");
    let b = App::new("b");
    let sink = Arc::clone(&seen);
    b.signal("bench.event.sent", move |_app, event: Event| {
        let sink = Arc::clone(&sink);
        async move {
            let sent: u128 = event.message().and_then(|m| m.parse().ok()).unwrap_or(0);
            let now = epoch.elapsed().as_nanos();
            sink.lock()
                .unwrap()
                .push(Duration::from_nanos((now - sent) as u64));
        }
    })
    .unwrap();
    let server_a = a.serve(config()).unwrap();
    let server_b = b.serve(config()).unwrap();
    while !(a.cluster_connected() && b.cluster_connected()) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let send = || {
        let now = epoch.elapsed().as_nanos().to_string();
        while a.dispatch_cluster("bench.event.sent", Some(&now)).is_err() {
            std::thread::sleep(Duration::from_micros(50)); // outbox full
        }
    };
    let wait_for = |n: usize| {
        let start = Instant::now();
        while seen.lock().unwrap().len() < n && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
    };

    // Latency: 2000 events, one every millisecond.
    let paced = 2000;
    for _ in 0..paced {
        send();
        std::thread::sleep(Duration::from_millis(1));
    }
    wait_for(paced);
    let mut latencies = std::mem::take(&mut *seen.lock().unwrap());
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "latency over {} events: p50 {:?}, p99 {:?}",
        latencies.len(),
        pick(0.5),
        pick(0.99)
    );

    // Throughput: a burst of 100k events.
    let burst = 100_000;
    let start = Instant::now();
    for _ in 0..burst {
        send();
    }
    wait_for(burst);
    let got = seen.lock().unwrap().len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "burst: {got} of {burst} events delivered in {secs:.2} s: {:.0} events/s",
        got as f64 / secs
    );

    server_a.stop();
    server_b.stop();
    server_a.join().unwrap();
    server_b.join().unwrap();
    let _ = redis.kill();
    let _ = redis.wait();
}
