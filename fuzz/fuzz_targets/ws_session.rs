//! A websocket connection through its driver, over a loopback socket pair:
//! the input is the client's frame stream, an echo handler answers.
//! Properties: no panic, no hang (the session ends within the guard), the
//! handler never gets more messages than frames could hold.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(session) = sanio::fuzzing::ws_session(data, Duration::from_secs(10)) else {
        return; // out of sockets: not the code under test
    };
    assert!(session.finished, "session hung: {session:?}");
    assert!(session.received <= data.len() / 6 + 1);
});
