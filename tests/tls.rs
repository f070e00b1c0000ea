//! HTTPS and WSS (feature `tls`): real handshakes on 127.0.0.1:0 with
//! certificates made here by rcgen; rustls as the client, and curl and
//! Python's `ssl` module as second implementations when installed.
#![cfg(feature = "tls")]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sanio::{App, Config, Request, Response, Server, TlsConfig};

/// A hang guard, never a measurement.
const GUARD: Duration = Duration::from_secs(60);

/// A self-signed certificate for `localhost` and 127.0.0.1.
struct Cert {
    /// PEM of the certificate.
    cert_pem: String,
    /// PEM of the key.
    key_pem: String,
    /// The certificate, for a client's trust store.
    der: CertificateDer<'static>,
}

fn make_cert() -> Cert {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("rcgen");
    Cert {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
        der: certified.cert.der().clone(),
    }
}

fn tls_of(cert: &Cert) -> TlsConfig {
    TlsConfig::from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).expect("pem")
}

/// The test app: plain, echo, big, SSE and websocket routes.
fn app() -> App {
    let app = App::new("tls");
    app.get("/", |_req: Request| async { "Hello, TLS!" })
        .unwrap();
    app.post("/echo", |req: Request| async move {
        Response::bytes(req.body().to_vec())
    })
    .unwrap();
    app.get("/big", |_req: Request| async {
        Response::bytes(big_body())
    })
    .unwrap();
    app.get("/sse", |_req: Request| async {
        let (response, mut body) = Response::stream("text/event-stream");
        sanio::spawn(async move {
            for event in ["one", "two", "three"] {
                if body.send_event(event).await.is_err() {
                    return;
                }
                sanio::sleep(Duration::from_millis(5)).await;
            }
        });
        response
    })
    .unwrap();
    #[cfg(feature = "ws")]
    app.websocket("/ws", |_req: Request, ws: sanio::WebSocket| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
    .unwrap();
    app
}

/// 1 MiB of a pattern that shows a lost or repeated byte.
fn big_body() -> Vec<u8> {
    (0..1 << 20).map(|i: u32| (i % 251) as u8).collect()
}

fn serve(tls: TlsConfig, workers: usize) -> (App, Server) {
    let app = app();
    let config = Config::default()
        .port(0)
        .workers(workers)
        .handle_signals(false)
        .graceful_timeout(Duration::from_secs(5))
        .tls(tls);
    let server = app.serve(config).expect("serve");
    (app, server)
}

fn client_config(trusted: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Connects and finishes the handshake.
fn connect(addr: SocketAddr, config: &Arc<ClientConfig>) -> io::Result<Tls> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(GUARD))?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// One response read from a stream, with what was read past it kept.
struct Reader {
    /// Bytes read and not yet used.
    pending: Vec<u8>,
}

/// A response: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Reader {
    fn new() -> Self {
        Self {
            pending: Vec::new(),
        }
    }

    fn fill(&mut self, stream: &mut impl Read) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk)? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.pending.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    fn take_until(&mut self, stream: &mut impl Read, needle: &[u8]) -> io::Result<Vec<u8>> {
        loop {
            if let Some(at) = find(&self.pending, needle) {
                let taken = self.pending[..at].to_vec();
                self.pending.drain(..at + needle.len());
                return Ok(taken);
            }
            self.fill(stream)?;
        }
    }

    fn take(&mut self, stream: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
        while self.pending.len() < len {
            self.fill(stream)?;
        }
        Ok(self.pending.drain(..len).collect())
    }

    fn reply(&mut self, stream: &mut impl Read) -> io::Result<Reply> {
        let head = String::from_utf8(self.take_until(stream, b"\r\n\r\n")?).expect("utf-8");
        let mut lines = head.split("\r\n");
        let status = lines.next().expect("status line")[9..12]
            .parse()
            .expect("status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        if reply.header("transfer-encoding") == Some("chunked") {
            loop {
                let line = String::from_utf8(self.take_until(stream, b"\r\n")?).expect("utf-8");
                let size = usize::from_str_radix(line.trim(), 16).expect("chunk size");
                let chunk = self.take(stream, size + 2)?;
                reply.body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else {
            let len = reply
                .header("content-length")
                .map_or(0, |v| v.parse().expect("length"));
            reply.body = self.take(stream, len)?;
        }
        Ok(reply)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn get(tls: &mut Tls, reader: &mut Reader, path: &str) -> Reply {
    write!(tls, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("write");
    tls.flush().expect("flush");
    reader.reply(tls).expect("reply")
}

#[test]
fn https_get_and_post_with_bodies_across_record_boundaries() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let config = client_config(&cert.der);
    let mut tls = connect(server.local_addr(), &config).expect("handshake");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let mut reader = Reader::new();

    let reply = get(&mut tls, &mut reader, "/");
    assert_eq!((reply.status, &reply.body[..]), (200, &b"Hello, TLS!"[..]));

    // A 1 MiB response spans many 16 KiB records.
    let reply = get(&mut tls, &mut reader, "/big");
    assert_eq!(reply.body.len(), 1 << 20);
    assert!(reply.body == big_body(), "the big body came back changed");

    // A 300 KiB request body, written in pieces that cut records and
    // reads at odd places.
    let body: Vec<u8> = (0..300 * 1024).map(|i: u32| (i % 253) as u8).collect();
    write!(
        tls,
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("head");
    for piece in body.chunks(7_777) {
        tls.write_all(piece).expect("piece");
        tls.flush().expect("flush");
    }
    let reply = reader.reply(&mut tls).expect("echo");
    assert_eq!(reply.status, 200);
    assert!(reply.body == body, "the echoed body came back changed");
}

/// A client that speaks only TLS 1.2.
fn tls12_client(trusted: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[test]
fn tls12_is_served_unless_the_minimum_is_tls13() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let mut tls = connect(server.local_addr(), &tls12_client(&cert.der)).expect("TLS 1.2");
    assert_eq!(
        tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(get(&mut tls, &mut Reader::new(), "/").status, 200);

    let strict = tls_of(&cert).min_version(sanio::TlsVersion::Tls13);
    let (_app, server) = serve(strict, 1);
    assert!(connect(server.local_addr(), &tls12_client(&cert.der)).is_err());
    let tls = connect(server.local_addr(), &client_config(&cert.der)).expect("TLS 1.3");
    assert_eq!(
        tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

#[test]
fn keep_alive_and_pipelining() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let mut tls = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    let mut reader = Reader::new();
    let mut batch = Vec::new();
    for i in 0..10 {
        batch.extend_from_slice(
            format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nreq-{i:02}")
                .as_bytes(),
        );
    }
    tls.write_all(&batch).expect("batch");
    tls.flush().expect("flush");
    for i in 0..10 {
        let reply = reader.reply(&mut tls).expect("reply");
        assert_eq!(reply.body, format!("req-{i:02}").into_bytes());
    }
    // The same connection goes on serving.
    for _ in 0..3 {
        assert_eq!(get(&mut tls, &mut reader, "/").status, 200);
    }
}

#[cfg(feature = "ws")]
#[test]
fn wss_echo_including_a_one_mebibyte_message() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let tls = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    let (mut ws, response) =
        tungstenite::client("wss://localhost/ws", tls).expect("websocket handshake");
    assert_eq!(response.status().as_u16(), 101);
    ws.send(tungstenite::Message::text("hello over TLS"))
        .expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        tungstenite::Message::text("hello over TLS")
    );
    let big = big_body();
    ws.send(tungstenite::Message::binary(big.clone()))
        .expect("send big");
    match ws.read().expect("big echo") {
        tungstenite::Message::Binary(echoed) => assert!(echoed[..] == big[..], "changed"),
        other => panic!("unexpected {other:?}"),
    }
    ws.close(None).expect("close");
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(err) => panic!("unclean close: {err}"),
        }
    }
}

#[test]
fn server_sent_events_over_tls() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let mut tls = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    let mut reader = Reader::new();
    let reply = get(&mut tls, &mut reader, "/sse");
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        String::from_utf8(reply.body).expect("utf-8"),
        "data: one\n\ndata: two\n\ndata: three\n\n"
    );
}

#[test]
fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let cert = make_cert();
    let tls = tls_of(&cert).handshake_timeout(Duration::from_millis(200));
    let (_app, server) = serve(tls, 1);
    let mut silent = TcpStream::connect(server.local_addr()).expect("connect");
    silent.set_read_timeout(Some(GUARD)).expect("timeout");
    let mut buf = [0u8; 16];
    assert_eq!(silent.read(&mut buf).expect("a clean close"), 0);
    // The server goes on.
    let mut ok = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    assert_eq!(get(&mut ok, &mut Reader::new(), "/").status, 200);
}

#[test]
fn plain_http_to_the_tls_port_gets_a_clean_close() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    for _ in 0..3 {
        let mut plain = TcpStream::connect(server.local_addr()).expect("connect");
        plain.set_read_timeout(Some(GUARD)).expect("timeout");
        plain
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("write");
        let mut buf = Vec::new();
        // A FIN (Ok, no bytes), never a reset, and no TLS alert as garbage.
        plain
            .read_to_end(&mut buf)
            .expect("a clean close, not a reset");
        assert!(buf.is_empty(), "got {buf:?}");
    }
    let mut ok = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    assert_eq!(get(&mut ok, &mut Reader::new(), "/").status, 200);
}

#[test]
fn a_client_that_resets_mid_handshake_leaves_the_server_serving() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let config = client_config(&cert.der);
    for cut in [1, 5, 60] {
        let tcp = TcpStream::connect(server.local_addr()).expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut conn = ClientConnection::new(Arc::clone(&config), name).expect("client");
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).expect("client hello");
        let mut tcp_w = &tcp;
        tcp_w
            .write_all(&hello[..cut.min(hello.len())])
            .expect("part of the hello");
        socket2::SockRef::from(&tcp)
            .set_linger(Some(Duration::ZERO))
            .expect("linger");
        drop(tcp); // a reset
    }
    let mut ok = connect(server.local_addr(), &config).expect("handshake");
    assert_eq!(get(&mut ok, &mut Reader::new(), "/").status, 200);
}

#[test]
fn a_wrong_certificate_fails_the_handshake_and_the_server_goes_on() {
    let cert = make_cert();
    let other = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    assert!(connect(server.local_addr(), &client_config(&other.der)).is_err());
    let mut ok = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    assert_eq!(get(&mut ok, &mut Reader::new(), "/").status, 200);
}

#[test]
fn reload_serves_new_connections_with_the_new_certificate_and_keeps_old_ones() {
    let dir = std::env::temp_dir().join(format!("sanio-tls-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (old, new) = (make_cert(), make_cert());
    std::fs::write(&cert_path, &old.cert_pem).expect("cert");
    std::fs::write(&key_path, &old.key_pem).expect("key");
    let tls = TlsConfig::from_pem_files(&cert_path, &key_path).expect("files");
    let (app, server) = serve(tls, 2);
    let (trust_old, trust_new) = (client_config(&old.der), client_config(&new.der));

    let mut kept = connect(server.local_addr(), &trust_old).expect("old handshake");
    let mut kept_reader = Reader::new();
    assert_eq!(get(&mut kept, &mut kept_reader, "/").status, 200);

    std::fs::write(&cert_path, &new.cert_pem).expect("cert");
    std::fs::write(&key_path, &new.key_pem).expect("key");
    app.reload_tls().expect("reload");

    // New connections (on either worker) see the new certificate.
    for _ in 0..4 {
        let mut fresh = connect(server.local_addr(), &trust_new).expect("new handshake");
        let seen = fresh.conn.peer_certificates().expect("certs")[0].clone();
        assert_eq!(seen, new.der);
        assert_eq!(get(&mut fresh, &mut Reader::new(), "/").status, 200);
        assert!(connect(server.local_addr(), &trust_old).is_err());
    }
    // The connection made before goes on with its certificate.
    assert_eq!(kept.conn.peer_certificates().expect("certs")[0], old.der);
    assert_eq!(get(&mut kept, &mut kept_reader, "/").status, 200);

    // A broken file is refused and the current certificate stays.
    std::fs::write(&key_path, "not a key").expect("key");
    assert!(app.reload_tls().is_err());
    let mut still = connect(server.local_addr(), &trust_new).expect("handshake");
    assert_eq!(get(&mut still, &mut Reader::new(), "/").status, 200);

    // Replacing from bytes works too.
    app.replace_tls(&tls_of(&old)).expect("replace");
    connect(server.local_addr(), &trust_old).expect("old again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn graceful_stop_sends_close_notify() {
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let mut tls = connect(server.local_addr(), &client_config(&cert.der)).expect("handshake");
    let mut reader = Reader::new();
    assert_eq!(get(&mut tls, &mut reader, "/").status, 200);
    server.stop();
    // rustls reports a close without close_notify as UnexpectedEof.
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest)
        .expect("close_notify, not a truncation");
    assert!(rest.is_empty());
    server.join().expect("join");
}

#[test]
fn a_thousand_tls_connections_on_two_workers() {
    const CONNECTIONS: usize = 1000;
    const CLIENT_THREADS: usize = 4;
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 2);
    let addr = server.local_addr();
    let config = client_config(&cert.der);
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|_| {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let mut open: Vec<(Tls, Reader)> = (0..CONNECTIONS / CLIENT_THREADS)
                    .map(|_| (connect(addr, &config).expect("handshake"), Reader::new()))
                    .collect();
                // All are open at once; each still answers.
                open.iter_mut()
                    .map(|(tls, reader)| get(tls, reader, "/").status)
                    .filter(|&status| status == 200)
                    .count()
            })
        })
        .collect();
    let answered: usize = threads.into_iter().map(|t| t.join().expect("client")).sum();
    assert_eq!(answered, CONNECTIONS);
}

/// Writes the certificate to a file for an outside client.
fn cert_file(cert: &Cert, tag: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sanio-tls-{tag}-{}.pem", std::process::id()));
    std::fs::write(&path, &cert.cert_pem).expect("write cert");
    path
}

#[test]
fn curl_speaks_https_to_sanio() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("*** SKIPPED: curl is not installed ***");
        return;
    }
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let ca = cert_file(&cert, "curl");
    let url = format!("https://localhost:{}/", server.local_addr().port());
    let output = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "60", "--http1.1", "--cacert"])
        .arg(&ca)
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", server.local_addr().port()),
        ])
        .args([url.as_str(), url.as_str()]) // two requests, one connection
        .output()
        .expect("curl");
    let _ = std::fs::remove_file(&ca);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Hello, TLS!Hello, TLS!"
    );
}

#[test]
fn python_ssl_speaks_https_to_sanio() {
    let has_python = std::process::Command::new("python3")
        .args(["-c", "import ssl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        eprintln!("*** SKIPPED: python3 with the ssl module is not installed ***");
        return;
    }
    let cert = make_cert();
    let (_app, server) = serve(tls_of(&cert), 1);
    let ca = cert_file(&cert, "python");
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=60) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        print(tls.version(), data.split(b"\r\n\r\n", 1)[1].decode())
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&ca)
        .arg(server.local_addr().port().to_string())
        .output()
        .expect("python3");
    let _ = std::fs::remove_file(&ca);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim(), "TLSv1.3 hello");
}
