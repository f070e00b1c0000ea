//! Supervised tasks: restart policies, backoff (checked on the paused
//! clock), the restart cap, cancel stopping restarts, panic policies, and
//! singletons.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sanio::{
    App, Backoff, CancelOutcome, Config, Error, PanicPolicy, Request, Restart, Singleton, TaskState,
};

/// Runs `future` on a loop with a paused clock, with a hang guard.
fn paused<F: Future>(future: F) -> F::Output {
    let rt = sanio::Runtime::new().unwrap().with_paused_clock();
    rt.block_on(sanio::timeout(Duration::from_secs(3600), future))
        .expect("test hung")
}

/// A factory that records the loop's time of each run and fails.
fn failing(
    runs: &Rc<RefCell<Vec<Instant>>>,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>>>> + Send + Sync + 'static
{
    // The factory must be Send + Sync; the times go through a thread-local.
    RUNS.with(|r| *r.borrow_mut() = Some(Rc::clone(runs)));
    || {
        Box::pin(async {
            RUNS.with(|r| {
                if let Some(runs) = &*r.borrow() {
                    runs.borrow_mut().push(sanio::rt::now());
                }
            });
            Err("down".to_owned())
        })
    }
}

thread_local! {
    static RUNS: RefCell<Option<Rc<RefCell<Vec<Instant>>>>> = const { RefCell::new(None) };
}

/// Gaps between consecutive times, in ms.
fn gaps(times: &[Instant]) -> Vec<u128> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect()
}

#[test]
fn on_failure_restarts_with_exponential_backoff_then_gives_up_at_the_cap() {
    let app = App::new("backoff");
    let runs = Rc::new(RefCell::new(Vec::new()));
    paused(async {
        let task = app
            .task("flaky")
            .restart(Restart::OnFailure)
            .backoff(Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).jitter(false))
            .max_restarts(5, Duration::from_secs(3600))
            .add_task(failing(&runs))
            .unwrap()
            .unwrap();
        assert_eq!(task.wait().await, TaskState::Failed);
        assert_eq!(task.restarts(), 5);
        assert_eq!(task.last_failure().as_deref(), Some("down"));
        assert!(task.last_failure_at().is_some());
    });
    assert_eq!(gaps(&runs.borrow()), [100, 200, 400, 800, 1000]);
}

#[test]
fn jittered_delays_stay_between_half_the_step_and_the_step_and_never_under_min() {
    let app = App::new("jitter");
    let runs = Rc::new(RefCell::new(Vec::new()));
    paused(async {
        let task = app
            .task("flaky")
            .restart(Restart::OnFailure)
            .backoff(Backoff::new(
                Duration::from_millis(100),
                Duration::from_millis(1600),
            ))
            .max_restarts(8, Duration::from_secs(3600))
            .add_task(failing(&runs))
            .unwrap()
            .unwrap();
        task.wait().await;
    });
    let steps = [100u128, 200, 400, 800, 1600, 1600, 1600, 1600];
    for (gap, step) in gaps(&runs.borrow()).into_iter().zip(steps) {
        assert!(
            gap >= (step / 2).max(100) && gap <= step,
            "{gap} for {step}"
        );
    }
}

#[test]
fn restarts_older_than_the_window_do_not_count_and_a_cancel_stops_restarts() {
    let app = App::new("window");
    let runs = Rc::new(RefCell::new(Vec::new()));
    paused(async {
        let second = Duration::from_secs(1);
        let task = app
            .task("flaky")
            .restart(Restart::OnFailure)
            .backoff(Backoff::new(second, second).jitter(false))
            .max_restarts(2, Duration::from_millis(1500))
            .add_task(failing(&runs))
            .unwrap()
            .unwrap();
        // Two restarts in any 1.5 s window, one per second: never capped.
        sanio::sleep(Duration::from_millis(10_500)).await;
        assert_eq!(task.restarts(), 10);
        // A cancel during the backoff ends it at once, gracefully.
        let outcome = task.cancel_and_wait(None).await;
        assert_eq!(outcome, CancelOutcome::Graceful(TaskState::Cancelled));
        sanio::sleep(Duration::from_secs(60)).await;
        assert_eq!(task.restarts(), 10);
    });
    assert_eq!(runs.borrow().len(), 11);
}

#[test]
fn always_restarts_after_a_return_but_not_after_a_cancel_it_observed() {
    let app = App::new("always");
    let runs = Arc::new(AtomicUsize::new(0));
    paused(async {
        let counter = Arc::clone(&runs);
        let task = app
            .task("loop")
            .restart(Restart::Always)
            .backoff(Backoff::new(
                Duration::from_millis(100),
                Duration::from_millis(100),
            ))
            .add_task(move || {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    // Ends after a second, or on a cancel, cleanly.
                    let stop = sanio::timeout(Duration::from_secs(1), sanio::cancelled()).await;
                    drop(stop);
                }
            })
            .unwrap()
            .unwrap();
        sanio::sleep(Duration::from_millis(3_500)).await;
        assert_eq!(task.restarts(), 3);
        let outcome = task.cancel_and_wait(None).await;
        assert_eq!(outcome, CancelOutcome::Graceful(TaskState::Done));
    });
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}

#[test]
fn a_panic_restarts_with_the_restart_policy_and_ends_the_task_with_report() {
    let app = App::new("panics");
    paused(async {
        let restarted = app
            .task("restarted")
            .on_panic(PanicPolicy::Restart)
            .backoff(Backoff::new(
                Duration::from_millis(100),
                Duration::from_millis(100),
            ))
            .max_restarts(3, Duration::from_secs(3600))
            .add_task(|| async { panic!("bad state") as () })
            .unwrap()
            .unwrap();
        assert_eq!(restarted.wait().await, TaskState::Failed);
        assert_eq!(restarted.restarts(), 3);
        assert_eq!(restarted.last_failure().as_deref(), Some("bad state"));

        let reported = app
            .task("reported")
            .restart(Restart::OnFailure)
            .add_task(|| async { panic!("once") as () })
            .unwrap()
            .unwrap();
        assert_eq!(reported.wait().await, TaskState::Panicked);
        assert_eq!(reported.restarts(), 0);
    });
}

#[test]
fn a_restart_policy_on_a_plain_future_is_refused() {
    let app = App::new("future");
    paused(async {
        let err = app
            .task("once")
            .restart(Restart::OnFailure)
            .add_task(async {})
            .unwrap_err();
        assert!(matches!(err, Error::NeedsFactory(ref name) if name == "once"));
    });
}

#[test]
fn stop_app_makes_join_return_the_panic() {
    let app = App::new("fatal");
    app.task("critical")
        .on_panic(PanicPolicy::StopApp)
        .add_task(|app: App| async move {
            if app.worker() == Some(1) {
                panic!("invariant broken");
            }
        })
        .unwrap();
    let config = Config::default().port(0).workers(2);
    let server = app.serve(config).unwrap();
    // No stop() from here: the panic stops the app.
    let err = server.join().unwrap_err();
    assert!(
        matches!(err, Error::TaskPanicked(ref reason) if reason.contains("invariant broken")),
        "{err}"
    );
}

#[test]
fn the_app_default_stop_worker_stops_the_worker_that_panicked() {
    let app = App::new("worker-stop");
    app.add_task(|| async { panic!("boom") as () }).unwrap();
    let config = Config::default()
        .port(0)
        .task_panic_policy(PanicPolicy::StopWorker);
    let server = app.serve(config).unwrap();
    // The one worker stops by itself; join returns.
    server.join().unwrap();
}

#[test]
fn a_singleton_runs_on_exactly_one_of_four_workers() {
    let app = App::new("singleton");
    let started = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&started);
    app.task("ticker")
        .singleton(Singleton::Process)
        .restart(Restart::OnFailure)
        .add_task(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>()
        })
        .unwrap();
    app.get("/ticker", |req: Request| async move {
        let all = req.app().tasks_everywhere().await;
        let running: Vec<usize> = all
            .iter()
            .filter(|t| t.name.as_deref() == Some("ticker") && !t.state.is_finished())
            .map(|t| t.worker)
            .collect();
        format!("{}", running.len())
    })
    .unwrap();
    let ready = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&ready);
    app.listener(sanio::Lifecycle::AfterServerStart, move |_app: App| {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    let server = app.serve(Config::default().port(0).workers(4)).unwrap();
    while ready.load(Ordering::SeqCst) < 4 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let addr = server.local_addr();
    for _ in 0..8 {
        let reply = support_get(addr, "/ticker");
        assert!(reply.ends_with("\r\n\r\n1"), "{reply}");
    }
    assert_eq!(started.load(Ordering::SeqCst), 1);
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_singleton_kept_in_main_process_start_or_sent_while_running_runs_on_one_worker() {
    let app = App::new("singleton-late");
    let started = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&started);
    app.listener(sanio::Lifecycle::MainProcessStart, move |app: App| {
        let counter = Arc::clone(&counter);
        async move {
            let kept = app
                .task("early")
                .singleton(Singleton::Process)
                .add_task(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>()
                });
            assert!(matches!(kept, Ok(None)), "kept for the workers");
        }
    })
    .unwrap();
    app.get("/live/<name:str>", |req: Request| async move {
        let name: String = req.param("name").unwrap_or_default();
        let all = req.app().tasks_everywhere().await;
        let live = all
            .iter()
            .filter(|t| t.name.as_deref() == Some(name.as_str()) && !t.state.is_finished())
            .count();
        format!("{live}")
    })
    .unwrap();
    let ready = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&ready);
    app.listener(sanio::Lifecycle::AfterServerStart, move |_app: App| {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    let server = app.serve(Config::default().port(0).workers(3)).unwrap();
    while ready.load(Ordering::SeqCst) < 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // This thread runs no loop and the app runs: the workers get it now.
    let counter = Arc::clone(&started);
    let sent = app
        .task("late")
        .singleton(Singleton::Process)
        .add_task(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>()
        });
    assert!(matches!(sent, Ok(None)), "sent to the workers");
    let mut waited = 0;
    while started.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(5));
        waited += 1;
        assert!(waited < 6000, "hang guard: a singleton never started");
    }
    let addr = server.local_addr();
    for name in ["early", "late"] {
        let reply = support_get(addr, &format!("/live/{name}"));
        assert!(reply.ends_with("\r\n\r\n1"), "{name}: {reply}");
    }
    assert_eq!(started.load(Ordering::SeqCst), 2, "each started once");
    server.stop();
    server.join().unwrap();
}

/// A minimal GET: the raw reply.
fn support_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}
