//! Helpers for the event-loop and TCP tests: run a future on a fresh loop
//! with a hang guard, poll a future exactly once, count drops and polls, read
//! a thread's CPU time, raise the descriptor limit.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use sanio::Runtime;

/// How long a test may run before it is declared hung. Only a guard: no
/// test expects to come near it.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Runs `fut` on a fresh runtime, failing the test if it hangs.
pub fn run<F: Future>(fut: F) -> F::Output {
    let rt = Runtime::new().expect("create a runtime");
    run_on(&rt, fut)
}

/// Runs `fut` on `rt`, failing the test if it hangs.
///
/// The guard's own timer is registered before `fut` first runs, so timer
/// counts read inside `fut` already include it and stay stable.
pub fn run_on<F: Future>(rt: &Runtime, fut: F) -> F::Output {
    rt.block_on(async {
        let guarded = async {
            sanio::rt::yield_now().await; // lets the guard register first
            fut.await
        };
        sanio::timeout(HANG_GUARD, guarded)
            .await
            .expect("hang guard: the test did not finish in time")
    })
}

/// Polls `fut` once with the current task's waker.
pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// Yields to the loop `n` times.
pub async fn yield_times(n: usize) {
    for _ in 0..n {
        sanio::rt::yield_now().await;
    }
}

/// Sets its flag when dropped: proves a future's destructors ran.
#[derive(Debug)]
pub struct DropFlag(pub Rc<Cell<bool>>);

impl DropFlag {
    /// A flag and a guard that sets it on drop.
    pub fn new() -> (Rc<Cell<bool>>, DropFlag) {
        let flag = Rc::new(Cell::new(false));
        (Rc::clone(&flag), DropFlag(flag))
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A future that counts its polls and never completes on its own.
#[derive(Debug)]
pub struct CountPolls(pub Rc<Cell<usize>>);

impl Future for CountPolls {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.0.set(self.0.get() + 1);
        Poll::Pending
    }
}

/// CPU time (user + system) the calling thread has used so far.
pub fn thread_cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD with a valid pointer to a rusage struct.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(
        rc,
        0,
        "getrusage failed: {}",
        std::io::Error::last_os_error()
    );
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The current (soft, hard) limits on open descriptors.
pub fn nofile_limit() -> (u64, u64) {
    // SAFETY: getrlimit only writes into the struct we pass.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid resource and pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(
        rc,
        0,
        "getrlimit failed: {}",
        std::io::Error::last_os_error()
    );
    (limit.rlim_cur as u64, limit.rlim_max as u64)
}

/// Sets the soft limit on open descriptors (process-wide).
pub fn set_nofile_soft_limit(soft: u64) {
    let (_, hard) = nofile_limit();
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: valid resource and pointer to an initialised rlimit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(
        rc,
        0,
        "setrlimit failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Raises the soft descriptor limit to the hard limit and returns it.
pub fn raise_nofile_limit() -> u64 {
    let (soft, hard) = nofile_limit();
    if soft < hard {
        set_nofile_soft_limit(hard);
    }
    hard
}
