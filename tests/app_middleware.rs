//! Middleware, blueprints, shared state and error handlers by status,
//! through a real server on 127.0.0.1 port 0.

mod support;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sanio::{
    App, Blueprint, Config, HttpError, Lifecycle, Request, RequestInfo, Response, StatusCode,
};
use support::client::{connect, get, read_reply, Reply};

/// Serves `app` on port 0 with one worker.
fn serve(app: &App) -> sanio::Server {
    let config = Config::default()
        .port(0)
        .graceful_timeout(Duration::from_secs(5));
    app.serve(config).expect("serve")
}

/// Sends raw bytes on a new connection and reads one reply.
fn raw(addr: SocketAddr, bytes: &str) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(bytes.as_bytes()).expect("write");
    read_reply(&mut stream).expect("a reply")
}

/// `GET path` with extra header lines.
fn get_with(addr: SocketAddr, path: &str, headers: &str) -> Reply {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"),
    )
}

/// Every value of a header, in order.
fn all(reply: &Reply, name: &str) -> Vec<String> {
    reply
        .headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The names request middleware ran in, kept in the request's ctx.
#[derive(Default)]
struct Trail(RefCell<Vec<&'static str>>);

/// A request middleware that records `name`.
fn step(name: &'static str) -> impl Fn(Request) -> std::future::Ready<Request> + Send + Sync {
    move |req: Request| {
        if !req.ctx().contains::<Rc<Trail>>() {
            req.ctx().insert(Rc::new(Trail::default()));
        }
        req.ctx()
            .with(|trail: &Rc<Trail>| trail.0.borrow_mut().push(name));
        std::future::ready(req)
    }
}

use std::rc::Rc;

/// A response middleware that appends `x-after: name`.
fn after(
    name: &'static str,
) -> impl Fn(RequestInfo, Response) -> std::future::Ready<Response> + Send + Sync {
    move |_info: RequestInfo, mut res: Response| {
        res.headers_mut().append("x-after", name);
        std::future::ready(res)
    }
}

/// The trail so far, joined.
fn trail(req: &Request) -> String {
    req.ctx()
        .with(|trail: &Rc<Trail>| trail.0.borrow().join(","))
        .unwrap_or_default()
}

#[test]
fn middleware_run_in_sanic_order_around_routes_blueprints_and_errors() {
    let app = App::new("order");
    app.on_request(step("a")).unwrap();
    app.on_request_with_priority(10, step("b")).unwrap();
    app.on_request(step("c")).unwrap();
    app.on_response(after("r1")).unwrap();
    app.on_response(after("r2")).unwrap();
    app.on_response_with_priority(10, after("r3")).unwrap();
    app.get("/app", |req: Request| async move { trail(&req) })
        .unwrap();
    let mut outer = Blueprint::new("outer").url_prefix("/outer");
    outer.on_request(step("d")).on_response(after("r4"));
    let mut inner = Blueprint::new("inner").url_prefix("/inner");
    inner.on_request(step("e")).on_response(after("r5"));
    inner.get("/x/<n:int>", |req: Request| async move {
        format!("{} n={}", trail(&req), req.param::<i64>("n").unwrap_or(-1))
    });
    outer.blueprint(inner);
    app.blueprint(outer).unwrap();
    let server = serve(&app);
    let addr = server.local_addr();

    let top = get(addr, "/app");
    assert_eq!(top.text(), "b,a,c");
    assert_eq!(all(&top, "x-after"), ["r3", "r2", "r1"]);

    let nested = get(addr, "/outer/inner/x/7");
    assert_eq!(nested.text(), "b,a,c,d,e n=7");
    assert_eq!(all(&nested, "x-after"), ["r5", "r4", "r3", "r2", "r1"]);

    // Errors get the app's middleware too.
    let missing = get(addr, "/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(all(&missing, "x-after"), ["r3", "r2", "r1"]);
    let wrong = raw(
        addr,
        "DELETE /app HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    assert_eq!(all(&wrong, "x-after"), ["r3", "r2", "r1"]);
    server.stop();
    server.join().unwrap();
}

#[test]
fn request_middleware_can_answer_early_and_panics_are_500s() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = App::new("early");
    app.on_request(|req: Request| async move {
        match req.path() {
            "/private" if req.header("authorization") != Some("Bearer t") => Err(HttpError::new(
                StatusCode::UNAUTHORIZED,
                "a bearer token is required",
            )),
            "/boom-before" => panic!("request middleware failed"),
            _ => Ok(req),
        }
    })
    .unwrap();
    app.on_response(|info: RequestInfo, res: Response| async move {
        if info.path() == "/boom-after" {
            panic!("response middleware failed");
        }
        res.with_header("x-seen", info.path())
    })
    .unwrap();
    let counter = Arc::clone(&calls);
    app.get("/private", move |_req: Request| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "secret" }
    })
    .unwrap();
    for path in ["/boom-before", "/boom-after"] {
        app.get(path, |_req: Request| async { "unreachable" })
            .unwrap();
    }
    let server = serve(&app);
    let addr = server.local_addr();

    let refused = get(addr, "/private");
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert!(refused.text().contains("a bearer token is required"));
    assert_eq!(refused.header("x-seen"), Some("/private"));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler must not run");

    let allowed = get_with(addr, "/private", "Authorization: Bearer t\r\n");
    assert_eq!((allowed.status, allowed.text()), (200, "secret".into()));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let before = get(addr, "/boom-before");
    assert_eq!(before.status, 500);
    assert_eq!(before.header("x-seen"), Some("/boom-before"));
    let after = get(addr, "/boom-after");
    assert_eq!(after.status, 500);
    // The worker lives on.
    assert_eq!(
        get_with(addr, "/private", "Authorization: Bearer t\r\n").status,
        200
    );
    server.stop();
    server.join().unwrap();
}

#[cfg(feature = "ws")]
#[test]
fn middleware_guard_websocket_upgrades() {
    let app = App::new("ws-guard");
    app.on_request(|req: Request| async move {
        if req.query("token") == Some("t") {
            Ok(req)
        } else {
            Err(HttpError::new(StatusCode::FORBIDDEN, "no token"))
        }
    })
    .unwrap();
    app.on_response(|_info: RequestInfo, res: Response| async move {
        res.with_header("x-guarded", "yes")
    })
    .unwrap();
    app.websocket("/ws", |_req: Request, ws: sanio::WebSocket| async move {
        let _ = ws.send("hi").await;
    })
    .unwrap();
    let server = serve(&app);
    let addr = server.local_addr();
    let handshake = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let refused = get_with(addr, "/ws", handshake);
    assert_eq!(refused.status, 403);
    let mut stream = connect(addr);
    stream
        .write_all(format!("GET /ws?token=t HTTP/1.1\r\nHost: t\r\n{handshake}\r\n").as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        use std::io::Read;
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the head must come");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("x-guarded: yes"), "{head}");
    // The plain (not websocket) GET is refused as JSON, like other errors.
    let plain = get(addr, "/ws?token=t");
    assert_eq!(plain.status, 426);
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.header("sec-websocket-version"), Some("13"));
    server.stop();
    server.join().unwrap();
}

#[test]
fn error_handlers_by_status_nearest_first() {
    let app = App::new("errors");
    app.exception(StatusCode::NOT_FOUND, |err: &HttpError| {
        Response::html(format!("<h1>{}</h1>", err.message)).with_status(StatusCode::NOT_FOUND)
    })
    .unwrap();
    app.exception(StatusCode::INTERNAL_SERVER_ERROR, |_err: &HttpError| {
        Response::text("we broke it").with_status(StatusCode::INTERNAL_SERVER_ERROR)
    })
    .unwrap();
    app.error_handler(|err: &HttpError| {
        Response::text(format!("caught {}", err.status.as_u16())).with_status(err.status)
    })
    .unwrap();
    app.get("/conflict", |_req: Request| async {
        Err::<&str, _>(HttpError::new(StatusCode::CONFLICT, "taken"))
    })
    .unwrap();
    app.get("/panic", |_req: Request| async {
        if true {
            panic!("handler failed");
        }
        "never"
    })
    .unwrap();
    let mut api = Blueprint::new("api").url_prefix("/api");
    api.exception(StatusCode::CONFLICT, |_err: &HttpError| {
        Response::text("api conflict").with_status(StatusCode::CONFLICT)
    });
    api.get("/conflict", |_req: Request| async {
        Err::<&str, _>(HttpError::new(StatusCode::CONFLICT, "taken"))
    });
    app.blueprint(api).unwrap();
    let server = serve(&app);
    let addr = server.local_addr();

    let missing = get(addr, "/missing");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(missing.text(), "<h1>Not Found</h1>");
    let conflict = get(addr, "/conflict");
    assert_eq!(
        (conflict.status, conflict.text()),
        (409, "caught 409".into())
    );
    let api_conflict = get(addr, "/api/conflict");
    assert_eq!(
        (api_conflict.status, api_conflict.text()),
        (409, "api conflict".into())
    );
    let panicked = get(addr, "/panic");
    assert_eq!(
        (panicked.status, panicked.text()),
        (500, "we broke it".into())
    );
    let wrong = raw(
        addr,
        "POST /conflict HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((wrong.status, wrong.text()), (405, "caught 405".into()));
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    server.stop();
    server.join().unwrap();
}

#[test]
fn blueprints_prefix_nest_match_hosts_and_add_listeners() {
    let started = Arc::new(AtomicUsize::new(0));
    let app = App::new("bp");
    let mut api = Blueprint::new("api").url_prefix("/api").host("api.test");
    api.get("/items/<id:int>", |req: Request| async move {
        let id: i64 = req.param("id")?;
        Ok::<_, HttpError>(format!("item {id}"))
    });
    let counter = Arc::clone(&started);
    api.listener(Lifecycle::BeforeServerStart, move |_app: App| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    let mut v2 = Blueprint::new("v2").url_prefix("v2/");
    v2.get("/", |_req: Request| async { "v2 root" });
    api.blueprint(v2);
    app.blueprint(api).unwrap();

    let mut dup = Blueprint::new("dup").url_prefix("/api");
    dup.get("/items/<id:int>", |_req: Request| async { "again" });
    let err = app.blueprint(dup).unwrap_err();
    assert!(err.to_string().contains("\"dup\""), "{err}");
    let mut bad = Blueprint::new("bad");
    bad.get("/x/<id:nope>", |_req: Request| async { "" });
    assert!(app.blueprint(bad).is_err());

    let server = serve(&app);
    let addr = server.local_addr();
    let host =
        |h: &str| format!("GET /api/items/5 HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n");
    assert_eq!(raw(addr, &host("api.test")).text(), "item 5");
    // Answered, so the worker's before_server_start listeners have run.
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert_eq!(raw(addr, &host("API.test:8080")).text(), "item 5");
    assert_eq!(raw(addr, &host("other.test")).status, 404);
    let typed = raw(
        addr,
        "GET /api/items/five HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(typed.status, 404, "the typed parameter still applies");
    let nested = raw(
        addr,
        "GET /api/v2/ HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(nested.text(), "v2 root");
    server.stop();
    server.join().unwrap();
}

#[test]
fn app_state_worker_state_and_request_ctx() {
    struct Greeting(String);
    struct PerWorker(Cell<u64>);
    let made = Arc::new(AtomicUsize::new(0));
    let app = App::new("state");
    app.state(Greeting("hello".into())).unwrap();
    let counter = Arc::clone(&made);
    app.worker_state(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        PerWorker(Cell::new(0))
    })
    .unwrap();
    app.on_request(|req: Request| async move {
        req.ctx()
            .insert(format!("user-{}", req.query("u").unwrap_or("anon")));
        req
    })
    .unwrap();
    app.get("/", |req: Request| async move {
        let greeting = req.state::<Greeting>().expect("app state");
        let mine = req.worker_state::<PerWorker>().expect("worker state");
        mine.0.set(mine.0.get() + 1);
        let user: String = req.ctx().get().unwrap_or_default();
        let missing = req.state::<u8>().is_none() && req.worker_state::<u16>().is_none();
        format!("{} {user} {} {missing}", greeting.0, mine.0.get())
    })
    .unwrap();
    let server = serve(&app);
    let addr = server.local_addr();
    for n in 1..=3 {
        assert_eq!(
            get(addr, "/?u=ada").text(),
            format!("hello user-ada {n} true")
        );
    }
    assert_eq!(
        made.load(Ordering::SeqCst),
        1,
        "one factory call per worker"
    );
    assert!(matches!(app.state(1u8), Err(sanio::Error::Frozen(_))));
    server.stop();
    server.join().unwrap();
}

#[test]
fn the_cors_helper_answers_preflights_and_marks_responses() {
    let app = App::new("cors");
    app.cors("https://example.com").unwrap();
    app.post("/api", |_req: Request| async { "posted" })
        .unwrap();
    let server = serve(&app);
    let addr = server.local_addr();
    let preflight = raw(
        addr,
        "OPTIONS /api HTTP/1.1\r\nHost: t\r\nOrigin: https://example.com\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
         Connection: close\r\n\r\n",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://example.com")
    );
    assert!(preflight
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST")));
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );
    let posted = raw(
        addr,
        "POST /api HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(posted.text(), "posted");
    assert_eq!(
        posted.header("access-control-allow-origin"),
        Some("https://example.com")
    );
    assert_eq!(posted.header("vary"), Some("Origin"));
    // A plain OPTIONS (no preflight) is routed as usual.
    let plain = raw(
        addr,
        "OPTIONS /api HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(plain.status, 405);
    server.stop();
    server.join().unwrap();
}
