//! The websocket opening handshake check. Lines: the method, then
//! `name: value` fields. Properties: no panic; an accepted handshake
//! answers with an accept key of 28 base64 characters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split("\r\n");
    let Some(method) = lines.next() else {
        return;
    };
    let headers: Vec<(String, String)> = lines
        .take(64)
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    match sanio::fuzzing::ws_handshake(method, &headers, &["chat", "superchat"]) {
        Ok(response) => {
            let accept = response
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-accept"))
                .map(|(_, v)| v.len());
            assert_eq!(accept, Some(28));
        }
        Err(status) => assert!(status == 400 || status == 426, "{status}"),
    }
});
