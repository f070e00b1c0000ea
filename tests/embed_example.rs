//! `examples/embed.rs`, driven as a user would: through its stdin, over
//! real sockets.
#![cfg(feature = "ws")]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use tungstenite::Message;

/// The example's binary: `cargo test` builds examples next to the tests;
/// build it if this run did not.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let binary = dir.join("examples").join("embed");
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "embed"])
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the example failed");
    }
    binary
}

/// Starts the example on a free port; returns it, its stdout and its address.
fn start() -> (Child, BufReader<ChildStdout>, SocketAddr) {
    let mut child = Command::new(example_binary())
        .env("SANIO_HOST", "127.0.0.1")
        .env("SANIO_PORT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let first = read_line(&mut stdout);
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .expect("an address");
    (child, stdout, addr)
}

fn read_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the example's stdout");
    line
}

/// Waits for the process to exit, at most the hang guard.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + support::rt::HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the example did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn embed_serves_lists_tasks_and_stops_on_command() {
    let (mut child, mut stdout, addr) = start();
    let reply = support::client::get(addr, "/");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "Hello, World!");

    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(support::rt::HANG_GUARD))
        .unwrap();
    let url = format!("ws://{addr}/echo");
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).expect("handshake");
    ws.send(Message::text("ping")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("ping"));
    ws.close(None).unwrap();
    drop(ws);

    let mut stdin = child.stdin.take().expect("piped stdin");
    writeln!(stdin, "tasks").unwrap();
    let header = read_line(&mut stdout);
    assert!(header.starts_with("live tasks: "), "{header:?}");
    let live: usize = header["live tasks: ".len()..].trim().parse().unwrap();
    assert!(live >= 2, "the worker and the heartbeat at least: {live}");
    let heartbeat = read_line(&mut stdout);
    assert_eq!(heartbeat.trim(), "heartbeat running");

    writeln!(stdin, "stop").unwrap();
    assert_eq!(read_line(&mut stdout).trim(), "stopping");
    assert_eq!(read_line(&mut stdout).trim(), "stopped");
    assert!(wait_exit(&mut child).success());
    assert!(TcpStream::connect(addr).is_err(), "the socket is closed");
}

#[test]
fn embed_stops_cleanly_at_the_end_of_its_input() {
    let (mut child, mut stdout, _addr) = start();
    drop(child.stdin.take()); // end of input
    assert_eq!(read_line(&mut stdout).trim(), "stopping");
    assert_eq!(read_line(&mut stdout).trim(), "stopped");
    assert!(wait_exit(&mut child).success());
}
