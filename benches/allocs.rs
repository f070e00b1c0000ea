//! Allocations per request, per scenario, on the server's thread after
//! warm-up: plaintext keep-alive, a JSON response, a routed request with a
//! typed parameter, a websocket echo (the scenarios and the counting
//! allocator are in `tests/support/allocs.rs`, shared with
//! `tests/allocs.rs`). Prints one Markdown table.
//!
//! The same binary is the workload for instruction counts: with
//! `ALLOCS_ONLY=<scenario>` it runs one scenario, so callgrind with
//! `--separate-threads=yes` gives the server thread's instructions; two runs
//! with different `ALLOCS_ROUNDS` give instructions per request as the
//! difference over the difference (`benches/instrs.sh` does it).
//!
//! ```text
//! cargo bench --bench allocs                 # 10,000 round trips each
//! ALLOCS_ROUNDS=1000 ALLOCS_ONLY=plaintext cargo bench --bench allocs
//! ```

#[path = "../tests/support/allocs.rs"]
mod allocs;

#[global_allocator]
static ALLOCATOR: allocs::Counting = allocs::Counting;

/// Round trips per scenario unless `ALLOCS_ROUNDS` says otherwise.
const ROUNDS: u64 = 10_000;

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a smoke run.
    let full = std::env::args().any(|arg| arg == "--bench");
    let rounds = std::env::var("ALLOCS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { ROUNDS } else { 20 });
    let only = std::env::var("ALLOCS_ONLY").ok();
    let server = allocs::serve();
    let addr = server.local_addr();
    let want = |name: &str| only.as_deref().map_or(true, |o| o == name);
    let mut figures = Vec::new();
    if want("plaintext") {
        figures.push(allocs::http(addr, "plaintext keep-alive", "/", rounds));
    }
    if want("json") {
        figures.push(allocs::http(addr, "json", "/json", rounds));
    }
    if want("param") {
        figures.push(allocs::http(
            addr,
            "routed, typed param",
            "/user/42",
            rounds,
        ));
    }
    if want("ws") {
        figures.push(allocs::ws(addr, rounds));
    }
    server.stop();
    server.join().expect("server stopped cleanly");
    println!("| scenario | round trips | allocs/request | bytes/request |");
    println!("|---|---:|---:|---:|");
    for f in &figures {
        println!(
            "| {} | {} | {:.2} | {:.1} |",
            f.name,
            f.rounds,
            f.per_request(),
            f.bytes_per_request()
        );
    }
}
