//! The executor report: every executor micro-benchmark in one run, repeated
//! and interleaved, printed as a Markdown table of medians.
//!
//! Columns, per executor (same futures on each; see `common/mod.rs`):
//!
//! - **spawn burst**: ns per task to spawn 1,000,000 empty tasks at once and
//!   run them all to completion;
//! - **spawn batches**: the same in batches of 1,000, each awaited;
//! - **hand-off**: ns per hand-off when two tasks wake each other 1,000,000
//!   times (shared `Cell`, one stored `Waker` per side);
//! - **past last deadline**: 100,000 tasks each sleep until a random deadline
//!   0-100 ms after the start; the last task's finish minus the latest
//!   deadline (and the mean lateness of all tasks), for executors with timers;
//! - **bytes per idle task**: 100,000 tasks polled once and then pending
//!   forever; live heap bytes (a counting global allocator) and resident
//!   bytes (`/proc/self/statm`) added per task, measured in a fresh child
//!   process per executor and repeat.
//!
//! ```text
//! cargo bench --bench rt_report                   # 5 repeats
//! RT_REPORT_REPEATS=3 taskset -c 0 chrt -f 50 cargo bench --bench rt_report
//! ```

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{AsyncExecutor, Exec, LocalPool, Sanio, Timer, Tokio, TokioLocal};

/// Tasks in the spawn benches.
const TASKS: usize = 1_000_000;
/// Tasks per batch.
const BATCH: usize = 1_000;
/// Hand-offs in the ping-pong.
const HANDOFFS: u64 = 1_000_000;
/// Sleeping tasks.
const SLEEPERS: usize = 100_000;
/// Sleeps are spread over this.
const SPREAD: Duration = Duration::from_millis(100);
/// Idle tasks in the memory measurement.
const IDLE: usize = 100_000;

// ----- a counting allocator -------------------------------------------------

/// `System`, counting live bytes and allocations while [`COUNTING`] is on.
struct Counting;

/// Whether allocations are counted (only in the memory child processes, so
/// the timed runs pay nothing but a relaxed load).
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated and not freed, while counting.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Allocations made, while counting.
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Resident bytes of this process.
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("reading /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("statm has a resident field");
    pages * page_size()
}

/// The page size.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    #[allow(unsafe_code)]
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// Counters at one instant: (live heap bytes, allocations, resident bytes).
fn snapshot() -> (usize, usize, usize) {
    let rss = rss_bytes();
    (
        LIVE.load(Ordering::Relaxed),
        ALLOCS.load(Ordering::Relaxed),
        rss,
    )
}

/// Child mode: measures idle tasks on `E`, prints "heap allocs rss" per task.
fn idle_child<E: Exec>() {
    COUNTING.store(true, Ordering::Relaxed);
    let mut ex = E::new();
    let before = snapshot();
    let after = common::idle_tasks(&mut ex, IDLE, snapshot);
    let per = |a: usize, b: usize| (a as f64 - b as f64) / IDLE as f64;
    println!(
        "{:.1} {:.2} {:.1}",
        per(after.0, before.0),
        per(after.1, before.1),
        per(after.2, before.2)
    );
    // Skip the destructors of 100,000 pending tasks.
    std::process::exit(0);
}

/// Runs the memory measurement for executor `name` in a fresh process.
fn idle_in_child(name: &str) -> [f64; 3] {
    let exe = std::env::current_exe().expect("own executable");
    let out = Command::new(exe)
        .args(["--idle-child", name])
        .output()
        .expect("running the memory child");
    assert!(
        out.status.success(),
        "memory child for {name} failed: {out:?}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<f64> = text
        .split_whitespace()
        .map(|s| s.parse().expect("a number"))
        .collect();
    [nums[0], nums[1], nums[2]]
}

// ----- the report -----------------------------------------------------------

/// Every measured figure of one executor, one value per repeat.
#[derive(Default)]
struct Row {
    /// Executor name.
    name: &'static str,
    /// ns per task, burst.
    burst: Vec<f64>,
    /// ns per task, batches.
    batches: Vec<f64>,
    /// ns per hand-off.
    handoff: Vec<f64>,
    /// ms past the last deadline.
    late_last: Vec<f64>,
    /// mean ms late.
    late_mean: Vec<f64>,
    /// heap bytes per idle task.
    heap: Vec<f64>,
    /// allocations per idle task.
    allocs: Vec<f64>,
    /// resident bytes per idle task.
    rss: Vec<f64>,
}

/// The median of `v` (the mean of the middle two for an even count).
fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// "median (min-max)", or "n/a".
fn cell(v: &[f64], decimals: usize) -> String {
    match median(v) {
        None => "n/a".into(),
        Some(m) => {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{m:.decimals$} ({lo:.decimals$}-{hi:.decimals$})")
        }
    }
}

/// One repeat of the timed executor benches on `E`.
fn timed<E: Exec>(row: &mut Row) {
    let mut ex = E::new();
    let ns = |d: Duration, n: f64| d.as_nanos() as f64 / n;
    row.name = E::NAME;
    row.burst
        .push(ns(common::spawn_many(&mut ex, TASKS, TASKS), TASKS as f64));
    row.batches
        .push(ns(common::spawn_many(&mut ex, TASKS, BATCH), TASKS as f64));
    row.handoff
        .push(ns(common::ping_pong(&mut ex, HANDOFFS), HANDOFFS as f64));
}

/// One repeat of the timer bench on `E`.
fn timers<E: Timer>(row: &mut Row, seed: u64) {
    let mut ex = E::new();
    let late = common::sleepers(&mut ex, SLEEPERS, SPREAD, seed);
    row.late_last
        .push(late.past_last_deadline.as_secs_f64() * 1e3);
    row.late_mean.push(late.mean.as_secs_f64() * 1e3);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--idle-child") {
        match args.get(i + 1).map(String::as_str) {
            Some("sanio") => idle_child::<Sanio>(),
            Some("tokio") => idle_child::<Tokio>(),
            Some("tokio LocalSet") => idle_child::<TokioLocal>(),
            Some("async-executor") => idle_child::<AsyncExecutor>(),
            Some("futures LocalPool") => idle_child::<LocalPool>(),
            other => panic!("unknown executor {other:?}"),
        }
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench targets without `--bench`:
        // the report takes minutes and means nothing in a debug build.
        eprintln!("rt_report: skipped (run it with `cargo bench --bench rt_report`)");
        return;
    }
    let repeats: usize = std::env::var("RT_REPORT_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut rows: Vec<Row> = (0..5).map(|_| Row::default()).collect();
    for r in 0..repeats {
        eprintln!("repeat {}/{repeats}", r + 1);
        timed::<Sanio>(&mut rows[0]);
        timed::<Tokio>(&mut rows[1]);
        timed::<TokioLocal>(&mut rows[2]);
        timed::<AsyncExecutor>(&mut rows[3]);
        timed::<LocalPool>(&mut rows[4]);
        let seed = 0x5EED + r as u64;
        timers::<Sanio>(&mut rows[0], seed);
        timers::<Tokio>(&mut rows[1], seed);
        timers::<TokioLocal>(&mut rows[2], seed);
        for row in &mut rows {
            let [heap, allocs, rss] = idle_in_child(row.name);
            row.heap.push(heap);
            row.allocs.push(allocs);
            row.rss.push(rss);
        }
    }
    println!("Medians of {repeats} interleaved repeats (min-max in parentheses).\n");
    println!(
        "| executor | spawn burst ns/task | spawn batches ns/task | hand-off ns | \
         past last deadline ms | mean lateness ms | heap B/idle task | allocs/idle task | \
         RSS B/idle task |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            cell(&row.burst, 1),
            cell(&row.batches, 1),
            cell(&row.handoff, 1),
            cell(&row.late_last, 2),
            cell(&row.late_mean, 2),
            cell(&row.heap, 0),
            cell(&row.allocs, 2),
            cell(&row.rss, 0),
        );
    }
}
