//! Workloads shared by the `rt` (criterion) and `rt_report` benches, and the
//! single-threaded executors they run on.
//!
//! Every workload is written once, against [`Exec`], so each executor runs
//! exactly the same futures: the same completion latch, the same hand-written
//! ping-pong (a shared `Cell` and one stored `Waker` per side), the same
//! sleeps. Only `spawn` and `block_on` differ.

// Each bench binary uses a different subset of these items.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// A single-threaded executor as the workloads see it.
pub trait Exec {
    /// The name printed in tables and criterion ids.
    const NAME: &'static str;
    /// A fresh executor.
    fn new() -> Self;
    /// Runs `f` (and every task it spawns) until `f` completes.
    fn block_on<F: Future + 'static>(&mut self, f: F) -> F::Output;
    /// Spawns a detached task on the executor that is running `block_on`.
    fn spawn<F: Future<Output = ()> + 'static>(f: F);
}

/// An executor with timers.
pub trait Timer: Exec {
    /// A future that completes at `deadline`.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + 'static;
}

// ----- executors -------------------------------------------------------------

/// sanio's loop, `sanio::spawn`.
pub struct Sanio(sanio::Runtime);

impl Exec for Sanio {
    const NAME: &'static str = "sanio";
    fn new() -> Self {
        Self(sanio::Runtime::new().expect("creating an epoll instance"))
    }
    fn block_on<F: Future + 'static>(&mut self, f: F) -> F::Output {
        self.0.block_on(f)
    }
    fn spawn<F: Future<Output = ()> + 'static>(f: F) {
        drop(sanio::spawn(f));
    }
}

impl Timer for Sanio {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + 'static {
        sanio::sleep_until(deadline)
    }
}

/// tokio's current-thread runtime, `tokio::spawn` (a `Send` task).
pub struct Tokio(tokio::runtime::Runtime);

/// A tokio current-thread runtime with timers on.
fn tokio_current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a tokio runtime")
}

impl Exec for Tokio {
    const NAME: &'static str = "tokio";
    fn new() -> Self {
        Self(tokio_current_thread())
    }
    fn block_on<F: Future + 'static>(&mut self, f: F) -> F::Output {
        // `Runtime::block_on` on a current-thread runtime accepts a !Send
        // future; only spawned tasks must be Send.
        self.0.block_on(f)
    }
    fn spawn<F: Future<Output = ()> + 'static>(f: F) {
        // Plain `tokio::spawn` needs `Send`; the workloads share `Rc`s, so
        // wrap them. Sound here: the runtime is current-thread, so the task
        // never leaves this thread. The wrapper is a zero-cost newtype.
        drop(tokio::spawn(AssertSend(f)));
    }
}

impl Timer for Tokio {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep_until(deadline.into())
    }
}

/// tokio's current-thread runtime with a `LocalSet`, `spawn_local`.
pub struct TokioLocal(tokio::runtime::Runtime);

impl Exec for TokioLocal {
    const NAME: &'static str = "tokio LocalSet";
    fn new() -> Self {
        Self(tokio_current_thread())
    }
    fn block_on<F: Future + 'static>(&mut self, f: F) -> F::Output {
        tokio::task::LocalSet::new().block_on(&self.0, f)
    }
    fn spawn<F: Future<Output = ()> + 'static>(f: F) {
        drop(tokio::task::spawn_local(f));
    }
}

impl Timer for TokioLocal {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep_until(deadline.into())
    }
}

thread_local! {
    /// The executor `AsyncExecutor::spawn` reaches.
    static LOCAL_EXECUTOR: async_executor::LocalExecutor<'static> =
        const { async_executor::LocalExecutor::new() };
    /// The spawner `LocalPool::spawn` reaches.
    static LOCAL_SPAWNER: RefCell<Option<futures::executor::LocalSpawner>> =
        const { RefCell::new(None) };
}

/// async-executor's `LocalExecutor` (smol's), driven by `futures::executor::block_on`.
pub struct AsyncExecutor;

impl Exec for AsyncExecutor {
    const NAME: &'static str = "async-executor";
    fn new() -> Self {
        Self
    }
    fn block_on<F: Future + 'static>(&mut self, f: F) -> F::Output {
        LOCAL_EXECUTOR.with(|ex| futures::executor::block_on(ex.run(f)))
    }
    fn spawn<F: Future<Output = ()> + 'static>(f: F) {
        LOCAL_EXECUTOR.with(|ex| ex.spawn(f).detach());
    }
}

/// futures' `LocalPool`.
pub struct LocalPool(futures::executor::LocalPool);

impl Exec for LocalPool {
    const NAME: &'static str = "futures LocalPool";
    fn new() -> Self {
        Self(futures::executor::LocalPool::new())
    }
    fn block_on<F: Future + 'static>(&mut self, f: F) -> F::Output {
        let spawner = self.0.spawner();
        LOCAL_SPAWNER.with(|s| *s.borrow_mut() = Some(spawner));
        let out = self.0.run_until(f);
        LOCAL_SPAWNER.with(|s| *s.borrow_mut() = None);
        out
    }
    fn spawn<F: Future<Output = ()> + 'static>(f: F) {
        use futures::task::LocalSpawnExt;
        LOCAL_SPAWNER.with(|s| {
            s.borrow()
                .as_ref()
                .expect("spawn called inside LocalPool::block_on")
                .spawn_local(f)
                .expect("the pool is alive");
        });
    }
}

/// Makes a future `Send` for `tokio::spawn` on a current-thread runtime.
pub struct AssertSend<F>(F);

// SAFETY: only used on tokio's current-thread runtime from the thread that
// runs it, so the future is created, polled and dropped on one thread.
#[allow(unsafe_code)]
unsafe impl<F> Send for AssertSend<F> {}

impl<F: Future> Future for AssertSend<F> {
    type Output = F::Output;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of the only field.
        #[allow(unsafe_code)]
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        inner.poll(cx)
    }
}

// ----- building blocks -------------------------------------------------------

/// Counts arrivals down to zero and wakes the one waiter then.
#[derive(Default)]
pub struct Latch {
    /// Arrivals still expected.
    left: Cell<usize>,
    /// The waiter.
    waker: RefCell<Option<Waker>>,
}

impl Latch {
    /// A latch expecting `n` arrivals.
    pub fn new(n: usize) -> Rc<Self> {
        Rc::new(Self {
            left: Cell::new(n),
            waker: RefCell::new(None),
        })
    }

    /// Expects `n` more arrivals.
    pub fn reset(&self, n: usize) {
        self.left.set(n);
    }

    /// One arrival; the last wakes the waiter.
    pub fn arrive(&self) {
        let left = self.left.get() - 1;
        self.left.set(left);
        if left == 0 {
            if let Some(w) = self.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    /// Waits for the count to reach zero.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.left.get() == 0 {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

/// A small, fast, seeded generator (splitmix64), so runs are repeatable.
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

// ----- workloads -------------------------------------------------------------

/// Spawns `total` empty tasks in batches of `batch` (one burst when equal)
/// and waits for each batch to finish. Returns the wall time of the whole
/// `block_on`.
pub fn spawn_many<E: Exec>(ex: &mut E, total: usize, batch: usize) -> Duration {
    let start = Instant::now();
    ex.block_on(async move {
        let latch = Latch::new(0);
        for _ in 0..total / batch {
            latch.reset(batch);
            for _ in 0..batch {
                let latch = Rc::clone(&latch);
                E::spawn(async move { latch.arrive() });
            }
            latch.wait().await;
        }
    });
    start.elapsed()
}

/// The state two ping-pong tasks share.
struct PingPong {
    /// Hand-offs so far; side `turn % 2` may go.
    turn: Cell<u64>,
    /// Each side's waker, stored once and re-used.
    wakers: [RefCell<Option<Waker>>; 2],
}

impl PingPong {
    /// Waits until it is `side`'s turn.
    async fn my_turn(&self, side: usize) {
        poll_fn(|cx| {
            if self.turn.get() % 2 == side as u64 {
                return Poll::Ready(());
            }
            let mut slot = self.wakers[side].borrow_mut();
            match &*slot {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await;
    }

    /// Passes the turn to the other side and wakes it.
    fn pass(&self, side: usize) {
        self.turn.set(self.turn.get() + 1);
        if let Some(w) = &*self.wakers[1 - side].borrow() {
            w.wake_by_ref();
        }
    }
}

/// Two tasks hand a turn back and forth `handoffs` times, each hand-off one
/// wake of the other task. Returns the wall time of the whole `block_on`.
pub fn ping_pong<E: Exec>(ex: &mut E, handoffs: u64) -> Duration {
    let start = Instant::now();
    ex.block_on(async move {
        let shared = Rc::new(PingPong {
            turn: Cell::new(0),
            wakers: [RefCell::new(None), RefCell::new(None)],
        });
        let latch = Latch::new(2);
        for side in 0..2 {
            let shared = Rc::clone(&shared);
            let latch = Rc::clone(&latch);
            E::spawn(async move {
                for _ in 0..handoffs / 2 {
                    shared.my_turn(side).await;
                    shared.pass(side);
                }
                latch.arrive();
            });
        }
        latch.wait().await;
        assert_eq!(shared.turn.get(), handoffs / 2 * 2);
    });
    start.elapsed()
}

/// What [`sleepers`] measured.
pub struct Lateness {
    /// The last task's finish minus the latest deadline.
    pub past_last_deadline: Duration,
    /// The mean of each task's finish minus its own deadline.
    pub mean: Duration,
}

/// Spawns `tasks` tasks, each sleeping until a random deadline within
/// `spread` of the start, and measures how late they wake.
pub fn sleepers<E: Timer>(ex: &mut E, tasks: usize, spread: Duration, seed: u64) -> Lateness {
    ex.block_on(async move {
        let mut rng = Rng::new(seed);
        let latch = Latch::new(tasks);
        let last_finish = Rc::new(Cell::new(None::<Instant>));
        let total_late = Rc::new(Cell::new(Duration::ZERO));
        let start = Instant::now();
        let mut last_deadline = start;
        for _ in 0..tasks {
            let deadline = start + Duration::from_micros(rng.below(spread.as_micros() as u64 + 1));
            last_deadline = last_deadline.max(deadline);
            let (latch, last_finish, total_late) = (
                Rc::clone(&latch),
                Rc::clone(&last_finish),
                Rc::clone(&total_late),
            );
            E::spawn(async move {
                E::sleep_until(deadline).await;
                let now = Instant::now();
                total_late.set(total_late.get() + (now - deadline));
                last_finish.set(Some(last_finish.get().map_or(now, |t: Instant| t.max(now))));
                latch.arrive();
            });
        }
        latch.wait().await;
        let last = last_finish.get().expect("at least one task");
        Lateness {
            past_last_deadline: last.saturating_duration_since(last_deadline),
            mean: total_late.get() / tasks as u32,
        }
    })
}

/// Spawns `tasks` tasks that are polled once and then pend forever, then
/// calls `measure` while they are all alive (inside `block_on`).
pub fn idle_tasks<E: Exec, R: 'static>(ex: &mut E, tasks: usize, measure: fn() -> R) -> R {
    ex.block_on(async move {
        let latch = Latch::new(tasks);
        for _ in 0..tasks {
            let latch = Rc::clone(&latch);
            E::spawn(async move {
                latch.arrive();
                std::future::pending::<()>().await;
            });
        }
        latch.wait().await;
        measure()
    })
}
