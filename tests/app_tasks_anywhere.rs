//! Named tasks across workers: list, find and cancel them from any worker,
//! the process-unique name policy, and what a cancel says it did.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use sanio::{App, CancelOutcome, Config, Error, Request, Response, TaskState};
use support::client::{get, request};

/// An app whose worker 1 starts a named task `only-on-1` at start, with
/// routes that answer "worker W: ..." for a cross-worker find and cancel.
fn two_worker_app() -> App {
    let app = App::new("anywhere");
    app.add_task(|app: App| async move {
        if app.worker() == Some(1) {
            app.add_named_task("only-on-1", std::future::pending::<()>())
                .unwrap();
        }
    })
    .unwrap();
    app.get("/where/<name:str>", |req: Request| async move {
        let name: String = req.param("name").unwrap();
        let app = req.app();
        let found = app.locate_task(&name).await;
        format!(
            "{} {}",
            app.worker().unwrap(),
            found.map_or("none".to_owned(), |info| info.worker.to_string())
        )
    })
    .unwrap();
    app.delete("/tasks/<name:str>", |req: Request| async move {
        let name: String = req.param("name").unwrap();
        let app = req.app();
        let answer = match app.cancel_task_anywhere(&name).await {
            Ok(outcomes) => outcomes
                .iter()
                .map(|(worker, outcome)| format!("{worker}:{}", outcome.as_str()))
                .collect::<Vec<_>>()
                .join(","),
            Err(err) => format!("error: {err}"),
        };
        format!("{} {answer}", app.worker().unwrap())
    })
    .unwrap();
    app
}

/// Splits "asker answer".
fn split(reply: &str) -> (usize, String) {
    let (asker, answer) = reply.split_once(' ').expect("two parts");
    (asker.parse().expect("a worker"), answer.to_owned())
}

#[test]
fn any_worker_finds_a_task_on_another_worker() {
    let app = two_worker_app();
    let server = app.serve(Config::default().port(0).workers(2)).unwrap();
    let addr = server.local_addr();
    let mut askers = BTreeSet::new();
    // Until both workers have asked (requests land where the kernel puts
    // them); a hang guard of 500 requests.
    for _ in 0..500 {
        let (asker, answer) = split(&get(addr, "/where/only-on-1").text());
        if answer == "none" {
            continue; // worker 1 has not started it yet
        }
        assert_eq!(answer, "1", "asked from worker {asker}");
        askers.insert(asker);
        if askers.len() == 2 {
            break;
        }
    }
    assert_eq!(askers.len(), 2, "both workers found the task on worker 1");
    server.stop();
    server.join().unwrap();
}

#[test]
fn delete_cancels_the_task_wherever_it_runs_and_says_what_happened() {
    let app = two_worker_app();
    let server = app.serve(Config::default().port(0).workers(2)).unwrap();
    let addr = server.local_addr();
    while split(&get(addr, "/where/only-on-1").text()).1 == "none" {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (_, first) = split(&request(addr, "DELETE", "/tasks/only-on-1", "").text());
    assert_eq!(first, "1:dropped");
    let (_, second) = split(&request(addr, "DELETE", "/tasks/only-on-1", "").text());
    assert_eq!(second, "1:already_finished");
    let (_, ghost) = split(&request(addr, "DELETE", "/tasks/ghost", "").text());
    assert!(
        ghost.starts_with("error: Registered task named \"ghost\""),
        "{ghost}"
    );
    server.stop();
    server.join().unwrap();
}

#[test]
fn unique_names_start_a_named_factory_on_one_worker_and_refuse_a_second() {
    let app = App::new("unique");
    app.add_named_task("report", std::future::pending::<()>)
        .unwrap();
    app.post("/tasks/<name:str>", |req: Request| async move {
        let name: String = req.param("name").unwrap();
        match req.app().add_named_task(name, std::future::pending::<()>()) {
            Ok(_) => Response::text("created"),
            Err(Error::TaskNameTaken(_)) => Response::text("taken"),
            Err(err) => Response::text(err.to_string()),
        }
    })
    .unwrap();
    app.get("/count/<name:str>", |req: Request| async move {
        let name: String = req.param("name").unwrap();
        let all = req.app().tasks_everywhere().await;
        let live = all
            .iter()
            .filter(|t| t.name.as_deref() == Some(&name) && !t.state.is_finished())
            .count();
        format!("{live}")
    })
    .unwrap();
    let config = Config::default().port(0).workers(4).unique_task_names(true);
    let server = app.serve(config).unwrap();
    let addr = server.local_addr();
    // Every worker has started (answered) before the count is read: the
    // factory runs before a worker accepts.
    assert_eq!(get(addr, "/count/report").text(), "1");
    assert_eq!(request(addr, "POST", "/tasks/job", "").text(), "created");
    for _ in 0..20 {
        // Whichever worker takes it, the name is live somewhere.
        assert_eq!(request(addr, "POST", "/tasks/job", "").text(), "taken");
    }
    assert_eq!(get(addr, "/count/job").text(), "1");
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_stuck_worker_delays_a_question_by_the_timeout_only() {
    let app = App::new("stuck");
    let stuck = Arc::new(std::sync::Barrier::new(2));
    let release = Arc::clone(&stuck);
    app.get("/block", move |_req: Request| {
        let release = Arc::clone(&release);
        async move {
            release.wait(); // the test knows this worker is blocked
            std::thread::sleep(Duration::from_secs(2));
            "unblocked"
        }
    })
    .unwrap();
    app.get("/all", |req: Request| async move {
        let all = req.app().tasks_everywhere().await;
        let workers: BTreeSet<usize> = all.iter().map(|t| t.worker).collect();
        format!("{workers:?}")
    })
    .unwrap();
    app.add_named_task("marker", std::future::pending::<()>)
        .unwrap();
    let config = Config::default()
        .port(0)
        .workers(2)
        .reuse_port(false) // one shared socket: only a free worker accepts
        .task_query_timeout(Duration::from_millis(200));
    let server = app.serve(config).unwrap();
    let addr = server.local_addr();
    let blocker = std::thread::spawn(move || get(addr, "/block").text());
    stuck.wait();
    // The blocked worker cannot answer; every /all request lands on the
    // other one (the blocked one does not accept) and lists only itself.
    let answer = get(addr, "/all").text();
    assert!(
        answer == "{0}" || answer == "{1}",
        "only the free worker answered: {answer}"
    );
    assert_eq!(blocker.join().unwrap(), "unblocked");
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_cancel_reports_graceful_dropped_or_already_finished() {
    let app = App::new("outcomes");
    let rt = sanio::Runtime::new().unwrap();
    rt.block_on(async {
        app.add_named_task("sleeper", sanio::sleep(Duration::from_secs(3600)))
            .unwrap();
        app.add_named_task("polite", async {
            let _ = sanio::cancelled().await;
            sanio::sleep(Duration::from_millis(5)).await;
            Ok::<_, String>(())
        })
        .unwrap();
        app.add_named_task("done", async {}).unwrap();
        sanio::rt::yield_now().await;
        assert_eq!(
            app.cancel_task("sleeper").await.unwrap(),
            CancelOutcome::Dropped
        );
        assert_eq!(
            app.cancel_task("polite").await.unwrap(),
            CancelOutcome::Graceful(TaskState::Done)
        );
        assert_eq!(
            app.cancel_task("done").await.unwrap(),
            CancelOutcome::AlreadyFinished(TaskState::Done)
        );
    });
}
