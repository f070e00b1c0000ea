//! Async TCP over real sockets on 127.0.0.1 (port 0): echo at scale, EOF,
//! errors, backpressure, and accepting while out of descriptors.

mod support;

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::Command;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use sanio::net::{ListenOptions, TcpListener, TcpStream};
use sanio::Runtime;
use support::rt::{
    nofile_limit, raise_nofile_limit, run, run_on, set_nofile_soft_limit, thread_cpu_time,
    yield_times,
};

/// Echoes everything it reads until the peer closes its side.
async fn echo(stream: TcpStream) -> io::Result<usize> {
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// An echo server on its own loop in its own thread.
struct EchoServer {
    addr: SocketAddr,
    stop: futures::channel::oneshot::Sender<usize>,
    thread: thread::JoinHandle<(usize, usize)>,
}

impl EchoServer {
    fn start() -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = futures::channel::oneshot::channel::<usize>();
        let thread = thread::spawn(move || {
            let rt = Runtime::new().unwrap();
            run_on(&rt, async move {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let served = Rc::new(Cell::new(0));
                let acceptor = sanio::spawn({
                    let served = Rc::clone(&served);
                    async move {
                        loop {
                            let (stream, _) = listener.accept().await.unwrap();
                            let served = Rc::clone(&served);
                            sanio::spawn(async move {
                                echo(stream).await.unwrap();
                                served.set(served.get() + 1);
                            });
                        }
                    }
                });
                // The client says how many connections to expect.
                let expected = stop_rx.await.unwrap();
                while served.get() < expected {
                    sanio::sleep(Duration::from_millis(1)).await;
                }
                acceptor.cancel();
                assert!(acceptor.await.unwrap_err().is_cancelled());
                (served.get(), sanio::rt::stats().unwrap().io_registrations)
            })
        });
        let addr = addr_rx.recv().unwrap();
        Self { addr, stop, thread }
    }

    /// Waits for `expected` connections to have ended, then stops accepting;
    /// returns how many were served and how many sockets the server loop
    /// still holds.
    fn finish(self, expected: usize) -> (usize, usize) {
        self.stop.send(expected).unwrap();
        self.thread.join().unwrap()
    }
}

#[test]
fn echo_with_a_thousand_concurrent_clients() {
    const CLIENTS: usize = 1_000;
    let limit = raise_nofile_limit();
    assert!(
        limit >= 2 * CLIENTS as u64 + 64,
        "the descriptor limit ({limit}) is too low for {CLIENTS} connections"
    );
    let server = EchoServer::start();
    let addr = server.addr;
    let rt = Runtime::new().unwrap();
    let baseline = rt.stats();
    let answered = run_on(&rt, async move {
        let connected = Rc::new(Cell::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let connected = Rc::clone(&connected);
                sanio::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    connected.set(connected.get() + 1);
                    // Hold every connection open until all are connected, so
                    // the thousand are really concurrent.
                    while connected.get() < CLIENTS {
                        sanio::sleep(Duration::from_millis(1)).await;
                    }
                    let message = format!("hello from client {i}\n");
                    stream.write_all(message.as_bytes()).await.unwrap();
                    let mut reply = vec![0; message.len()];
                    stream.read_exact(&mut reply).await.unwrap();
                    reply == message.as_bytes()
                })
            })
            .collect();
        let mut answered = 0;
        for client in clients {
            answered += usize::from(client.await.unwrap());
        }
        answered
    });
    assert_eq!(answered, CLIENTS);
    assert_eq!(rt.stats(), baseline, "every client socket was released");
    let (served, sockets_left) = server.finish(CLIENTS);
    assert_eq!(served, CLIENTS);
    assert_eq!(sockets_left, 0, "the server released every socket");
}

#[test]
fn echo_with_std_clients_in_threads() {
    let server = EchoServer::start();
    let addr = server.addr;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            thread::spawn(move || {
                for i in 0..10 {
                    let mut stream = std::net::TcpStream::connect(addr).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    let message = format!("thread {t} message {i}");
                    stream.write_all(message.as_bytes()).unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                    let mut reply = String::new();
                    stream.read_to_string(&mut reply).unwrap();
                    assert_eq!(reply, message);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(server.finish(80).0, 80);
}

#[test]
fn a_large_payload_streams_through_with_backpressure() {
    const SIZE: usize = 8 * 1024 * 1024;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sanio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            echo(stream).await.unwrap()
        });
        let client = Rc::new(TcpStream::connect(addr).await.unwrap());
        let payload: Rc<Vec<u8>> = Rc::new((0..SIZE).map(|i| (i % 251) as u8).collect());
        // The writer and the reader wait on the same socket at once.
        let writer = sanio::spawn({
            let client = Rc::clone(&client);
            let payload = Rc::clone(&payload);
            async move {
                for chunk in payload.chunks(64 * 1024) {
                    client.write_all(chunk).await.unwrap();
                }
                client.shutdown(Shutdown::Write).unwrap();
            }
        });
        let mut received = Vec::with_capacity(SIZE);
        let mut buf = vec![0; 32 * 1024];
        loop {
            let n = client.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(server.await.unwrap(), SIZE);
        assert_eq!(received.len(), SIZE);
        assert!(received == *payload, "the echo came back intact");
    });
}

#[test]
fn read_returns_zero_when_the_peer_closes() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(client.peer_addr().unwrap(), listener.local_addr().unwrap());
        // A reader already waiting is woken by the close.
        let reader = sanio::spawn(async move {
            let mut buf = [0; 8];
            let first = server.read(&mut buf).await.unwrap();
            let second = server.read(&mut buf).await.unwrap();
            (buf[..first].to_vec(), second)
        });
        yield_times(2).await;
        client.write_all(b"last").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let (first, second) = reader.await.unwrap();
        assert_eq!(first, b"last");
        assert_eq!(second, 0);
        // Dropping the stream closes it: the other side of a fresh pair sees EOF.
        let other = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        drop(other);
        assert_eq!(accepted.read(&mut [0; 4]).await.unwrap(), 0);
        let err = accepted.read_exact(&mut [0; 4]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn connecting_to_a_closed_port_is_an_error_not_a_hang() {
    run(async {
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        }; // closed again
        let before = sanio::rt::stats().unwrap().io_registrations;
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert_eq!(sanio::rt::stats().unwrap().io_registrations, before);
    });
}

#[test]
fn net_types_need_a_runtime() {
    let err = TcpListener::bind("127.0.0.1:0").unwrap_err();
    assert!(err.to_string().contains("no sanio runtime"), "{err}");
    let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(std.local_addr().unwrap()).unwrap();
    assert!(TcpStream::from_std(client).is_err());
    assert!(TcpListener::from_std(std).is_err());
}

#[test]
fn from_std_try_read_and_futures_io_traits() {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    run(async {
        let std_listener = ListenOptions::new()
            .backlog(16)
            .bind_std("127.0.0.1:0".parse().unwrap())
            .unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let addr = listener.local_addr().unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let client = TcpStream::from_std(std_client).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.set_nodelay(true).unwrap();

        let err = server.try_read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(client.try_write(b"abc").unwrap(), 3);

        let mut writer = &client;
        writer.write_all(b"def").await.unwrap();
        writer.close().await.unwrap(); // shuts down the write side
        let mut reader = &server;
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"abcdef");
    });
}

#[test]
fn dropping_waiting_tasks_releases_their_sockets() {
    let rt = Runtime::new().unwrap();
    run_on(&rt, async {
        let base = sanio::rt::stats().unwrap().io_registrations;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(sanio::rt::stats().unwrap().io_registrations, base + 3);
        let acceptor = sanio::spawn(async move { listener.accept().await.map(|_| ()) });
        let reader = sanio::spawn(async move { server.read(&mut [0; 8]).await });
        yield_times(2).await;
        acceptor.cancel();
        reader.cancel();
        assert!(acceptor.await.unwrap_err().is_cancelled());
        assert!(reader.await.unwrap_err().is_cancelled());
        assert_eq!(sanio::rt::stats().unwrap().io_registrations, base + 1);
        drop(client);
        assert_eq!(sanio::rt::stats().unwrap().io_registrations, base);
    });
    assert_eq!(rt.stats().io_registrations, 0);
}

/// Set in the child process of the EMFILE test.
const EMFILE_CHILD: &str = "SANIO_TEST_EMFILE_CHILD";
const EMFILE_OK: &str = "emfile child: accept backed off and recovered";

/// The descriptor limit is process-wide, so this test runs its body in a
/// fresh copy of this test binary.
#[test]
fn accept_under_emfile_neither_spins_nor_stalls() {
    if std::env::var_os(EMFILE_CHILD).is_some() {
        emfile_child();
        println!("{EMFILE_OK}");
        return;
    }
    let name = "accept_under_emfile_neither_spins_nor_stalls";
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(EMFILE_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(EMFILE_OK),
        "child did not run:\n{stdout}\n{stderr}"
    );
}

fn emfile_child() {
    let rt = Runtime::new().unwrap();
    run_on(&rt, async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // The connection completes in the kernel's backlog, unaccepted.
        let client = std::net::TcpStream::connect(addr).unwrap();

        // Use up every descriptor under a low limit.
        let (_, hard) = nofile_limit();
        set_nofile_soft_limit(hard.min(256));
        let mut fillers = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(file) => fillers.push(file),
                Err(err) => {
                    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
                    break;
                }
            }
        }
        assert!(!fillers.is_empty());

        let accept = sanio::spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
        let before = thread_cpu_time();
        sanio::sleep(Duration::from_secs(1)).await;
        let used = thread_cpu_time() - before;
        // A busy-loop detector, not a timing assertion: retrying accept
        // without a pause would burn most of the second.
        assert!(used < Duration::from_millis(200), "used {used:?} of CPU");
        assert!(
            !accept.is_finished(),
            "no descriptor, so nothing accepted yet"
        );

        fillers.truncate(fillers.len() - 8);
        let peer = accept.await.unwrap().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    });
}
