//! Request-scoped tasks (cancelled on each of the five ways a handler ends)
//! and child tasks (subtree cancel, waits, detach).

mod support;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanio::{App, CancelOutcome, Config, HttpError, Request, TaskState};
use support::client::{connect, get};

/// What each scoped task saw: (request path, cancel message).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Starts a scoped task that waits for its cancel and records it.
fn scoped_watcher(req: &Request, seen: &Seen) {
    let path = req.path().to_owned();
    seen.lock().unwrap().push((format!("{path} started"), None));
    let seen = Arc::clone(seen);
    req.add_task(async move {
        let cancelled = sanio::cancelled().await;
        let message = cancelled.message().map(str::to_owned);
        seen.lock().unwrap().push((path, message));
    })
    .unwrap();
}

/// An app whose routes each start a scoped watcher, then end one way.
fn app(seen: &Seen) -> App {
    let app = App::new("scoped");
    let s = Arc::clone(seen);
    app.get("/return", move |req: Request| {
        scoped_watcher(&req, &s);
        async { "ok" }
    })
    .unwrap();
    let s = Arc::clone(seen);
    app.get("/error", move |req: Request| {
        scoped_watcher(&req, &s);
        async { Err::<&str, _>(HttpError::bad_request("no")) }
    })
    .unwrap();
    let s = Arc::clone(seen);
    app.get("/panic", move |req: Request| {
        scoped_watcher(&req, &s);
        async {
            panic!("handler bug");
            #[allow(unreachable_code)]
            "never"
        }
    })
    .unwrap();
    let s = Arc::clone(seen);
    app.get("/forever", move |req: Request| {
        scoped_watcher(&req, &s);
        std::future::pending::<&str>()
    })
    .unwrap();
    app
}

/// Waits (hang guard: 10 s) until `seen` has an entry for `path`.
fn wait_for(seen: &Seen, path: &str) -> Option<String> {
    for _ in 0..2000 {
        if let Some((_, message)) = seen.lock().unwrap().iter().find(|(p, _)| p == path) {
            return message.clone();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the scoped task of {path} was never cancelled");
}

const SCOPE_ENDED: &str = "the request that started it ended";

#[test]
fn a_scoped_task_is_cancelled_when_the_handler_returns_errs_or_panics() {
    let seen = Seen::default();
    let server = app(&seen).serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/return").status, 200);
    assert_eq!(wait_for(&seen, "/return").as_deref(), Some(SCOPE_ENDED));
    assert_eq!(get(addr, "/error").status, 400);
    assert_eq!(wait_for(&seen, "/error").as_deref(), Some(SCOPE_ENDED));
    assert_eq!(get(addr, "/panic").status, 500);
    assert_eq!(wait_for(&seen, "/panic").as_deref(), Some(SCOPE_ENDED));
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_scoped_task_is_cancelled_when_the_client_goes_away() {
    let seen = Seen::default();
    let server = app(&seen).serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Once the handler has started its watcher, reset the connection.
    wait_for(&seen, "/forever started");
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
    assert_eq!(wait_for(&seen, "/forever").as_deref(), Some(SCOPE_ENDED));
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_scoped_task_is_cancelled_when_a_graceful_stop_ends_the_handler() {
    let seen = Seen::default();
    let config = Config::default()
        .port(0)
        .graceful_timeout(Duration::from_millis(300));
    let server = app(&seen).serve(config).unwrap();
    let addr = server.local_addr();
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(sanio_live(addr));
    wait_for(&seen, "/forever started");
    server.stop();
    server.join().unwrap();
    // Cancelled by its scope when the stop dropped the handler, before the
    // worker's own task shutdown.
    assert_eq!(wait_for(&seen, "/forever").as_deref(), Some(SCOPE_ENDED));
    drop(stream);
}

#[test]
fn a_task_the_handler_spawned_cannot_add_a_scoped_task() {
    // Nothing would end such a task's scope: it is refused, not kept.
    let app = App::new("scoped-spawned");
    app.get("/spawned", |req: Request| async move {
        let verdict = Rc::new(RefCell::new("not run"));
        let record = Rc::clone(&verdict);
        let spawned = req
            .app()
            .add_task(async move {
                *record.borrow_mut() = match req.add_task(async {}) {
                    Err(sanio::Error::NoLoop(_)) => "refused",
                    _ => "accepted",
                };
            })
            .unwrap()
            .expect("started on this worker");
        spawned.task().wait().await;
        let verdict = *verdict.borrow();
        verdict
    })
    .unwrap();
    app.get("/direct", |req: Request| async move {
        if req.add_task(async {}).is_ok() {
            "accepted"
        } else {
            "refused"
        }
    })
    .unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/spawned").text(), "refused");
    assert_eq!(get(addr, "/direct").text(), "accepted");
    server.stop();
    server.join().unwrap();
}

/// Whether the server answers (a request on its own connection).
fn sanio_live(addr: std::net::SocketAddr) -> bool {
    get(addr, "/return").status == 200
}

/// Runs `future` on a loop with a paused clock, with a hang guard.
fn paused<F: std::future::Future>(future: F) -> F::Output {
    let rt = sanio::Runtime::new().unwrap().with_paused_clock();
    rt.block_on(sanio::timeout(Duration::from_secs(3600), future))
        .expect("test hung")
}

#[test]
fn a_long_lived_parent_forgets_the_children_that_ended() {
    let app = App::new("many-children");
    paused(async {
        let a = app.clone();
        let parent = app
            .add_named_task("parent", async move {
                for _ in 0..1000 {
                    a.add_child_task(async {}).unwrap();
                    sanio::rt::yield_now().await; // the child runs and ends
                }
                let _ = sanio::cancelled().await;
            })
            .unwrap()
            .unwrap();
        sanio::sleep(Duration::from_millis(10)).await;
        let kept = parent.task().children().len();
        assert!(kept < 128, "{kept} children kept");
        parent.cancel();
    });
}

#[test]
fn cancelling_a_parent_cancels_its_subtree_and_completes_after_it() {
    let app = App::new("tree");
    let ended: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    paused(async {
        let (a, e) = (app.clone(), Rc::clone(&ended));
        app.add_named_task("parent", async move {
            let (a2, e2) = (a.clone(), Rc::clone(&e));
            a.add_named_child_task("child", async move {
                let e3 = Rc::clone(&e2);
                a2.add_named_child_task("grandchild", async move {
                    let _ = sanio::cancelled().await;
                    sanio::sleep(Duration::from_millis(200)).await; // slow cleanup
                    e3.borrow_mut().push("grandchild");
                })
                .unwrap();
                let _ = sanio::cancelled().await;
                sanio::sleep(Duration::from_millis(100)).await;
                e2.borrow_mut().push("child");
            })
            .unwrap();
            std::future::pending::<()>().await; // dropped at once on cancel
        })
        .unwrap();
        sanio::sleep(Duration::from_millis(1)).await;
        let child = app.get_task("child").unwrap();
        assert_eq!(
            child.parent_id(),
            Some(app.get_task("parent").unwrap().id())
        );
        let outcome = app.cancel_task("parent").await.unwrap();
        assert_eq!(outcome, CancelOutcome::Dropped);
        // The parent's cancel completed only after its children ended.
        assert_eq!(*ended.borrow(), ["child", "grandchild"]);
        assert_eq!(app.get_task("grandchild").unwrap().state(), TaskState::Done);
    });
}

#[test]
fn a_parent_that_returns_cancels_the_children_it_leaves_but_not_detached_ones() {
    let app = App::new("orphans");
    paused(async {
        let a = app.clone();
        app.add_named_task("parent", async move {
            a.add_named_child_task("kept", std::future::pending::<()>())
                .unwrap();
            let free = a
                .add_named_child_task("free", std::future::pending::<()>())
                .unwrap();
            free.task().detach();
        })
        .unwrap();
        sanio::sleep(Duration::from_millis(1)).await;
        assert_eq!(app.get_task("kept").unwrap().state(), TaskState::Cancelled);
        assert_eq!(app.get_task("free").unwrap().state(), TaskState::Running);
        assert_eq!(app.get_task("free").unwrap().parent_id(), None);
        assert!(matches!(
            app.add_child_task(async {}),
            Err(sanio::Error::NoParent)
        ));
    });
}

#[cfg(feature = "ws")]
#[test]
fn a_websocket_handlers_scoped_task_is_cancelled_when_the_client_goes_away() {
    use sanio::WebSocket;

    let seen = Seen::default();
    let app = App::new("scoped-ws");
    let s = Arc::clone(&seen);
    app.websocket("/ws", move |req: Request, ws: WebSocket| {
        scoped_watcher(&req, &s);
        async move {
            let _ = ws.send("ready").await;
            std::future::pending::<()>().await;
        }
    })
    .unwrap();
    app.get("/tree", |req: Request| async move {
        req.app().task_dump().await.text()
    })
    .unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    let addr = server.local_addr();
    let stream = connect(addr);
    let (mut client, _) = tungstenite::client(format!("ws://{addr}/ws").as_str(), stream).unwrap();
    assert_eq!(
        client.read().unwrap().into_text().unwrap().as_str(),
        "ready"
    );
    wait_for(&seen, "/ws started");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "still running while connected"
    );
    drop(client);
    assert_eq!(wait_for(&seen, "/ws").as_deref(), Some(SCOPE_ENDED));
    server.stop();
    server.join().unwrap();
}
