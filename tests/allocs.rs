//! Heap allocations per request on the server's thread, after warm-up,
//! counted by a counting global allocator (this test binary's own, so no
//! other test sees it). Plaintext keep-alive, a JSON response and a routed
//! request with a typed parameter allocate nothing; a websocket echo
//! allocates the received message. The figures and the steps that brought
//! them down are in benches/README.md (`cargo bench --bench allocs`).
//!
//! "Nothing" is checked as fewer than one allocation per hundred requests:
//! the loop's own bookkeeping that is not per request (a timer-table node
//! when a connection's timer is re-armed, every few seconds at most) may
//! land inside the counted window on a slow machine; one allocation per
//! request anywhere on the path is 100 times over the bound.

#![cfg(all(feature = "ws", feature = "json"))]

#[path = "support/allocs.rs"]
mod allocs;

#[global_allocator]
static ALLOCATOR: allocs::Counting = allocs::Counting;

/// Round trips counted per scenario.
const ROUNDS: u64 = 1_000;

/// Most allocations per request allowed, per scenario.
const BOUNDS: [(&str, f64); 4] = [
    ("plaintext keep-alive", ZERO),
    ("json", ZERO),
    ("routed, typed param", ZERO),
    // The message itself: tungstenite hands over an owned payload.
    ("websocket echo (32 B text)", 1.0 + ZERO),
];

/// "No allocation per request" (see the module doc).
const ZERO: f64 = 0.01;

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
            figure.per_request() < bound,
            "{name}: {} allocations in {} requests, not fewer than {bound} a request",
            figure.allocs,
            figure.rounds
        );
    }
}
