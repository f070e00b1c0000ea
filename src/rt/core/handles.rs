//! What handles ask of the executor: counting them, reading a task's state,
//! and waiting for its end (`JoinHandle`, `TaskRef`).

use std::any::Any;
use std::task::{Context, Poll};

use super::super::join::JoinError;
use super::super::task::{Stage, TaskId, TaskState};
use super::Core;

impl Core {
    /// A handle now refers to `id`.
    pub(crate) fn add_handle(&self, id: TaskId) {
        self.with_task(id, |task| task.handles += 1);
    }

    /// A handle to `id` was dropped; frees the slot if it was the last one
    /// and the task has ended.
    pub(crate) fn release_handle(&self, id: TaskId) {
        let free = self.with_task(id, |task| {
            task.handles -= 1;
            task.handles == 0 && task.state().is_finished()
        });
        if free == Some(true) {
            let removed = self.tasks.borrow_mut().remove(id.key as usize);
            drop(removed);
        }
    }

    /// The state of `id`; `Cancelled` for a slot that is gone (the runtime
    /// dropped it).
    pub(crate) fn state(&self, id: TaskId) -> TaskState {
        self.with_task(id, |task| task.state())
            .unwrap_or(TaskState::Cancelled)
    }

    /// The name `id` was spawned with.
    pub(crate) fn name(&self, id: TaskId) -> Option<String> {
        self.with_task(id, |task| task.name().map(str::to_owned))
            .flatten()
    }

    /// Polls for the end of `id` and takes its output (for `JoinHandle`).
    pub(crate) fn poll_join(
        &self,
        id: TaskId,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Box<dyn Any>, JoinError>> {
        let polled = self.with_task(id, |task| match &mut task.stage {
            Stage::Idle(_) | Stage::Polling => {
                match &task.join_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => task.join_waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Stage::Finished(output) => Poll::Ready(
                output
                    .take()
                    .ok_or_else(|| JoinError::cancelled(Some("output already taken".into()))),
            ),
            Stage::Cancelled => Poll::Ready(Err(JoinError::cancelled(
                task.extra.as_ref().and_then(|e| e.cancel_message.clone()),
            ))),
            Stage::Panicked => Poll::Ready(Err(JoinError::panicked(
                task.extra
                    .as_ref()
                    .and_then(|e| e.panic_message.clone())
                    .unwrap_or_default(),
            ))),
        });
        polled.unwrap_or(Poll::Ready(Err(JoinError::cancelled(None))))
    }

    /// Polls for the end of `id` without touching its output (for
    /// `TaskRef::finished`).
    pub(crate) fn poll_end(&self, id: TaskId, cx: &mut Context<'_>) -> Poll<TaskState> {
        let polled = self.with_task(id, |task| {
            let state = task.state();
            if state.is_finished() {
                return Poll::Ready(state);
            }
            let waiters = &mut task.extra_mut().end_waiters;
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            Poll::Pending
        });
        polled.unwrap_or(Poll::Ready(TaskState::Cancelled))
    }

    /// The message a task was cancelled with, or its panic message.
    pub(crate) fn end_message(&self, id: TaskId) -> Option<String> {
        self.with_task(id, |task| {
            let extra = task.extra.as_ref()?;
            match task.stage {
                Stage::Panicked => extra.panic_message.clone(),
                _ => extra.cancel_message.clone(),
            }
        })
        .flatten()
    }
}
