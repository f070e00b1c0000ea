//! Health and readiness over real sockets: readiness turns 503 the moment
//! a graceful stop begins, and with a drain delay the app goes on
//! accepting and serving, so a balancer's next check (on a kept-alive
//! connection or a new one) is answered "not ready" instead of refused.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use sanio::{App, Config, Request};
use support::client::{connect, get, read_reply, Reply};

/// Hang guard for the waits below.
const GUARD: Duration = Duration::from_secs(60);

/// `GET path` on a kept-alive connection.
fn ask(stream: &mut TcpStream, path: &str) -> Reply {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    read_reply(stream).expect("a reply on the kept-alive connection")
}

fn app() -> App {
    let app = App::new("health");
    app.get("/", |_req: Request| async { "hello" }).unwrap();
    app.add_health_routes("/healthz", "/readyz").unwrap();
    app
}

#[test]
fn readiness_is_503_on_a_kept_alive_connection_once_a_stop_begins() {
    let app = app();
    let config = Config::default()
        .port(0)
        .handle_signals(false)
        // Far longer than the test: only the second stop below ends it.
        .drain_delay(Duration::from_secs(3600));
    let server = app.serve(config).unwrap();
    let addr = server.local_addr();
    let mut kept = connect(addr);
    let ready = ask(&mut kept, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(ready.text().contains("\"draining\":false"));

    server.stop();
    // The same connection, after the stop began: not ready, and still open.
    let draining = ask(&mut kept, "/readyz");
    assert_eq!(draining.status, 503, "{}", draining.text());
    assert!(draining.text().contains("\"draining\":true"));
    assert_ne!(draining.header("connection"), Some("close"));
    assert_eq!(ask(&mut kept, "/").text(), "hello");
    // A new connection is still accepted: 503, not "connection refused".
    assert_eq!(get(addr, "/readyz").status, 503);
    assert_eq!(get(addr, "/healthz").status, 200, "live while draining");
    assert!(app.health().is_draining() && !app.health().is_ready());

    // A second stop cuts the drain short; then the stop goes on as usual.
    server.stop();
    let (done, joined) = mpsc::channel();
    std::thread::spawn(move || done.send(server.join()));
    joined
        .recv_timeout(GUARD)
        .expect("the second stop ends the drain")
        .unwrap();
    assert!(read_reply(&mut kept).is_none(), "closed at the stop");
    assert!(TcpStream::connect(addr).is_err(), "no longer accepting");
}

#[test]
fn without_a_drain_delay_readiness_turns_off_before_the_stop_proceeds() {
    let app = app();
    let server = app
        .serve(Config::default().port(0).handle_signals(false))
        .unwrap();
    let mut kept = connect(server.local_addr());
    assert_eq!(ask(&mut kept, "/readyz").status, 200);
    assert!(app.health().is_ready());
    server.stop();
    // Set before any worker has begun to stop.
    assert!(app.health().is_draining() && !app.health().is_ready());
    let (done, joined) = mpsc::channel();
    std::thread::spawn(move || done.send(server.join()));
    joined.recv_timeout(GUARD).expect("stopped").unwrap();
    assert!(
        read_reply(&mut kept).is_none(),
        "the idle connection is closed"
    );
    assert!(!app.health().is_live());
}
