//! A stop that is bounded: slow stop listeners, a stubborn websocket, and
//! the exit status of a second signal.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use sanio::{App, Config, Lifecycle};

/// How long a stop may take before the test calls it hung: a guard only.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Registers a listener that records `name` and returns.
fn record(app: &App, log: &Arc<Mutex<Vec<String>>>, phase: Lifecycle, name: &'static str) {
    let log = Arc::clone(log);
    app.listener(phase, move |_app: App| {
        let log = Arc::clone(&log);
        async move { log.lock().unwrap().push(name.to_owned()) }
    })
    .unwrap();
}

/// Registers a listener that records `name`, then never ends; `dropped`
/// is set when the stop gives up on it.
fn endless(
    app: &App,
    log: &Arc<Mutex<Vec<String>>>,
    phase: Lifecycle,
    name: &'static str,
) -> Arc<AtomicBool> {
    let (log, dropped) = (Arc::clone(log), Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&dropped);
    app.listener(phase, move |_app: App| {
        let (log, guard) = (Arc::clone(&log), DropFlag(Arc::clone(&flag)));
        async move {
            let _guard = guard;
            log.lock().unwrap().push(name.to_owned());
            std::future::pending::<()>().await;
        }
    })
    .unwrap();
    dropped
}

#[test]
fn endless_stop_listeners_and_a_stubborn_websocket_do_not_hang_the_stop() {
    let app = App::new("bounded");
    let log = Arc::new(Mutex::new(Vec::new()));
    // Stop listeners run in the reverse of their registration order.
    record(&app, &log, Lifecycle::BeforeServerStop, "before 3rd");
    let before = endless(&app, &log, Lifecycle::BeforeServerStop, "before 2nd");
    record(&app, &log, Lifecycle::BeforeServerStop, "before 1st");
    record(&app, &log, Lifecycle::AfterServerStop, "after 2nd");
    let after = endless(&app, &log, Lifecycle::AfterServerStop, "after 1st");
    record(&app, &log, Lifecycle::MainProcessStop, "main 2nd");
    let main = endless(&app, &log, Lifecycle::MainProcessStop, "main 1st");
    #[cfg(feature = "ws")]
    app.websocket(
        "/stubborn",
        |_req: sanio::Request, ws: sanio::WebSocket| async move {
            let _ = ws.recv_checked().await; // the shutdown's cancel
            sanio::sleep(Duration::from_secs(3600)).await; // a cleanup that never ends
        },
    )
    .unwrap();
    let server = app
        .serve(
            Config::default()
                .port(0)
                .graceful_timeout(Duration::from_millis(400)),
        )
        .unwrap();
    #[cfg(feature = "ws")]
    let mut client = {
        let addr = server.local_addr();
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let url = format!("ws://{addr}/stubborn");
        tungstenite::client(url.as_str(), stream).unwrap().0
    };
    // Let the handler reach its `recv` (an echo-free round trip: a ping).
    #[cfg(feature = "ws")]
    {
        client
            .send(tungstenite::Message::Ping(vec![1].into()))
            .unwrap();
        while !matches!(client.read(), Ok(tungstenite::Message::Pong(_))) {}
    }
    server.stop();
    let (done, joined) = mpsc::channel();
    std::thread::spawn(move || done.send(server.join()));
    let result = joined
        .recv_timeout(HANG_GUARD)
        .expect("the stop finished (hang guard)");
    result.unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "before 1st",
            "before 2nd",
            "before 3rd",
            "after 1st",
            "after 2nd",
            "main 1st",
            "main 2nd"
        ],
        "every listener ran, in order"
    );
    for (phase, dropped) in [("before", before), ("after", after), ("main", main)] {
        assert!(
            dropped.load(Ordering::SeqCst),
            "the endless {phase} listener was dropped"
        );
    }
    #[cfg(feature = "ws")]
    {
        let code = loop {
            match client.read() {
                Ok(tungstenite::Message::Close(frame)) => break frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => break None,
            }
        };
        assert_eq!(code, Some(1001), "the shutdown's close, not the handler's");
    }
}

/// The child side of the signal test: runs an app whose stop hangs in a
/// `before_server_stop` listener, and says on stdout where it is.
fn signal_child() {
    let app = App::new("signals");
    app.listener(Lifecycle::AfterServerStart, |_app: App| async {
        println!("CHILD ready");
    })
    .unwrap();
    app.listener(Lifecycle::BeforeServerStop, |_app: App| async {
        println!("CHILD stopping");
        sanio::sleep(Duration::from_secs(3600)).await;
    })
    .unwrap();
    let config = Config::default()
        .port(0)
        .graceful_timeout(Duration::from_secs(36_000));
    app.run(config).unwrap();
    println!("CHILD returned");
}

#[test]
fn a_second_signal_exits_with_that_signals_status() {
    if std::env::var_os("SANIO_SIGNAL_CHILD").is_some() {
        return signal_child();
    }
    for (signal, status) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_second_signal_exits_with_that_signals_status",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SANIO_SIGNAL_CHILD", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut wait_for = |what: &str| loop {
            let line = lines.next().expect("the child says where it is").unwrap();
            if line.contains(what) {
                break;
            }
        };
        wait_for("CHILD ready");
        assert_eq!(send_signal(pid, signal), 0);
        wait_for("CHILD stopping");
        assert_eq!(send_signal(pid, signal), 0);
        let exit = child.wait().unwrap();
        assert_eq!(exit.code(), Some(status), "signal {signal}");
    }
}

/// Sends `signal` to `pid` with the `kill` command (no `unsafe` needed).
fn send_signal(pid: i32, signal: i32) -> i32 {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    status.code().unwrap_or(-1)
}
