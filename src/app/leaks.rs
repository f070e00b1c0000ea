//! The stop report: at a worker's stop, after its tasks were cancelled
//! and the grace period ran out, which tasks are still alive and which had
//! to be dropped (they never observed the cancel, or overran the grace).
//! Each is logged with its name, spawn location and age; a clean stop says
//! so in one line. The reports of the last run stay readable through
//! [`App::stop_reports`].

use std::rc::Rc;

use super::info::TaskInfo;
use super::local::Local;
use super::task_types::Task;
use super::App;
use crate::rt;

/// What one worker's stop left behind.
///
/// # Examples
///
/// See [`App::stop_reports`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StopReport {
    /// The worker.
    pub worker: usize,
    /// Tasks still alive after the grace period.
    pub alive: Vec<TaskInfo>,
    /// Tasks that had to be dropped: they never observed the cancel, or
    /// their cleanup overran the grace period.
    pub dropped: Vec<TaskInfo>,
}

impl StopReport {
    /// Whether every task ended on its cancel by itself.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::StopReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.alive.is_empty() && self.dropped.is_empty()
    }
}

/// Builds, logs and keeps the report of `tasks` (the tasks live when the
/// stop began), once they were cancelled and waited for.
pub(crate) fn report(app: &App, local: &Rc<Local>, tasks: &[Task]) {
    let seen = rt::dump().unwrap_or_default();
    let info = |task: &Task| {
        let mut info = TaskInfo::of(task, local.index());
        info.dump = seen.iter().find(|d| d.id == task.id()).cloned();
        info
    };
    let mut report = StopReport {
        worker: local.index(),
        ..StopReport::default()
    };
    for task in tasks {
        if !task.task.is_finished() {
            report.alive.push(info(task));
        } else if task.task.state() == rt::TaskState::Cancelled {
            report.dropped.push(info(task));
        }
    }
    if report.is_clean() {
        log::info!("worker {}: every task ended on its cancel", local.index());
    }
    for (what, list) in [("still alive", &report.alive), ("dropped", &report.dropped)] {
        for task in list {
            let name = task.name.as_deref().unwrap_or("<unnamed>");
            match &task.dump {
                Some(dump) => log::warn!(
                    "worker {}: task {name} {what} at stop (spawned at {}, age {:?})",
                    local.index(),
                    dump.spawned_at,
                    dump.age
                ),
                None => log::warn!("worker {}: task {name} {what} at stop", local.index()),
            }
        }
    }
    super::lock(&app.inner.stop_reports).push(report);
}

impl App {
    /// The stop reports of the workers of the last run (one per worker, in
    /// the order they stopped), readable once `run` or
    /// [`Server::join`](super::Server::join) returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let app = sanio::App::new("demo");
    /// app.add_named_task("sleeper", || sanio::sleep(Duration::from_secs(3600))).unwrap();
    /// let server = app.serve(sanio::Config::default().port(0)).unwrap();
    /// server.stop();
    /// server.join().unwrap();
    /// let reports = app.stop_reports();
    /// // It sat in a sleep, never observing the cancel: dropped.
    /// assert_eq!(reports[0].dropped[0].name.as_deref(), Some("sleeper"));
    /// ```
    pub fn stop_reports(&self) -> Vec<StopReport> {
        super::lock(&self.inner.stop_reports).clone()
    }
}
