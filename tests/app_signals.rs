//! Signals and events: names, handlers, waiters, broadcast.

mod support;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanio::{App, Config, Error, Event, Lifecycle};

/// Runs `future` on a fresh loop, with a hang guard.
fn on_loop<F: Future>(future: F) -> F::Output {
    let rt = sanio::Runtime::new().expect("runtime");
    rt.block_on(sanio::timeout(Duration::from_secs(30), future))
        .expect("test hung")
}

#[test]
fn invalid_and_reserved_names_are_rejected_with_their_messages() {
    let app = App::new("names");
    let err = app.signal("only.two", |_app, _e| async {}).unwrap_err();
    assert_eq!(err.to_string(), "Invalid signal event: only.two");
    let err = app
        .signal("http.my.thing", |_app, _e| async {})
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot declare reserved signal event: http.my.thing"
    );
    assert!(app
        .signal("user.<id:int>.login", |_app, _e| async {})
        .is_ok());
    assert!(app
        .signal("server.exception.report", |_app, _e| async {})
        .is_ok());
    on_loop(async {
        let err = app.dispatch("server.custom.thing").await.unwrap_err();
        assert!(matches!(err, Error::ReservedEvent(_)));
        let err = app.event("a..b").await.unwrap_err();
        assert!(matches!(err, Error::InvalidEvent(_)));
    });
}

#[test]
fn a_wait_wakes_on_exactly_its_event_with_the_message() {
    let app = App::new("exact");
    on_loop(async {
        let waiter = {
            let app = app.clone();
            sanio::spawn(async move { app.event("my.custom.event").await })
        };
        sanio::rt::yield_now().await;
        app.dispatch("my.custom.other").await.unwrap();
        sanio::rt::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "a sibling event must not wake the waiter"
        );
        app.dispatch_with("my.custom.event", "hello").await.unwrap();
        let event = waiter.await.unwrap().unwrap();
        assert_eq!(
            (event.name(), event.message()),
            ("my.custom.event", Some("hello"))
        );
    });
}

#[test]
fn one_dispatch_wakes_every_waiter_and_dropped_waits_leave_nothing() {
    let app = App::new("many");
    on_loop(async {
        let waiters: Vec<_> = (0..100)
            .map(|_| {
                let app = app.clone();
                sanio::spawn(async move { app.event("my.custom.event").await.is_ok() })
            })
            .collect();
        sanio::rt::yield_now().await;
        assert_eq!(app.event_waiters("my.custom.event"), 100);
        app.dispatch("my.custom.event").await.unwrap();
        for waiter in waiters {
            assert!(waiter.await.unwrap());
        }
        assert_eq!(app.event_waiters("my.custom.event"), 0);

        let dropped = {
            let app = app.clone();
            sanio::spawn(async move { app.event("my.custom.event").await })
        };
        sanio::rt::yield_now().await;
        assert_eq!(app.event_waiters("my.custom.event"), 1);
        dropped.cancel();
        assert!(
            dropped.await.is_ok(),
            "the wait observed the cancel and returned"
        );
        assert_eq!(app.event_waiters("my.custom.event"), 0);
    });
}

#[test]
fn a_wait_times_out() {
    let app = App::new("timeout");
    on_loop(async {
        let waited = app
            .event("my.custom.event")
            .timeout(Duration::from_millis(10))
            .await;
        assert!(matches!(waited, Err(Error::EventTimeout(ref n)) if n == "my.custom.event"));
        assert_eq!(app.event_waiters("my.custom.event"), 0);
    });
}

#[test]
fn a_cancelled_wait_ends_with_cancelled_and_the_task_cleans_up() {
    let app = App::new("cancel");
    on_loop(async {
        let handle = {
            let app = app.clone();
            app.clone()
                .add_named_task("feed", async move {
                    match app.event("my.custom.event").await {
                        Err(Error::Cancelled(c)) => Ok(format!("cleaned up after {c}")),
                        other => Err(format!("unexpected {other:?}")),
                    }
                })
                .unwrap()
                .unwrap()
        };
        sanio::rt::yield_now().await;
        app.cancel_task_with("feed", "bye").await.unwrap();
        assert_eq!(handle.await.unwrap(), "cleaned up after cancelled: bye");
    });
}

#[test]
fn every_matching_handler_runs_and_a_failing_one_is_reported() {
    let app = App::new("handlers");
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = Arc::clone(&seen);
    app.signal("user.<id:int>.login", move |_app, event: Event| {
        let s = Arc::clone(&s);
        async move {
            s.lock().unwrap().push(format!("first {}", event.name()));
            Err::<(), _>("first handler failed")
        }
    })
    .unwrap();
    let s = Arc::clone(&seen);
    app.signal("user.<id:int>.login", move |_app, _event: Event| {
        let s = Arc::clone(&s);
        async move { s.lock().unwrap().push("second".to_owned()) }
    })
    .unwrap();
    let s = Arc::clone(&seen);
    app.signal("server.exception.report", move |_app, event: Event| {
        let s = Arc::clone(&s);
        async move {
            s.lock()
                .unwrap()
                .push(format!("report {}", event.message().unwrap_or_default()));
        }
    })
    .unwrap();
    on_loop(async {
        app.dispatch("user.42.login").await.unwrap();
        app.dispatch("user.bob.login").await.unwrap(); // not an int: no handler
        while seen.lock().unwrap().len() < 3 {
            sanio::sleep(Duration::from_millis(1)).await;
        }
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], "first user.42.login");
    assert_eq!(seen[1], "second");
    assert!(seen[2].starts_with("report ") && seen[2].contains("first handler failed"));
    assert_eq!(seen.len(), 3);
}

#[test]
fn a_broadcast_wakes_waiters_on_every_worker() {
    let app = App::new("broadcast");
    let armed = Arc::new(AtomicUsize::new(0));
    let fired = Arc::new(Mutex::new(Vec::new()));
    let (a, f) = (Arc::clone(&armed), Arc::clone(&fired));
    app.listener(Lifecycle::AfterServerStart, move |app: App| {
        let (a, f) = (Arc::clone(&a), Arc::clone(&f));
        async move {
            let waiter = app.clone();
            app.add_task(async move {
                let event = waiter.event("my.custom.event");
                let wait = async {
                    a.fetch_add(1, Ordering::SeqCst);
                    event.await
                };
                if let Ok(event) = wait.await {
                    let message = event.message().unwrap_or_default().to_owned();
                    f.lock().unwrap().push((waiter.worker(), message));
                }
            })
            .unwrap();
        }
    })
    .unwrap();
    let config = Config::default().port(0).workers(2);
    let server = app.serve(config).unwrap();
    while armed.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(2));
    }
    // From a thread that is not a worker.
    assert_eq!(
        app.dispatch_all("my.custom.event", Some("to all")).unwrap(),
        2
    );
    while fired.lock().unwrap().len() < 2 {
        std::thread::sleep(Duration::from_millis(2));
    }
    server.stop();
    server.join().unwrap();
    let mut fired = fired.lock().unwrap().clone();
    fired.sort();
    assert_eq!(
        fired,
        [
            (Some(0), "to all".to_owned()),
            (Some(1), "to all".to_owned())
        ]
    );
}

#[test]
fn requests_dispatch_the_http_lifecycle_events_when_someone_listens() {
    let app = App::new("lifecycle");
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    for name in ["http.lifecycle.request", "http.lifecycle.response"] {
        let s = Arc::clone(&seen);
        app.signal(name, move |_app, event: Event| {
            let s = Arc::clone(&s);
            async move {
                let line = format!("{} {}", event.name(), event.message().unwrap_or_default());
                s.lock().unwrap().push(line);
            }
        })
        .unwrap();
    }
    app.get("/hello", |_req: sanio::Request| async { "hi" })
        .unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    assert_eq!(
        support::client::get(server.local_addr(), "/hello").text(),
        "hi"
    );
    server.stop();
    server.join().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "http.lifecycle.request GET /hello",
            "http.lifecycle.response GET /hello 200"
        ]
    );
}

#[test]
fn a_subscription_keeps_every_dispatch_up_to_its_capacity_then_drops_the_oldest() {
    let app = App::new("subscribe");
    on_loop(async {
        let mut events = app.subscribe("my.custom.event", 3).unwrap();
        let mut once = Box::pin(app.event("my.custom.event"));
        let _ = support::rt::poll_once(&mut once).await; // the one-shot wait starts
        for n in 0..5 {
            app.dispatch_with("my.custom.event", &n.to_string())
                .await
                .unwrap();
        }
        app.dispatch("my.other.event").await.unwrap(); // a sibling reaches nobody
        assert_eq!(
            once.await.unwrap().message(),
            Some("0"),
            "one-shot: the first"
        );
        let mut got = Vec::new();
        while let Some(event) = events.try_recv() {
            got.push(event.message().unwrap().to_owned());
        }
        assert_eq!(got, ["2", "3", "4"], "the newest three, in order");
        assert_eq!(events.missed(), 2);
        assert!(matches!(
            app.subscribe("not-an-event", 1),
            Err(Error::InvalidEvent(_))
        ));
        drop(events);
        assert_eq!(app.subscribers("my.custom.event"), 0);
    });
    assert!(matches!(
        app.subscribe("my.custom.event", 1),
        Err(Error::NoLoop(_))
    ));
}

#[test]
fn a_subscription_wait_ends_with_cancelled_in_a_cancelled_task() {
    let app = App::new("subscribe-cancel");
    on_loop(async {
        let subscriber = app.clone();
        let task = sanio::spawn(async move {
            let mut events = subscriber.subscribe("my.custom.event", 8).unwrap();
            let first = events.recv().await;
            let second = events.recv().await;
            (first.map(|e| e.message().map(str::to_owned)), second)
        });
        support::rt::yield_times(2).await;
        app.dispatch_with("my.custom.event", "hi").await.unwrap();
        support::rt::yield_times(2).await;
        task.cancel_with("bye");
        let (first, second) = task.await.unwrap();
        assert_eq!(first.unwrap(), Some("hi".to_owned()));
        assert!(matches!(second, Err(Error::Cancelled(_))));
        assert_eq!(
            app.subscribers("my.custom.event"),
            0,
            "dropped with its task"
        );
    });
}
