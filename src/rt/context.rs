//! Which loop is running on this thread.
//!
//! Free functions such as [`spawn`](super::spawn) and [`sleep`](super::sleep)
//! take no runtime argument: they find "the loop running on the current
//! thread" here. [`Runtime::block_on`](super::Runtime::block_on) *enters* the
//! runtime by storing its [`Core`] in a thread-local slot for as long as it
//! runs, and a guard restores the previous value when it returns (or unwinds).
//!
//! This is the same trick tokio's `CONTEXT` and asyncio's
//! `get_running_loop()` use: one loop per thread, found without passing it
//! around.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::core::Core;

thread_local! {
    /// The core of the runtime that is running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// The error returned when an operation needs a running sanio loop and the
/// current thread has none.
///
/// # Examples
///
/// ```
/// // Outside `Runtime::block_on` there is no loop to spawn onto.
/// let err = sanio::rt::try_spawn(async {}).unwrap_err();
/// assert_eq!(err.to_string(), "no sanio runtime is running on this thread");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRuntime;

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no sanio runtime is running on this thread")
    }
}

impl std::error::Error for NoRuntime {}

impl From<NoRuntime> for std::io::Error {
    fn from(err: NoRuntime) -> Self {
        std::io::Error::other(err)
    }
}

/// Runs `f` with the core of the loop running on this thread.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Result<R, NoRuntime> {
    CURRENT.with(|current| match &*current.borrow() {
        Some(core) => Ok(f(core)),
        None => Err(NoRuntime),
    })
}

/// Returns a clone of the current core.
pub(crate) fn current() -> Result<Rc<Core>, NoRuntime> {
    with_current(Rc::clone)
}

/// Restores the previously entered core (usually none) when dropped.
#[must_use = "the runtime stays entered only while the guard lives"]
pub(crate) struct EnterGuard {
    /// What `CURRENT` held before [`enter`] replaced it.
    previous: Option<Rc<Core>>,
}

/// Makes `core` the current loop of this thread until the guard drops.
///
/// Returns `None` when a *running* loop is already entered: a thread runs one
/// loop at a time, and nesting `block_on` would starve the outer loop.
pub(crate) fn enter(core: &Rc<Core>) -> Option<EnterGuard> {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.as_ref().is_some_and(|c| c.is_running()) {
            return None;
        }
        let previous = current.replace(Rc::clone(core));
        Some(EnterGuard { previous })
    })
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: the thread-local may already be gone at thread exit.
        let _ = CURRENT.try_with(|current| {
            let replaced = std::mem::replace(&mut *current.borrow_mut(), previous);
            drop(replaced);
        });
    }
}

/// The id of the task being polled on this thread's loop, if any (cheaper
/// than `TaskRef::current`: no handle is made).
pub(crate) fn current_task_id() -> Option<super::TaskId> {
    with_current(|core| core.current_task()).ok().flatten()
}
