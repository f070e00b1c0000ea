//! TLS load for the HTTPS rows, with rustls (ring) as the client.
//!
//! ```text
//! tls_load handshakes HOST:PORT CA.pem SECONDS [CONNS]
//!     CONNS (default 8) threads each loop: connect, full handshake (no
//!     session resumption), `GET /` with `Connection: close`, read to the
//!     close. Prints `handshakes/s N total M`.
//! tls_load idle HOST:PORT CA.pem N
//!     Opens N TLS keep-alive connections, each answered once, prints
//!     `ready N`, and holds them idle until stdin closes.
//! ```

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn config(ca: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(cert.expect("CA PEM")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn connect(addr: &str, config: &Arc<ClientConfig>) -> io::Result<Tls> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    Ok(StreamOwned::new(conn, tcp))
}

/// Reads one response with a `content-length` body.
fn read_response(s: &mut Tls) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        if !head.starts_with("http/1.1 200") {
            return Err(io::Error::other(format!("unexpected response: {head}")));
        }
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return Ok(());
        }
    }
}

fn handshakes(addr: String, config: Arc<ClientConfig>, seconds: u64, conns: usize) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, config, done, stop) = (
                addr.clone(),
                Arc::clone(&config),
                Arc::clone(&done),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut tls = connect(&addr, &config).expect("connect");
                    tls.write_all(
                        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )
                    .expect("request");
                    read_response(&mut tls).expect("response");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let total = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    for t in threads {
        let _ = t.join();
    }
    println!("handshakes/s {:.0} total {total}", total as f64 / elapsed);
}

fn idle(addr: String, config: Arc<ClientConfig>, n: usize) {
    let mut open = Vec::with_capacity(n);
    for i in 0..n {
        let mut tls = match connect(&addr, &config) {
            Ok(tls) => tls,
            Err(e) => {
                eprintln!("tls_load: connection {i}: {e}");
                std::process::exit(1);
            }
        };
        let answered = tls
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .and_then(|()| read_response(&mut tls));
        if let Err(e) = answered {
            eprintln!("tls_load: connection {i}: {e}");
            std::process::exit(1);
        }
        open.push(tls);
    }
    println!("ready {}", open.len());
    let _ = io::stdout().flush();
    let mut line = String::new();
    while io::stdin().lock().read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: tls_load handshakes|idle HOST:PORT CA.pem SECONDS|N [CONNS]";
    let (mode, addr, ca) = match (args.get(1), args.get(2), args.get(3)) {
        (Some(m), Some(a), Some(c)) => (m.as_str(), a.clone(), c.as_str()),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let number: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);
    let config = config(ca);
    match mode {
        "handshakes" => {
            let conns = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(8);
            handshakes(addr, config, number, conns);
        }
        "idle" => idle(addr, config, number as usize),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
