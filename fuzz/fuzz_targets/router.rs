//! The router: patterns with typed parameters, looked up by method and
//! path. Lines: method, path, then patterns; the first byte's low bit sets
//! strict slashes. Properties: no panic; a found route's parameters come
//! from the path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sanio::fuzzing::{route, Routed};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let (Some(method), Some(path)) = (lines.next(), lines.next()) else {
        return;
    };
    let patterns: Vec<&str> = lines.take(64).collect();
    let strict = data.first().is_some_and(|b| b & 1 == 1);
    if let Routed::Found(i, params) = route(&patterns, method, path, strict) {
        assert!(i < patterns.len());
        for (_, value) in params {
            assert!(path.contains(&value), "{value:?} not in {path:?}");
        }
    }
});
