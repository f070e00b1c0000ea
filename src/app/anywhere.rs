//! Named tasks on any worker, from any worker: list, find and cancel them
//! through each loop's remote queue (see `remote.rs`), bounded by the run's
//! [`Config::task_query_timeout`](super::Config::task_query_timeout).
//!
//! Sanic's workers are processes and cannot see each other's tasks; sanio's
//! are threads, so a `DELETE /tasks/<name>` can find the task wherever it
//! runs.

use std::sync::Arc;

use super::info::{CancelOutcome, TaskInfo};
use super::{App, Error};

impl App {
    /// The named tasks of every worker (finished ones too, until purged),
    /// sorted by worker, then in the order they were added. A worker that
    /// does not answer within the query timeout is left out.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("a", std::future::pending::<()>()).unwrap();
    ///     let all = app.tasks_everywhere().await;
    ///     assert_eq!(all.len(), 1);
    ///     assert_eq!(all[0].name.as_deref(), Some("a"));
    /// });
    /// ```
    pub async fn tasks_everywhere(&self) -> Vec<TaskInfo> {
        let answers = self
            .ask_workers(
                self.query_timeout(),
                Arc::new(|_app, local| {
                    let infos: Vec<TaskInfo> = local
                        .tasks
                        .list()
                        .iter()
                        .map(|task| TaskInfo::of(task, local.index()))
                        .collect();
                    Box::pin(async move { infos })
                }),
            )
            .await;
        answers.into_iter().flat_map(|(_, infos)| infos).collect()
    }

    /// The task named `name` on whichever worker has it (the lowest worker
    /// if several have one; a live task before a finished one).
    ///
    /// # Examples
    ///
    /// See [`TaskInfo`].
    pub async fn locate_task(&self, name: &str) -> Option<TaskInfo> {
        let mut found: Vec<TaskInfo> = self
            .tasks_everywhere()
            .await
            .into_iter()
            .filter(|info| info.name.as_deref() == Some(name))
            .collect();
        found.sort_by_key(|info| (info.state.is_finished(), info.worker));
        found.into_iter().next()
    }

    /// Cancels the task named `name` on every worker that has one, waits
    /// until each has ended, and returns what each cancel did, by worker.
    /// With [`Config::unique_task_names`](super::Config::unique_task_names)
    /// there is at most one.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTask`] when no worker that answered within the query
    /// timeout has the name (a cancel that outlives the timeout is still
    /// delivered; its outcome is then missing).
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("job", std::future::pending::<()>()).unwrap();
    ///     let outcomes = app.cancel_task_anywhere("job").await.unwrap();
    ///     assert_eq!(outcomes, [(0, sanio::CancelOutcome::Dropped)]);
    ///     assert!(app.cancel_task_anywhere("ghost").await.is_err());
    /// });
    /// ```
    pub async fn cancel_task_anywhere(
        &self,
        name: &str,
    ) -> Result<Vec<(usize, CancelOutcome)>, Error> {
        let wanted: Arc<str> = Arc::from(name);
        let answers = self
            .ask_workers(
                self.query_timeout(),
                Arc::new(move |app, local| {
                    let wanted = Arc::clone(&wanted);
                    Box::pin(async move {
                        local.tasks.get(&wanted)?;
                        app.cancel_task(&wanted).await.ok()
                    })
                }),
            )
            .await;
        let outcomes: Vec<(usize, CancelOutcome)> = answers
            .into_iter()
            .filter_map(|(worker, outcome)| Some((worker, outcome?)))
            .collect();
        if outcomes.is_empty() {
            return Err(Error::UnknownTask(name.to_owned()));
        }
        Ok(outcomes)
    }

    /// Purges finished tasks on every worker (see
    /// [`purge_tasks`](Self::purge_tasks)); returns how many named tasks
    /// went, in all.
    ///
    /// # Examples
    ///
    /// ```
    /// let app = sanio::App::new("demo");
    /// sanio::Runtime::new().unwrap().block_on(async {
    ///     app.add_named_task("quick", async {}).unwrap();
    ///     sanio::rt::yield_now().await;
    ///     assert_eq!(app.purge_tasks_everywhere().await, 1);
    /// });
    /// ```
    pub async fn purge_tasks_everywhere(&self) -> usize {
        self.ask_workers(
            self.query_timeout(),
            Arc::new(|_app, local| {
                let purged = local.tasks.purge();
                Box::pin(async move { purged })
            }),
        )
        .await
        .into_iter()
        .map(|(_, purged)| purged)
        .sum()
    }
}
