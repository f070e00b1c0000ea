//! WebSocket routes through the App: the receiver-task pattern, close codes,
//! shutdown, many clients, and no leaks.

#![cfg(all(feature = "ws", feature = "json"))]

mod support;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sanio::{App, Config, Error, Request, WebSocket};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

type Client = tungstenite::WebSocket<TcpStream>;

/// Opens a websocket to `path`.
fn connect(addr: SocketAddr, path: &str) -> Client {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let url = format!("ws://{addr}{path}");
    let (client, response) = tungstenite::client(url.as_str(), stream).expect("handshake");
    assert_eq!(response.status().as_u16(), 101);
    client
}

/// Reads until the close frame and returns its code.
fn close_code(client: &mut Client) -> Option<u16> {
    loop {
        match client.read() {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// The app the tests share: the seed's `/feed`, an echo, failing handlers
/// and a view of the worker's tasks and loop.
fn app() -> App {
    let app = App::new("ws");
    app.websocket("/feed", |req: Request, ws: WebSocket| async move {
        let app = req.app();
        let name = format!("receiver:{}", req.id());
        let reader = ws.clone();
        app.add_named_task(name.clone(), async move {
            while let Some(message) = reader.recv().await {
                log::info!("received {message:?}");
            }
        })?;
        // Ends with `Cancelled` once the client goes away.
        while let Ok(event) = app.event("my.custom.event").await {
            let text = event.message().unwrap_or("A message").to_owned();
            if ws.send(text).await.is_err() {
                break;
            }
        }
        app.cancel_task(&name).await?;
        app.purge_tasks();
        Ok::<(), Error>(())
    })
    .unwrap();
    app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
    .unwrap();
    app.websocket("/fails", |_req: Request, _ws: WebSocket| async {
        Err::<(), _>("handler error")
    })
    .unwrap();
    app.websocket("/panics", |_req: Request, _ws: WebSocket| async {
        panic!("handler panic") as ()
    })
    .unwrap();
    app.websocket("/returns", |_req: Request, ws: WebSocket| async move {
        let _ = ws.send("bye").await;
    })
    .unwrap();
    app.get("/tasks", |req: Request| async move {
        let names: Vec<String> = req
            .app()
            .tasks()
            .iter()
            .map(|t| format!("{}={}", t.name().unwrap_or_default(), t.state()))
            .collect();
        names.join(",")
    })
    .unwrap();
    app.get("/stats", |_req: Request| async {
        let s = sanio::rt::stats().expect("on a worker");
        format!(
            "{} {} {} {}",
            s.live_tasks, s.task_slots, s.timers, s.io_registrations
        )
    })
    .unwrap();
    app
}

/// Serves the shared app.
fn serve(workers: usize) -> (App, sanio::Server) {
    let app = app();
    let config = Config::default()
        .port(0)
        .workers(workers)
        .graceful_timeout(Duration::from_secs(2));
    let server = app.serve(config).expect("serve");
    (app, server)
}

/// The loop's `/stats`, read the same way every time (see
/// `get_after_accept`).
fn stats(addr: SocketAddr) -> String {
    support::client::get_after_accept(addr, "/stats").text()
}

/// Reads with `read` until `done` accepts a reading (a hang guard bounds
/// it).
fn wait_until(read: impl Fn() -> String, done: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..3000 {
        last = read();
        if done(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("never satisfied the condition; the last reading: {last:?}");
}

/// Polls `path` until `done` accepts its body.
fn wait_for(addr: SocketAddr, path: &str, done: impl Fn(&str) -> bool) -> String {
    wait_until(|| support::client::get(addr, path).text(), done)
}

#[test]
fn the_receiver_task_pattern_lists_the_task_while_connected_and_cleans_up() {
    let (app, server) = serve(1);
    let addr = server.local_addr();
    let mut client = connect(addr, "/feed");
    let tasks = wait_for(addr, "/tasks", |t| t.starts_with("receiver:"));
    assert!(
        tasks.ends_with("=running") || tasks.ends_with("=pending"),
        "{tasks}"
    );
    client.send(Message::text("hello from the client")).unwrap();

    // The handler waits for the event; send it until the client hears it.
    let mut heard = None;
    for _ in 0..100 {
        app.dispatch_all("my.custom.event", Some("news")).unwrap();
        client
            .get_mut()
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        if let Ok(Message::Text(text)) = client.read() {
            heard = Some(text.to_string());
            break;
        }
    }
    assert_eq!(heard.as_deref(), Some("news"));

    client.close(None).unwrap();
    let _ = client.read(); // the server's close reply
    wait_for(addr, "/tasks", str::is_empty);
    server.stop();
    server.join().unwrap();
}

#[test]
fn close_codes_follow_how_the_handler_ended() {
    let (_app, server) = serve(1);
    let addr = server.local_addr();
    let mut ok = connect(addr, "/returns");
    assert_eq!(ok.read().unwrap(), Message::text("bye"));
    assert_eq!(close_code(&mut ok), Some(1000));
    assert_eq!(close_code(&mut connect(addr, "/fails")), Some(1011));
    assert_eq!(close_code(&mut connect(addr, "/panics")), Some(1011));
    server.stop();
    server.join().unwrap();
}

#[test]
fn graceful_shutdown_closes_open_websockets_with_1001() {
    let (_app, server) = serve(1);
    let mut client = connect(server.local_addr(), "/echo");
    client.send(Message::text("ping")).unwrap();
    assert_eq!(client.read().unwrap(), Message::text("ping"));
    server.stop();
    assert_eq!(close_code(&mut client), Some(u16::from(CloseCode::Away)));
    server.join().unwrap();
}

#[test]
fn a_plain_get_on_a_websocket_route_is_426() {
    let (_app, server) = serve(1);
    let reply = support::client::get(server.local_addr(), "/echo");
    assert_eq!(reply.status, 426);
    assert_eq!(reply.header("sec-websocket-version"), Some("13"));
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_thousand_clients_on_two_workers_each_get_their_echo() {
    let (_app, server) = serve(2);
    let addr = server.local_addr();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut clients: Vec<Client> = (0..250).map(|_| connect(addr, "/echo")).collect();
                for (i, client) in clients.iter_mut().enumerate() {
                    client.send(Message::text(format!("{t}-{i}"))).unwrap();
                }
                for (i, client) in clients.iter_mut().enumerate() {
                    assert_eq!(client.read().unwrap(), Message::text(format!("{t}-{i}")));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    server.stop();
    server.join().unwrap();
}

#[test]
fn ten_thousand_connect_close_cycles_leave_the_loop_at_its_baseline() {
    let (_app, server) = serve(1);
    let addr = server.local_addr();
    // The usual reading: of three, sorted, the middle one is the one at
    // least two agree on (a loaded machine may accept late once).
    let mut readings: Vec<String> = (0..3).map(|_| stats(addr)).collect();
    readings.sort();
    let baseline = readings[1].clone();
    for i in 0..10_000 {
        let mut client = connect(addr, "/echo");
        if i % 2 == 0 {
            client.close(None).unwrap();
            let _ = client.read();
        } // else: dropped, the TCP connection just closes
    }
    let settled = wait_until(|| stats(addr), |s| s == baseline);
    assert_eq!(settled, baseline);
    server.stop();
    server.join().unwrap();
}

#[test]
fn a_handler_that_passes_the_shutdowns_cancel_on_has_not_failed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let app = App::new("ws-cancel");
    let reports = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&reports);
    app.signal("server.exception.report", move |_app, _event| {
        let r = Arc::clone(&r);
        async move {
            r.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    app.websocket("/waits", |req: Request, ws: WebSocket| async move {
        let _ws = ws;
        req.app().event("my.custom.event").await?; // the stop's cancel, passed on
        Ok::<(), Error>(())
    })
    .unwrap();
    app.get("/waiters", |req: Request| async move {
        req.app().event_waiters("my.custom.event").to_string()
    })
    .unwrap();
    let server = app
        .serve(
            Config::default()
                .port(0)
                .graceful_timeout(Duration::from_secs(2)),
        )
        .unwrap();
    let mut client = connect(server.local_addr(), "/waits");
    wait_for(server.local_addr(), "/waiters", |n| n == "1");
    server.stop();
    assert_eq!(close_code(&mut client), Some(u16::from(CloseCode::Away)));
    server.join().unwrap();
    assert_eq!(reports.load(Ordering::SeqCst), 0, "a cancel is no failure");
}
