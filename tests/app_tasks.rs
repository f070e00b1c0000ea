//! Background tasks: add_task forms, named tasks, cancel, purge, shutdown.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanio::{App, CancelOutcome, Config, Error, Lifecycle, Request, TaskError, TaskState};

/// Runs `future` on a fresh loop, with a hang guard.
fn on_loop<F: Future>(future: F) -> F::Output {
    let rt = sanio::Runtime::new().expect("runtime");
    rt.block_on(sanio::timeout(Duration::from_secs(30), future))
        .expect("test hung")
}

#[test]
fn each_add_task_form_runs_on_the_running_loop() {
    let app = App::new("forms");
    let hits = Arc::new(AtomicUsize::new(0));
    on_loop(async {
        let h = Arc::clone(&hits);
        let future = app.add_task(async move {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let h = Arc::clone(&hits);
        let factory = app.add_task(move || {
            let h = Arc::clone(&h);
            async move {
                h.fetch_add(10, Ordering::SeqCst);
            }
        });
        let h = Arc::clone(&hits);
        let injected = app.add_task(move |app: App| {
            let h = Arc::clone(&h);
            async move {
                assert_eq!(app.name(), "forms");
                h.fetch_add(100, Ordering::SeqCst);
            }
        });
        for handle in [future, factory, injected] {
            handle.unwrap().expect("started now").await.unwrap();
        }
    });
    assert_eq!(hits.load(Ordering::SeqCst), 111);
}

#[test]
fn awaiting_a_task_gives_its_value_or_its_failure() {
    let app = App::new("values");
    on_loop(async {
        let ok = app.add_task(async { Ok::<_, String>(7) }).unwrap().unwrap();
        assert_eq!(ok.await, Ok(7));
        let failed = app
            .add_named_task("fails", async { Err::<(), _>("disk full") })
            .unwrap()
            .unwrap();
        assert_eq!(failed.await, Err(TaskError::Failed("disk full".into())));
        assert_eq!(app.get_task("fails").unwrap().state(), TaskState::Failed);
    });
}

#[test]
fn not_send_futures_are_accepted_on_a_running_loop() {
    let app = App::new("local");
    on_loop(async {
        let shared = Rc::new(Cell::new(0));
        let inner = Rc::clone(&shared);
        let handle = app.add_task(async move { inner.set(5) }).unwrap().unwrap();
        handle.await.unwrap();
        assert_eq!(shared.get(), 5);
    });
}

#[test]
fn named_task_get_cancel_purge_cycle() {
    let app = App::new("cycle");
    on_loop(async {
        app.add_named_task("slow_task", sanio::sleep(Duration::from_secs(3600)))
            .unwrap();
        let task = app.get_task("slow_task").unwrap();
        assert_eq!(task.name(), Some("slow_task"));
        assert!(!task.state().is_finished());
        assert_eq!(app.tasks().len(), 1);

        let outcome = app.cancel_task("slow_task").await.unwrap();
        assert_eq!(outcome, CancelOutcome::Dropped);
        assert_eq!(outcome.state(), TaskState::Cancelled);
        // Still listed until purged.
        assert_eq!(app.tasks()[0].state(), TaskState::Cancelled);
        assert_eq!(app.purge_tasks(), 1);
        assert!(app.tasks().is_empty());
        assert!(app.find_task("slow_task").is_none());
    });
}

#[test]
fn a_live_name_cannot_be_reused_but_a_finished_one_can() {
    let app = App::new("names");
    on_loop(async {
        app.add_named_task("job", std::future::pending::<()>())
            .unwrap();
        let err = app.add_named_task("job", async {}).unwrap_err();
        assert!(matches!(err, Error::TaskNameTaken(ref name) if name == "job"));
        app.cancel_task("job").await.unwrap();
        let again = app
            .add_named_task("job", async { Ok::<_, String>(1) })
            .unwrap();
        assert_eq!(again.unwrap().await, Ok(1));
        assert_eq!(app.tasks().len(), 1);
    });
}

#[test]
fn unknown_names_are_errors_with_the_name() {
    let app = App::new("unknown");
    on_loop(async {
        let err = app.get_task("ghost").unwrap_err();
        assert_eq!(err.to_string(), "Registered task named \"ghost\" not found");
        let err = app.cancel_task("ghost").await.unwrap_err();
        assert!(matches!(err, Error::UnknownTask(ref name) if name == "ghost"));
        assert_eq!(app.cancel_task_if_present("ghost").await, None);
    });
}

#[test]
fn cancel_message_reaches_the_task_and_its_awaiter() {
    let app = App::new("message");
    on_loop(async {
        let handle = app
            .add_named_task("t", std::future::pending::<()>())
            .unwrap()
            .unwrap();
        app.cancel_task_with("t", "no longer needed").await.unwrap();
        assert_eq!(
            handle.await,
            Err(TaskError::Cancelled(Some("no longer needed".into())))
        );
        assert_eq!(
            app.get_task("t").unwrap().message().as_deref(),
            Some("no longer needed")
        );
    });
}

#[test]
fn cancelling_a_failed_task_returns_quietly_with_its_state() {
    let app = App::new("failed");
    on_loop(async {
        app.add_named_task("broken", async { Err::<(), _>("boom") })
            .unwrap();
        sanio::rt::yield_now().await;
        let finished = CancelOutcome::AlreadyFinished(TaskState::Failed);
        assert_eq!(app.cancel_task("broken").await.unwrap(), finished);
        assert_eq!(app.cancel_task("broken").await.unwrap(), finished);
    });
}

#[test]
fn a_task_that_observes_the_cancel_cleans_up_before_cancel_task_returns() {
    let app = App::new("cleanup");
    let cleaned = Rc::new(Cell::new(false));
    on_loop(async {
        let flag = Rc::clone(&cleaned);
        app.add_named_task("worker", async move {
            sanio::cancelled().await;
            sanio::sleep(Duration::from_millis(20)).await; // async cleanup
            flag.set(true);
        })
        .unwrap();
        sanio::rt::yield_now().await;
        let outcome = app.cancel_task("worker").await.unwrap();
        assert!(cleaned.get(), "cleanup ran before cancel_task returned");
        assert_eq!(outcome, CancelOutcome::Graceful(TaskState::Done));
    });
}

#[test]
fn a_task_sitting_in_a_sleep_is_dropped_at_once() {
    struct DropFlag(Rc<Cell<bool>>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let app = App::new("sleeper");
    let dropped = Rc::new(Cell::new(false));
    on_loop(async {
        let flag = DropFlag(Rc::clone(&dropped));
        app.add_named_task("sleeper", async move {
            let _flag = flag;
            sanio::sleep(Duration::from_secs(3600)).await;
        })
        .unwrap();
        sanio::rt::yield_now().await;
        let outcome = app.cancel_task("sleeper").await.unwrap();
        assert_eq!(outcome, CancelOutcome::Dropped);
        assert!(dropped.get());
    });
}

#[test]
fn shutdown_tasks_cancels_named_and_unnamed() {
    let app = App::new("shutdown");
    on_loop(async {
        app.add_named_task("a", std::future::pending::<()>())
            .unwrap();
        app.add_task(std::future::pending::<()>()).unwrap();
        app.add_task(async {
            sanio::cancelled().await;
            sanio::sleep(Duration::from_secs(3600)).await; // overruns the grace
        })
        .unwrap();
        sanio::rt::yield_now().await;
        assert_eq!(app.shutdown_tasks(Duration::from_millis(100)).await, 3);
        assert_eq!(sanio::rt::stats().unwrap().live_tasks, 0);
    });
}

/// Starts `app` on `workers` workers at port 0.
fn serve(app: &App, workers: usize) -> sanio::Server {
    let config = Config::default()
        .port(0)
        .workers(workers)
        .graceful_timeout(Duration::from_secs(2));
    app.serve(config).expect("serve")
}

#[test]
fn pre_run_factories_run_once_per_worker_after_main_process_start() {
    let app = App::new("prerun");
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = Arc::clone(&log);
    app.listener(Lifecycle::MainProcessStart, move |_app: App| {
        let l = Arc::clone(&l);
        async move {
            sanio::sleep(Duration::from_millis(50)).await;
            l.lock().unwrap().push("main_process_start".into());
        }
    })
    .unwrap();
    let factory = {
        let l = Arc::clone(&log);
        move |app: App| {
            let l = Arc::clone(&l);
            async move {
                l.lock()
                    .unwrap()
                    .push(format!("task on {:?}", app.worker()));
            }
        }
    };
    app.add_task(factory.clone()).unwrap();
    app.add_task(factory).unwrap(); // the same factory twice: twice per worker
    let server = serve(&app, 2);
    support::client::get(server.local_addr(), "/"); // a worker is up
    while log.lock().unwrap().len() < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.stop();
    server.join().unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(log[0], "main_process_start", "{log:?}");
    let on = |w: usize| {
        log.iter()
            .filter(|l| **l == format!("task on {:?}", Some(w)))
            .count()
    };
    assert_eq!((on(0), on(1)), (2, 2), "{log:?}");
}

#[test]
fn a_pre_run_future_runs_exactly_once_on_worker_zero() {
    let app = App::new("once");
    let runs = Arc::new(AtomicUsize::new(0));
    let worker = Arc::new(Mutex::new(None));
    let thread = {
        let (app, runs, worker) = (app.clone(), Arc::clone(&runs), Arc::clone(&worker));
        std::thread::spawn(move || {
            let a = app.clone();
            app.add_task(async move {
                *worker.lock().unwrap() = a.worker();
                runs.fetch_add(1, Ordering::SeqCst);
                a.stop();
            })
            .unwrap();
            let config = Config::default().port(0).workers(2).handle_signals(false);
            app.run(config)
        })
    };
    thread.join().unwrap().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(*worker.lock().unwrap(), Some(0));
}

#[test]
fn a_panicking_task_is_reported_and_the_worker_serves_on() {
    let app = App::new("panics");
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let r = Arc::clone(&reports);
    app.signal(
        "server.exception.report",
        move |_app, event: sanio::Event| {
            let r = Arc::clone(&r);
            async move {
                r.lock()
                    .unwrap()
                    .push(event.message().unwrap_or_default().to_owned());
            }
        },
    )
    .unwrap();
    app.get("/", |_req: Request| async { "alive" }).unwrap();
    app.get("/boom", |req: Request| async move {
        req.app()
            .add_named_task("bomb", async { panic!("kaboom") as () })
            .unwrap();
        "started"
    })
    .unwrap();
    let server = serve(&app, 1);
    assert_eq!(
        support::client::get(server.local_addr(), "/boom").text(),
        "started"
    );
    while reports.lock().unwrap().is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        support::client::get(server.local_addr(), "/").text(),
        "alive"
    );
    server.stop();
    server.join().unwrap();
    let reports = reports.lock().unwrap();
    assert!(
        reports[0].contains("bomb") && reports[0].contains("kaboom"),
        "{reports:?}"
    );
}

#[test]
fn shutdown_gives_cleanup_its_time_and_never_hangs_on_a_stubborn_task() {
    let app = App::new("graceful");
    let events = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let e = Arc::clone(&events);
    app.add_task(move || {
        let e = Arc::clone(&e);
        async move {
            sanio::cancelled().await;
            sanio::sleep(Duration::from_millis(500)).await;
            e.lock().unwrap().push("cleanup finished");
        }
    })
    .unwrap();
    app.add_task(|| async {
        // Ignores cancellation: observes it, then sleeps far past the timeout.
        sanio::cancelled().await;
        sanio::sleep(Duration::from_secs(3600)).await;
    })
    .unwrap();
    let e = Arc::clone(&events);
    app.listener(Lifecycle::AfterServerStop, move |_app: App| {
        let e = Arc::clone(&e);
        async move { e.lock().unwrap().push("after_server_stop") }
    })
    .unwrap();
    let server = serve(&app, 1);
    support::client::get(server.local_addr(), "/");
    server.stop();
    server.join().unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        ["cleanup finished", "after_server_stop"]
    );
}

#[test]
fn a_name_kept_twice_before_run_is_refused_at_once() {
    let app = App::new("twice");
    app.add_named_task("job", || async {}).unwrap();
    let err = app.add_named_task("job", || async {}).unwrap_err();
    assert!(matches!(err, Error::TaskNameTaken(ref name) if name == "job"));
    // Unnamed tasks and other names are fine.
    app.add_task(|| async {}).unwrap();
    app.add_named_task("other", || async {}).unwrap();
}

#[test]
fn a_task_that_passes_its_cancel_on_with_a_question_mark_is_cancelled_not_failed() {
    let app = App::new("passes-cancel");
    let reports = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&reports);
    app.signal("server.exception.report", move |_app, _event| {
        let r = Arc::clone(&r);
        async move {
            r.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    on_loop(async {
        // Three error types that carry the cancel: sanio's, the loop's, a box.
        let waiter = app.clone();
        let app_error = app
            .add_named_task("app-error", async move {
                waiter.event("my.custom.event").await?;
                Ok::<(), Error>(())
            })
            .unwrap()
            .unwrap();
        let rt_error = app
            .add_named_task("rt-error", async { Err::<(), _>(sanio::cancelled().await) })
            .unwrap()
            .unwrap();
        let boxed = app
            .add_named_task("boxed", async {
                let cancelled = sanio::cancelled().await;
                Err::<(), Box<dyn std::error::Error>>(Box::new(Error::Cancelled(cancelled)))
            })
            .unwrap()
            .unwrap();
        sanio::rt::yield_now().await;
        for name in ["app-error", "rt-error", "boxed"] {
            let outcome = app.cancel_task_with(name, "stop").await.unwrap();
            let graceful = CancelOutcome::Graceful(TaskState::Cancelled);
            assert_eq!(outcome, graceful, "{name}");
            assert_eq!(
                app.get_task(name).unwrap().message().as_deref(),
                Some("stop")
            );
        }
        let stopped = Err(TaskError::Cancelled(Some("stop".into())));
        assert_eq!(app_error.await, stopped);
        assert_eq!(rt_error.await, stopped);
        assert_eq!(boxed.await, stopped);
        // A real failure is still one.
        let failing = app
            .add_task(async { Err::<(), _>("disk full") })
            .unwrap()
            .unwrap();
        assert_eq!(failing.await, Err(TaskError::Failed("disk full".into())));
        for _ in 0..5 {
            sanio::rt::yield_now().await; // reports run in the background
        }
    });
    assert_eq!(reports.load(Ordering::SeqCst), 1, "only the real failure");
}

#[test]
fn a_plain_loop_is_no_worker_and_is_not_reached_by_broadcasts_or_stop() {
    let app = App::new("plain-loop");
    on_loop(async {
        // Tasks and events work on any loop...
        app.add_named_task("t", std::future::pending::<()>())
            .unwrap();
        assert!(app.find_task("t").is_some());
        // ...but this loop is no worker of the app.
        assert_eq!(app.worker(), None);
        assert_eq!(app.dispatch_all("my.custom.event", None).unwrap(), 0);
        app.shutdown_tasks(Duration::from_millis(10)).await;
    });
}

#[test]
fn a_factory_added_from_a_plain_thread_while_running_starts_on_every_worker_now() {
    let app = App::new("late-factory");
    app.get("/started", |req: Request| async move {
        req.app()
            .find_task("late")
            .map_or("none".to_owned(), |t| t.state().to_string())
    })
    .unwrap();
    let server = serve(&app, 2);
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    // This thread runs no loop: the factory goes to the workers.
    let added = app.add_named_task("late", move || {
        let r = Arc::clone(&r);
        async move {
            r.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
    });
    assert!(matches!(added, Ok(None)), "no handle: it runs elsewhere");
    let mut waited = 0;
    while runs.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(5));
        waited += 1;
        assert!(
            waited < 6000,
            "hang guard: the factory never ran on both workers"
        );
    }
    let state = support::client::get(server.local_addr(), "/started").text();
    assert_eq!(state, "running");
    // A plain future cannot move to a worker: a clear error, not silence.
    let err = app.add_task(async {}).unwrap_err();
    assert!(matches!(err, Error::FutureOffWorker), "{err}");
    server.stop();
    server.join().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "once per worker");
}

#[test]
fn a_task_added_in_main_process_start_runs_on_the_workers() {
    let app = App::new("main-start-task");
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    app.listener(Lifecycle::MainProcessStart, move |app: App| {
        let r = Arc::clone(&r);
        async move {
            let added = app.add_task(move |app: App| {
                let r = Arc::clone(&r);
                async move {
                    assert!(app.worker().is_some());
                    r.fetch_add(1, Ordering::SeqCst);
                }
            });
            assert!(matches!(added, Ok(None)), "kept for the workers");
        }
    })
    .unwrap();
    let server = serve(&app, 2);
    let mut waited = 0;
    while runs.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(5));
        waited += 1;
        assert!(
            waited < 6000,
            "hang guard: the task never ran on the workers"
        );
    }
    server.stop();
    server.join().unwrap();
}

#[test]
fn off_a_loop_get_task_says_so_and_a_second_run_is_refused_clearly() {
    let app = App::new("messages");
    let err = app.get_task("x").unwrap_err();
    assert!(matches!(err, Error::NoLoop(_)), "{err}");
    let server = serve(&app, 1);
    let err = app.serve(Config::default().port(0)).unwrap_err();
    assert!(matches!(err, Error::AlreadyRunning), "{err}");
    assert_eq!(
        err.to_string(),
        "the app is already running: stop it (and join it) before running it again"
    );
    server.stop();
    server.join().unwrap();
}
