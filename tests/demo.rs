//! The demo app end to end: task routes, notify -> feed and events, purge;
//! the static page, uploads, middleware headers and the admin blueprint;
//! the task dump at `/admin/tasks`, the singleton ticker and restarts.

#![cfg(all(feature = "ws", feature = "json"))]

#[path = "../examples/demo/app.rs"]
#[allow(dead_code)]
mod demo_app;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sanio::Config;
use serde_json::Value;
use support::client::{get, request};

/// The JSON body of a reply.
fn json(reply: &support::client::Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

/// The names and states listed by `GET /tasks`.
fn tasks(addr: SocketAddr) -> Vec<(String, String)> {
    let listed = json(&get(addr, "/tasks"));
    listed["tasks"]
        .as_array()
        .expect("a task list")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn task_routes_run_the_whole_lifecycle() {
    let app = demo_app::build().unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();

    assert_eq!(get(addr, "/").text(), "Hello, World!");
    assert!(tasks(addr).contains(&("heartbeat".into(), "running".into())));

    let created = request(addr, "POST", "/tasks/job?seconds=3600", "");
    assert_eq!(created.status, 201);
    assert_eq!(json(&created)["state"], "running");
    let conflict = request(addr, "POST", "/tasks/job", "");
    assert_eq!(conflict.status, 409);
    assert!(json(&conflict)["error"].is_string());
    assert!(tasks(addr).contains(&("job".into(), "running".into())));

    let cancelled = request(addr, "DELETE", "/tasks/job", "");
    assert_eq!(
        (cancelled.status, json(&cancelled)["state"].clone()),
        (200, "cancelled".into())
    );
    assert_eq!(request(addr, "DELETE", "/tasks/nope", "").status, 404);

    assert_eq!(
        request(addr, "POST", "/tasks/quick?seconds=0", "").status,
        201
    );
    while !tasks(addr).contains(&("quick".into(), "done".into())) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let purged = request(addr, "POST", "/tasks/purge", "");
    assert_eq!(json(&purged)["purged"], 2);
    assert_eq!(
        tasks(addr),
        [
            ("heartbeat".to_owned(), "running".to_owned()),
            ("ticker".to_owned(), "running".to_owned())
        ]
    );

    assert_eq!(get(addr, "/missing").status, 404);
    assert!(json(&get(addr, "/missing"))["error"].is_string());
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_notification_reaches_the_feed_and_the_event_stream_on_every_worker() {
    let app = demo_app::build().unwrap();
    let server = app.serve(Config::default().port(0).workers(2)).unwrap();
    let addr = server.local_addr();

    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let (mut feed, _) = tungstenite::client(format!("ws://{addr}/feed").as_str(), stream).unwrap();

    let mut events = TcpStream::connect(addr).unwrap();
    events
        .write_all(b"GET /events HTTP/1.1\r\nHost: demo\r\n\r\n")
        .unwrap();
    events
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();

    // The feed handler and the event stream each wait for the event; keep
    // notifying until both have seen it (a hang guard bounds the loop).
    let (mut fed, mut streamed) = (false, String::new());
    for _ in 0..400 {
        let posted = request(addr, "POST", "/notify", "hello everyone");
        assert_eq!(
            (posted.status, json(&posted)["delivered"].clone()),
            (202, true.into())
        );
        if let Ok(tungstenite::Message::Text(text)) = feed.read() {
            assert_eq!(text.as_str(), "hello everyone");
            fed = true;
        }
        let mut buf = [0u8; 4096];
        if let Ok(n) = events.read(&mut buf) {
            streamed.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        if fed && streamed.contains("data: hello everyone") {
            break;
        }
    }
    assert!(fed, "the websocket feed got the notification");
    assert!(streamed.contains("text/event-stream"), "{streamed}");
    assert!(streamed.contains("data: hello everyone\n\n"), "{streamed}");

    feed.close(None).unwrap();
    while feed.read().is_ok() {} // the server's close reply, then its FIN
    drop(feed);
    // The feed's receiver was scoped to its handler: once the socket closed
    // it is no longer running, with no purge (a hang guard bounds the wait).
    let receivers = |addr| -> Vec<String> {
        tasks(addr)
            .into_iter()
            .filter(|(name, _)| name.starts_with("receiver:"))
            .map(|(_, state)| state)
            .collect()
    };
    let mut ended = false;
    for _ in 0..1000 {
        let states = receivers(addr);
        assert_eq!(states.len(), 1, "one receiver listed: {states:?}");
        if states[0] != "running" && states[0] != "pending" {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ended, "the receiver ended with its websocket");
    drop(events);
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_hundred_notifications_sent_back_to_back_all_reach_the_feed() {
    let app = demo_app::build().unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let (mut feed, _) = tungstenite::client(format!("ws://{addr}/feed").as_str(), stream).unwrap();
    // Notify until the feed's handler is listening (a hang guard bounds it).
    let mut listening = false;
    for _ in 0..400 {
        request(addr, "POST", "/notify", "ready?");
        if let Ok(tungstenite::Message::Text(_)) = feed.read() {
            listening = true;
            break;
        }
    }
    assert!(listening, "the feed forwards notifications");
    while feed.read().is_ok() {} // any late "ready?" echoes

    // A hundred notifications in one write: the server answers them one
    // after another with no wait in between.
    let mut pipelined = String::new();
    for n in 0..100 {
        let body = format!("n{n}");
        pipelined.push_str(&format!(
            "POST /notify HTTP/1.1\r\nHost: demo\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    }
    let mut notifier = TcpStream::connect(addr).unwrap();
    notifier.write_all(pipelined.as_bytes()).unwrap();

    // Read until all came, or nothing more comes for a long while (a hang
    // guard, not a measurement).
    let (mut received, mut idle_reads) = (Vec::new(), 0);
    while received.len() < 100 && idle_reads < 400 {
        match feed.read() {
            Ok(tungstenite::Message::Text(text)) if text.as_str() != "ready?" => {
                received.push(text.as_str().to_owned());
                idle_reads = 0;
            }
            Ok(_) => {}
            Err(_) => idle_reads += 1,
        }
    }
    let expected: Vec<String> = (0..100).map(|n| format!("n{n}")).collect();
    assert_eq!(received, expected, "every notification, in order");
    feed.close(None).unwrap();
    while feed.read().is_ok() {}
    drop(notifier);
    server.stop();
    server.join().unwrap();
}

/// `GET path` with the admin bearer token `token`.
fn get_admin(addr: SocketAddr, path: &str, token: &str) -> support::client::Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    support::client::read_reply(&mut stream).unwrap()
}

/// `GET /admin/tasks` as JSON, with [`TOKEN`].
fn admin(addr: SocketAddr) -> Value {
    let reply = get_admin(addr, "/admin/tasks", TOKEN);
    assert_eq!(reply.status, 200);
    json(&reply)
}

/// The admin token of the task-dump test.
const TOKEN: &str = "dump-s3cret";

/// The tasks named `name` in an `/admin/tasks` dump, with their worker.
fn named(dump: &Value, name: &str) -> Vec<(u64, Value)> {
    let mut found = Vec::new();
    for worker in dump["workers"].as_array().expect("workers") {
        for task in worker["tasks"].as_array().expect("tasks") {
            if task["name"] == name {
                found.push((worker["worker"].as_u64().unwrap(), task.clone()));
            }
        }
    }
    found
}

#[test]
fn admin_tasks_shows_every_worker_a_singleton_ticker_and_restarts() {
    let app = demo_app::build_with(Some(TOKEN.into())).unwrap();
    let server = app.serve(Config::default().port(0).workers(2)).unwrap();
    let addr = server.local_addr();

    // Every worker answers, with the fixed shape, behind the token.
    assert_eq!(get(addr, "/admin/tasks").status, 401);
    let mut dump = admin(addr);
    for _ in 0..500 {
        if dump["workers"].as_array().unwrap().len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        dump = admin(addr);
    }
    assert_eq!(dump["workers"].as_array().unwrap().len(), 2);
    let (_, heartbeat) = named(&dump, "heartbeat").remove(0);
    for field in [
        "id",
        "name",
        "parent",
        "state",
        "polls",
        "busy_us",
        "age_ms",
        "spawned_at",
        "restarts",
        "cancel",
    ] {
        assert!(heartbeat.get(field).is_some(), "{field} in {heartbeat}");
    }
    assert!(heartbeat["spawned_at"]
        .as_str()
        .unwrap()
        .contains("examples/demo/app.rs"));
    // The singleton runs on exactly one worker.
    let tickers = named(&dump, "ticker");
    assert_eq!(tickers.len(), 1, "{tickers:?}");
    assert_ne!(tickers[0].1["state"], "finished");

    // A supervised task that fails at once is restarted with backoff.
    let created = request(
        addr,
        "POST",
        "/tasks/flaky?seconds=0&fail=1&restart=on-failure",
        "",
    );
    assert_eq!(created.status, 201);
    let mut restarts = 0;
    for _ in 0..1000 {
        if let Some((_, flaky)) = named(&admin(addr), "flaky").first() {
            restarts = flaky["restarts"].as_u64().unwrap();
            if restarts >= 2 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(restarts >= 2, "restarts shown: {restarts}");
    let text = get_admin(addr, "/admin/tasks?format=text", TOKEN).text();
    assert!(
        text.contains("worker 0") && text.contains("worker 1"),
        "{text}"
    );
    assert!(text.contains("flaky"), "{text}");

    // DELETE finds it wherever it runs (whichever worker answers).
    let cancelled = request(addr, "DELETE", "/tasks/flaky", "");
    assert_eq!(cancelled.status, 200);
    assert_eq!(json(&cancelled)["state"], "cancelled");
    server.stop();
    server.join().unwrap();
}

#[test]
fn static_page_upload_middleware_and_admin() {
    let app = demo_app::build_with(Some("s3cret".into())).unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();

    // The page and what sits beside it.
    let page = get(addr, "/static/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.text().contains("<script src=\"app.js\">"));
    assert_eq!(get(addr, "/static/index.html").body, page.body);
    assert_eq!(
        get(addr, "/static/app.js").header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        get(addr, "/static/style.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
    let old = get(addr, "/app");
    assert_eq!(
        (old.status, old.header("location")),
        (302, Some("/static/"))
    );
    assert_eq!(get(addr, "/static/../app.rs").status, 404);

    // Every response carries a request id and a timing.
    let hello = get(addr, "/");
    assert!(hello
        .header("x-request-id")
        .is_some_and(|id| id.len() == 36));
    assert!(hello
        .header("server-timing")
        .is_some_and(|t| t.starts_with("app;dur=")));
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /missing HTTP/1.1\r\nHost: t\r\nX-Request-ID: abc-123\r\nConnection: close\r\n\r\n")
        .unwrap();
    let missing = support::client::read_reply(&mut stream).unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-request-id"), Some("abc-123"));

    // Uploads, multipart and urlencoded.
    let body = "--XX\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi there\r\n\
                --XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                Content-Type: text/plain\r\n\r\nabcde\r\n--XX--\r\n";
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!(
                "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let uploaded = support::client::read_reply(&mut stream).unwrap();
    assert_eq!(uploaded.status, 200, "{}", uploaded.text());
    assert_eq!(
        json(&uploaded),
        serde_json::json!({
            "fields": { "note": "hi there" },
            "files": [{ "field": "file", "filename": "a.txt", "content_type": "text/plain", "size": 5 }]
        })
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\nConnection: close\r\n\r\nnote=ok")
        .unwrap();
    let urlencoded = support::client::read_reply(&mut stream).unwrap();
    assert_eq!(
        json(&urlencoded),
        serde_json::json!({ "fields": { "note": "ok" }, "files": [] })
    );
    assert_eq!(request(addr, "POST", "/upload", "{}").status, 415);

    // The admin blueprint wants the token.
    let refused = get(addr, "/admin/tasks");
    assert_eq!(refused.status, 401);
    assert!(json(&refused)["error"]
        .as_str()
        .is_some_and(|e| e.contains("bearer token")));
    assert!(refused.header("x-request-id").is_some());
    assert_eq!(get_admin(addr, "/admin/tasks", "wrong").status, 401);
    let listed = get_admin(addr, "/admin/tasks", "s3cret");
    assert_eq!(listed.status, 200);
    assert!(json(&listed)["workers"].is_array());
    server.stop();
    server.join().unwrap();

    // Without a token configured, /admin is open.
    let open = demo_app::build_with(None).unwrap();
    let server = open.serve(Config::default().port(0)).unwrap();
    assert_eq!(get(server.local_addr(), "/admin/tasks").status, 200);
    server.stop();
    server.join().unwrap();
}
