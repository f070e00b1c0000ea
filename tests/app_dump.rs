//! The task dump: the opt-in SIGUSR1 task tree (with it on, the signal is
//! taken and the tree logged instead of ending the process, SIGUSR1's
//! default), and every field of `App::task_dump` with its text tree.

mod support;

use sanio::{App, Config, Request};
use support::client::get;
use support::logs;

#[test]
fn sigusr1_is_taken_by_the_dump_instead_of_ending_the_process() {
    let app = App::new("usr1");
    app.get("/", |_req: Request| async { "alive" }).unwrap();
    app.add_named_task("usr1-job", std::future::pending::<()>)
        .unwrap();
    logs::capture();
    let config = Config::default().port(0).dump_on_sigusr1(true);
    let server = app.serve(config).unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/").text(), "alive");
    assert_eq!(unsafe_free_raise(), 0);
    // Still here, still serving.
    assert_eq!(get(addr, "/").text(), "alive");
    // And the tree, with the app's task, went to the log (a hang guard
    // bounds the wait).
    let logged = (0..2000).find_map(|_| {
        let found = logs::logged("task dump (SIGUSR1)").into_iter().next();
        if found.is_none() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        found
    });
    let logged = logged.expect("the SIGUSR1 tree was logged");
    assert!(
        logged.contains("worker 0") && logged.contains("usr1-job ["),
        "{logged}"
    );
    server.stop();
    server.join().unwrap();
}

#[test]
fn the_stop_report_is_logged_by_name_spawn_location_and_age() {
    logs::capture();
    let app = App::new("leak-log");
    app.add_named_task("stubborn-logged", || async {
        let _ = sanio::cancelled().await;
        sanio::sleep(std::time::Duration::from_secs(3600)).await;
    })
    .unwrap();
    let config = Config::default()
        .port(0)
        .graceful_timeout(std::time::Duration::from_millis(200));
    let server = app.serve(config).unwrap();
    server.stop();
    server.join().unwrap();
    let lines = logs::logged("task stubborn-logged dropped at stop");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("spawned at tests/app_dump.rs:") && lines[0].contains(", age "),
        "{lines:?}"
    );
}

/// Sends SIGUSR1 to this process through `kill(1)`, avoiding `unsafe`.
fn unsafe_free_raise() -> i32 {
    let status = std::process::Command::new("kill")
        .args(["-USR1", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    status.code().unwrap_or(-1)
}

/// Every field of `App::task_dump` on a paused clock: a parent with a child
/// that is cleaning up after a cancel, and a supervised task that restarts;
/// the text tree puts the child under its parent.
#[test]
fn the_dump_has_every_field_and_puts_children_under_their_parent() {
    use sanio::{Backoff, Restart, TaskState};
    use std::time::Duration;

    let app = App::new("dump");
    let rt = sanio::Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_grace_period(Duration::from_secs(3600));
    rt.block_on(async {
        let a = app.clone();
        app.add_named_task("parent", async move {
            a.add_named_child_task("child", async {
                let _ = sanio::cancelled().await;
                std::future::pending::<()>().await; // a cleanup that takes a while
            })
            .unwrap();
            std::future::pending::<()>().await;
        })
        .unwrap();
        let flaky = app
            .task("flaky")
            .restart(Restart::OnFailure)
            .backoff(
                Backoff::new(Duration::from_millis(100), Duration::from_millis(100)).jitter(false),
            )
            .add_task(|| async { Err::<(), _>("down") })
            .unwrap()
            .unwrap();
        sanio::sleep(Duration::from_millis(250)).await;
        let child = app.get_task("child").unwrap();
        child.cancel_with("enough");
        sanio::rt::yield_now().await;
        assert_eq!(child.state(), TaskState::Running, "still cleaning up");

        let dump = app.task_dump().await;
        assert_eq!(dump.workers.len(), 1);
        let tasks = &dump.workers[0].tasks;
        let find = |name: &str| {
            tasks
                .iter()
                .find(|t| t.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{name} in {tasks:?}"))
        };
        let (parent, child, flaky_info) = (find("parent"), find("child"), find("flaky"));

        assert_eq!(parent.parent, None);
        assert_eq!(child.parent, Some(parent.id));
        let seen = parent.dump.as_ref().unwrap();
        assert_eq!(seen.state, sanio::rt::DumpState::Idle);
        assert_eq!(seen.polls, 1);
        assert!(seen.age >= Duration::from_millis(250), "{:?}", seen.age);
        assert!(seen.since_last_poll.unwrap() >= Duration::from_millis(250));
        assert!(seen.spawned_at.file().ends_with("app_dump.rs"));
        assert_eq!(seen.cancel, None);

        let seen = child.dump.as_ref().unwrap();
        assert_eq!(seen.state, sanio::rt::DumpState::Cancelling);
        assert_eq!(seen.cancel.as_deref(), Some("enough"));
        assert!(seen.spawned_at.file().ends_with("app_dump.rs"));
        assert!(seen.polls >= 2);

        assert!(flaky_info.restarts >= 2, "{flaky_info:?}");
        assert_eq!(flaky_info.restarts, flaky.restarts());
        assert_eq!(flaky_info.last_failure.as_deref(), Some("down"));
        let failed_at = flaky_info.last_failure_at.unwrap();
        assert_eq!(Some(failed_at), flaky.last_failure_at());
        assert!(sanio::rt::now() >= failed_at);

        let text = dump.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("worker "), "{text}");
        let at = |name: &str| {
            lines
                .iter()
                .position(|l| l.contains(&format!(" {name} [")))
                .unwrap_or_else(|| panic!("{name} in {text}"))
        };
        let indent = |line: &str| line.len() - line.trim_start().len();
        let (p, c) = (at("parent"), at("child"));
        assert_eq!(c, p + 1, "the child right under its parent:\n{text}");
        assert!(indent(lines[c]) > indent(lines[p]), "{text}");
        assert!(lines[c].contains("[cancelling]") && lines[c].contains("cancel=\"enough\""));
        let flaky_line = lines[at("flaky")];
        assert!(flaky_line.contains("restarts="), "{text}");
        assert!(flaky_line.contains("last_failure=\"down\""), "{text}");

        app.get_task("parent").unwrap().cancel();
        flaky.cancel();
    });
}
