//! Forms, uploads and cookies over real sockets, hostile bodies included.

#![cfg(feature = "json")]

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use sanio::http::{Cookie, FormLimits, SameSite};
use sanio::{App, Config, HttpError, Limits, Request, Response};
use serde_json::{json, Value};
use support::client::{connect, read_reply, Reply};

/// An app echoing forms as JSON, with small limits on `/small`.
fn serve() -> sanio::Server {
    let app = App::new("forms");
    app.post("/form", |req: Request| async move {
        let form = req.form()?;
        Ok::<_, HttpError>(Response::json(&describe(&form)))
    })
    .unwrap();
    app.post("/small", |req: Request| async move {
        let limits = FormLimits::default()
            .max_parts(3)
            .max_field_bytes(16)
            .max_file_bytes(64)
            .max_total_bytes(4096);
        let form = req.form_with(&limits)?;
        Ok::<_, HttpError>(Response::json(&describe(&form)))
    })
    .unwrap();
    app.get("/cookies", |req: Request| async move {
        let seen = req.cookie("sid").unwrap_or_default();
        let set = Cookie::new("sid", "a b;c")?
            .path("/")
            .max_age(Duration::from_secs(60))
            .http_only(true)
            .same_site(SameSite::Strict);
        let gone = Cookie::removal("old")?;
        Ok::<_, sanio::http::CookieError>(
            Response::text(format!("sid={seen} all={:?}", req.cookies()))
                .with_cookie(&set)
                .with_cookie(&gone),
        )
    })
    .unwrap();
    let limits = Limits::default().max_body_bytes(64 * 1024);
    app.serve(
        Config::default()
            .port(0)
            .limits(limits)
            .graceful_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

/// A form as JSON: fields and files (sizes, not bytes).
fn describe(form: &sanio::Form) -> Value {
    json!({
        "fields": form.fields(),
        "files": form.files().iter().map(|f| json!({
            "field": f.field,
            "filename": f.filename,
            "content_type": f.content_type,
            "size": f.data.len(),
            "text": String::from_utf8_lossy(&f.data),
        })).collect::<Vec<_>>(),
    })
}

/// POSTs `body` with `content_type`.
fn post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> Reply {
    let mut stream = connect(addr);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_reply(&mut stream).expect("a reply")
}

/// The JSON of a reply.
fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("JSON")
}

/// A multipart body with boundary `b0undary`.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, data) in parts {
        out.extend_from_slice(b"--b0undary\r\n");
        let disposition = match filename {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b0undary--\r\n");
    out
}

const MULTIPART: &str = "multipart/form-data; boundary=b0undary";

#[test]
fn urlencoded_and_multipart_forms_parse() {
    let server = serve();
    let addr = server.local_addr();
    let url = post(
        addr,
        "/form",
        "application/x-www-form-urlencoded",
        b"name=Ada+Lovelace&lang=rust&lang=py",
    );
    assert_eq!(url.status, 200);
    assert_eq!(
        json_of(&url)["fields"],
        json!([["name", "Ada Lovelace"], ["lang", "rust"], ["lang", "py"]])
    );
    let body = multipart(&[
        ("title", None, b"hello"),
        ("upload", Some("notes.txt"), b"line one\r\nline two"),
    ]);
    let multi = post(addr, "/form", MULTIPART, &body);
    assert_eq!(multi.status, 200, "{}", multi.text());
    let got = json_of(&multi);
    assert_eq!(got["fields"], json!([["title", "hello"]]));
    assert_eq!(got["files"][0]["filename"], "notes.txt");
    assert_eq!(got["files"][0]["size"], 18);
    assert_eq!(got["files"][0]["text"], "line one\r\nline two");
    assert_eq!(got["files"][0]["content_type"], "application/octet-stream");
    server.stop();
    server.join().unwrap();
}

#[test]
fn hostile_forms_get_413_400_415_with_clear_messages() {
    let server = serve();
    let addr = server.local_addr();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "/small",
            MULTIPART,
            multipart(&[
                ("a", None, b"1"),
                ("b", None, b"2"),
                ("c", None, b"3"),
                ("d", None, b"4"),
            ]),
            413,
            "more than 3 parts",
        ),
        (
            "/small",
            MULTIPART,
            multipart(&[("bio", None, &[b'x'; 17])]),
            413,
            "field \"bio\" is larger than 16 bytes",
        ),
        (
            "/small",
            MULTIPART,
            multipart(&[("up", Some("big.bin"), &[0u8; 65])]),
            413,
            "file \"up\" is larger than 64 bytes",
        ),
        (
            "/small",
            MULTIPART,
            multipart(&[("up", Some("big.bin"), &[0u8; 5000])]),
            413,
            "larger than",
        ),
        (
            "/small",
            "application/x-www-form-urlencoded",
            b"a=1&b=2&c=3&d=4".to_vec(),
            413,
            "more than 3 parts",
        ),
        (
            "/form",
            MULTIPART,
            b"--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end".to_vec(),
            400,
            "malformed form",
        ),
        (
            "/form",
            "multipart/form-data",
            multipart(&[("a", None, b"1")]),
            400,
            "malformed form",
        ),
        (
            "/form",
            "application/json",
            b"{}".to_vec(),
            415,
            "expected a form",
        ),
    ];
    for (path, content_type, body, status, message) in cases {
        let reply = post(addr, path, content_type, &body);
        assert_eq!(reply.status, status, "{message}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let error = json_of(&reply)["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(message), "{error:?} should say {message:?}");
    }
    // The request body limit applies before any form limit.
    let huge = multipart(&[("up", Some("x"), &vec![0u8; 70 * 1024])]);
    assert_eq!(post(addr, "/form", MULTIPART, &huge).status, 413);
    server.stop();
    server.join().unwrap();
}

#[test]
fn cookies_are_read_set_and_deleted() {
    let server = serve();
    let addr = server.local_addr();
    let mut stream = connect(addr);
    stream
        .write_all(
            b"GET /cookies HTTP/1.1\r\nHost: t\r\nCookie: sid=s%201; theme=\"dark\"\r\nCookie: x=1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(
        reply.text(),
        "sid=s 1 all=[(\"sid\", \"s 1\"), (\"theme\", \"dark\"), (\"x\", \"1\")]"
    );
    let set: Vec<&str> = reply
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        set,
        [
            "sid=a%20b%3Bc; Max-Age=60; Path=/; HttpOnly; SameSite=Strict",
            "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ]
    );
    server.stop();
    server.join().unwrap();
}
