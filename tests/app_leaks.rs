//! Leak and stall detectors: the stop report, the live-task helpers, and
//! slow polls counted in the dump.

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
