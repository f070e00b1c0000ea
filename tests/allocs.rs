//! Heap allocations per request on the server's thread, after warm-up,
//! counted by a counting global allocator (this test binary's own, so no
//! other test sees it). The plaintext keep-alive figure is a bound that
//! fails the test when it rises; the others are printed (`--nocapture`)
//! and bounded loosely so that a regression shows. The figures and the
//! steps that brought them down are in benches/README.md
//! (`cargo bench --bench allocs`).

#![cfg(all(feature = "ws", feature = "json"))]

#[path = "support/allocs.rs"]
mod allocs;

#[global_allocator]
static ALLOCATOR: allocs::Counting = allocs::Counting;

/// Round trips counted per scenario.
const ROUNDS: u64 = 1_000;

/// Most allocations per request allowed, per scenario.
const BOUNDS: [(&str, f64); 4] = [
    ("plaintext keep-alive", PLAINTEXT_BOUND),
    ("json", 11.0),
    ("routed, typed param", 9.0),
    ("websocket echo (32 B text)", 1.0),
];

/// Plaintext keep-alive: allocations per request allowed.
const PLAINTEXT_BOUND: f64 = 7.0;

#[test]
fn allocations_per_request_stay_within_bounds() {
    let figures = allocs::all(ROUNDS);
    for figure in &figures {
        println!(
            "{:<28} {:>6.2} allocs/request {:>8.1} B/request",
            figure.name,
            figure.per_request(),
            figure.bytes_per_request()
        );
    }
    for (figure, (name, bound)) in figures.iter().zip(BOUNDS) {
        assert_eq!(figure.name, name);
        assert!(
            figure.per_request() <= bound,
            "{name}: {} allocations in {} requests, more than {bound} a request",
            figure.allocs,
            figure.rounds
        );
    }
}
