//! sanio inside a program that owns its main loop: a `poll(2)` loop that
//! watches stdin and the runtime's descriptor, and turns the runtime when
//! it is readable or a timer is due.
//!
//! ```text
//! cargo run --example embed                  # listens on 127.0.0.1:8000
//! SANIO_PORT=0 cargo run --example embed     # any free port
//! ```
//!
//! It serves `GET /` ("Hello, World!") and a websocket echo at `/echo`, and
//! reads commands from stdin: `tasks` prints the live tasks, `stop` (or the
//! end of input) stops the app gracefully and exits 0.
//!
//! `poll(2)` comes from the `nix` crate (feature `poll`), a safe wrapper:
//! sanio forbids `unsafe`, and calling `libc::poll` directly needs it.

use std::io::{BufRead, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use sanio::{App, Config, Request, Runtime, WebSocket};

/// How long the host may sleep in `poll(2)`: not at all if the last turn
/// left work, until the next timer if there is one, forever otherwise.
fn poll_timeout(rt: &Runtime, more_work: bool) -> PollTimeout {
    if more_work {
        return PollTimeout::ZERO;
    }
    match rt.next_deadline() {
        // Round up: waking a little early would only spin until it is due.
        Some(at) => {
            let wait = at.saturating_duration_since(Instant::now()) + Duration::from_micros(999);
            PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX)
        }
        None => PollTimeout::NONE,
    }
}

/// Prints the loop's live tasks and the app's named ones.
fn print_tasks(rt: &Runtime, app: &App) {
    // The app's task registry belongs to the loop: ask from inside it.
    let named = rt.block_on(async { app.tasks() });
    println!("live tasks: {}", rt.stats().live_tasks);
    for task in named {
        println!("  {} {}", task.name().unwrap_or("<unnamed>"), task.state());
    }
}

/// A background task that never ends (until the app stops).
async fn heartbeat(_app: App) {
    loop {
        sanio::sleep(Duration::from_secs(1)).await;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App::new("embed");
    app.get("/", |_req: Request| async { "Hello, World!" })?;
    app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
        while let Some(message) = ws.recv().await {
            ws.send(message).await?;
        }
        Ok::<(), sanio::WsError>(())
    })?;
    app.add_named_task("heartbeat", heartbeat)?;

    let rt = Runtime::new()?;
    let config = Config::from_env()?;
    let attached = app.attach(&rt, config)?;
    println!("listening on http://{}", attached.local_addr());
    std::io::stdout().flush()?;

    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut stopping = false;
    let mut more_work = true; // the first turn starts the app
    loop {
        let timeout = poll_timeout(&rt, more_work);
        let mut fds = vec![PollFd::new(rt.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(err) => return Err(err.into()),
        }
        let stdin_ready = fds
            .get(1)
            .and_then(PollFd::revents)
            .is_some_and(|events| !events.is_empty());
        drop(fds);
        if stdin_ready {
            // Commands are lines: a readable stdin has one (or its end).
            let mut line = String::new();
            let command = match stdin.lock().read_line(&mut line)? {
                0 => {
                    stdin_open = false;
                    "stop"
                }
                _ => line.trim(),
            };
            match command {
                "tasks" => print_tasks(&rt, &app),
                "stop" if !stopping => {
                    println!("stopping");
                    stopping = true;
                    attached.stop();
                }
                "stop" | "" => {}
                other => println!("unknown command {other:?} (try `tasks` or `stop`)"),
            }
            std::io::stdout().flush()?;
        }
        more_work = rt.turn(Some(Duration::ZERO))?.more_work;
        if stopping && attached.is_finished() {
            break;
        }
    }
    attached.finish(&rt)?;
    println!("stopped");
    Ok(())
}
