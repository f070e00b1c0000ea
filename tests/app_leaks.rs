//! Leak and stall detectors: the stop report, the live-task helpers, and
//! slow polls counted in the dump.

mod support;

use std::time::Duration;

use sanio::{App, Config};

#[test]
fn the_stop_report_names_a_stubborn_task_and_not_a_polite_one() {
    let app = App::new("leaks");
    app.add_named_task("stubborn", || async {
        // Observes the cancel, then ignores it: dropped when grace ends.
        let _ = sanio::cancelled().await;
        sanio::sleep(Duration::from_secs(3600)).await;
    })
    .unwrap();
    app.add_named_task("polite", || async {
        let _ = sanio::cancelled().await;
    })
    .unwrap();
    let config = Config::default()
        .port(0)
        .graceful_timeout(Duration::from_millis(200));
    let server = app.serve(config).unwrap();
    server.stop();
    server.join().unwrap();
    let reports = app.stop_reports();
    assert_eq!(reports.len(), 1);
    let names: Vec<_> = reports[0]
        .dropped
        .iter()
        .chain(&reports[0].alive)
        .map(|t| t.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["stubborn"]);
    let stubborn = reports[0].dropped[0].dump.as_ref().unwrap();
    assert!(stubborn.spawned_at.file().ends_with("app_leaks.rs"));
    assert!(!reports[0].is_clean());
}

#[test]
fn a_stop_where_every_task_ends_on_its_cancel_is_clean() {
    let app = App::new("clean");
    app.add_named_task("polite", || async {
        let _ = sanio::cancelled().await;
    })
    .unwrap();
    let server = app.serve(Config::default().port(0)).unwrap();
    server.stop();
    server.join().unwrap();
    assert!(app.stop_reports()[0].is_clean());
}

#[test]
fn live_tasks_lists_what_a_test_left_behind() {
    let rt = sanio::Runtime::new().unwrap();
    rt.block_on(async {
        let left = sanio::rt::spawn_named("left-behind", std::future::pending::<()>());
        let live = sanio::rt::live_tasks();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].name.as_deref(), Some("left-behind"));
        let caught = std::panic::catch_unwind(sanio::rt::assert_no_live_tasks);
        let message = caught.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("left-behind"), "{message}");
        left.cancel();
        let _ = left.await;
        sanio::rt::assert_no_live_tasks();
    });
}

#[test]
fn a_poll_longer_than_the_threshold_is_counted_as_slow() {
    let rt = sanio::Runtime::new()
        .unwrap()
        .with_slow_poll_threshold(Duration::from_millis(20));
    rt.block_on(async {
        let task = sanio::rt::spawn_named("blocker", async {
            std::thread::sleep(Duration::from_millis(50)); // blocks the loop
            sanio::sleep(Duration::from_millis(1)).await; // a fast poll
            std::future::pending::<()>().await;
        });
        let blocker = loop {
            // Until its second poll (a hang guard: the test's timeout).
            sanio::sleep(Duration::from_millis(1)).await;
            let dump = sanio::rt::dump().unwrap();
            let blocker = dump.into_iter().find(|t| t.id == task.id()).unwrap();
            if blocker.polls >= 2 {
                break blocker;
            }
        };
        assert_eq!((blocker.polls, blocker.slow_polls), (2, 1));
        assert!(blocker.busy >= Duration::from_millis(50));
        task.cancel();
    });
}

#[test]
fn the_config_sets_the_slow_poll_threshold_of_every_worker() {
    let app = App::new("slow");
    app.add_named_task("blocker", || async {
        // 50 ms: slow under the configured 20 ms, not under the default.
        std::thread::sleep(Duration::from_millis(50));
        std::future::pending::<()>().await;
    })
    .unwrap();
    app.get("/slow", |req: sanio::Request| async move {
        let dump = req.app().task_dump().await;
        let slow: Vec<String> = dump
            .workers
            .iter()
            .flat_map(|w| &w.tasks)
            .filter_map(|t| t.dump.as_ref())
            .map(|d| d.slow_polls.to_string())
            .collect();
        slow.join(",")
    })
    .unwrap();
    let config = Config::default()
        .port(0)
        .workers(2)
        .slow_poll_threshold(Duration::from_millis(20));
    let server = app.serve(config).unwrap();
    let mut answer = String::new();
    for _ in 0..500 {
        answer = support::client::get(server.local_addr(), "/slow").text();
        if answer == "1,1" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(answer, "1,1", "one slow poll per worker's blocker");
    server.stop();
    server.join().unwrap();
}

#[test]
fn slow_poll_warnings_name_every_task_once_and_then_come_once_a_second() {
    support::logs::capture();
    let rt = sanio::Runtime::new()
        .unwrap()
        .with_paused_clock()
        .with_slow_poll_threshold(Duration::from_millis(20));
    /// `polls` polls that each block the loop for 25 ms.
    async fn blocking(polls: u32) {
        for _ in 0..polls {
            std::thread::sleep(Duration::from_millis(25));
            sanio::rt::yield_now().await;
        }
    }
    let second = Duration::from_secs(1);
    rt.block_on(async move {
        let a = sanio::rt::spawn_named("spinner-a", async move {
            // At 0 s: the first slow poll is logged, the next 19 counted.
            blocking(20).await;
            // At 2 s (another warning came at 0.5 s): logged, then 2 counted.
            sanio::sleep(second * 2).await;
            blocking(3).await;
            // At 4 s: logged with the count.
            sanio::sleep(second * 2).await;
            blocking(1).await;
        });
        // At 0.5 s: another task's first slow poll is always logged.
        let b = sanio::rt::spawn_named("spinner-b", async move {
            sanio::sleep(second / 2).await;
            blocking(1).await;
        });
        a.await.unwrap();
        b.await.unwrap();
    });
    let warnings: Vec<String> = support::logs::logged("blocked the loop")
        .into_iter()
        .filter(|w| w.contains("(spinner-"))
        .collect();
    let who: Vec<&str> = warnings
        .iter()
        .map(|w| if w.contains("spinner-a") { "a" } else { "b" })
        .collect();
    assert_eq!(who, ["a", "b", "a", "a"], "{warnings:#?}");
    let unlogged: Vec<u32> = warnings
        .iter()
        .map(|w| {
            w.split(" (")
                .last()
                .and_then(|tail| {
                    tail.strip_suffix(" slow polls not logged since the last warning)")
                })
                .map_or(0, |n| n.parse().unwrap())
        })
        .collect();
    // A poll that is slow only because a loaded machine preempted the
    // loop adds to a count, never takes away.
    assert_eq!(unlogged[0], 0, "{warnings:#?}");
    assert!(unlogged[1] >= 19, "{warnings:#?}");
    assert_eq!(unlogged[2], 0, "{warnings:#?}");
    assert!(unlogged[3] >= 2, "{warnings:#?}");
}
