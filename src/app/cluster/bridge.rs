//! The bridge: one ordinary task on worker 0's loop that carries cluster
//! events between this instance and Redis.
//!
//! It holds two connections (a subscribed one cannot publish): it
//! SUBSCRIBEs to `<prefix>:events` and feeds every message to
//! `dispatch_all`; it PUBLISHes what `dispatch_cluster` queued; every
//! [`PING_EVERY`] it PINGs both, and a connection that answered nothing
//! since the previous PING is taken as dead. On any failure it drops the
//! queue (at-most-once), marks itself disconnected and reconnects after a
//! backoff with jitter, until the app stops.
//!
//! An event crosses as a RESP array `[origin, name, message or nil,
//! payload or nil]`, encoded and decoded by the same crate as the
//! protocol.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::conn::{command, decode_frame, encode_frame, Connection, Frame, RedisError};
use super::{backoff, ClusterError, ClusterPayload, Settings, MAX_EVENT_BYTES};
use crate::app::signals::{validate_user, Event};
use crate::app::App;
use crate::rt;

/// How often the bridge checks both connections.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(2);

/// The most events one pipelined write carries.
const PUBLISH_BATCH: usize = 64;

/// How long a connect (with AUTH and SELECT) may take.
pub(crate) const CONNECT_LIMIT: Duration = Duration::from_secs(3);

/// Encodes an event for the wire.
pub(crate) fn encode_event(
    origin: &str,
    name: &str,
    message: Option<&str>,
    payload: Option<&[u8]>,
) -> Result<Vec<u8>, ClusterError> {
    let bulk = |bytes: &[u8]| Frame::BulkString(bytes.to_vec());
    let frame = Frame::Array(vec![
        bulk(origin.as_bytes()),
        bulk(name.as_bytes()),
        message.map_or(Frame::Null, |m| bulk(m.as_bytes())),
        payload.map_or(Frame::Null, bulk),
    ]);
    Ok(encode_frame(&frame)?)
}

/// Why an incoming message was not taken as an event.
#[derive(Debug, PartialEq)]
enum Refused {
    /// Not an event as [`encode_event`] writes one.
    Malformed,
    /// Its message and payload are over [`MAX_EVENT_BYTES`] (a peer with
    /// other limits, or someone else publishing on the channel).
    TooLarge(usize),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => f.write_str("ignoring a malformed event"),
            Self::TooLarge(bytes) => write!(
                f,
                "dropping an event of {bytes} bytes, over the limit of {MAX_EVENT_BYTES}"
            ),
        }
    }
}

/// Decodes an event from the wire.
fn decode_event(payload: &[u8]) -> Result<Event, Refused> {
    decode_parts(payload).ok_or(Refused::Malformed)?
}

/// [`decode_event`]; `None` for a malformed one.
fn decode_parts(payload: &[u8]) -> Option<Result<Event, Refused>> {
    let Ok(Frame::Array(parts)) = decode_frame(payload) else {
        return None;
    };
    let text = |frame: &Frame| match frame {
        Frame::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        _ => None,
    };
    match parts.as_slice() {
        [origin, name, message, payload] => {
            let message = match message {
                Frame::Null => None,
                other => Some(text(other)?),
            };
            let payload = match payload {
                Frame::Null => None,
                Frame::BulkString(bytes) => Some(bytes),
                _ => return None,
            };
            let size = message.as_ref().map_or(0, String::len) + payload.map_or(0, |p| p.len());
            if size > MAX_EVENT_BYTES {
                return Some(Err(Refused::TooLarge(size)));
            }
            Some(Ok(Event::cluster(
                &text(name)?,
                message,
                payload.map(|bytes| ClusterPayload::new(bytes.clone())),
                &text(origin)?,
            )))
        }
        _ => None,
    }
}

/// Runs the bridge until the task is cancelled (the app stops).
pub(crate) async fn run(app: App, settings: Settings) {
    let mut attempt = 0;
    loop {
        let ended = {
            rt::cancellable(session(&app, &settings, &mut attempt))
                .await
                .ok()
        };
        let shared = app.cluster();
        shared.connected.store(false, Ordering::Release);
        let dropped = shared.clear();
        match ended {
            None => return,
            Some(err) => {
                log::warn!("cluster bridge: {err}; {dropped} queued events dropped; reconnecting")
            }
        }
        let delay = backoff(attempt);
        attempt = attempt.saturating_add(1);
        if rt::cancellable(rt::sleep(delay)).await.is_err() {
            return;
        }
    }
}

/// What woke the session.
enum Step {
    /// A frame on the subscribed connection.
    Frame(Result<Frame, RedisError>),
    /// An event to publish.
    Publish(Vec<u8>),
    /// Time for the health check.
    Ping,
}

/// One connected session; returns why it ended.
async fn session(app: &App, settings: &Settings, attempt: &mut u32) -> RedisError {
    match connected_session(app, settings, attempt).await {
        Ok(never) => match never {},
        Err(err) => err,
    }
}

/// Connects, subscribes, then serves until an error.
async fn connected_session(
    app: &App,
    settings: &Settings,
    attempt: &mut u32,
) -> Result<std::convert::Infallible, RedisError> {
    let channel = format!("{}:events", settings.prefix);
    let mut sub = Connection::open(&settings.url, CONNECT_LIMIT).await?;
    let mut publisher = Connection::open(&settings.url, CONNECT_LIMIT).await?;
    sub.send(&[b"SUBSCRIBE", channel.as_bytes()]).await?;
    match rt::timeout(CONNECT_LIMIT, sub.read_frame()).await {
        Ok(Ok(Frame::Array(parts))) if is_kind(&parts, b"subscribe") => {}
        Ok(Ok(other)) => return Err(RedisError::Unexpected(format!("{other:?}"))),
        Ok(Err(err)) => return Err(err),
        Err(_) => return Err(RedisError::Timeout),
    }
    let shared = app.cluster();
    shared.connected.store(true, Ordering::Release);
    *attempt = 0;
    log::info!(
        "cluster bridge: connected to {} as {}",
        settings.url.address(),
        shared.instance
    );
    let mut next_ping = Instant::now() + PING_EVERY;
    let mut heard_since_ping = true;
    loop {
        let step = {
            let mut read = pin!(sub.read_frame());
            let mut tick = pin!(rt::sleep_until(next_ping));
            poll_fn(|cx| {
                if let Poll::Ready(frame) = read.as_mut().poll(cx) {
                    return Poll::Ready(Step::Frame(frame));
                }
                if let Some(payload) = shared.poll_next(cx.waker()) {
                    return Poll::Ready(Step::Publish(payload));
                }
                if tick.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Step::Ping);
                }
                Poll::Pending
            })
            .await
        };
        match step {
            Step::Frame(frame) => {
                heard_since_ping = true;
                deliver(app, &channel, frame?);
            }
            Step::Publish(first) => {
                // Pipelined: what is queued now goes in one write, then
                // the replies are read in order.
                let mut batch = vec![first];
                while batch.len() < PUBLISH_BATCH {
                    match shared.try_next() {
                        Some(payload) => batch.push(payload),
                        None => break,
                    }
                }
                let mut bytes = Vec::new();
                for payload in &batch {
                    bytes.extend(command(&[b"PUBLISH", channel.as_bytes(), payload])?);
                }
                let sent = rt::timeout(CONNECT_LIMIT, publisher.send_raw(&bytes));
                sent.await.map_err(|_| RedisError::Timeout)??;
                for _ in &batch {
                    let reply = rt::timeout(CONNECT_LIMIT, publisher.read_frame());
                    if let Frame::Error(message) =
                        reply.await.map_err(|_| RedisError::Timeout)??
                    {
                        return Err(RedisError::Server(message));
                    }
                }
            }
            Step::Ping => {
                if !heard_since_ping {
                    return Err(RedisError::Timeout);
                }
                heard_since_ping = false;
                sub.send(&[b"PING"]).await?;
                let pong = rt::timeout(CONNECT_LIMIT, publisher.call(&[b"PING"]));
                pong.await.map_err(|_| RedisError::Timeout)??;
                next_ping = Instant::now() + PING_EVERY;
            }
        }
    }
}

/// Whether a pub/sub array starts with `kind`.
fn is_kind(parts: &[Frame], kind: &[u8]) -> bool {
    matches!(parts.first(), Some(Frame::BulkString(k)) if k.eq_ignore_ascii_case(kind))
}

/// Hands a received message to every worker of this instance.
fn deliver(app: &App, channel: &str, frame: Frame) {
    let Frame::Array(parts) = frame else {
        return;
    };
    if !is_kind(&parts, b"message") {
        return; // a PING's pong, or a subscribe confirmation
    }
    match parts.as_slice() {
        [_, Frame::BulkString(from), Frame::BulkString(payload)] if from == channel.as_bytes() => {
            match decode_event(payload) {
                Ok(event) if validate_user(event.name(), false).is_ok() => {
                    if let Err(err) = app.broadcast(event) {
                        log::warn!("cluster bridge: {err}");
                    }
                }
                Ok(_) => log::warn!("cluster bridge: {}", Refused::Malformed),
                Err(refused) => log::warn!("cluster bridge: {refused}"),
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let bytes = encode_event("i1", "my.custom.event", Some("hi"), None).unwrap();
        let event = decode_event(&bytes).unwrap();
        assert_eq!(event.name(), "my.custom.event");
        assert_eq!(event.message(), Some("hi"));
        assert_eq!(event.origin(), Some("i1"));
        assert_eq!(event.payload::<ClusterPayload>(), None);
        let bytes = encode_event("i1", "my.custom.event", None, Some(b"\0\xff")).unwrap();
        let event = decode_event(&bytes).unwrap();
        assert_eq!(event.message(), None);
        assert_eq!(
            event.payload::<ClusterPayload>().unwrap().bytes(),
            b"\0\xff"
        );
        assert_eq!(decode_event(b"+OK\r\n").err(), Some(Refused::Malformed));
        assert_eq!(
            decode_event(b"*1\r\n$1\r\na\r\n").err(),
            Some(Refused::Malformed)
        );
    }

    #[test]
    fn oversized_incoming_events_are_refused() {
        let limit = vec![b'x'; MAX_EVENT_BYTES];
        let bytes = encode_event("i1", "my.custom.event", None, Some(&limit)).unwrap();
        assert!(decode_event(&bytes).is_ok());
        let bytes = encode_event("i1", "my.custom.event", Some("m"), Some(&limit)).unwrap();
        assert_eq!(
            decode_event(&bytes).err(),
            Some(Refused::TooLarge(MAX_EVENT_BYTES + 1))
        );
        let text = "x".repeat(MAX_EVENT_BYTES + 1);
        let bytes = encode_event("i1", "my.custom.event", Some(&text), None).unwrap();
        assert_eq!(
            decode_event(&bytes).err(),
            Some(Refused::TooLarge(MAX_EVENT_BYTES + 1))
        );
    }
}
