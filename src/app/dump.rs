//! The app's task dump: every worker's tasks, gathered through each loop
//! (see `remote.rs`, bounded by the query timeout), as data and as a text
//! tree with children under their parents, like `asyncio pstree`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use super::info::TaskInfo;
use super::App;

/// The tasks of one worker, in a dump.
///
/// # Examples
///
/// See [`AppTaskDump`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerTasks {
    /// The worker.
    pub worker: usize,
    /// Its tasks: named ones (finished too, until purged) in the order they
    /// were added, then unnamed ones still alive.
    pub tasks: Vec<TaskInfo>,
}

/// Every worker's tasks, from [`App::task_dump`].
///
/// # Examples
///
/// ```
/// let app = sanio::App::new("demo");
/// sanio::Runtime::new().unwrap().block_on(async {
///     app.add_named_task("job", std::future::pending::<()>()).unwrap();
///     sanio::rt::yield_now().await;
///     let dump = app.task_dump().await;
///     let job = &dump.workers[0].tasks[0];
///     assert_eq!(job.name.as_deref(), Some("job"));
///     let seen = job.dump.as_ref().unwrap();
///     assert_eq!(seen.polls, 1);
///     assert!(dump.text().contains("job [idle] polls=1"));
/// });
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AppTaskDump {
    /// One entry per worker that answered, by worker.
    pub workers: Vec<WorkerTasks>,
}

impl AppTaskDump {
    /// The text tree: per worker, each task on a line, children indented
    /// under their parent; a task whose parent is not an app task (a
    /// request's handler, for a scoped task) says so.
    ///
    /// # Examples
    ///
    /// See [`AppTaskDump`].
    pub fn text(&self) -> String {
        let mut out = String::new();
        for worker in &self.workers {
            let _ = writeln!(
                out,
                "worker {} ({} tasks)",
                worker.worker,
                worker.tasks.len()
            );
            // Each task's children, by the parent's id: one pass, so a
            // dump of many tasks stays linear.
            let mut children: HashMap<u64, Vec<&TaskInfo>> = HashMap::new();
            for task in &worker.tasks {
                if let Some(parent) = task.parent {
                    children.entry(parent).or_default().push(task);
                }
            }
            let ids: HashSet<u64> = worker.tasks.iter().map(|t| t.id).collect();
            for task in &worker.tasks {
                let root = !task.parent.is_some_and(|parent| ids.contains(&parent));
                if root {
                    write_subtree(&mut out, &children, task, 1);
                }
            }
        }
        out
    }
}

/// Writes `task` and its children at `depth`.
fn write_subtree(
    out: &mut String,
    children: &HashMap<u64, Vec<&TaskInfo>>,
    task: &TaskInfo,
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    let line = match &task.dump {
        Some(dump) => dump.line(),
        None => format!(
            "{} {} [{}]",
            task.id,
            task.name.as_deref().unwrap_or("<unnamed>"),
            task.state
        ),
    };
    let _ = write!(out, "{indent}- {line}");
    if task.restarts > 0 {
        let _ = write!(out, " restarts={}", task.restarts);
    }
    if let Some(failure) = &task.last_failure {
        let _ = write!(out, " last_failure={failure:?}");
        if let Some(at) = task.last_failure_at {
            let ago = crate::rt::now().saturating_duration_since(at);
            let _ = write!(out, " {}ms ago", ago.as_millis());
        }
    }
    if let (Some(parent), 1) = (task.parent, depth) {
        let _ = write!(out, " (scoped to request task {parent})");
    }
    out.push('\n');
    if depth > 32 {
        return; // a bound, however deep a tree grows
    }
    for child in children.get(&task.id).into_iter().flatten() {
        write_subtree(out, children, child, depth + 1);
    }
}

impl App {
    /// Every worker's tasks, with the loop's view of each (polls, busy
    /// time, age, last poll, spawn location, cancel), gathered through each
    /// worker's loop; a worker that does not answer within the query
    /// timeout is left out. See [`AppTaskDump::text`] for the tree.
    ///
    /// # Examples
    ///
    /// See [`AppTaskDump`].
    pub async fn task_dump(&self) -> AppTaskDump {
        let answers = self
            .ask_workers(
                self.query_timeout(),
                Arc::new(|_app, local| {
                    let mut seen: HashMap<_, _> = crate::rt::dump()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|dump| (dump.id, dump))
                        .collect();
                    let tasks: Vec<TaskInfo> = local
                        .tasks
                        .all()
                        .iter()
                        .map(|task| {
                            let mut info = TaskInfo::of(task, local.index());
                            info.dump = seen.remove(&task.id());
                            info
                        })
                        .collect();
                    Box::pin(async move { tasks })
                }),
            )
            .await;
        AppTaskDump {
            workers: answers
                .into_iter()
                .map(|(worker, tasks)| WorkerTasks { worker, tasks })
                .collect(),
        }
    }
}

/// Logs every worker's task tree on each SIGUSR1 (opt-in:
/// [`Config::dump_on_sigusr1`](super::Config::dump_on_sigusr1)), from a
/// small thread of its own; uninstalls itself when dropped.
pub(crate) struct DumpOnSignal {
    /// Closes the signal iterator.
    handle: signal_hook::iterator::Handle,
    /// The thread waiting for signals.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DumpOnSignal {
    /// Installs the handler.
    pub(crate) fn install(app: &App) -> Result<Self, super::Error> {
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR1])?;
        let handle = signals.handle();
        let app = app.clone();
        let thread = std::thread::Builder::new()
            .name("sanio-dump".into())
            .spawn(move || {
                for _ in signals.forever() {
                    // The dump runs on a worker's loop (it asks every loop).
                    let Some(first) = app.loops().into_iter().next() else {
                        continue;
                    };
                    let app = app.clone();
                    let _ = first.spawn(async move {
                        drop(crate::rt::spawn(async move {
                            let dump = app.task_dump().await;
                            log::info!("task dump (SIGUSR1):\n{}", dump.text());
                        }));
                    });
                }
            })?;
        Ok(Self {
            handle,
            thread: Some(thread),
        })
    }
}

impl std::fmt::Debug for DumpOnSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DumpOnSignal")
    }
}

impl Drop for DumpOnSignal {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
