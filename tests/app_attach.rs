//! An app attached to a runtime the test drives purely with `turn`:
//! listeners, a task, requests, a graceful stop.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use sanio::{App, Config, Lifecycle, Request, Runtime};
use support::rt::HANG_GUARD;

#[test]
fn an_app_runs_and_stops_on_a_runtime_driven_only_by_turn() {
    let app = App::new("attached");
    let phases = Arc::new(Mutex::new(Vec::new()));
    for phase in [
        Lifecycle::MainProcessStart,
        Lifecycle::BeforeServerStart,
        Lifecycle::AfterServerStop,
        Lifecycle::MainProcessStop,
    ] {
        let phases = Arc::clone(&phases);
        app.listener(phase, move |_app: App| {
            let phases = Arc::clone(&phases);
            async move { phases.lock().unwrap().push(format!("{phase:?}")) }
        })
        .unwrap();
    }
    let ticks = Arc::new(AtomicUsize::new(0));
    app.add_task({
        let ticks = Arc::clone(&ticks);
        move || {
            let ticks = Arc::clone(&ticks);
            async move {
                loop {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    sanio::sleep(Duration::from_millis(1)).await;
                }
                #[allow(unreachable_code)]
                ()
            }
        }
    })
    .unwrap();
    app.get("/", |_req: Request| async { "Hello, World!" })
        .unwrap();

    let rt = Runtime::new().unwrap();
    let attached = app.attach(&rt, Config::default().port(0)).unwrap();
    assert_eq!(
        *phases.lock().unwrap(),
        ["MainProcessStart"],
        "nothing else ran yet"
    );
    let addr = attached.local_addr();

    // A client on another thread; this thread only turns the loop.
    let (done, replies) = mpsc::channel();
    let client = std::thread::spawn(move || {
        for _ in 0..3 {
            done.send(support::client::get(addr, "/")).unwrap();
        }
    });
    let mut got = Vec::new();
    let guard = Instant::now() + HANG_GUARD;
    while got.len() < 3 {
        assert!(Instant::now() < guard, "hang guard");
        rt.turn(Some(Duration::from_millis(10))).unwrap();
        got.extend(replies.try_iter());
    }
    client.join().unwrap();
    for reply in &got {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), "Hello, World!");
    }
    assert!(ticks.load(Ordering::SeqCst) >= 1, "the task ran");

    attached.stop();
    while !attached.is_finished() {
        assert!(Instant::now() < guard, "hang guard");
        rt.turn(Some(Duration::from_millis(10))).unwrap();
    }
    attached.finish(&rt).unwrap();
    assert_eq!(
        *phases.lock().unwrap(),
        [
            "MainProcessStart",
            "BeforeServerStart",
            "AfterServerStop",
            "MainProcessStop"
        ]
    );
    assert_eq!(rt.stats().live_tasks, 0, "every task of the app ended");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the socket is closed"
    );
    assert!(!app.is_running(), "it can run again");
}
