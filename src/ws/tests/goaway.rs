//! The client goes away (close frame, FIN, reset, half a frame, silence):
//! buffered messages still arrive, then `recv` ends, `send` fails and the
//! handler is cancelled.

use std::time::Duration;

use tungstenite::Message as T;

use super::*;

/// The receiver-task pattern: a reader task collects messages while the
/// handler waits to be cancelled, then checks `send` and waits for the
/// reader.
async fn watch(ws: WebSocket, events: Events) {
    let reader = ws.clone();
    let reader_events = events.clone();
    let reader = crate::spawn(async move {
        while let Some(message) = reader.recv().await {
            let _ = reader_events.send(format!("got {}", message.as_text().unwrap_or("?")));
        }
        let _ = reader_events.send("recv ended".into());
    });
    let cancelled = crate::cancelled().await;
    let _ = events.send(cancelled.to_string());
    // Cleanup runs: the socket is closed now.
    let _ = events.send(format!("send: {:?}", ws.send("late").await));
    let _ = reader.await;
    let _ = events.send(format!("closed: {}", ws.is_closed()));
}

/// Asserts what `watch` reported for a client that sent "a" and "b".
fn assert_went_away(events: &[String], expect_messages: bool) {
    let position = |wanted: &str| events.iter().position(|e| e == wanted);
    let ended = position("recv ended").expect("recv ended");
    if expect_messages {
        let (a, b) = (
            position("got a").expect("got a"),
            position("got b").expect("got b"),
        );
        assert!(a < b && b < ended, "{events:?}");
    }
    assert!(
        position("cancelled: websocket closed").is_some(),
        "{events:?}"
    );
    assert!(position("send: Err(Closed)").is_some(), "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("closed: true"));
}

#[test]
fn a_close_frame_ends_the_socket_and_cancels_the_handler() {
    let server = serve(WsConfig::new(), 1, watch);
    let mut client = client(server.addr);
    client.send(T::text("a")).unwrap();
    client.send(T::text("b")).unwrap();
    client.close(None).unwrap();
    let _ = read_until_closed(&mut client);
    drop(client);
    assert_went_away(&server.finish(), true);
}

#[test]
fn a_fin_ends_the_socket_and_cancels_the_handler() {
    let server = serve(WsConfig::new(), 1, watch);
    let mut raw = Raw::connect(server.addr, &[]);
    raw.send(&[text("a"), text("b")].concat());
    raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(raw.wait_eof());
    drop(raw);
    assert_went_away(&server.finish(), true);
}

#[test]
fn half_a_frame_then_eof_ends_the_socket_and_cancels_the_handler() {
    let server = serve(WsConfig::new(), 1, watch);
    let mut raw = Raw::connect(server.addr, &[]);
    let half = text("never finished");
    raw.send(&[text("a"), text("b"), half[..5].to_vec()].concat());
    raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(raw.wait_eof());
    drop(raw);
    assert_went_away(&server.finish(), true);
}

#[test]
fn a_reset_ends_the_socket_and_cancels_the_handler() {
    let server = serve(WsConfig::new(), 1, watch);
    let mut raw = Raw::connect(server.addr, &[]);
    raw.send(&[text("a"), text("b")].concat());
    socket2::SockRef::from(&raw.stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(raw); // RST
               // Whether "a" and "b" were read before the reset arrived is the
               // kernel's business; the rest is not.
    assert_went_away(&server.finish(), false);
}

#[test]
fn a_handler_in_recv_gets_buffered_messages_then_the_end() {
    let server = serve(
        WsConfig::new(),
        1,
        |ws: WebSocket, events: Events| async move {
            loop {
                match ws.recv_checked().await {
                    Ok(Some(message)) => {
                        let _ = events.send(format!("got {}", message.as_text().unwrap_or("?")));
                    }
                    Ok(None) => break,
                    Err(err) => {
                        assert!(err.cancelled().is_some());
                        break;
                    }
                }
            }
            let _ = events.send("recv ended".into());
            let _ = events.send(format!("send: {:?}", ws.send("late").await));
        },
    );
    let mut client = client(server.addr);
    for message in ["a", "b", "c"] {
        client.send(T::text(message)).unwrap();
    }
    client.close(None).unwrap();
    let _ = read_until_closed(&mut client);
    drop(client);
    assert_eq!(
        server.finish(),
        ["got a", "got b", "got c", "recv ended", "send: Err(Closed)"]
    );
}

#[test]
fn a_peer_that_never_answers_pings_is_dropped() {
    let config = WsConfig::new()
        .ping_interval(Duration::from_millis(20))
        .ping_timeout(Duration::from_millis(100));
    let server = serve(config, 1, watch);
    // Reads (so the server's pings arrive) but never answers them.
    let mut raw = Raw::connect(server.addr, &[]);
    let mut opcodes = Vec::new();
    while let Some((first, _)) = raw.frame() {
        opcodes.push(first & 0x0f);
    }
    assert!(opcodes.contains(&0x9), "pings were sent: {opcodes:?}");
    assert_went_away(&server.finish(), false);
}

#[test]
fn a_peer_that_answers_pings_stays() {
    let config = WsConfig::new()
        .ping_interval(Duration::from_millis(10))
        .ping_timeout(Duration::from_millis(200));
    let server = serve(config, 1, |ws: WebSocket, events: Events| async move {
        // Wait for the client's word that it answered several pings.
        let message = ws.recv().await;
        let _ = events.send(format!("{message:?}"));
        ws.close(1000, "ok").await;
    });
    let mut client = client(server.addr);
    let mut pings = 0;
    while pings < 5 {
        // tungstenite answers each ping on the next read.
        if let T::Ping(_) = client.read().unwrap() {
            pings += 1;
        }
    }
    client.send(T::text("still here")).unwrap();
    let (_, code) = read_until_closed(&mut client);
    drop(client);
    assert_eq!(code, Some(1000));
    assert_eq!(server.finish(), ["Some(Text(\"still here\"))"]);
}
