//! Cross-thread wake latency, and a fixed workload for instruction counts.
//!
//! **Latency**: a task waits on an idle loop (blocked in `epoll_wait`);
//! another thread takes the time and wakes it; the task takes the time when
//! it is polled. The difference, in ns, is the latency of a wake from
//! another thread: eventfd write, the loop waking, taking the remote work,
//! polling the task. sanio and tokio's current-thread runtime run the same
//! protocol, interleaved, and the table gives medians.
//!
//! ```text
//! cargo bench --bench rt_wake                         # latency table
//! RT_WAKE_ROUNDS=2000 cargo bench --bench rt_wake
//! ```
//!
//! **Workload** (`RT_WAKE_WORK=1`): one fixed, deterministic run of spawns,
//! hand-offs and timers on a paused clock, for `valgrind --tool=callgrind`
//! (the cost of trace hooks when tracing is off is measured this way):
//!
//! ```text
//! cargo bench --bench rt_wake --no-run
//! RT_WAKE_WORK=1 valgrind --tool=callgrind target/release/deps/rt_wake-*
//! ```

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// What the waking thread and the waiting task share.
#[derive(Default)]
struct Shared {
    /// The task's waker for the current round.
    waker: Mutex<Option<Waker>>,
    /// The round the task is waiting in (armed), and the one it was woken in.
    armed: AtomicU64,
    /// Set by the waker thread: the round it woke.
    woken: AtomicU64,
    /// When the waker thread called `wake`.
    woke_at: Mutex<Option<Instant>>,
}

/// The task: `rounds` times, arm (store the waker), wait for the wake, and
/// record how long after `wake()` it was polled.
fn waiter(shared: Arc<Shared>, rounds: u64) -> impl Future<Output = Vec<u64>> {
    let mut latencies = Vec::with_capacity(rounds as usize);
    let mut round = 0;
    poll_fn(move |cx| {
        let now = Instant::now();
        if shared.woken.load(Ordering::Acquire) == round && round > 0 {
            let at = shared.woke_at.lock().unwrap().take();
            if let Some(at) = at {
                latencies.push(now.duration_since(at).as_nanos() as u64);
            }
        }
        if shared.woken.load(Ordering::Acquire) == round {
            if round == rounds {
                return Poll::Ready(std::mem::take(&mut latencies));
            }
            round += 1;
            *shared.waker.lock().unwrap() = Some(cx.waker().clone());
            shared.armed.store(round, Ordering::Release);
        }
        Poll::Pending
    })
}

/// The waking thread: for every round, waits until the task is armed, lets
/// the loop go idle, then takes the time and wakes it.
fn waker_thread(shared: Arc<Shared>, rounds: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for round in 1..=rounds {
            while shared.armed.load(Ordering::Acquire) < round {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_micros(50)); // the loop blocks
            let waker = shared.waker.lock().unwrap().take().unwrap();
            *shared.woke_at.lock().unwrap() = Some(Instant::now());
            shared.woken.store(round, Ordering::Release);
            waker.wake();
        }
    })
}

/// Median latency (ns) on sanio.
fn sanio_round(rounds: u64) -> f64 {
    let shared = Arc::new(Shared::default());
    let thread = waker_thread(Arc::clone(&shared), rounds);
    let rt = sanio::Runtime::new().unwrap();
    let latencies = rt.block_on(async { sanio::spawn(waiter(shared, rounds)).await.unwrap() });
    thread.join().unwrap();
    median(latencies)
}

/// Median latency (ns) on tokio's current-thread runtime.
fn tokio_round(rounds: u64) -> f64 {
    let shared = Arc::new(Shared::default());
    let thread = waker_thread(Arc::clone(&shared), rounds);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let latencies = rt.block_on(async { tokio::spawn(waiter(shared, rounds)).await.unwrap() });
    thread.join().unwrap();
    median(latencies)
}

fn median(mut v: Vec<u64>) -> f64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0) as f64
}

/// The fixed workload for instruction counts.
fn workload() {
    let rt = sanio::Runtime::new().unwrap().with_paused_clock();
    rt.block_on(async {
        for _ in 0..100 {
            let tasks: Vec<_> = (0..1000).map(|i| sanio::spawn(async move { i })).collect();
            for task in tasks {
                task.await.unwrap();
            }
        }
        // Two tasks handing a turn back and forth 100,000 times.
        let turn = Rc::new(Cell::new(0u64));
        let wakers: Rc<[Cell<Option<Waker>>; 2]> = Rc::new([Cell::new(None), Cell::new(None)]);
        let side = |me: u64| {
            let (turn, wakers) = (Rc::clone(&turn), Rc::clone(&wakers));
            sanio::spawn(poll_fn(move |cx| loop {
                let now = turn.get();
                if now >= 200_000 {
                    if let Some(w) = wakers[1 - me as usize].take() {
                        w.wake();
                    }
                    return Poll::Ready(());
                }
                if now % 2 != me {
                    wakers[me as usize].set(Some(cx.waker().clone()));
                    return Poll::Pending;
                }
                turn.set(now + 1);
                if let Some(w) = wakers[1 - me as usize].take() {
                    w.wake();
                }
            }))
        };
        let (a, b) = (side(0), side(1));
        a.await.unwrap();
        b.await.unwrap();
        // 10,000 sleeps on the paused clock.
        let sleepers: Vec<_> = (0..10_000u64)
            .map(|i| sanio::spawn(sanio::sleep(Duration::from_millis(i % 100))))
            .collect();
        for sleeper in sleepers {
            sleeper.await.unwrap();
        }
    });
}

fn main() {
    if std::env::var_os("RT_WAKE_WORK").is_some() {
        workload();
        return;
    }
    // `cargo test --all-targets` runs this without `--bench`: a smoke run.
    let full = std::env::args().any(|arg| arg == "--bench");
    let rounds: u64 = std::env::var("RT_WAKE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 5_000 } else { 20 });
    let repeats = if full { 5 } else { 1 };
    let (mut sanio, mut tokio) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        sanio.push(sanio_round(rounds) as u64);
        tokio.push(tokio_round(rounds) as u64);
    }
    println!("cross-thread wake latency, ns (median of {repeats} medians of {rounds} wakes)");
    println!("| runtime | median | repeats |");
    println!("|---|---:|---|");
    println!("| sanio | {:.0} | {sanio:?} |", median(sanio.clone()));
    println!(
        "| tokio current_thread | {:.0} | {tokio:?} |",
        median(tokio.clone())
    );
}
