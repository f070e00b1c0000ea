//! Reads cases (one hex-encoded byte stream per line) on stdin and prints,
//! per case, one line: `end` (clean, incomplete, rejected) and each request
//! hyper's HTTP/1 server handed its service, as
//! `method<TAB>target<TAB>version<TAB>body-hex` items separated by `|`.

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::BufRead;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
        .collect()
}

async fn one(case: Vec<u8>) -> String {
    let (mut client, server) = tokio::io::duplex(4 << 20);
    let _ = client.write_all(&case).await;
    let _ = client.shutdown().await;
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let record = Rc::clone(&seen);
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let record = Rc::clone(&record);
        async move {
            let method = req.method().to_string();
            let target = req.uri().to_string();
            let version = format!("{:?}", req.version());
            let body = match req.into_body().collect().await {
                Ok(body) => hex(&body.to_bytes()),
                Err(_) => "ERR".to_owned(),
            };
            record
                .borrow_mut()
                .push(format!("{method}\t{target}\t{version}\t{body}"));
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .half_close(true)
        .serve_connection(TokioIo::new(server), service);
    let end = match tokio::time::timeout(Duration::from_secs(2), conn).await {
        Ok(Ok(())) => "clean",
        Ok(Err(err)) if err.is_incomplete_message() => "incomplete",
        Ok(Err(err)) if err.is_parse() || err.is_parse_too_large() => "rejected",
        Ok(Err(_)) => "incomplete",
        Err(_) => "timeout",
    };
    let requests = seen.borrow().join("|");
    format!("{end}|{requests}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        println!("{}", one(unhex(line.trim())).await);
    }
}
