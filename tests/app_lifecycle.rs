//! Lifecycle listeners, freezing, and starting and stopping workers.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanio::{App, Config, Error, Lifecycle, Request};

/// Records `name` in `log` when the listener runs.
fn record(app: &App, log: &Arc<Mutex<Vec<String>>>, phase: Lifecycle, priority: i32, name: &str) {
    let (log, name) = (Arc::clone(log), name.to_owned());
    app.listener_with_priority(phase, priority, move |_app: App| {
        let (log, name) = (Arc::clone(&log), name.clone());
        async move { log.lock().unwrap().push(name) }
    })
    .unwrap();
}

#[test]
fn listeners_run_in_priority_order_and_stop_in_reverse() {
    let app = App::new("order");
    let log = Arc::new(Mutex::new(Vec::new()));
    record(&app, &log, Lifecycle::MainProcessStart, 0, "main start");
    record(
        &app,
        &log,
        Lifecycle::BeforeServerStart,
        0,
        "before start a",
    );
    record(
        &app,
        &log,
        Lifecycle::BeforeServerStart,
        5,
        "before start high",
    );
    record(
        &app,
        &log,
        Lifecycle::BeforeServerStart,
        0,
        "before start b",
    );
    record(&app, &log, Lifecycle::AfterServerStart, 0, "after start");
    record(&app, &log, Lifecycle::BeforeServerStop, 0, "before stop a");
    record(
        &app,
        &log,
        Lifecycle::BeforeServerStop,
        5,
        "before stop high",
    );
    record(&app, &log, Lifecycle::BeforeServerStop, 0, "before stop b");
    record(&app, &log, Lifecycle::AfterServerStop, 0, "after stop");
    record(&app, &log, Lifecycle::MainProcessStop, 0, "main stop");
    let server = app.serve(Config::default().port(0)).unwrap();
    assert_eq!(
        support::client::get(server.local_addr(), "/missing").status,
        404
    );
    server.stop();
    server.join().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "main start",
            "before start high",
            "before start a",
            "before start b",
            "after start",
            "before stop b",
            "before stop a",
            "before stop high",
            "after stop",
            "main stop",
        ]
    );
}

#[test]
fn a_failing_before_server_start_stops_the_app_with_its_error() {
    let app = App::new("failing");
    let log = Arc::new(Mutex::new(Vec::new()));
    app.listener(Lifecycle::BeforeServerStart, |_app: App| async {
        Err::<(), _>("database unreachable")
    })
    .unwrap();
    record(&app, &log, Lifecycle::AfterServerStart, 0, "after start");
    let config = Config::default().port(0).workers(2).handle_signals(false);
    let err = app.run(config).unwrap_err();
    assert!(
        matches!(err, Error::Listener { phase: "before_server_start", ref message } if message == "database unreachable"),
        "{err}"
    );
    assert!(log.lock().unwrap().is_empty(), "no half-started server");
    assert!(!app.is_running());
}

#[test]
fn setup_is_frozen_while_running() {
    let app = App::new("frozen");
    app.get("/", |_req: Request| async { "ok" }).unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let err = app
        .get("/late", |_req: Request| async { "late" })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot add a route once the app is running"
    );
    assert!(matches!(
        app.signal("my.custom.event", |_app, _e| async {}),
        Err(Error::Frozen(_))
    ));
    server.stop();
    server.join().unwrap();
    // Stopped: setup may change again.
    assert!(app.get("/late", |_req: Request| async { "late" }).is_ok());
}

#[test]
fn serve_answers_on_two_workers_and_stops() {
    let app = App::new("two");
    app.get("/", |req: Request| async move {
        format!("worker {:?}", req.app().worker())
    })
    .unwrap();
    let server = app
        .serve(
            Config::default()
                .port(0)
                .workers(2)
                .graceful_timeout(Duration::from_secs(1)),
        )
        .unwrap();
    let addr = server.local_addr();
    let reply = support::client::get(addr, "/");
    assert_eq!(reply.status, 200);
    assert!(reply.text().starts_with("worker Some("), "{}", reply.text());
    server.stop();
    server.join().unwrap();
    let refused = std::net::TcpStream::connect(addr);
    assert!(refused.is_err(), "the listener is closed after join");
}
