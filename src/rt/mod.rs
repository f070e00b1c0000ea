//! The event loop: an executor, a reactor and timers, written out in full.
//!
//! This module knows nothing about HTTP, websockets or apps. It is a small
//! async runtime, the kind asyncio is for Python, and it is meant to be read.
//!
//! # One turn of the loop
//!
//! [`Runtime::block_on`] polls the future it was given, then turns the loop
//! until that future is done. One turn (`Core::turn` in `core/mod.rs`) is:
//!
//! 1. **Wait for I/O.** `epoll_wait` through mio: not at all if a task is
//!    ready; until the nearest timer otherwise; forever if there is neither
//!    (a socket or another thread will wake us). An idle loop uses no CPU.
//!    For every socket that became ready, wake the task waiting on it.
//! 2. **Take remote work.** Move wakes and spawns that other threads queued
//!    (through a [`RuntimeHandle`] or a waker sent across threads) onto this
//!    loop, right after the poll their wake interrupted.
//! 3. **Fire timers.** Wake every sleep whose deadline has passed, and drop
//!    cancelled tasks whose grace period is over.
//! 4. **Run ready tasks.** Pop task ids from the ready queue and poll each
//!    task once, at most 256 per turn (a *budget*, so that tasks waking each
//!    other cannot starve sockets and timers).
//!
//! So whatever woke the loop (a socket, another thread, a timer) runs in the
//! same turn. A host program that owns its main loop calls
//! [`Runtime::turn`] itself instead of `block_on` (see `embed.rs`).
//!
//! # Reading order
//!
//! 1. `task.rs`: what a task is; ids with generations; the
//!    stages of a task's life.
//! 2. `waker.rs`: how a wake finds its way back to the loop, from this thread
//!    or another one.
//! 3. `core/mod.rs`: the executor, the turn above, and cancellation;
//!    `core/handles.rs`: what `JoinHandle` and `TaskRef` ask of it.
//! 4. `spawn.rs`, `join.rs`, `cancel.rs`: the API tasks use.
//! 5. `reactor.rs`: mio, registrations and the one I/O idiom.
//! 6. `time.rs`, `interval.rs`: timers; `clock.rs`: the loop's clock, real
//!    or paused for tests.
//! 7. `runtime.rs`, `context.rs`: the owner and how free functions find it;
//!    `embed.rs`: driving the loop from a host's own main loop.
//! 8. `sync/`: oneshot, mpsc, notify, built on nothing but wakers.
//! 9. `trace.rs`: the recorder behind trace mode (the one-line
//!    `trace.record(..)` hooks in the files above), and its two outputs.
//! 10. `dump.rs`, `core/dump.rs`: a snapshot of every task (state, polls,
//!     ages, where it was spawned), taken from the slab on demand.
//! 11. `pooled.rs`: boxed futures whose boxes are used again, so a warm
//!     server allocates nothing per request; `id_hash.rs`: the cheap hash
//!     its pool (and the app's per-request maps) key the loop's own ids by.
//!
//! # Cancellation, in four steps
//!
//! A cancel is a flag, delivered once, then a drop (asyncio's model):
//!
//! 1. [`JoinHandle::cancel`] sets the task's flag and schedules it.
//! 2. In the next poll, the first cancellation-aware await ([`cancelled()`],
//!    and the app's event waits and websocket `recv`/`send`) returns
//!    [`Cancelled`] and marks the cancel observed. Later awaits behave
//!    normally, so the task can clean up asynchronously.
//! 3. If that poll ends the task, it ended by itself. If it is still pending
//!    having observed the cancel, it may run for the grace period, then it
//!    is dropped. If it did not observe it (it sat in a `sleep`), it is
//!    dropped at once.
//! 4. The task is marked cancelled (so a destructor asking about its own
//!    task sees it cancelled), its future is dropped (the destructors run,
//!    on the loop), and only then are its awaiters woken.
//!
//! # Testing time-based code: the paused clock
//!
//! Every deadline in `rt` (sleeps, intervals, timeouts, grace periods, and
//! the HTTP layer's timeouts) is read from the loop's clock ([`now`]). A
//! runtime made with [`Runtime::with_paused_clock`] stands still until
//! [`advance`] moves it or, when nothing is ready, auto-advance jumps it to
//! the next timer, so a test of a 30-second backoff is exact and instant:
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = sanio::Runtime::new().unwrap().with_paused_clock();
//! rt.block_on(async {
//!     let t0 = sanio::rt::now();
//!     let retry = sanio::spawn(async {
//!         for backoff in [1, 2, 4, 8] {
//!             sanio::sleep(Duration::from_secs(backoff)).await;
//!         }
//!         sanio::rt::now()
//!     });
//!     assert_eq!(retry.await.unwrap() - t0, Duration::from_secs(15));
//! });
//! ```
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = sanio::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let ticker = sanio::spawn(async {
//!         let mut ticks = sanio::interval(Duration::from_millis(1));
//!         loop {
//!             ticks.tick().await;
//!         }
//!     });
//!     sanio::sleep(Duration::from_millis(5)).await;
//!     ticker.cancel();
//!     assert!(ticker.await.unwrap_err().is_cancelled());
//! });
//! ```

mod cancel;
mod clock;
mod context;
mod core;
mod dump;
mod embed;
mod id_hash;
mod interval;
mod join;
mod pooled;
mod reactor;
mod runtime;
mod spawn;
pub mod sync;
mod task;
mod time;
mod trace;
mod waker;

pub use cancel::{cancellable, cancelled, is_cancel_requested, Cancelled, WaitCancelled};
pub use clock::{advance, now, Advance};
pub use context::NoRuntime;
pub use dump::{assert_no_live_tasks, dump, live_tasks, DumpState, TaskDump};
pub use embed::{LoopBusy, Turn};
pub(crate) use id_hash::IdHashMap;
pub use interval::{interval, Interval, MissedTickBehavior};
pub use join::{JoinError, JoinHandle, TaskRef};
pub use pooled::PooledFuture;
pub use runtime::{stats, Runtime, RuntimeClosed, RuntimeHandle, Stats};
pub use spawn::{spawn, spawn_named, try_spawn, yield_now, YieldNow};
pub use task::{TaskId, TaskState};
pub use time::{sleep, sleep_until, timeout, Elapsed, Sleep};
pub use trace::{TraceLog, TRACE_OUT_ENV};

pub(crate) use cancel::take_cancel;
pub(crate) use clock::coarse_now;
pub(crate) use context::current_task_id;
pub(crate) use core::panic_message;
pub(crate) use reactor::{Direction, Registration};
pub(crate) use spawn::{poll_catching, spawn_at, CatchUnwind};
