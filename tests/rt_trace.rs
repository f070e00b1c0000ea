//! Trace mode: what the recorder sees, the text timeline, and the Chrome
//! JSON parsed back.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sanio::net::{TcpListener, TcpStream};
use sanio::Runtime;
use serde_json::Value;
use support::rt::{run_on, yield_times};

/// A scenario with a timer, socket I/O, a remote wake and a cancel whose
/// grace period runs out.
fn scenario(rt: &Runtime) {
    run_on(rt, async {
        let sleeper = sanio::rt::spawn_named("sleeper", async {
            sanio::sleep(Duration::from_millis(1)).await;
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sanio::rt::spawn_named("echo-server", async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        });
        let client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        server.await.unwrap();
        sleeper.await.unwrap();

        // A wake from another thread.
        let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
        let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waker_thread = std::thread::spawn({
            let woken = std::sync::Arc::clone(&woken);
            move || {
                let waker = rx.recv().unwrap();
                woken.store(true, std::sync::atomic::Ordering::SeqCst);
                waker.wake();
            }
        });
        sanio::rt::spawn_named(
            "remote",
            std::future::poll_fn(move |cx| {
                if woken.load(std::sync::atomic::Ordering::SeqCst) {
                    return std::task::Poll::Ready(());
                }
                let _ = tx.send(cx.waker().clone());
                std::task::Poll::Pending
            }),
        )
        .await
        .unwrap();
        waker_thread.join().unwrap();

        let stubborn = sanio::rt::spawn_named("stubborn", async {
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(3600)).await; // overruns its grace
        });
        yield_times(2).await;
        stubborn.cancel_with_grace("stop", Duration::from_millis(1));
        assert!(stubborn.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn the_text_timeline_names_every_kind_of_event() {
    let rt = Runtime::new().unwrap().with_trace(100_000);
    scenario(&rt);
    let log = rt.trace().unwrap();
    assert_eq!(log.dropped(), 0);
    let text = log.to_text();
    for needle in [
        "spawn          task",
        "\"echo-server\"",
        "poll           task",
        "-> pending",
        "-> ready",
        "wake           task",
        "(by another thread)",
        "(by the loop)",
        "wait for I/O",
        "io             socket",
        "timer insert",
        "timer fire",
        "timer remove",
        "\"stubborn\" requested",
        "cancel seen",
        "grace over",
        "dropped        task",
        "(cancelled)",
        "(done)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
}

#[test]
fn the_chrome_json_parses_back_with_one_track_per_task_and_paired_flows() {
    let rt = Runtime::new().unwrap().with_trace(100_000);
    scenario(&rt);
    let json: Value = serde_json::from_str(&rt.trace().unwrap().to_chrome_json()).unwrap();
    let events = json["traceEvents"].as_array().expect("a traceEvents array");
    assert!(!events.is_empty());

    // Tracks: the loop, and one per task, named after it.
    let tracks: HashMap<u64, String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            let tid = e["tid"].as_u64().unwrap();
            (tid, e["args"]["name"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(tracks[&0], "loop");
    let track_of = |name: &str| -> u64 {
        let found: Vec<_> = tracks
            .iter()
            .filter(|(_, n)| n.ends_with(&format!(" {name}")))
            .collect();
        assert_eq!(found.len(), 1, "one track for {name}: {tracks:?}");
        *found[0].0
    };
    let sleeper = track_of("sleeper");
    let stubborn = track_of("stubborn");

    // Polls are slices on their task's track, with sane times.
    let slices: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    for slice in &slices {
        assert!(slice["ts"].as_f64().unwrap() >= 0.0);
        assert!(slice["dur"].as_f64().unwrap() >= 0.0);
        assert!(tracks.contains_key(&slice["tid"].as_u64().unwrap()));
    }
    let polls_of = |tid: u64| {
        slices
            .iter()
            .filter(|s| s["tid"] == tid && s["name"].as_str().unwrap().starts_with("poll"))
            .count()
    };
    assert_eq!(
        polls_of(sleeper),
        2,
        "polled at spawn and when its timer fired"
    );
    assert!(polls_of(stubborn) >= 2);
    assert!(slices
        .iter()
        .any(|s| s["tid"] == 0 && s["name"] == "wait for I/O"));

    // Every wake is a flow: a start and a finish with the same id.
    let starts: HashSet<u64> = events
        .iter()
        .filter(|e| e["ph"] == "s")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    let finishes: HashSet<u64> = events
        .iter()
        .filter(|e| e["ph"] == "f")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert!(!starts.is_empty());
    assert_eq!(starts, finishes);

    // The cancel's stages are instants on the task's track.
    let instants: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["tid"] == stubborn)
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for stage in [
        "spawn",
        "cancel requested",
        "cancel observed",
        "grace over",
        "dropped",
        "end (cancelled)",
    ] {
        assert!(instants.contains(&stage), "{stage:?} in {instants:?}");
    }
}

#[test]
fn the_ring_is_bounded() {
    let rt = Runtime::new().unwrap().with_trace(16);
    scenario(&rt);
    let log = rt.trace().unwrap();
    assert_eq!(log.len(), 16);
    assert!(log.dropped() > 0);
    let json: Value = serde_json::from_str(&log.to_chrome_json()).unwrap();
    assert!(json["traceEvents"].is_array());
}

#[test]
fn a_runtime_without_trace_records_nothing() {
    let rt = Runtime::new().unwrap();
    scenario(&rt);
    assert!(rt.trace().is_none());
}

#[test]
fn a_traced_runtime_writes_its_json_to_sanio_trace_out_when_dropped() {
    let path = std::env::temp_dir().join(format!("sanio-trace-{}.json", std::process::id()));
    std::env::set_var(sanio::rt::TRACE_OUT_ENV, &path);
    let rt = Runtime::new().unwrap().with_trace(1000);
    run_on(&rt, async { sanio::spawn(async {}).await.unwrap() });
    drop(rt);
    std::env::remove_var(sanio::rt::TRACE_OUT_ENV);
    let written = std::fs::read_to_string(&path).expect("the trace file");
    let _ = std::fs::remove_file(&path);
    let json: Value = serde_json::from_str(&written).unwrap();
    assert!(json["traceEvents"].as_array().unwrap().len() > 1);
}
