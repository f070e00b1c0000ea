//! HTTP through the App: routing, errors, many connections, graceful stop,
//! panics and disconnects, over real sockets.

#![cfg(feature = "json")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sanio::{App, Config, HttpError, Request, Response, StatusCode};
use support::client::{connect, get, read_reply, request};

/// Serves `app` on port 0.
fn serve(app: &App, workers: usize) -> sanio::Server {
    let config = Config::default()
        .port(0)
        .workers(workers)
        .graceful_timeout(Duration::from_secs(5));
    app.serve(config).expect("serve")
}

#[test]
fn routes_params_queries_and_response_kinds() {
    let app = App::new("routes");
    app.get("/user/<id:int>", |req: Request| async move {
        let id: i64 = req.param("id")?;
        Ok::<_, HttpError>(format!("user {id}"))
    })
    .unwrap();
    app.get("/search", |req: Request| async move {
        format!("q={}", req.query("q").unwrap_or_default())
    })
    .unwrap();
    app.get("/json", |_req: Request| async {
        Response::json(&serde_json::json!({ "ok": true }))
    })
    .unwrap();
    app.get("/old", |_req: Request| async { Response::redirect("/new") })
        .unwrap();
    app.post("/echo", |req: Request| async move { req.body().to_vec() })
        .unwrap();
    app.get("/id", |req: Request| async move { req.id().to_owned() })
        .unwrap();
    let server = serve(&app, 1);
    let addr = server.local_addr();

    assert_eq!(get(addr, "/user/42").text(), "user 42");
    assert_eq!(get(addr, "/user/bob").status, 404);
    assert_eq!(get(addr, "/search?q=hello%20world").text(), "q=hello world");
    let json = get(addr, "/json");
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.text(), r#"{"ok":true}"#);
    let moved = get(addr, "/old");
    assert_eq!(
        (moved.status, moved.header("location")),
        (302, Some("/new"))
    );
    assert_eq!(
        request(addr, "POST", "/echo", "body bytes").text(),
        "body bytes"
    );
    let wrong = request(addr, "DELETE", "/echo", "");
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    assert!(get(addr, "/id").text().len() >= 32, "a fresh UUID-like id");

    let mut stream = connect(addr);
    stream
        .write_all(b"GET /id HTTP/1.1\r\nHost: t\r\nX-Request-ID: abc-123\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().text(), "abc-123");
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_custom_error_handler_answers_404_405_and_500() {
    let app = App::new("errors");
    app.get("/", |_req: Request| async { "ok" }).unwrap();
    app.get("/panic", |_req: Request| async {
        panic!("handler bug") as &str
    })
    .unwrap();
    app.error_handler(|err: &HttpError| {
        Response::text(format!("custom {}", err.status.as_u16())).with_status(err.status)
    })
    .unwrap();
    let server = serve(&app, 1);
    let addr = server.local_addr();
    assert_eq!(get(addr, "/missing").text(), "custom 404");
    let wrong = request(addr, "POST", "/", "");
    assert_eq!(
        (wrong.text(), wrong.header("allow")),
        ("custom 405".into(), Some("GET, HEAD"))
    );
    let panicked = get(addr, "/panic");
    assert_eq!(
        (panicked.status, panicked.text()),
        (500, "custom 500".into())
    );
    assert_eq!(get(addr, "/").text(), "ok", "the worker lives on");
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_thousand_keep_alive_connections_on_two_workers() {
    let app = App::new("many");
    let served = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&served);
    app.get("/", move |_req: Request| {
        s.fetch_add(1, Ordering::Relaxed);
        async { "hi" }
    })
    .unwrap();
    let server = serve(&app, 2);
    let addr = server.local_addr();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conns: Vec<TcpStream> = (0..250).map(|_| connect(addr)).collect();
                for round in 0..2 {
                    for conn in &mut conns {
                        conn.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                            .unwrap();
                    }
                    for conn in &mut conns {
                        let reply = read_reply(conn).expect("a reply on a kept-alive connection");
                        assert_eq!(
                            (reply.status, reply.text()),
                            (200, "hi".into()),
                            "round {round}"
                        );
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(served.load(Ordering::Relaxed), 2000);
    server.stop();
    server.join().unwrap();
}

#[test]
fn graceful_stop_finishes_in_flight_requests_and_refuses_new_connections() {
    let app = App::new("graceful");
    let started = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&started);
    app.get("/slow", move |_req: Request| {
        let s = Arc::clone(&s);
        async move {
            s.store(true, Ordering::SeqCst);
            sanio::sleep(Duration::from_millis(500)).await;
            "finished"
        }
    })
    .unwrap();
    let server = serve(&app, 1);
    let addr = server.local_addr();
    let mut in_flight = connect(addr);
    in_flight
        .write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.stop();
    let mut refused = false;
    for _ in 0..2000 {
        match TcpStream::connect(addr) {
            Err(_) => {
                refused = true;
                break;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    assert!(refused, "new connections are refused once stopping");
    let reply = read_reply(&mut in_flight).expect("the in-flight request is answered");
    assert_eq!((reply.status, reply.text()), (200, "finished".into()));
    assert_eq!(reply.header("connection"), Some("close"));
    server.join().unwrap();
}

#[test]
fn a_client_that_disconnects_mid_request_gets_its_handler_dropped() {
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let app = App::new("disconnect");
    let (started, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (s, d) = (Arc::clone(&started), Arc::clone(&dropped));
    app.get("/wait", move |_req: Request| {
        let guard = Dropped(Arc::clone(&d));
        let s = Arc::clone(&s);
        async move {
            let _guard = guard;
            s.store(true, Ordering::SeqCst);
            sanio::sleep(Duration::from_secs(3600)).await;
            "never"
        }
    })
    .unwrap();
    let server = serve(&app, 1);
    let mut client = connect(server.local_addr());
    client
        .write_all(b"GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // A reset, not a FIN: a FIN alone may be a half-close, which is
    // answered (see the half-close test below).
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    while !dropped.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_client_that_half_closes_after_its_request_gets_the_response_then_a_close() {
    let app = App::new("half-close");
    app.get("/slow", |_req: Request| async {
        // Pending when the client's FIN arrives.
        sanio::sleep(Duration::from_millis(20)).await;
        "late but here"
    })
    .unwrap();
    app.get("/", |_req: Request| async { "at once" }).unwrap();
    let server = serve(&app, 1);
    for path in ["/slow", "/"] {
        let mut client = connect(server.local_addr());
        client
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap(); // `nc -N`
        let reply = read_reply(&mut client).expect("the half-closed client is answered");
        assert_eq!(reply.status, 200, "{path}");
        assert!(["late but here", "at once"].contains(&reply.text().as_str()));
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "then the server closes: {rest:?}");
    }
    server.stop();
    server.join().unwrap();
}

#[test]
fn hostile_bytes_get_a_status_and_a_closed_connection() {
    let app = App::new("hostile");
    app.post("/", |_req: Request| async { "ok" }).unwrap();
    let server = serve(&app, 1);
    let addr = server.local_addr();
    let cases: &[(&[u8], u16)] = &[
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400), // no Host
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ];
    for (raw, status) in cases {
        let mut stream = connect(addr);
        stream.write_all(raw).unwrap();
        let reply = read_reply(&mut stream).expect("a status");
        assert_eq!(reply.status, *status, "{}", String::from_utf8_lossy(raw));
        let mut rest = Vec::new();
        assert_eq!(
            stream.read_to_end(&mut rest).unwrap_or(0),
            0,
            "closed after the error"
        );
    }
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    let mut stream = connect(addr);
    stream.write_all(long_uri.as_bytes()).unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 414);
    assert_eq!(get(addr, "/nope").status, StatusCode::NOT_FOUND.as_u16());
    server.stop();
    server.join().unwrap();
}
