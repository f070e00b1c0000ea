//! The executor's half of a task dump: one pass over the slab.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Core;
use crate::rt::dump::{DumpState, TaskDump};
use crate::rt::task::{CancelState, Stage, TaskId};

impl Core {
    /// A snapshot of every task in the slab (live ones, and ended ones a
    /// handle still refers to), in slot order.
    pub(crate) fn dump(&self) -> Vec<TaskDump> {
        self.timing.set(true); // busy times from now on
        let now = self.clock.millis(self.clock.now());
        let since = |at: u32| Duration::from_millis(u64::from(now.wrapping_sub(at)));
        let tasks = self.tasks.borrow();
        tasks
            .iter()
            .map(|(key, task)| {
                let id = TaskId {
                    key: key as u32,
                    generation: task.generation,
                };
                let finished = task.state().is_finished();
                let state = match (&task.stage, &task.waker) {
                    _ if finished => DumpState::Finished,
                    (Stage::Polling, _) => DumpState::Polling,
                    _ if task.cancel != CancelState::None => DumpState::Cancelling,
                    (_, Some(waker)) if waker.scheduled.load(Ordering::Relaxed) => {
                        DumpState::Scheduled
                    }
                    _ => DumpState::Idle,
                };
                let extra = task.extra.as_deref();
                let cancel = match task.cancel {
                    CancelState::None => None,
                    CancelState::Requested | CancelState::Observed => Some(
                        extra
                            .and_then(|e| e.cancel_message.clone())
                            .unwrap_or_else(|| "cancelled".to_owned()),
                    ),
                };
                TaskDump {
                    id,
                    name: task.name().map(str::to_owned),
                    state,
                    task_state: task.state(),
                    polls: task.polls,
                    slow_polls: u32::from(task.slow_polls),
                    busy: Duration::from_nanos(task.busy_ns),
                    age: since(task.spawned_ms),
                    since_last_poll: (task.polls > 0).then(|| since(task.last_poll_ms)),
                    spawned_at: task.location,
                    cancel,
                }
            })
            .collect()
    }
}
