//! The body decoder (Content-Length and chunked) fed in random splits.
//! The first byte picks the framing and the split points; the rest is the
//! body stream. Properties: no panic, any split gives the whole-input
//! result, the body stays within the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sanio::fuzzing::{parse_request, parse_split, Outcome, MAX_BODY};

fuzz_target!(|data: &[u8]| {
    let Some((&control, body)) = data.split_first() else {
        return;
    };
    let head = if control & 1 == 0 {
        "POST / HTTP/1.1\r\nHost: f\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned()
    } else {
        format!("POST / HTTP/1.1\r\nHost: f\r\nContent-Length: {}\r\n\r\n", body.len() / 2)
    };
    let input = [head.as_bytes(), body].concat();
    let whole = parse_request(&input);
    let step = usize::from(control >> 1).max(1);
    let cuts: Vec<usize> = (head.len()..input.len()).step_by(step).collect();
    assert_eq!(parse_split(&input, &cuts), whole);
    if let Outcome::Request(parsed) = whole {
        assert!(parsed.body.len() as u64 <= MAX_BODY);
        assert!(parsed.consumed <= input.len());
    }
});
