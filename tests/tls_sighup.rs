//! SIGHUP reloads the certificate files of an app that `run`s with signal
//! handling on. Its own test binary: signals are process-wide.
#![cfg(feature = "tls")]

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sanio::{App, Config, Request, TlsConfig};

/// A hang guard, never a measurement.
const GUARD: Duration = Duration::from_secs(60);

fn make_cert() -> (String, String, CertificateDer<'static>) {
    let names = vec!["localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("rcgen");
    (
        certified.cert.pem(),
        certified.signing_key.serialize_pem(),
        certified.cert.der().clone(),
    )
}

/// The certificate the server shows to a client trusting `trusted`, or
/// `None` if the handshake fails.
fn seen(port: u16, trusted: &CertificateDer<'static>) -> Option<CertificateDer<'static>> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
    tcp.set_read_timeout(Some(GUARD)).ok()?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(Arc::new(config), name).expect("client");
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).ok()?;
    }
    Some(tls.conn.peer_certificates()?[0].clone())
}

/// Retries `check` until it holds or the guard runs out.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < GUARD {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn sighup_reloads_the_certificate_files() {
    let dir = std::env::temp_dir().join(format!("sanio-tls-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (old_cert, old_key, old_der) = make_cert();
    let (new_cert, new_key, new_der) = make_cert();
    std::fs::write(&cert_path, old_cert).expect("cert");
    std::fs::write(&key_path, old_key).expect("key");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let app = App::new("sighup");
    app.get("/", |_req: Request| async { "hi" }).expect("route");
    let tls = TlsConfig::from_pem_files(&cert_path, &key_path).expect("files");
    let config = Config::default().port(port).handle_signals(true).tls(tls);
    let runner = {
        let app = app.clone();
        std::thread::spawn(move || app.run(config))
    };
    assert!(eventually(
        || seen(port, &old_der).as_ref() == Some(&old_der)
    ));

    std::fs::write(&cert_path, new_cert).expect("cert");
    std::fs::write(&key_path, new_key).expect("key");
    signal_hook::low_level::raise(signal_hook::consts::SIGHUP).expect("raise");
    assert!(eventually(
        || seen(port, &new_der).as_ref() == Some(&new_der)
    ));

    app.stop();
    runner.join().expect("runner").expect("run");
    let _ = std::fs::remove_dir_all(&dir);
}
