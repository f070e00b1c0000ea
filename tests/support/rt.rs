//! Helpers for the event-loop and TCP tests: run a future on a fresh loop
//! with a hang guard, poll a future exactly once, count drops and polls, read
//! a thread's CPU time, raise the descriptor limit.
#![allow(dead_code)] // each test file uses a different subset

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
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

/// Runs `fut` on a fresh runtime with a [paused clock](Runtime::with_paused_clock).
pub fn run_paused<F: Future>(fut: F) -> F::Output {
    let rt = Runtime::new()
        .expect("create a runtime")
        .with_paused_clock();
    run_paused_on(&rt, fut)
}

/// Runs `fut` on `rt` (whose clock is paused), failing the test if it hangs.
///
/// The hang guard of [`run_on`] is a sanio timeout, which a paused clock
/// would fire at once; this one counts real time on a watchdog thread and
/// wakes the loop from there. It adds no timer to the loop.
pub fn run_paused_on<F: Future>(rt: &Runtime, fut: F) -> F::Output {
    let alarm = Arc::new(Alarm::default());
    let (done, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn({
        let alarm = Arc::clone(&alarm);
        move || {
            if let Err(RecvTimeoutError::Timeout) = done_rx.recv_timeout(HANG_GUARD) {
                alarm.ring();
            }
        }
    });
    let output = rt.block_on(async {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            assert!(
                !alarm.poll_rung(cx),
                "hang guard: the test did not finish in time"
            );
            fut.as_mut().poll(cx)
        })
        .await
    });
    drop(done);
    watchdog.join().expect("the watchdog thread");
    output
}

/// A flag another thread sets, waking the loop that waits on it.
#[derive(Default)]
struct Alarm {
    rung: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Alarm {
    fn ring(&self) {
        self.rung.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().expect("alarm lock").take() {
            waker.wake();
        }
    }

    fn poll_rung(&self, cx: &mut Context<'_>) -> bool {
        *self.waker.lock().expect("alarm lock") = Some(cx.waker().clone());
        self.rung.load(Ordering::SeqCst)
    }
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
