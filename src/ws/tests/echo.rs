//! Echo: messages of every kind and size go through unchanged.

use std::time::Duration;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame};

use tungstenite::Message as T;

use super::*;

/// Echoes every message, then reports how `recv` ended.
async fn echo(ws: WebSocket, events: Events) {
    while let Some(message) = ws.recv().await {
        if ws.send(message).await.is_err() {
            let _ = events.send("send failed".into());
            return;
        }
    }
    let _ = events.send("recv ended".into());
}

#[test]
fn echoes_text_binary_large_and_fragmented_messages() {
    let server = serve(WsConfig::new(), 1, echo);
    let mut client = client(server.addr);

    client.send(T::text("hello")).unwrap();
    assert_eq!(client.read().unwrap(), T::text("hello"));
    client.send(T::binary(vec![0, 1, 2, 255])).unwrap();
    assert_eq!(client.read().unwrap(), T::binary(vec![0, 1, 2, 255]));

    let large: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    client.send(T::binary(large.clone())).unwrap();
    assert_eq!(client.read().unwrap(), T::binary(large));

    let first = Frame::message("frag", OpCode::Data(Data::Text), false);
    let last = Frame::message("mented", OpCode::Data(Data::Continue), true);
    client.write(T::Frame(first)).unwrap();
    client.send(T::Frame(last)).unwrap();
    assert_eq!(client.read().unwrap(), T::text("fragmented"));

    let bye = CloseFrame {
        code: 1000.into(),
        reason: "done".into(),
    };
    client.close(Some(bye)).unwrap();
    let (rest, code) = read_until_closed(&mut client);
    drop(client);
    assert!(rest.is_empty());
    assert_eq!(code, Some(1000), "the server echoes the client's close");
    assert_eq!(server.finish(), ["recv ended"]);
}

#[test]
fn a_message_over_the_limit_closes_with_1009() {
    let server = serve(WsConfig::new().max_message_size(1000), 1, echo);
    let mut client = client(server.addr);
    client.send(T::text("small")).unwrap();
    assert_eq!(client.read().unwrap(), T::text("small"));
    client.send(T::binary(vec![7; 2000])).unwrap();
    let (messages, code) = read_until_closed(&mut client);
    drop(client);
    assert!(messages.is_empty());
    assert_eq!(code, Some(1009));
    let events = server.finish();
    assert_eq!(events, ["recv ended"]);
}

#[test]
fn fragments_adding_up_over_the_limit_close_with_1009() {
    let server = serve(WsConfig::new().max_message_size(1000), 1, echo);
    let mut raw = Raw::connect(server.addr, &[]);
    raw.send(&masked(0x02, &[1; 600]));
    raw.send(&masked(0x80, &[2; 600]));
    assert_eq!(raw.close_code().0, Some(1009));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(server.finish(), ["recv ended"]);
}

#[test]
fn bytes_sent_with_the_handshake_are_not_lost() {
    let server = serve(WsConfig::new(), 1, echo);
    let mut raw = Raw::connect(server.addr, &[text("early"), text("bird")].concat());
    assert_eq!(raw.frame(), Some((0x81, b"early".to_vec())));
    assert_eq!(raw.frame(), Some((0x81, b"bird".to_vec())));
    raw.send(&masked(0x88, &1000u16.to_be_bytes()));
    assert_eq!(raw.close_code().0, Some(1000));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(server.finish(), ["recv ended"]);
}

#[test]
fn a_burst_of_many_chunks_arrives_whole_and_leaves_no_read_buffer_held() {
    // 3,000 frames in one write: several 16 KiB chunks, each framed by
    // tungstenite a few hundred bytes at a time.
    const FRAMES: usize = 3000;
    let server = serve(
        WsConfig::new().incoming_queue(FRAMES),
        1,
        |ws: WebSocket, events: Events| async move {
            let mut expected = 0;
            while let Some(message) = ws.recv().await {
                let want = format!("frame {expected:05} {}", "x".repeat(expected % 40));
                if message != crate::Message::Text(want) {
                    let _ = events.send(format!("frame {expected} wrong: {message:?}"));
                }
                expected += 1;
                if expected == FRAMES {
                    let _ = events.send(format!("all in; chunk held: {}", ws.holds_read_chunk()));
                    let _ = ws.send("done").await;
                }
            }
        },
    );
    let burst: Vec<u8> = (0..FRAMES)
        .flat_map(|i| text(&format!("frame {i:05} {}", "x".repeat(i % 40))))
        .collect();
    assert!(burst.len() > 4 * 16 * 1024, "several chunks");
    let mut raw = Raw::connect(server.addr, &[]);
    raw.send(&burst);
    assert_eq!(raw.frame(), Some((0x81, b"done".to_vec())));
    raw.send(&masked(0x88, &1000u16.to_be_bytes()));
    assert_eq!(raw.close_code().0, Some(1000));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(server.finish(), ["all in; chunk held: false"]);
}

#[test]
fn a_large_message_grows_the_read_buffer_until_the_connection_is_between_messages() {
    let server = serve(
        WsConfig::new(),
        1,
        |ws: WebSocket, events: Events| async move {
            while let Some(message) = ws.recv().await {
                let len = match &message {
                    crate::Message::Binary(bytes) => bytes.len(),
                    crate::Message::Text(text) => text.len(),
                };
                let _ = events.send(format!(
                    "{len} bytes, released {}",
                    ws.released_read_buffers()
                ));
                if ws.send(message).await.is_err() {
                    return;
                }
            }
        },
    );
    let mut raw = Raw::connect(server.addr, &[]);
    // A 60,000-byte message: its buffer is released once it is in.
    let big: Vec<u8> = (0..60_000).map(|i| (i % 251) as u8).collect();
    raw.send(&masked(0x82, &big));
    assert_eq!(raw.frame(), Some((0x82, big.clone())));
    // A small one after it still arrives (the new tungstenite socket reads on).
    raw.send(&masked(0x82, b"small"));
    assert_eq!(raw.frame(), Some((0x82, b"small".to_vec())));
    // A large fragmented message with a pause between its frames: nothing is
    // released in the middle of it, and it arrives whole.
    raw.send(&masked(0x02, &big[..40_000]));
    std::thread::sleep(Duration::from_millis(50));
    raw.send(&masked(0x89, b"ping in between"));
    assert_eq!(raw.frame(), Some((0x8a, b"ping in between".to_vec())));
    raw.send(&masked(0x80, &big[40_000..]));
    assert_eq!(raw.frame(), Some((0x82, big.clone())));
    raw.send(&masked(0x88, &1000u16.to_be_bytes()));
    assert_eq!(raw.close_code().0, Some(1000));
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(
        server.finish(),
        [
            "60000 bytes, released 1",
            "5 bytes, released 1",
            "60000 bytes, released 2",
        ]
    );
}

#[test]
fn the_server_answers_pings_without_the_handler() {
    // The handler never reads: only the driver can answer.
    let server = serve(
        WsConfig::new(),
        1,
        |ws: WebSocket, events: Events| async move {
            let cancelled = crate::cancelled().await;
            let _ = events.send(cancelled.to_string());
            drop(ws);
        },
    );
    let mut raw = Raw::connect(server.addr, &[]);
    raw.send(&masked(0x89, b"are you there"));
    assert_eq!(raw.frame(), Some((0x8a, b"are you there".to_vec())));
    raw.send(&masked(0x88, &[]));
    assert_eq!(raw.close_code().0, None, "an empty close is echoed empty");
    assert!(raw.wait_eof());
    drop(raw);
    assert_eq!(server.finish(), ["cancelled: websocket closed"]);
}

#[test]
fn a_thousand_connect_close_cycles_leave_nothing_behind() {
    const CYCLES: usize = 1000;
    let server = serve(WsConfig::new(), CYCLES, echo);
    for i in 0..CYCLES {
        let mut client = client(server.addr);
        client.send(T::text(i.to_string())).unwrap();
        assert_eq!(client.read().unwrap(), T::text(i.to_string()));
        client.close(None).unwrap();
        let _ = read_until_closed(&mut client);
    }
    let events = server.finish();
    assert_eq!(events.len(), CYCLES);
    assert!(events.iter().all(|e| e == "recv ended"));
}

#[test]
fn a_full_incoming_queue_pauses_reading_and_loses_nothing() {
    const COUNT: usize = 200;
    let config = WsConfig::new().incoming_queue(1);
    let server = serve(config, 1, |ws: WebSocket, events: Events| async move {
        // Let the client's messages pile up while reading is paused.
        crate::sleep(Duration::from_millis(50)).await;
        let mut received = Vec::new();
        while let Some(message) = ws.recv().await {
            received.push(message.as_text().unwrap_or("?").to_owned());
            if received.len() == COUNT {
                break;
            }
        }
        let expected: Vec<String> = (0..COUNT).map(|i| i.to_string()).collect();
        let _ = events.send(format!("in order: {}", received == expected));
        ws.close(1000, "").await;
    });
    let mut client = client(server.addr);
    for i in 0..COUNT {
        client.send(T::text(i.to_string())).unwrap();
    }
    let (_, code) = read_until_closed(&mut client);
    drop(client);
    assert_eq!(code, Some(1000));
    assert_eq!(server.finish(), ["in order: true"]);
}

#[test]
fn send_waits_for_a_slow_reader_and_loses_nothing() {
    // 16 MiB: more than the kernel buffers between the two ends hold.
    const COUNT: usize = 4096;
    const BOUND: usize = 8192;
    let message = |i: usize| format!("{i:08}").repeat(512); // 4 KiB
    let config = WsConfig::new().outbound_buffer(BOUND);
    let server = serve(config, 1, move |ws: WebSocket, events: Events| async move {
        let mut most_pending = 0;
        for i in 0..COUNT {
            if ws.send(message(i)).await.is_err() {
                let _ = events.send(format!("send {i} failed"));
                return;
            }
            most_pending = most_pending.max(ws.pending_out());
        }
        // At most the bound plus the one frame queued on top of it.
        let _ = events.send(format!("bounded: {}", most_pending <= BOUND + 4096 + 14));
        ws.close(1000, "").await;
    });
    let mut client = client(server.addr);
    std::thread::sleep(Duration::from_millis(50)); // let the server fill its buffers
    let (messages, code) = read_until_closed(&mut client);
    drop(client);
    assert_eq!(messages.len(), COUNT);
    assert!(messages
        .into_iter()
        .enumerate()
        .all(|(i, m)| m == T::text(message(i))));
    assert_eq!(code, Some(1000));
    assert_eq!(server.finish(), ["bounded: true"]);
}
