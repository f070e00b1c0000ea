//! Executor micro-benchmarks (criterion): sanio next to tokio's
//! current-thread runtime (plain `spawn` and `LocalSet::spawn_local`),
//! async-executor's `LocalExecutor` and futures' `LocalPool`.
//!
//! - `spawn/burst`: spawn 1,000,000 empty tasks at once, run them all.
//! - `spawn/batches`: the same million in batches of 1,000, each batch
//!   awaited before the next is spawned.
//! - `ping_pong`: two tasks hand a turn back and forth 1,000,000 times
//!   through a shared `Cell` and one stored `Waker` per side.
//!
//! One criterion iteration is the whole million, so the reported time per
//! iteration in milliseconds reads as nanoseconds per task (or per hand-off).
//! Timers and memory per task are in `rt_report` (`cargo bench --bench rt_report`).
//!
//! ```text
//! cargo bench --bench rt
//! ```

mod common;

use std::time::Duration;

use common::{AsyncExecutor, Exec, LocalPool, Sanio, Tokio, TokioLocal};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

/// Tasks per iteration.
const TASKS: usize = 1_000_000;
/// Tasks per batch in `spawn/batches`.
const BATCH: usize = 1_000;
/// Hand-offs per iteration.
const HANDOFFS: u64 = 1_000_000;

/// Opens a group sized for iterations of about 0.1 s each.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

/// Runs `work` on a fresh `E` under the name of `E`.
fn bench<E: Exec>(g: &mut BenchmarkGroup<'_, WallTime>, work: fn(&mut E) -> Duration) {
    let mut ex = E::new();
    g.bench_function(E::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| work(&mut ex)).sum())
    });
}

/// Runs `work` on every executor, side by side in one group.
macro_rules! every_executor {
    ($c:expr, $name:expr, $work:expr) => {{
        let mut g = group($c, $name);
        bench::<Sanio>(&mut g, $work);
        bench::<Tokio>(&mut g, $work);
        bench::<TokioLocal>(&mut g, $work);
        bench::<AsyncExecutor>(&mut g, $work);
        bench::<LocalPool>(&mut g, $work);
        g.finish();
    }};
}

/// Spawn and run a million empty tasks, as one burst and in batches.
fn spawn(c: &mut Criterion) {
    every_executor!(c, "spawn_1M_burst", |ex| common::spawn_many(
        ex, TASKS, TASKS
    ));
    every_executor!(c, "spawn_1M_batches_of_1000", |ex| common::spawn_many(
        ex, TASKS, BATCH
    ));
}

/// A million hand-offs between two tasks.
fn ping_pong(c: &mut Criterion) {
    every_executor!(c, "ping_pong_1M", |ex| common::ping_pong(ex, HANDOFFS));
}

criterion_group!(benches, spawn, ping_pong);
criterion_main!(benches);
