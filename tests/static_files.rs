//! Static files over real sockets: headers, 304, ranges, HEAD, index,
//! large files, and every way out of the directory we know of.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sanio::{App, Config};
use support::client::{connect, get, read_reply, Reply};

/// The text of the file outside the served directory.
const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-ROOT";

/// A fresh directory tree for one test:
///
/// ```text
/// base/secret.txt                 (outside)
/// base/www/index.html, a.txt, sub/b.css, big.bin, "sp ace.txt"
/// base/www/link -> ../secret.txt  (leads out)
/// base/www/outdir -> ..           (leads out)
/// base/www/inlink -> a.txt        (stays in)
/// ```
fn tree() -> (PathBuf, PathBuf) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir().join(format!(
        "sanio-static-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let www = base.join("www");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    std::fs::write(www.join("index.html"), "<h1>index</h1>").unwrap();
    std::fs::write(www.join("a.txt"), "hello, static world").unwrap();
    std::fs::write(www.join("sub/b.css"), "body{}").unwrap();
    std::fs::write(www.join("sp ace.txt"), "spaced").unwrap();
    let big: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(www.join("big.bin"), big).unwrap();
    std::os::unix::fs::symlink("../secret.txt", www.join("link")).unwrap();
    std::os::unix::fs::symlink("..", www.join("outdir")).unwrap();
    std::os::unix::fs::symlink("a.txt", www.join("inlink")).unwrap();
    (base, www)
}

/// Serves `www` at `/static`.
fn serve(www: &PathBuf) -> sanio::Server {
    let app = App::new("static");
    app.static_files("/static", www).unwrap();
    app.get("/", |_req: sanio::Request| async { "root" })
        .unwrap();
    app.serve(
        Config::default()
            .port(0)
            .graceful_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

/// Sends raw bytes and reads one reply.
fn raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(bytes).unwrap();
    read_reply(&mut stream).expect("a reply")
}

/// `GET target` with extra header lines.
fn get_with(addr: SocketAddr, target: &str, headers: &str) -> Reply {
    raw(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n")
            .as_bytes(),
    )
}

#[test]
fn no_request_reads_outside_the_directory() {
    let (base, www) = tree();
    let server = serve(&www);
    let addr = server.local_addr();
    let attempts: &[&[u8]] = &[
        b"/static/../secret.txt",
        b"/static/sub/../../secret.txt",
        b"/static/%2e%2e/secret.txt",
        b"/static/%2E%2E/secret.txt",
        b"/static/.%2e/secret.txt",
        b"/static/..%2fsecret.txt",
        b"/static/..%2Fsecret.txt",
        b"/static/sub%2f..%2f..%2fsecret.txt",
        b"/static/%252e%252e/secret.txt",
        b"/static/%252e%252e%252fsecret.txt",
        b"/static/..%5csecret.txt",
        b"/static/..\\secret.txt",
        b"/static/a.txt%00.html",
        b"/static/%00",
        b"/static/a.txt\x00",
        b"/static//etc/passwd",
        b"/static/%2fetc%2fpasswd",
        b"/static/link",
        b"/static/outdir/secret.txt",
        b"http://t/static/../secret.txt",
        b"/static/./a.txt",
        b"/st%61tic/a.txt",
    ];
    for target in attempts {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let reply = raw(addr, &request);
        let shown = String::from_utf8_lossy(target);
        assert!(
            reply.status == 404 || reply.status == 400,
            "{shown}: got {}",
            reply.status
        );
        assert!(!reply.text().contains(SECRET), "{shown} leaked the file");
    }
    // The same file is there, and reachable by name where it is allowed.
    assert_eq!(get(addr, "/static/a.txt").status, 200);
    assert_eq!(get(addr, "/static/inlink").text(), "hello, static world");
    server.stop();
    server.join().unwrap();
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn files_come_with_type_validators_and_conditionals() {
    let (base, www) = tree();
    let server = serve(&www);
    let addr = server.local_addr();

    let a = get(addr, "/static/a.txt");
    assert_eq!(a.status, 200);
    assert_eq!(a.text(), "hello, static world");
    assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(a.header("content-length"), Some("19"));
    assert_eq!(a.header("accept-ranges"), Some("bytes"));
    let etag = a.header("etag").expect("an etag").to_owned();
    let modified = a.header("last-modified").expect("a date").to_owned();
    assert_eq!(
        get(addr, "/static/sub/b.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(get(addr, "/static/sp%20ace.txt").text(), "spaced");

    let cached = get_with(addr, "/static/a.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    let by_date = get_with(
        addr,
        "/static/a.txt",
        &format!("If-Modified-Since: {modified}\r\n"),
    );
    assert_eq!(by_date.status, 304);
    let stale = get_with(addr, "/static/a.txt", "If-None-Match: \"nope\"\r\n");
    assert_eq!(stale.status, 200);
    server.stop();
    server.join().unwrap();
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn single_ranges_are_206_or_416() {
    let (base, www) = tree();
    let server = serve(&www);
    let addr = server.local_addr();
    let part = get_with(addr, "/static/a.txt", "Range: bytes=7-12\r\n");
    assert_eq!(part.status, 206);
    assert_eq!(part.text(), "static");
    assert_eq!(part.header("content-range"), Some("bytes 7-12/19"));
    let tail = get_with(addr, "/static/a.txt", "Range: bytes=-5\r\n");
    assert_eq!((tail.status, tail.text()), (206, "world".into()));
    let open = get_with(addr, "/static/big.bin", "Range: bytes=5242000-\r\n");
    assert_eq!(open.status, 206);
    assert_eq!(open.body.len(), 5 * 1024 * 1024 - 5_242_000);
    assert_eq!(open.body[0], (5_242_000u32 % 251) as u8);
    let past = get_with(addr, "/static/a.txt", "Range: bytes=19-\r\n");
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */19"));
    let several = get_with(addr, "/static/a.txt", "Range: bytes=0-1,4-5\r\n");
    assert_eq!(several.status, 200, "several ranges: the whole file");
    let etag = get(addr, "/static/a.txt")
        .header("etag")
        .unwrap()
        .to_owned();
    let if_range = get_with(
        addr,
        "/static/a.txt",
        &format!("Range: bytes=0-4\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!((if_range.status, if_range.text()), (206, "hello".into()));
    let changed = get_with(
        addr,
        "/static/a.txt",
        "Range: bytes=0-4\r\nIf-Range: \"old\"\r\n",
    );
    assert_eq!(changed.status, 200);
    server.stop();
    server.join().unwrap();
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn head_index_redirects_and_large_files() {
    let (base, www) = tree();
    let server = serve(&www);
    let addr = server.local_addr();

    // HEAD: the GET's headers, no body (read to EOF: nothing after the head).
    let mut stream = connect(addr);
    stream
        .write_all(b"HEAD /static/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("content-length: 5242880\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "no body after a HEAD");

    let index = get(addr, "/static/");
    assert_eq!(index.text(), "<h1>index</h1>");
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(get(addr, "/static/index.html").text(), "<h1>index</h1>");
    let bare = get(addr, "/static");
    assert_eq!(bare.status, 301);
    assert_eq!(bare.header("location"), Some("/static/"));
    let dir = get(addr, "/static/sub?x=1");
    assert_eq!(dir.status, 301);
    assert_eq!(dir.header("location"), Some("/static/sub/?x=1"));
    assert_eq!(
        get(addr, "/static/sub/").status,
        404,
        "no index, no listing"
    );
    assert_eq!(get(addr, "/static/a.txt/").status, 404);
    assert_eq!(get(addr, "/static/missing.txt").status, 404);

    // A large file arrives whole, with its length (streamed, not chunked).
    let big = get(addr, "/static/big.bin");
    assert_eq!(big.status, 200);
    assert_eq!(big.header("content-length"), Some("5242880"));
    assert_eq!(big.header("transfer-encoding"), None);
    assert_eq!(big.body.len(), 5 * 1024 * 1024);
    assert!(big
        .body
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i % 251) as u8));

    // Keep-alive goes on after a streamed file.
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /static/a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_reply(&mut stream).unwrap().text(),
        "hello, static world"
    );
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().text(), "root");
    server.stop();
    server.join().unwrap();
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_client_that_leaves_mid_file_frees_the_worker() {
    let (base, www) = tree();
    let server = serve(&www);
    let addr = server.local_addr();
    for _ in 0..5 {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 1024];
        assert!(stream.read(&mut first).unwrap() > 0);
        drop(stream);
    }
    assert_eq!(get(addr, "/static/a.txt").status, 200);
    server.stop();
    server.join().unwrap();
    std::fs::remove_dir_all(base).unwrap();
}
