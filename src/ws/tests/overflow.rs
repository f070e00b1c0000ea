//! A full incoming queue under each [`QueueFull`] policy: the peer leaving
//! is seen whatever the queue holds; pings and close frames are answered
//! as the policy says.

use super::*;
use crate::ws::QueueFull;

/// Queue length for these tests: small, so a few frames fill it.
const QUEUE: usize = 2;

/// A push-only handler: sends one message, never reads, waits to be
/// cancelled, then reports how many messages were left buffered.
async fn push_only(ws: WebSocket, events: Events) {
    let _ = ws.send("hello").await;
    let cancelled = crate::cancelled().await;
    let _ = events.send(cancelled.to_string());
    let mut buffered = 0;
    while ws.recv().await.is_some() {
        buffered += 1;
    }
    let _ = events.send(format!("buffered {buffered}"));
    let _ = events.send(format!("closed: {}", ws.is_closed()));
}

/// A raw client that sent `count` text frames and read the "hello".
fn flood(addr: SocketAddr, count: usize) -> Raw {
    let mut raw = Raw::connect(addr, &[]);
    let frames: Vec<u8> = (0..count).flat_map(|i| text(&i.to_string())).collect();
    raw.send(&frames);
    let (first, payload) = raw.frame().expect("hello");
    assert_eq!((first, payload.as_slice()), (0x81, &b"hello"[..]));
    raw
}

#[test]
fn a_paused_push_only_socket_sees_a_fin() {
    let config = WsConfig::new().incoming_queue(QUEUE);
    let server = serve(config, 1, push_only);
    let mut raw = flood(server.addr, QUEUE + 3);
    raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(raw.wait_eof(), "the server closed the connection");
    drop(raw);
    let events = server.finish();
    assert_eq!(
        events,
        [
            "cancelled: websocket closed",
            &format!("buffered {QUEUE}"),
            "closed: true"
        ]
    );
}

#[test]
fn a_paused_push_only_socket_sees_a_reset() {
    let config = WsConfig::new().incoming_queue(QUEUE);
    let server = serve(config, 1, push_only);
    let raw = flood(server.addr, QUEUE + 3);
    socket2::SockRef::from(&raw.stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(raw); // RST
    let events = server.finish();
    assert_eq!(
        events.first().map(String::as_str),
        Some("cancelled: websocket closed")
    );
    assert_eq!(events.last().map(String::as_str), Some("closed: true"));
}

#[test]
fn a_paused_socket_answers_a_ping_once_the_handler_reads() {
    let config = WsConfig::new().incoming_queue(QUEUE);
    let server = serve(config, 1, |ws: WebSocket, events: Events| async move {
        let _ = ws.send("hello").await;
        // Let the client's frames pile up while reading is paused.
        crate::sleep(Duration::from_millis(50)).await;
        let mut received = 0;
        while received < QUEUE + 1 {
            if ws.recv().await.is_none() {
                break;
            }
            received += 1;
        }
        let _ = events.send(format!("received {received}"));
        ws.close(1000, "").await;
    });
    let mut raw = flood(server.addr, QUEUE + 1);
    raw.send(&masked(0x89, b"are you there"));
    let (code, seen) = raw.close_code();
    assert_eq!(code, Some(1000));
    assert_eq!(seen, [0xA], "one pong, before the close");
    raw.send(&masked(0x88, &1000u16.to_be_bytes()));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(server.finish(), [format!("received {}", QUEUE + 1)]);
}

#[test]
fn drop_keeps_answering_pings_and_the_close_handshake() {
    let config = WsConfig::new()
        .incoming_queue(QUEUE)
        .on_queue_full(QueueFull::Drop);
    let server = serve(config, 1, push_only);
    let mut raw = flood(server.addr, QUEUE + 10);
    raw.send(&masked(0x89, b"ping"));
    let (first, payload) = raw.frame().expect("pong");
    assert_eq!((first, payload.as_slice()), (0x8A, &b"ping"[..]));
    raw.send(&masked(0x88, &1000u16.to_be_bytes()));
    let (code, seen) = raw.close_code();
    assert_eq!((code, seen), (Some(1000), vec![]));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(
        server.finish(),
        [
            "cancelled: websocket closed",
            &format!("buffered {QUEUE}"),
            "closed: true"
        ]
    );
}

#[test]
fn close_fails_the_connection_with_1008_on_overflow() {
    let config = WsConfig::new()
        .incoming_queue(QUEUE)
        .on_queue_full(QueueFull::Close);
    let server = serve(config, 1, push_only);
    let mut raw = flood(server.addr, QUEUE + 1);
    let (code, seen) = raw.close_code();
    assert_eq!((code, seen), (Some(1008), vec![]));
    raw.send(&masked(0x88, &1008u16.to_be_bytes()));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(
        server.finish(),
        [
            "cancelled: websocket closed",
            &format!("buffered {QUEUE}"),
            "closed: true"
        ]
    );
}
