//! Streaming routes: the handler reads the body while it arrives, in
//! chunks, never whole; limits still apply. Real sockets, raw bytes.

#![cfg(feature = "multipart")]

mod support;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sanio::http::FormLimits;
use sanio::{App, Blueprint, Config, HttpError, Limits, Method, Request, StatusCode};
use support::client::{connect, read_reply};

/// Bytes the handler has seen so far, and its largest chunk.
#[derive(Default)]
struct Seen {
    bytes: AtomicUsize,
    largest: AtomicUsize,
}

fn serve(seen: &Arc<Seen>) -> sanio::Server {
    let app = App::new("streaming");
    let counter = Arc::clone(seen);
    app.route_streaming(Method::Post, "/count", move |mut req: Request| {
        let seen = Arc::clone(&counter);
        async move {
            let mut body = req.body_stream().expect("a streaming route");
            assert!(req.body().is_empty());
            let mut total = 0;
            while let Some(chunk) = body.chunk().await? {
                total += chunk.len();
                seen.bytes.fetch_add(chunk.len(), Ordering::SeqCst);
                seen.largest.fetch_max(chunk.len(), Ordering::SeqCst);
            }
            Ok::<_, HttpError>(format!("total={total}"))
        }
    })
    .unwrap();
    app.route_streaming(Method::Post, "/early", |_req: Request| async {
        "not reading"
    })
    .unwrap();
    app.route_streaming(Method::Post, "/upload", |mut req: Request| async move {
        let limits = FormLimits::default()
            .max_file_bytes(32 << 20)
            .max_total_bytes(32 << 20);
        let mut form = req.form_stream(limits)?;
        let mut out = Vec::new();
        while let Some(mut part) = form.next_part().await? {
            if part.filename().is_none() {
                let name = part.name().to_owned();
                out.push(format!("{name}={}", part.text().await?));
                continue;
            }
            let (mut size, mut sum) = (0usize, 0u64);
            while let Some(chunk) = part.chunk().await? {
                size += chunk.len();
                sum += chunk.iter().map(|b| u64::from(*b)).sum::<u64>();
            }
            out.push(format!(
                "{}:{}={size}/{sum}",
                part.name(),
                part.filename().unwrap_or("")
            ));
        }
        Ok::<_, HttpError>(out.join(","))
    })
    .unwrap();
    app.post("/buffered", |mut req: Request| async move {
        req.form_stream(FormLimits::default()).map(|_| "streamed?")
    })
    .unwrap();
    let mut files = Blueprint::new("files").url_prefix("/files");
    files.on_request(|req: Request| async move {
        match req.header("authorization") {
            Some(_) => Ok(req),
            None => Err(HttpError::new(StatusCode::UNAUTHORIZED, "who?")),
        }
    });
    files.route_streaming(Method::Put, "/<name:str>", |mut req: Request| async move {
        let name: String = req.param("name")?;
        let mut body = req.body_stream().expect("a streaming route");
        let mut size = 0;
        while let Some(chunk) = body.chunk().await? {
            size += chunk.len();
        }
        Ok::<_, HttpError>(format!("{name}={size}"))
    });
    app.blueprint(files).unwrap();
    app.get("/", |_req: Request| async { "root" }).unwrap();
    let limits = Limits::default().max_body_bytes(16 << 20);
    app.serve(
        Config::default()
            .port(0)
            .limits(limits)
            .graceful_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

#[test]
fn the_handler_reads_the_body_while_it_arrives() {
    let seen = Arc::new(Seen::default());
    let server = serve(&seen);
    let mut stream = connect(server.local_addr());
    let total = 8 << 20;
    let head = format!("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: {total}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let half = vec![7u8; total / 2];
    stream.write_all(&half).unwrap();
    // The handler sees bytes before the client has sent them all.
    for _ in 0..3000 {
        if seen.bytes.load(Ordering::SeqCst) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let early = seen.bytes.load(Ordering::SeqCst);
    assert!(
        early > 0 && early <= total / 2,
        "seen {early} of {}",
        total / 2
    );
    stream.write_all(&half).unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(reply.text(), format!("total={total}"));
    // Chunks are read-buffer sized, never the whole body.
    let largest = seen.largest.load(Ordering::SeqCst);
    assert!(
        largest > 0 && largest <= 64 * 1024,
        "largest chunk {largest}"
    );
    // Keep-alive goes on after a body read to its end.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().text(), "root");

    // Chunked framing, and Expect: 100-continue.
    let mut stream = connect(server.local_addr());
    stream
        .write_all(
            b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let mut continued = [0u8; 25];
    stream.read_exact(&mut continued).unwrap();
    assert_eq!(&continued, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
        .write_all(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().text(), "total=11");
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_large_multipart_upload_is_read_part_by_part() {
    let seen = Arc::new(Seen::default());
    let server = serve(&seen);
    let file: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let sum: u64 = file.iter().map(|b| u64::from(*b)).sum();
    let mut body = b"--BND\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nbig one\r\n\
        --BND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n"
        .to_vec();
    body.extend_from_slice(&file);
    body.extend_from_slice(b"\r\n--BND--\r\n");
    let mut stream = connect(server.local_addr());
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=BND\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.text(),
        format!("note=big one,file:big.bin={}/{sum}", file.len())
    );
    server.stop();
    server.join().unwrap();
}

#[test]
fn limits_still_apply_and_unread_bodies_close_the_connection() {
    let seen = Arc::new(Seen::default());
    let server = serve(&seen);
    let addr = server.local_addr();

    // Over the body limit by Content-Length: refused before the handler.
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 413);

    // Over the limit while chunked: the handler learns it as it reads.
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let mut refused = None;
    for _ in 0..20 {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        if stream.write_all(&framed).is_err() {
            break;
        }
    }
    if let Some(reply) = read_reply(&mut stream) {
        refused = Some(reply);
    }
    let refused = refused.expect("an answer");
    assert_eq!(refused.status, 413);
    assert!(refused.text().contains("request body too large"));
    assert!(seen.bytes.load(Ordering::SeqCst) <= 16 << 20);

    // Broken chunked framing mid-body: a 400 from the handler's error.
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 400);

    // A handler that answers without reading: the connection closes after.
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\npartial")
        .unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(reply.text(), "not reading");
    assert_eq!(reply.header("connection"), Some("close"));

    // form_stream needs a streaming route and a multipart body.
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /buffered HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 500);
    let mut stream = connect(addr);
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 415);
    server.stop();
    server.join().unwrap();
}

#[test]
fn blueprints_stream_too_after_their_middleware() {
    let seen = Arc::new(Seen::default());
    let server = serve(&seen);
    let addr = server.local_addr();
    let mut stream = connect(addr);
    stream
        .write_all(b"PUT /files/a.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    let refused = read_reply(&mut stream).unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("connection"),
        Some("close"),
        "the body was not read"
    );
    let mut stream = connect(addr);
    stream
        .write_all(
            b"PUT /files/a.bin HTTP/1.1\r\nHost: t\r\nAuthorization: x\r\nContent-Length: 5\r\n\r\nhello",
        )
        .unwrap();
    let stored = read_reply(&mut stream).unwrap();
    assert_eq!((stored.status, stored.text()), (200, "a.bin=5".into()));
    server.stop();
    server.join().unwrap();
}
