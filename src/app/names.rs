//! Task names that are unique across the workers of a process: the opt-in
//! policy ([`Config::unique_task_names`](super::Config::unique_task_names))
//! and singleton tasks.
//!
//! A name is *claimed* in the app (shared by every worker) when its task
//! starts, and released when the task's future ends or is dropped: the
//! claim lives in the task's own future, so no end can forget it.

use super::App;

/// A claim on a task name across the process; released when dropped.
pub(crate) struct NameClaim {
    /// The app holding the claim.
    app: App,
    /// The claimed name.
    name: String,
    /// The worker that holds it.
    worker: usize,
}

impl App {
    /// Claims `name` for `worker`; `None` if another live task of the
    /// process holds it.
    pub(crate) fn claim_name(&self, name: &str, worker: usize) -> Option<NameClaim> {
        let mut claims = super::lock(&self.inner.claims);
        if claims.contains_key(name) {
            return None;
        }
        claims.insert(name.to_owned(), worker);
        Some(NameClaim {
            app: self.clone(),
            name: name.to_owned(),
            worker,
        })
    }
}

impl Drop for NameClaim {
    fn drop(&mut self) {
        let mut claims = super::lock(&self.app.inner.claims);
        if claims.get(&self.name) == Some(&self.worker) {
            claims.remove(&self.name);
        }
    }
}
