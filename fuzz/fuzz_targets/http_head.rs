//! The request head parser and its framing rules, with the body after it.
//! Properties: no panic; the same bytes in any split give the same result;
//! an accepted request, written out again, parses to the same request; a
//! pipeline of requests always makes progress.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sanio::fuzzing::{encode, parse_pipeline, parse_request, parse_split, Outcome};

fuzz_target!(|data: &[u8]| {
    let whole = parse_request(data);
    // Split invariance: a few cuts drawn from the input, and byte by byte
    // for short inputs.
    if !data.is_empty() {
        let n = data.len();
        let seed = data.iter().fold(7usize, |h, &b| h.wrapping_mul(31).wrapping_add(b.into()));
        let cuts = [seed % n, (seed >> 8) % n, (seed >> 16) % n, n / 2];
        assert_eq!(parse_split(data, &cuts), whole, "split at {cuts:?}");
        if n <= 128 {
            let every: Vec<usize> = (1..n).collect();
            assert_eq!(parse_split(data, &every), whole, "byte by byte");
        }
    }
    // Round trip.
    if let Outcome::Request(parsed) = &whole {
        assert!(parsed.consumed <= data.len());
        let again = parse_request(&encode(parsed));
        let Outcome::Request(again) = again else {
            panic!("re-encoded request not accepted: {again:?} from {parsed:?}");
        };
        assert_eq!(
            (&again.method, &again.target, again.version, &again.headers, &again.body),
            (&parsed.method, &parsed.target, parsed.version, &parsed.headers, &parsed.body)
        );
        assert_eq!(
            (again.chunked, again.keep_alive, again.expect_continue),
            (parsed.chunked, parsed.keep_alive, parsed.expect_continue)
        );
    }
    let (requests, _) = parse_pipeline(data);
    assert!(requests.iter().map(|r| r.consumed).sum::<usize>() <= data.len());
});
