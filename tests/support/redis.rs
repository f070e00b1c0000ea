//! A real `redis-server` for the cluster tests: Debian's, started on a
//! free port with no persistence, killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Hang guard for everything that waits.
pub const GUARD: Duration = Duration::from_secs(60);

/// A redis-server child on a free port; killed when dropped.
pub struct Redis {
    /// The port it listens on (kept across restarts).
    pub port: u16,
    /// The running server, if any.
    child: Option<Child>,
}

impl Redis {
    /// Starts one on a free port and waits until it answers.
    pub fn start() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            child: None,
        };
        redis.spawn();
        redis
    }

    /// (Re)starts the server on its port and waits until it answers.
    pub fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        self.child = Some(child);
        wait_for("redis-server to accept", || self.command("PING") == "+PONG");
    }

    /// Kills the server (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its `redis://` URL, database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// One inline command; the first line of the reply ("" on failure).
    pub fn command(&self, line: &str) -> String {
        self.reply(line).lines().next().unwrap_or("").to_owned()
    }

    /// One inline command; the whole reply of a simple or bulk string
    /// ("" on failure).
    pub fn reply(&self, line: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        if stream.write_all(format!("{line}\r\n").as_bytes()).is_err() {
            return String::new();
        }
        let mut reply = Vec::new();
        let mut byte = [0];
        let mut lines = 0;
        loop {
            match stream.read(&mut byte) {
                Ok(1) => reply.push(byte[0]),
                _ => return String::new(),
            }
            if reply.ends_with(b"\r\n") {
                lines += 1;
                // A bulk string ("$n", then the data) has a second line.
                let bulk = reply.starts_with(b"$") && !reply.starts_with(b"$-1");
                if lines == 2 || !bulk {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&reply).trim_end().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `done` until true; panics after [`GUARD`].
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < GUARD,
            "hang guard: waited too long for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A unique prefix so that tests sharing a Redis never cross.
pub fn prefix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    format!("t{:016x}", hasher.finish())
}
