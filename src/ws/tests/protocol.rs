//! Hostile and broken input: each protocol error closes with its code.

use super::*;

/// Reads until `recv` ends and reports it.
async fn drain(ws: WebSocket, events: Events) {
    while let Some(message) = ws.recv().await {
        let _ = events.send(format!("got {message:?}"));
    }
    let _ = events.send("recv ended".into());
}

#[test]
fn each_protocol_error_closes_with_its_code() {
    let mut long_header = vec![0x82, 0xff];
    long_header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    long_header.extend_from_slice(&[1, 2, 3, 4]);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked frame", vec![0x81, 0x02, b'h', b'i'], 1002),
        ("reserved bit", masked(0xc1, b"hi"), 1002),
        ("reserved data opcode", masked(0x83, b"hi"), 1002),
        ("reserved control opcode", masked(0x8b, b""), 1002),
        ("fragmented ping", masked(0x09, b"hi"), 1002),
        ("continuation first", masked(0x80, b"hi"), 1002),
        ("control frame over 125", masked(0x89, &[0; 126]), 1002),
        ("invalid utf-8", masked(0x81, &[0xff, 0xfe]), 1007),
        (
            "invalid utf-8 across fragments",
            [masked(0x01, &[0xe2, 0x82]), masked(0x80, &[0x28])].concat(),
            1007,
        ),
        ("frame header over the limit", long_header, 1009),
    ];
    let server = serve(WsConfig::new(), cases.len(), drain);
    for (name, bytes, code) in &cases {
        let mut raw = Raw::connect(server.addr, &[]);
        raw.send(&text("fine"));
        raw.send(bytes);
        assert_eq!(raw.close_code().0, Some(*code), "{name}");
        assert!(raw.wait_eof(), "{name}: the server closes TCP");
    }
    let events = server.finish();
    let ended = events.iter().filter(|e| *e == "recv ended").count();
    let got = events.iter().filter(|e| e.contains("fine")).count();
    assert_eq!((ended, got), (cases.len(), cases.len()), "{events:?}");
}

#[test]
fn bad_handshakes_are_refused() {
    let server = serve(WsConfig::new(), 2, drain);
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], "426"),
        (&b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"[..], "400"),
    ] {
        let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        stream.write_all(request).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        assert!(response.starts_with(&format!("HTTP/1.1 {status}")), "{response}");
        if status == "426" {
            assert!(response.contains("Sec-WebSocket-Version: 13\r\n"));
        }
    }
    assert!(server.finish().is_empty(), "no handler ran");
}

/// Echoes until `recv` ends, then reports it.
async fn echo_until_end(ws: WebSocket, events: Events) {
    while let Some(message) = ws.recv().await {
        let _ = events.send(format!("echo: {:?}", ws.send(message).await));
    }
    let _ = events.send("recv ended".into());
}

#[test]
fn messages_before_a_protocol_error_are_answered_before_the_close() {
    // Autobahn 3.2, 4.1.3, 5.15: one write holds good messages, then the
    // error, then a ping that must go unanswered.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("reserved bit", masked(0xa1, b"bad")),
        ("reserved opcode", masked(0x85, b"")),
        ("continuation with nothing to continue", masked(0x00, b"x")),
    ];
    let server = serve(WsConfig::new(), cases.len(), echo_until_end);
    for (name, bad) in &cases {
        let mut raw = Raw::connect(server.addr, &[]);
        let good = [masked(0x01, b"fra"), masked(0x80, b"gment"), text("two")].concat();
        raw.send(&[good, bad.clone(), masked(0x89, b"late")].concat());
        let (code, seen) = raw.close_code();
        assert_eq!(code, Some(1002), "{name}");
        assert_eq!(
            seen,
            [0x1, 0x1],
            "{name}: both echoes, no pong, then the close"
        );
        assert!(raw.wait_eof(), "{name}: the server closes TCP");
    }
    let events = server.finish();
    let echoed = events.iter().filter(|e| *e == "echo: Ok(())").count();
    let ended = events.iter().filter(|e| *e == "recv ended").count();
    assert_eq!(
        (echoed, ended),
        (2 * cases.len(), cases.len()),
        "{events:?}"
    );
}

#[test]
fn a_handler_that_stops_reading_is_failed_at_the_close_timeout() {
    let config = WsConfig::new().close_timeout(Duration::from_millis(200));
    let server = serve(config, 1, |ws: WebSocket, events: Events| async move {
        let first = ws.recv().await;
        let _ = events.send(format!("got {first:?}"));
        let cancelled = crate::cancelled().await; // never reads again
        let _ = events.send(cancelled.to_string());
    });
    let mut raw = Raw::connect(server.addr, &[]);
    raw.send(&[text("one"), text("two"), masked(0xc1, b"bad")].concat());
    assert_eq!(raw.close_code(), (Some(1002), vec![]));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(
        server.finish(),
        [
            "got Some(Text(\"one\"))".to_owned(),
            "cancelled: websocket closed".to_owned()
        ]
    );
}
