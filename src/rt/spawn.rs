//! Putting futures on the loop: `spawn`, `try_spawn`, `spawn_named`, and
//! `yield_now`.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::context::{self, NoRuntime};
use super::join::JoinHandle;
use super::task::BoxFuture;

/// Spawns `future` on the loop running on this thread and returns its
/// handle. The future need not be `Send`: it never leaves this thread.
///
/// The task runs when the loop gets to it, not inside `spawn`. Dropping the
/// handle detaches the task.
///
/// # Panics
///
/// Panics outside a sanio runtime; [`try_spawn`] returns an error instead.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let shared = Rc::new(5); // !Send is fine
///     let task = sanio::spawn(async move { *shared + 1 });
///     assert_eq!(task.await, Ok(6));
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    match try_spawn(future) {
        Ok(handle) => handle,
        Err(err) => panic!("`sanio::spawn` failed: {err}"),
    }
}

/// Like [`spawn`], but returns [`NoRuntime`] outside a runtime.
///
/// # Errors
///
/// [`NoRuntime`] when no sanio loop runs on this thread.
///
/// # Examples
///
/// ```
/// assert!(sanio::rt::try_spawn(async {}).is_err());
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async { assert!(sanio::rt::try_spawn(async {}).is_ok()) });
/// ```
#[track_caller]
pub fn try_spawn<F>(future: F) -> Result<JoinHandle<F::Output>, NoRuntime>
where
    F: Future + 'static,
{
    spawn_inner(future, None)
}

/// Like [`spawn`], with a name that logs (a panic, say) and
/// [`JoinHandle::name`] show.
///
/// # Panics
///
/// Panics outside a sanio runtime.
///
/// # Examples
///
/// ```
/// # let rt = sanio::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let task = sanio::rt::spawn_named("heartbeat", async {});
/// assert_eq!(task.name().as_deref(), Some("heartbeat"));
/// # });
/// ```
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    match spawn_inner(future, Some(name.into())) {
        Ok(handle) => handle,
        Err(err) => panic!("`sanio::rt::spawn_named` failed: {err}"),
    }
}

/// Erases the output type and stores the task.
#[track_caller]
fn spawn_inner<F>(future: F, name: Option<String>) -> Result<JoinHandle<F::Output>, NoRuntime>
where
    F: Future + 'static,
{
    spawn_at(future, name, Location::caller())
}

/// Spawns with an explicit spawn location (the app passes its caller's).
pub(crate) fn spawn_at<F>(
    future: F,
    name: Option<String>,
    location: &'static Location<'static>,
) -> Result<JoinHandle<F::Output>, NoRuntime>
where
    F: Future + 'static,
{
    let core = context::current()?;
    let id = core.spawn(erase(future), name, 1, location);
    Ok(JoinHandle::new(core, id))
}

/// Boxes a future so its output comes back as `Box<dyn Any>`.
pub(crate) fn erase<F>(future: F) -> BoxFuture
where
    F: Future + 'static,
{
    Box::pin(future)
}

/// Lets other ready tasks run before this one continues.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let rt = sanio::Runtime::new().unwrap();
/// rt.block_on(async {
///     let ran = Rc::new(Cell::new(false));
///     let flag = Rc::clone(&ran);
///     let _task = sanio::spawn(async move { flag.set(true) });
///     sanio::rt::yield_now().await;
///     assert!(ran.get());
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    /// Whether the first poll (the yielding one) happened.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref(); // back of the ready queue
        Poll::Pending
    }
}

/// Polls a future, catching a panic as a value: how the layers above the
/// loop (a handler, a supervised task) answer a panic without ending the
/// task they run in.
pub(crate) fn poll_catching<F: Future + Unpin>(
    future: &mut F,
    cx: &mut Context<'_>,
) -> Poll<std::thread::Result<F::Output>> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Pin::new(&mut *future).poll(cx)
    })) {
        Ok(poll) => poll.map(Ok),
        Err(payload) => Poll::Ready(Err(payload)),
    }
}

/// A future that catches its inner future's panic as a value (see
/// [`poll_catching`]).
pub(crate) struct CatchUnwind<F> {
    /// The future.
    future: F,
}

impl<F> CatchUnwind<F> {
    /// Wraps `future`.
    pub(crate) fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_catching(&mut self.future, cx)
    }
}
