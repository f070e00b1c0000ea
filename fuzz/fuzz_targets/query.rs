//! Query and percent decoding, through the public `Request`: path, raw
//! path, query string and arguments of any target. Properties: no panic;
//! the raw path and the query string are pieces of the target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sanio::{Method, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let request = Request::new(Method::Get, target);
    let _ = request.path();
    assert!(target.contains(request.raw_path()));
    assert!(target.contains(request.query_string()));
    for name in ["a", "", "x y", "%"] {
        let _ = request.query(name);
        let _ = request.query_all(name).count();
    }
});
