//! # A guided tour of sanio
//!
//! This module has no items, only this page. It follows one idea at a time
//! from the bottom of the crate to the top: a future and its waker, the
//! executor that polls futures, the reactor that waits on sockets, timers,
//! a TCP connection, an HTTP request, a websocket, background tasks and
//! their cancellation, and finally the workers and how they stop. Each
//! section names the source files it describes, so the page can be read
//! next to the code, and each example runs as a test.
//!
//! Section 10 repeats every example of Sanic's "Background tasks" page in
//! Rust, and says where sanio differs on purpose; section 11 goes beyond
//! it (scoped, supervised, singleton, visible and leak-checked tasks);
//! section 12 is the app on day two (middleware, blueprints, state, files,
//! forms); section 13 drives the loop from a host's own main loop and
//! reads a trace of it; section 14 spreads an app over several instances
//! through Redis (feature `redis`).
//!
//! # 1. A future and a waker
//!
//! A future is a value with a `poll` method. Polling it either finishes it
//! (`Poll::Ready(output)`) or says "not yet" (`Poll::Pending`). Nothing
//! polls a pending future again by itself: before it returns `Pending`, the
//! future must hand the [`Waker`](std::task::Waker) from its `Context` to
//! whoever can make progress possible (a socket's reactor slot, a timer, a
//! channel, another thread), and that party calls `wake()` when the moment
//! comes. A future that returns `Pending` without arranging a wake is never
//! polled again; that is the price of a loop that does not spin.
//!
//! sanio makes **one waker per task**, when the task is spawned: an
//! `Arc<TaskWaker>` holding the task id, turned into a `Waker` through
//! `futures_task::ArcWake`, so no hand-written vtable (and no `unsafe`) is
//! needed. Every poll lends that same waker with `waker_ref`, which
//! allocates nothing. Waking it does one of two things:
//!
//! - on the loop's own thread (I/O, timers, channels between tasks), the
//!   task id is pushed onto the local ready queue: no lock, no syscall;
//! - on any other thread, the id goes into a mutex-guarded remote queue and
//!   the loop is woken out of `epoll_wait` through a `mio::Waker` (an
//!   eventfd). A `notified` flag saves the eventfd write when the loop has
//!   already been woken and not yet drained the queue.
//!
//! A `scheduled` flag on the waker makes waking idempotent: a task woken
//! ten times before it runs is queued once. The executor clears the flag
//! just before each poll, so a wake *during* the poll queues the task
//! again, as it must. The trade-off is the mutex on the cross-thread path;
//! with one loop per thread, cross-thread wakes are the rare case.
//!
//! The future given to [`Runtime::block_on`](crate::Runtime::block_on) is
//! not a task (it lives on `block_on`'s stack); it has a reserved id and a
//! "woken" flag instead of a queue entry.
//!
//! Source: `src/rt/waker.rs` (`TaskWaker`, `Shared::push_remote`),
//! `src/rt/runtime.rs` (`Runtime::block_on`).
//!
//! A future written by hand: it counts down, asking to be polled again each
//! time, and reports how many polls it took.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//!
//! struct Countdown {
//!     left: u32,
//!     polls: u32,
//! }
//!
//! impl Future for Countdown {
//!     type Output = u32;
//!
//!     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
//!         self.polls += 1;
//!         if self.left == 0 {
//!             return Poll::Ready(self.polls);
//!         }
//!         self.left -= 1;
//!         // "Poll me again": without this line the loop would sleep forever.
//!         cx.waker().wake_by_ref();
//!         Poll::Pending
//!     }
//! }
//!
//! let rt = sanio::Runtime::new()?;
//! assert_eq!(rt.block_on(Countdown { left: 3, polls: 0 }), 4);
//!
//! // As tasks: each has its own waker, and they interleave on one thread.
//! let polls = rt.block_on(async {
//!     let a = sanio::spawn(Countdown { left: 2, polls: 0 });
//!     let b = sanio::spawn(Countdown { left: 5, polls: 0 });
//!     (a.await, b.await)
//! });
//! assert_eq!(polls, (Ok(3), Ok(6)));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A wake from another thread goes through the remote queue and the
//! eventfd. Here the loop has no timer and no socket, so it sleeps in
//! `epoll_wait` with no timeout until the thread wakes it:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::task::{Poll, Waker};
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Slot {
//!     value: Option<u32>,
//!     waker: Option<Waker>,
//! }
//!
//! let slot = Arc::new(Mutex::new(Slot::default()));
//! let rt = sanio::Runtime::new()?;
//! let value = rt.block_on(async {
//!     let remote = Arc::clone(&slot);
//!     let thread = std::thread::spawn(move || {
//!         std::thread::sleep(Duration::from_millis(2));
//!         let mut slot = remote.lock().unwrap();
//!         slot.value = Some(7);
//!         if let Some(waker) = slot.waker.take() {
//!             waker.wake(); // another thread: remote queue + eventfd
//!         }
//!     });
//!     let value = std::future::poll_fn(|cx| {
//!         let mut slot = slot.lock().unwrap();
//!         match slot.value.take() {
//!             Some(value) => Poll::Ready(value),
//!             None => {
//!                 slot.waker = Some(cx.waker().clone());
//!                 Poll::Pending
//!             }
//!         }
//!     })
//!     .await;
//!     thread.join().unwrap();
//!     value
//! });
//! assert_eq!(value, 7);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # 2. The executor: a slab, a ready queue, cancel flags
//!
//! The executor keeps every task in a [`slab::Slab`]: a vector whose free
//! slots are reused, so finding a task is one bounds check. Reuse has a
//! danger: a waker or handle made for an old task would find the new task
//! living in the same slot. So a [`TaskId`](crate::rt::TaskId) is the slot
//! key **plus a generation** bumped on every spawn, and every lookup checks
//! both; a stale id simply finds nothing.
//!
//! A slot holds the boxed future (`'static`, but it need not be `Send`:
//! everything here stays on one thread, so the executor uses `Rc` and
//! `RefCell`, not `Arc` and locks), the task's waker, the waker of the
//! `JoinHandle` awaiting it, a count of handles, the cancel flag, and a
//! boxed `Extra` for the rare parts (name, cancel message, grace period,
//! panic message, other awaiters) so that a plain task's slot stays small.
//! A slot is freed as soon as the task has ended *and* no handle refers to
//! it.
//!
//! One turn of the loop (`Core::turn`) is: poll up to 256 ready tasks in
//! wake order; move work other threads queued onto this loop; choose the
//! poll timeout (zero if anything is ready, else until the nearest timer,
//! else forever); poll mio; fire due timers. The budget of 256 exists so
//! that two tasks waking each other forever cannot starve sockets and
//! timers; it costs one `epoll_wait` with a zero timeout per 256 polls.
//!
//! To poll a task, the executor **moves the future out of its slot**
//! (`Stage::Polling`), releases the slab, polls, and puts it back on
//! `Pending`. The future may spawn, cancel or wake other tasks while it is
//! polled, and none of that must find the slab borrowed. The poll runs
//! under `catch_unwind`: a panic ends that task as panicked, its message is
//! logged and kept for its `JoinHandle`, and the loop goes on.
//!
//! A cancel is a flag with three states: `None`, `Requested` (someone
//! called `cancel`; the task is scheduled once more) and `Observed` (a
//! cancellation-aware await in the task returned `Cancelled`). After the
//! poll that follows a cancel, the executor looks at the flag: still
//! `Requested` means the task never looked (it sat in a `sleep`, say) and
//! it is dropped at once; `Observed` means it is cleaning up, and it may
//! run on for the grace period (5 s by default; an app's workers use
//! their graceful timeout) before it is dropped.
//! Dropping runs the future's destructors first and only then marks the
//! task cancelled and wakes its awaiters, so whoever awaits a cancelled task
//! knows its resources are gone.
//!
//! The trade-offs of one thread: no work stealing, and a task that computes
//! for a second without awaiting holds up every other task on its loop. In
//! exchange, tasks share state with `Rc<RefCell<_>>` and no atomics.
//!
//! Source: `src/rt/core/mod.rs` (`Core::turn`, `Core::poll_task`,
//! `Core::after_pending`, `Core::drop_task`, `Core::cancel`),
//! `src/rt/task.rs` (`Task`, `Stage`, `CancelState`), `src/rt/join.rs`.
//!
//! The ready queue is first in, first out, and
//! [`yield_now`](crate::rt::yield_now) goes to its back:
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     let log = Rc::new(RefCell::new(Vec::new())); // not Send: that is fine
//!     let (la, lb) = (Rc::clone(&log), Rc::clone(&log));
//!     let a = sanio::spawn(async move {
//!         la.borrow_mut().push("a1");
//!         sanio::rt::yield_now().await;
//!         la.borrow_mut().push("a2");
//!     });
//!     let b = sanio::spawn(async move { lb.borrow_mut().push("b") });
//!     a.await.unwrap();
//!     b.await.unwrap();
//!     assert_eq!(*log.borrow(), ["a1", "b", "a2"]);
//!
//!     // A panic ends its task, not the loop.
//!     fn explode() {
//!         panic!("boom")
//!     }
//!     let err = sanio::spawn(async { explode() }).await.unwrap_err();
//!     assert!(err.is_panic());
//!     assert_eq!(err.message(), Some("boom"));
//!
//!     // Every task ended and every handle is gone: every slot is free.
//!     assert_eq!(sanio::rt::stats().unwrap().task_slots, 0);
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The cancel flag, seen from both kinds of task:
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     // Never looks at the flag: dropped at once, its timer with it.
//!     let sleeper = sanio::spawn(sanio::sleep(Duration::from_secs(3600)));
//!     sanio::rt::yield_now().await;
//!     sleeper.cancel_with("not needed");
//!     let err = sleeper.await.unwrap_err();
//!     assert!(err.is_cancelled());
//!     assert_eq!(err.message(), Some("not needed"));
//!     assert_eq!(sanio::rt::stats().unwrap().timers, 0);
//!
//!     // Looks at it: sees the cancel once, then cleans up with awaits.
//!     let worker = sanio::spawn(async {
//!         let why = sanio::cancelled().await;
//!         sanio::sleep(Duration::from_millis(1)).await; // cleanup still awaits
//!         format!("cleaned up after {why}")
//!     });
//!     sanio::rt::yield_now().await;
//!     worker.cancel_with("stop");
//!     assert_eq!(worker.await.unwrap(), "cleaned up after cancelled: stop");
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Note the last line: a task that observed its cancel and returned ends
//! with its output, not with a cancel error. Only a task the loop had to
//! drop ends as cancelled.
//!
//! # 3. The reactor: mio, registrations, readiness
//!
//! A non-blocking socket answers `WouldBlock` when a read has no data or a
//! write has no room. Instead of retrying (and burning a core), the task
//! stores its waker with the socket's registration and returns `Pending`;
//! the loop sleeps in `epoll_wait` (through `mio::Poll`) until the kernel
//! reports readiness, then wakes exactly the tasks waiting on that socket.
//!
//! Each socket gets a slot in a second slab; its key is the `mio::Token`.
//! The slot caches the last readiness seen in each direction and holds one
//! waker per direction, so one task can read while another writes (a
//! websocket's driver and a sender, say). mio is **edge-triggered**: it
//! reports a change to "ready" once, not "still ready" on every poll. So
//! readiness is cached and cleared only when an operation actually returns
//! `WouldBlock`; `Registration::poll_io` is the one function that
//! implements this "try, and on `WouldBlock` clear and wait" idiom, and
//! every socket type calls it. A new registration starts as ready both
//! ways, so the first read is simply attempted: at worst one wasted
//! syscall, and usually a saved loop turn, since an HTTP client's request
//! is often there before the accept returns.
//!
//! The trade-offs: a socket is registered for reading and writing at once,
//! so a writable edge nobody waits for costs a wakeup of the loop (but no
//! task poll); and each direction holds **one** waker, so two tasks reading
//! the same socket at once is not supported (the second replaces the
//! first's waker). A read side closed by the peer counts as readable, a
//! closed write side as writable and an error as both, so the waiting task
//! runs and meets the EOF or the error in the syscall itself.
//!
//! Source: `src/rt/reactor.rs` (`Reactor::poll`, `Registration::poll_io`).
//!
//! ```
//! use std::io::ErrorKind;
//! use sanio::net::{TcpListener, TcpStream};
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     assert_eq!(sanio::rt::stats().unwrap().io_registrations, 1);
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _peer) = listener.accept().await?;
//!     assert_eq!(sanio::rt::stats().unwrap().io_registrations, 3);
//!
//!     // Nothing was sent: the bare syscall says WouldBlock...
//!     let err = server.try_read(&mut [0; 8]).unwrap_err();
//!     assert_eq!(err.kind(), ErrorKind::WouldBlock);
//!     // ...and an awaiting read parks its waker in the registration.
//!     let reader = sanio::spawn(async move {
//!         let mut buf = [0; 8];
//!         let n = server.read(&mut buf).await?;
//!         Ok::<_, std::io::Error>(buf[..n].to_vec())
//!     });
//!     sanio::rt::yield_now().await; // the reader runs, finds nothing, waits
//!     client.write_all(b"ping").await?; // epoll reports it; the reader wakes
//!     assert_eq!(reader.await.unwrap()?, b"ping");
//!
//!     // Dropping a socket removes its registration.
//!     drop((client, listener));
//!     assert_eq!(sanio::rt::stats().unwrap().io_registrations, 0);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # 4. Timers
//!
//! Every pending deadline lives in one ordered map per loop, keyed by
//! `(deadline, sequence number)`; the number keeps equal deadlines distinct
//! and in insertion order. Two questions are then cheap: "when is the next
//! deadline?" (the first key, which becomes `epoll_wait`'s timeout) and
//! "which deadlines have passed?" (pop from the front). A
//! [`Sleep`](crate::rt::Sleep) inserts its entry on its first poll and
//! **removes it when dropped**. That matters for
//! [`timeout`](crate::timeout): a request that finishes in time drops its
//! sleep, and without the removal a server doing a million quick requests
//! would keep a million dead timers. tokio uses a hierarchical timing wheel
//! for O(1) inserts; a `BTreeMap` is O(log n), simpler to read, and fast
//! enough for one loop's timers. `epoll_wait` counts in milliseconds, so
//! the loop may wake a little before a deadline; a sleep that finds the
//! clock short of its deadline registers again rather than return early.
//!
//! The same map holds the grace deadlines of cancelled tasks (section 2).
//! [`interval`](crate::interval) is a sleep that re-arms itself, with a
//! [`MissedTickBehavior`](crate::rt::MissedTickBehavior) for ticks missed
//! while the task was busy. A plain `sleep` is deliberately not
//! cancellation-aware: ending it early with an error would lie about the
//! time that passed. A task that wants both wraps it:
//! [`cancellable`](crate::cancellable)`(sleep(d))` (section 8).
//!
//! Every deadline is read from the loop's clock,
//! [`sanio::rt::now`](crate::rt::now). In tests, a runtime made with
//! [`with_paused_clock`](crate::Runtime::with_paused_clock) stands still:
//! when the loop has nothing to do it jumps to the next timer, and
//! [`sanio::rt::advance`](crate::rt::advance) moves it by hand, so a test
//! of an hour-long backoff is exact and instant (`src/rt/clock.rs`).
//!
//! Source: `src/rt/time.rs` (`Timers`, `Sleep`, `timeout`),
//! `src/rt/interval.rs`, `src/rt/core/mod.rs` (`Core::poll_timeout`,
//! `Core::fire_timers`).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sanio::rt::Elapsed;
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     let start = Instant::now();
//!     sanio::sleep(Duration::from_millis(2)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(2)); // never early
//!
//!     // A timeout that fires...
//!     let late = sanio::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
//!     assert_eq!(late, Err(Elapsed));
//!     // ...and one that does not: its sleep is dropped, its timer removed.
//!     let quick = sanio::timeout(Duration::from_secs(3600), async {
//!         sanio::rt::yield_now().await;
//!         7
//!     })
//!     .await;
//!     assert_eq!(quick, Ok(7));
//!     assert_eq!(sanio::rt::stats().unwrap().timers, 0);
//!
//!     let mut ticks = sanio::interval(Duration::from_millis(1));
//!     let first = ticks.tick().await; // the first tick is at once
//!     let second = ticks.tick().await;
//!     assert!(second >= first + Duration::from_millis(1));
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # 5. A TCP connection
//!
//! [`TcpListener`](crate::net::TcpListener) and
//! [`TcpStream`](crate::net::TcpStream) each own a non-blocking mio socket
//! and a registration, and every operation goes through `poll_io`. A few
//! decisions are worth knowing:
//!
//! - Binding goes through `socket2` (`SO_REUSEADDR`, a backlog of 1024,
//!   `SO_REUSEPORT` when asked) so that several workers can each have their
//!   own listening socket on one port.
//! - `accept` backs off (10 ms, doubling up to 1 s) when the process runs
//!   out of file descriptors. With edge-triggered readiness and a pending
//!   connection that cannot be accepted, retrying at once would spin.
//! - `connect` starts a non-blocking connect and waits until the socket is
//!   writable, which is when the kernel has an answer.
//! - Methods take `&self`, so one task can read while another writes,
//!   sharing the stream through `Rc`. The types are `!Send`: a socket
//!   belongs to the loop it was registered with.
//! - Dropping a stream closes it; the socket field is declared before the
//!   registration so the socket closes first.
//! - Both types also implement `futures-io`'s `AsyncRead` and `AsyncWrite`,
//!   so code written against those traits runs here.
//!
//! The app's server accepts in one task and spawns one task per
//! connection (with `TCP_NODELAY` set), which is the shape below.
//!
//! Source: `src/net/listener.rs` (`TcpListener::accept`),
//! `src/net/stream.rs`, `src/app/server.rs` (`accept_loop`).
//!
//! ```
//! use std::rc::Rc;
//! use sanio::net::{TcpListener, TcpStream};
//!
//! async fn echo(stream: TcpStream) -> std::io::Result<()> {
//!     let mut buf = [0; 1024];
//!     loop {
//!         let n = stream.read(&mut buf).await?;
//!         if n == 0 {
//!             return Ok(()); // the peer closed its side
//!         }
//!         stream.write_all(&buf[..n]).await?;
//!     }
//! }
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let acceptor = sanio::spawn(async move {
//!         for _ in 0..2 {
//!             let (stream, _peer) = listener.accept().await?;
//!             sanio::spawn(echo(stream)); // one task per connection, detached
//!         }
//!         Ok::<(), std::io::Error>(())
//!     });
//!     for word in ["hello", "world"] {
//!         let client = Rc::new(TcpStream::connect(addr).await?);
//!         // Another task writes while this one reads.
//!         let writer = Rc::clone(&client);
//!         sanio::spawn(async move { writer.write_all(word.as_bytes()).await });
//!         let mut back = vec![0; word.len()];
//!         client.read_exact(&mut back).await?;
//!         assert_eq!(back, word.as_bytes());
//!         client.shutdown(std::net::Shutdown::Write)?; // the echo task ends
//!     }
//!     acceptor.await.unwrap()
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # 6. An HTTP request's life
//!
//! Each accepted connection runs `serve_connection` on its own task.
//! `Conn::run` loops over requests:
//!
//! 1. **Head.** Bytes are read into a per-connection buffer and
//!    `parse_head` tokenizes them with `httparse`, then applies the framing
//!    rules httparse leaves to its caller: `Content-Length` against
//!    `Transfer-Encoding`, duplicate lengths, `Host`, keep-alive. "Need
//!    more bytes" is not an error. Limits answer with 431 (head too
//!    large), 414 (URI too long), 400 (bad syntax) or 408 (head not
//!    complete within `request_timeout`), and close the connection.
//! 2. **Body.** `BodyDecoder` is a small state machine over
//!    `Content-Length` or chunked framing (chunk sizes through httparse's
//!    helper), with a 413 past `max_body_bytes` and `100 Continue` sent
//!    only when the client asked and the body is not there yet. The body is
//!    collected whole before the handler runs; a request body is not
//!    streamed to handlers.
//! 3. **Call.** The app's service routes the request (404, or 405 with
//!    `Allow`), runs the handler and turns what it returns into a
//!    [`Response`](crate::Response) through
//!    [`IntoResponse`](crate::IntoResponse); a panicking handler gives a
//!    500 and the worker lives on. While a handler is pending, the
//!    connection watches its socket: a client that goes away has its
//!    handler dropped.
//! 4. **Respond.** The response is encoded into a write buffer, which is
//!    written when the read buffer runs dry, when a handler has to be
//!    waited for, when a body is streamed, or past 64 KiB. So pipelined
//!    requests that arrive in one read are parsed and answered before
//!    anything is written, and their responses leave in one write, in
//!    order.
//!
//! Timeouts use one [`Sleep`](crate::rt::Sleep) per connection, moved only
//! when a deadline gets earlier or when it fires before the real deadline
//! ("lazy re-arming"): a busy keep-alive connection touches the timer map
//! about once per timeout period, not once per request. Before it closes
//! (after an error response or a `Connection: close`), a connection writes
//! what is buffered, half-closes, and drains unread input until the client
//! closes too or two seconds pass, so the client reads the response rather
//! than a reset.
//!
//! `parse.rs`, `body.rs`, `encode.rs` and `router.rs` are pure (bytes in,
//! values out), tested with tables; `conn.rs` is the only file of `http`
//! that touches a socket.
//!
//! Source: `src/http/conn.rs` (`serve_connection`, `Conn::run`),
//! `src/http/parse.rs` (`parse_head`), `src/http/body.rs`
//! (`BodyDecoder::decode`), `src/app/handler.rs` (`AppService::answer`).
//!
//! Three pipelined requests in one write, over a plain `std` socket:
//!
//! ```
//! use std::io::{Read, Write};
//! use sanio::{App, Config, Request};
//!
//! let app = App::new("guide");
//! app.get("/hello", |req: Request| async move {
//!     format!("hello {}", req.query("name").unwrap_or("world"))
//! })?;
//! let server = app.serve(Config::default().port(0))?;
//!
//! let mut client = std::net::TcpStream::connect(server.local_addr())?;
//! client.write_all(
//!     b"GET /hello?name=sanio HTTP/1.1\r\nHost: x\r\n\r\n\
//!       POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n\
//!       GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
//! )?;
//! let mut answers = String::new();
//! client.read_to_string(&mut answers)?; // the server closes after the third
//! let statuses: Vec<&str> = answers.split("HTTP/1.1 ").skip(1).map(|r| &r[..3]).collect();
//! assert_eq!(statuses, ["200", "405", "404"]);
//! assert!(answers.contains("hello sanio"));
//! drop(client); // the server lingers until the client's side closes too
//!
//! server.stop();
//! server.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 7. A websocket
//!
//! [`App::websocket`](crate::App::websocket) adds a GET route whose answer
//! is the handshake: 400 or 426 for a bad one, otherwise `101 Switching
//! Protocols` carrying an upgrade callback. Once the 101 is written, the
//! connection hands its `TcpStream` and any bytes read past the head to
//! the callback and its task ends (its memory is sized for parsing and
//! answering requests, which an open websocket no longer needs). The
//! callback spawns the socket's task, counted with the worker's
//! connections so a graceful stop waits for it: there `WebSocket::start`
//! spawns a **driver** task, and the handler runs with a
//! [`WebSocket`](crate::WebSocket) handle.
//!
//! The driver owns all the I/O. tungstenite does the framing over a small
//! `Read + Write` adapter: a read that would wait registers the driver's
//! waker with the reactor and returns `WouldBlock`, tungstenite keeps its
//! partial frame, and the driver returns `Pending`. It never blocks. The
//! driver reads all the time, not only while a handler is in `recv`, so it
//! answers pings, sends keepalive pings, drops a silent peer, and notices a
//! close frame, EOF or reset at once. Data messages wait in a bounded
//! queue; while it is full the driver stops reading and TCP pushes back on
//! the peer. The cost is one extra task per socket.
//!
//! The handle holds no socket: `recv` takes from the queue, `send` puts a
//! frame in the outbound buffer and wakes the driver, `close` starts the
//! close handshake and waits for it. Handles are cheap clones sharing one
//! `Rc`, so a task on the same loop can hold one too; dropping the last
//! one closes the socket with 1000. When the peer leaves (close frame, EOF,
//! dead peer), the driver **cancels the handler task** with the flag from
//! section 2, so a handler waiting on something cancellation-aware (an app
//! event, `recv`, `send`) wakes up and can clean up. `recv` returns `None`
//! once the socket is closed and its buffered messages are taken. Close
//! codes: 1000 when the handler returns, 1011 when it fails or panics, 1001
//! at server shutdown, 1009 for a message over the limit, 1002 and 1007 for
//! protocol errors.
//!
//! Source: `src/app/websocket.rs` (`upgrade`, `run_handler`),
//! `src/ws/socket.rs` (`WebSocket`), `src/ws/driver.rs` (`drive`,
//! `Phase`), `src/ws/adapter.rs`.
//!
//! An echo handler, and a client written out by hand: frames are simple
//! enough (a client must mask its payload; a server must not).
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use sanio::{App, Config, Request, WebSocket};
//!
//! /// A masked client frame (payloads under 126 bytes).
//! fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
//!     let mask = [1, 2, 3, 4];
//!     let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
//!     out.extend_from_slice(&mask);
//!     out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
//!     out
//! }
//!
//! /// A server frame: (opcode, payload).
//! fn read_frame(stream: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
//!     let mut head = [0; 2];
//!     stream.read_exact(&mut head)?;
//!     let mut payload = vec![0; usize::from(head[1] & 0x7f)];
//!     stream.read_exact(&mut payload)?;
//!     Ok((head[0] & 0x0f, payload))
//! }
//!
//! /// The HTTP head of the handshake's answer.
//! fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
//!     let mut head = Vec::new();
//!     while !head.ends_with(b"\r\n\r\n") {
//!         let mut byte = [0];
//!         stream.read_exact(&mut byte)?;
//!         head.push(byte[0]);
//!     }
//!     Ok(String::from_utf8_lossy(&head).into_owned())
//! }
//!
//! let app = App::new("guide");
//! app.websocket("/echo", |_req: Request, ws: WebSocket| async move {
//!     while let Some(message) = ws.recv().await {
//!         ws.send(message).await?;
//!     }
//!     Ok::<(), sanio::WsError>(()) // returning closes with 1000
//! })?;
//! let server = app.serve(Config::default().port(0))?;
//!
//! let mut client = TcpStream::connect(server.local_addr())?;
//! client.write_all(
//!     b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
//! )?;
//! let head = read_head(&mut client)?;
//! assert!(head.starts_with("HTTP/1.1 101"));
//! assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")); // RFC 6455's example
//!
//! client.write_all(&frame(0x1, b"hi"))?; // text
//! assert_eq!(read_frame(&mut client)?, (0x1, b"hi".to_vec()));
//!
//! client.write_all(&frame(0x8, &1000u16.to_be_bytes()))?; // close, 1000
//! let (opcode, _code) = read_frame(&mut client)?;
//! assert_eq!(opcode, 0x8); // the server answers the close
//! drop(client);
//!
//! server.stop();
//! server.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 8. Background tasks and cancellation
//!
//! [`App::add_task`](crate::App::add_task) takes a future, or a *factory*:
//! a closure or fn of no argument or of one [`App`](crate::App) argument
//! that returns a future ([`IntoTask`](crate::IntoTask) sorts them out at
//! compile time). What happens depends on where it is called:
//!
//! - **On a running loop** (inside a handler, a listener, another task, or
//!   any `Runtime::block_on`), the task starts now on this loop and its
//!   [`TaskHandle`](crate::TaskHandle) comes back. `!Send` futures are
//!   fine here.
//! - **Before `run`**, it is kept: a factory is called on every worker
//!   right after its `before_server_start` listeners; a plain future can be
//!   started only once, so it runs on worker 0. Section 10 shows both.
//!
//! Every task is wrapped by a supervisor that logs an error (a task may
//! return `()` or any `Result`) or a panic with the task's name and reports
//! it through the `server.exception.report` event. Each worker owns a task
//! registry: named tasks (finished ones too, until purged) and unnamed
//! ones, all of which are cancelled when the worker stops. The registry
//! lives with the worker's loop (a thread-local keyed by the app and the
//! loop), which is why names are per worker.
//!
//! Cancelling an app task is the runtime's cancel (section 2). The awaits
//! that notice it are [`cancelled()`](crate::cancelled),
//! [`App::event`](crate::App::event) waits and websocket `recv`/`send`;
//! sockets, sleeps and join handles do not. A task that never awaits
//! something aware is dropped at its current await point: its destructors
//! run, but it gets no chance at async cleanup. And a task that computes
//! without awaiting cannot be cancelled until it awaits; nothing preempts
//! it.
//!
//! ## Cleanup on cancel, the asyncio way
//!
//! In Sanic (asyncio), any await can raise `CancelledError`, and a task
//! catches it to clean up:
//!
//! ```python
//! async def poller(app):
//!     try:
//!         while True:
//!             await poll_once()
//!             await asyncio.sleep(10)
//!     except asyncio.CancelledError:
//!         await save_state()
//!         raise
//! ```
//!
//! In sanio a plain await does not notice a cancel (the task is dropped
//! there, destructors run, no async cleanup). Wrapping the await in
//! [`cancellable`](crate::cancellable) makes it notice:
//! `cancellable(fut).await` is `Ok(output)`, or `Err(Cancelled)` when the
//! task was cancelled while it waited, and the task then has its grace
//! period to clean up:
//!
//! ```
//! use std::time::Duration;
//! use sanio::rt::Cancelled;
//!
//! async fn poller(saved: std::rc::Rc<std::cell::Cell<bool>>) -> Result<(), Cancelled> {
//!     loop {
//!         // poll_once().await;
//!         if let Err(cancelled) = sanio::cancellable(sanio::sleep(Duration::from_secs(10))).await {
//!             sanio::sleep(Duration::from_millis(1)).await; // save_state().await
//!             saved.set(true);
//!             return Err(cancelled); // `raise`
//!         }
//!     }
//! }
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     let saved = std::rc::Rc::new(std::cell::Cell::new(false));
//!     let task = sanio::spawn(poller(saved.clone()));
//!     sanio::rt::yield_now().await;
//!     task.cancel();
//!     assert!(task.await.unwrap().is_err());
//!     assert!(saved.get());
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Source: `src/app/tasks.rs` (`App::add_task`, `App::cancel_task`,
//! `App::shutdown_tasks`, `supervise`, `TaskRegistry`),
//! `src/app/task_types.rs`, `src/rt/cancel.rs`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use sanio::{App, Error, Event, TaskError, TaskState};
//!
//! let app = App::new("guide");
//! let reports = Arc::new(Mutex::new(Vec::new()));
//! let seen = Arc::clone(&reports);
//! app.signal("server.exception.report", move |_app: App, event: Event| {
//!     let seen = Arc::clone(&seen);
//!     async move { seen.lock().unwrap().push(event.message().unwrap_or("").to_owned()) }
//! })?;
//!
//! let rt = sanio::Runtime::new()?;
//! rt.block_on(async {
//!     // A task that waits on an app event, and cleans up when cancelled.
//!     let feeder = app.clone();
//!     let feed = app
//!         .add_named_task("feed", async move {
//!             loop {
//!                 match feeder.event("my.custom.event").await {
//!                     Ok(_) => continue,
//!                     Err(Error::Cancelled(why)) => {
//!                         sanio::sleep(Duration::from_millis(1)).await; // async cleanup
//!                         return Ok(format!("stopped: {why}"));
//!                     }
//!                     Err(other) => return Err(other),
//!                 }
//!             }
//!         })?
//!         .expect("a loop runs here, so the task starts now");
//!     sanio::rt::yield_now().await;
//!     feed.cancel_with("bye");
//!     assert_eq!(feed.await, Ok("stopped: cancelled: bye".to_owned()));
//!     // It ended by its own cleanup, so it is done, not cancelled.
//!     assert_eq!(app.get_task("feed")?.state(), TaskState::Done);
//!
//!     // A task that fails is logged, reported, and its handle says why.
//!     let failing = app.add_task(async { Err::<(), _>("disk full") })?.unwrap();
//!     assert_eq!(failing.await, Err(TaskError::Failed("disk full".to_owned())));
//!     sanio::rt::yield_now().await; // the report is dispatched by a task
//!
//!     // What is left is cancelled, with a bound on the wait.
//!     app.add_task(std::future::pending::<()>())?;
//!     assert_eq!(app.shutdown_tasks(Duration::from_secs(1)).await, 1);
//!     Ok::<(), Error>(())
//! })?;
//! assert_eq!(*reports.lock().unwrap(), ["task <unnamed> failed: disk full"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 9. Workers and shutdown
//!
//! [`App::run`](crate::App::run) runs on the calling thread:
//! `main_process_start` listeners on a short-lived loop of their own; bind
//! one socket per worker (with `SO_REUSEPORT`, so the kernel spreads
//! connections) or one socket shared by all; start workers 1..N-1 as
//! threads; become worker 0; when every worker has stopped, run
//! `main_process_stop`. With one worker no thread is started at all.
//! [`App::serve`](crate::App::serve) does the same with every worker on a
//! thread of its own and returns a [`Server`](crate::Server) at once, which
//! is what tests and embedders want.
//!
//! Workers are threads, not processes, and each has its own
//! [`Runtime`](crate::Runtime), listener, task registry and event waiters,
//! as each Sanic worker process has its own asyncio loop. The `App` itself
//! is `Clone + Send + Sync` and frozen while it runs: routes, listeners and
//! signal handlers are shared read-only. The trade-off against processes:
//! sharing is cheap (one `Arc`), but a worker that aborts the process (a
//! stack overflow, an `abort`) takes every worker with it. A panic in a
//! handler or a task is caught and does not.
//!
//! A stop ([`App::stop`](crate::App::stop) from any thread, or SIGINT or
//! SIGTERM during `run`; a second signal exits at once, with status 130 for
//! SIGINT and 143 for SIGTERM) reaches each worker's loop through its
//! remote queue. Each worker then:
//!
//! 1. stops accepting and runs `before_server_stop`;
//! 2. tells its connections to wind down: idle keep-alive connections
//!    close, in-flight requests are answered with `Connection: close`,
//!    streamed bodies end, websockets close with 1001 and their handlers
//!    are cancelled;
//! 3. waits for the connections until the graceful timeout (counted from
//!    the stop), then cancels those left with no grace: a later cancel
//!    with a shorter grace shortens an earlier one, so they are dropped at
//!    once even if they were cleaning up;
//! 4. cancels its tasks (`shutdown_tasks`) with the time that is left (at
//!    least 10 ms): a task that observes the cancel may clean up until
//!    then, one that does not is dropped at once, and one that overruns is
//!    dropped when its grace ends. So a stop never hangs on a task;
//! 5. runs `after_server_stop`.
//!
//! The listeners of each stop phase share a quarter of the graceful timeout
//! (one that overruns is dropped and logged by name), so a stop never hangs
//! on a listener either: a worker stops within 1.25 × the graceful timeout,
//! and `run` returns within 1.5 × it (`main_process_stop` included).
//!
//! Source: `src/app/workers.rs` (`App::run`, `App::serve`, `App::stop`,
//! `bind`), `src/app/server.rs` (`run_worker`, `serve`,
//! `Connections::finish_by`), `src/app/local.rs`.
//!
//! Two workers, a task on each, one of which refuses to stop in time:
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use sanio::{App, Config, Lifecycle};
//!
//! /// Counts its drops: dropping a task runs its destructors.
//! struct Guard(Arc<AtomicUsize>);
//! impl Drop for Guard {
//!     fn drop(&mut self) {
//!         self.0.fetch_add(1, Ordering::SeqCst);
//!     }
//! }
//!
//! let app = App::new("guide");
//! let (started, cleaned, dropped) = (
//!     Arc::new(AtomicUsize::new(0)),
//!     Arc::new(AtomicUsize::new(0)),
//!     Arc::new(AtomicUsize::new(0)),
//! );
//! let count = Arc::clone(&started);
//! app.listener(Lifecycle::BeforeServerStart, move |_app: App| {
//!     let count = Arc::clone(&count);
//!     async move {
//!         count.fetch_add(1, Ordering::SeqCst);
//!     }
//! })?;
//! // Factories: each worker calls them and gets its own tasks.
//! let count = Arc::clone(&cleaned);
//! app.add_task(move |app: App| {
//!     let count = Arc::clone(&count);
//!     async move {
//!         let _ = app.event("guide.never.sent").await; // ends with Cancelled
//!         count.fetch_add(1, Ordering::SeqCst);
//!     }
//! })?;
//! let count = Arc::clone(&dropped);
//! app.add_task(move || {
//!     let guard = Guard(Arc::clone(&count));
//!     async move {
//!         let _guard = guard;
//!         sanio::cancelled().await;
//!         sanio::sleep(Duration::from_secs(3600)).await; // overruns its grace
//!     }
//! })?;
//!
//! let config = Config::default()
//!     .port(0)
//!     .workers(2)
//!     .graceful_timeout(Duration::from_millis(100));
//! let server = app.serve(config)?;
//! server.stop();
//! server.join()?; // returns within about the graceful timeout
//! assert_eq!(started.load(Ordering::SeqCst), 2);
//! assert_eq!(cleaned.load(Ordering::SeqCst), 2);
//! assert_eq!(dropped.load(Ordering::SeqCst), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 10. Sanic's background-tasks page in Rust
//!
//! Every example of Sanic's "Background tasks" page, in the same order.
//! Sleeps of five seconds are a few milliseconds here so the examples run
//! quickly.
//!
//! ## Creating tasks
//!
//! On a running loop, `add_task` starts the task now, like
//! `asyncio.create_task`, and returns its handle. The app can be injected
//! (pass a fn or closure taking an [`App`](crate::App); sanio calls it with
//! the app) or passed explicitly (build the future with the app yourself):
//!
//! ```
//! use std::time::Duration;
//! use sanio::App;
//!
//! async fn notify_server_started_after_five_seconds() {
//!     sanio::sleep(Duration::from_millis(5)).await;
//!     println!("Server successfully started!");
//! }
//!
//! async fn auto_inject(app: App) {
//!     sanio::sleep(Duration::from_millis(5)).await;
//!     println!("{}", app.name());
//! }
//!
//! async fn explicit_inject(app: App) {
//!     sanio::sleep(Duration::from_millis(5)).await;
//!     println!("{}", app.name());
//! }
//!
//! let app = App::new("guide");
//! sanio::Runtime::new()?.block_on(async {
//!     let a = app.add_task(notify_server_started_after_five_seconds())?;
//!     let b = app.add_task(auto_inject)?; // called with the app
//!     let c = app.add_task(explicit_inject(app.clone()))?;
//!     for handle in [a, b, c] {
//!         assert_eq!(handle.expect("started on this loop").await, Ok(()));
//!     }
//!     Ok::<(), sanio::Error>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Adding tasks before `app.run`
//!
//! Before the app runs, `add_task` keeps the task and returns `Ok(None)`.
//! Pass the callable (a factory) and each worker calls it and runs its own
//! task as a `before_server_start` job; pass a future and it runs once, on
//! worker 0, since a future can be started only once. Neither runs in
//! `main_process_start`, which must finish before any worker starts.
//!
//! ```
//! use std::time::Duration;
//! use sanio::App;
//!
//! async fn slow_work() {}
//!
//! async fn even_slower(num: u64) {
//!     sanio::sleep(Duration::from_millis(num)).await;
//! }
//!
//! let app = App::new("guide");
//! assert!(app.add_task(slow_work)?.is_none()); // the callable: every worker
//! assert!(app.add_task(even_slower(10))?.is_none()); // a future: worker 0 only
//! // app.run(sanio::Config::from_env()?)?;
//! # Ok::<(), sanio::Error>(())
//! ```
//!
//! The same, run for real. A third task stops the app once the two have
//! done their work, so that `run` returns:
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::time::Duration;
//! use sanio::{App, Config};
//!
//! static DONE: AtomicUsize = AtomicUsize::new(0);
//!
//! async fn slow_work() {
//!     DONE.fetch_add(1, Ordering::SeqCst);
//! }
//!
//! async fn even_slower(num: u64) {
//!     sanio::sleep(Duration::from_millis(num)).await;
//!     DONE.fetch_add(1, Ordering::SeqCst);
//! }
//!
//! let app = App::new("guide");
//! app.add_task(slow_work)?;
//! app.add_task(even_slower(10))?;
//! app.add_task(|app: App| async move {
//!     while DONE.load(Ordering::SeqCst) < 2 {
//!         sanio::sleep(Duration::from_millis(1)).await;
//!     }
//!     app.stop();
//! })?;
//! app.run(Config::default().port(0).handle_signals(false))?;
//! assert_eq!(DONE.load(Ordering::SeqCst), 2);
//! # Ok::<(), sanio::Error>(())
//! ```
//!
//! A plain future added before the app starts is kept on the thread that
//! added it, and worker 0 is that thread only under `run`.
//! [`App::serve`](crate::App::serve) starts every worker on a new thread,
//! so a plain future added before `serve` is never started: with `serve`,
//! add factories.
//!
//! ## Named tasks
//!
//! `add_task(slow_work, name="slow_task")` is
//! [`add_named_task`](crate::App::add_named_task). Then
//! [`get_task`](crate::App::get_task) finds it,
//! [`cancel_task`](crate::App::cancel_task) cancels it and resolves once it
//! is gone (with a [`CancelOutcome`](crate::CancelOutcome): graceful,
//! dropped or already finished, and the final state), [`tasks`](crate::App::tasks) lists this
//! worker's named tasks, finished ones included, and
//! [`purge_tasks`](crate::App::purge_tasks) forgets every finished,
//! failed, cancelled or panicked one.
//!
//! ```
//! use sanio::{App, Error, TaskState};
//!
//! async fn slow_work() {
//!     std::future::pending::<()>().await // until cancelled
//! }
//!
//! let app = App::new("guide");
//! sanio::Runtime::new()?.block_on(async {
//!     app.add_named_task("slow_task", slow_work)?;
//!
//!     let task = app.get_task("slow_task")?;
//!     assert_eq!(task.name(), Some("slow_task"));
//!
//!     assert_eq!(app.cancel_task("slow_task").await?.state(), TaskState::Cancelled);
//!
//!     let names: Vec<String> = app.tasks().iter().map(|t| t.name().unwrap().to_owned()).collect();
//!     assert_eq!(names, ["slow_task"]); // still listed, as cancelled
//!     assert_eq!(app.purge_tasks(), 1);
//!     assert!(app.tasks().is_empty());
//!     Ok::<(), Error>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where sanio differs on purpose:
//!
//! - A second **live** task under a name that is already live is refused
//!   with [`Error::TaskNameTaken`](crate::Error::TaskNameTaken); reusing the
//!   name of a finished task replaces it.
//! - Names may be given **before `run`**: each worker then registers its
//!   own task under that name (Sanic refuses this).
//! - `cancel_task` on a task that has already finished or failed returns
//!   its final state quietly; it never raises a stale error again. An
//!   unknown name is an [`Error::UnknownTask`](crate::Error::UnknownTask),
//!   not a panic.
//! - Adding the same factory twice before `run` runs it twice per worker.
//! - Shutdown cancels every task, named or not, waits at most the graceful
//!   timeout, and never spins or hangs (Sanic issue #2906).
//!
//! ```
//! use sanio::{App, Error, TaskState};
//!
//! let app = App::new("guide");
//! // Before run: accepted, registered by each worker when it starts the task.
//! assert!(app.add_named_task("per_worker", || async {})?.is_none());
//!
//! sanio::Runtime::new()?.block_on(async {
//!     app.add_named_task("job", std::future::pending::<()>())?;
//!     let again = app.add_named_task("job", async {});
//!     assert!(matches!(again, Err(Error::TaskNameTaken(_))));
//!
//!     app.add_named_task("quick", async { Err::<(), _>("failed early") })?;
//!     sanio::rt::yield_now().await;
//!     // Finished already: its state comes back, no error is raised again.
//!     assert_eq!(app.cancel_task("quick").await?.state(), TaskState::Failed);
//!     // A finished name can be used again.
//!     app.add_named_task("quick", async {})?;
//!
//!     assert!(matches!(app.cancel_task("nope").await, Err(Error::UnknownTask(_))));
//!     Ok::<(), Error>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The websocket receiver pattern
//!
//! A receiver task shares the websocket with its handler (both hold a
//! clone of the [`WebSocket`](crate::WebSocket) on the same loop; the task
//! need not be `Send`). The handler waits for `my.custom.event` and sends
//! a message each time. Python's `finally` block becomes the code after
//! the loop: when the client goes away the handler task is cancelled, so
//! the event wait ends with `Cancelled` and the cleanup runs.
//!
//! Two more differences show here. [`recv`](crate::WebSocket::recv)
//! returns `None` once the socket is closed, so the receiver's loop is a
//! `while let`. And [`dispatch`](crate::App::dispatch) reaches the waiters
//! of one worker, as in Sanic, while
//! [`dispatch_all`](crate::App::dispatch_all) broadcasts to every worker
//! from any thread: one `POST` on worker 1 can wake feeds on all workers.
//!
//! `app.event()` is one-shot, as in Sanic: a dispatch that comes while the
//! handler is busy in `ws.send` is missed. Where every notification
//! matters, subscribe once before the loop
//! ([`subscribe`](crate::App::subscribe), as the demo's `/feed` and the
//! README do): each dispatch is queued (bounded; when full the oldest is
//! dropped and counted) until `recv` takes it.
//!
//! In this example the receiver also answers each message, so that the
//! client knows the handler is already waiting for the event; the rest is
//! the seed's code.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use sanio::{App, Config, Error, Request, WebSocket};
//!
//! static CLEANED_UP: AtomicBool = AtomicBool::new(false);
//!
//! async fn receiver(ws: WebSocket) {
//!     while let Some(message) = ws.recv().await {
//!         let text = message.as_text().unwrap_or("<binary>").to_owned();
//!         println!("Received: {text}");
//!         let _ = ws.send(format!("got {text}")).await;
//!     }
//! }
//!
//! async fn feed(request: Request, ws: WebSocket) -> Result<(), Error> {
//!     let app = request.app();
//!     let task_name = format!("receiver:{}", request.id());
//!     app.add_named_task(task_name.clone(), receiver(ws.clone()))?;
//!     // Until the client goes away: then the wait ends with `Cancelled`.
//!     while app.event("my.custom.event").await.is_ok() {
//!         if ws.send("A message").await.is_err() {
//!             break;
//!         }
//!     }
//!     // The `finally` block: cancel the receiver, wait for it, forget it.
//!     app.cancel_task(&task_name).await?;
//!     app.purge_tasks();
//!     CLEANED_UP.store(true, Ordering::SeqCst);
//!     Ok(())
//! }
//!
//! # fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
//! #     let mask = [1, 2, 3, 4];
//! #     let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
//! #     out.extend_from_slice(&mask);
//! #     out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
//! #     out
//! # }
//! # fn read_frame(stream: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
//! #     let mut head = [0; 2];
//! #     stream.read_exact(&mut head)?;
//! #     let mut payload = vec![0; usize::from(head[1] & 0x7f)];
//! #     stream.read_exact(&mut payload)?;
//! #     Ok((head[0] & 0x0f, payload))
//! # }
//! # fn read_head(stream: &mut TcpStream) -> std::io::Result<()> {
//! #     let mut head = Vec::new();
//! #     while !head.ends_with(b"\r\n\r\n") {
//! #         let mut byte = [0];
//! #         stream.read_exact(&mut byte)?;
//! #         head.push(byte[0]);
//! #     }
//! #     assert!(head.starts_with(b"HTTP/1.1 101"));
//! #     Ok(())
//! # }
//! let app = App::new("guide");
//! app.websocket("/feed", feed)?;
//! let server = app.serve(Config::default().port(0))?;
//!
//! // A client, by hand (frames as in section 7).
//! let mut client = TcpStream::connect(server.local_addr())?;
//! client.write_all(
//!     b"GET /feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
//! )?;
//! read_head(&mut client)?;
//! client.write_all(&frame(0x1, b"hello"))?;
//! assert_eq!(read_frame(&mut client)?, (0x1, b"got hello".to_vec()));
//!
//! // From this thread, to every worker's loop.
//! assert_eq!(app.dispatch_all("my.custom.event", None)?, 1);
//! assert_eq!(read_frame(&mut client)?, (0x1, b"A message".to_vec()));
//!
//! client.write_all(&frame(0x8, &1000u16.to_be_bytes()))?; // the client leaves
//! assert_eq!(read_frame(&mut client)?.0, 0x8);
//! drop(client);
//!
//! server.stop();
//! server.join()?;
//! assert!(CLEANED_UP.load(Ordering::SeqCst));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 11. Tasks beyond Sanic
//!
//! Source: `src/app/scope.rs`, `supervise.rs`, `anywhere.rs`, `remote.rs`,
//! `names.rs`, `dump.rs`, `leaks.rs`, `info.rs`; `src/rt/dump.rs`.
//!
//! - **Scoped tasks.** [`Request::add_task`](crate::Request::add_task)
//!   starts a task that ends with its handler, however the handler ends
//!   (return, error, panic, client gone, graceful stop): the receiver
//!   pattern above without its `cancel_task`. A guard held for the
//!   handler's run cancels the scope's tasks when it drops.
//! - **Child tasks.** [`App::add_child_task`](crate::App::add_child_task)
//!   from inside a task: cancelling the parent cancels the subtree, and the
//!   parent's [`Task::wait`](crate::Task::wait) (so `cancel_task`) returns
//!   once the children ended. [`Task::detach`](crate::Task::detach) hands a
//!   child to the worker.
//! - **Supervision.** [`App::task`](crate::App::task) gives a restart
//!   policy ([`Restart`](crate::Restart)), a [`Backoff`](crate::Backoff)
//!   (exponential, jittered, between a minimum and a maximum), a cap of N
//!   restarts in a window, and a [`PanicPolicy`](crate::PanicPolicy) (the
//!   app default is [`Config::task_panic_policy`](crate::Config::task_panic_policy));
//!   [`Singleton::Process`](crate::Singleton) runs a task on one worker.
//! - **Across workers.** [`tasks_everywhere`](crate::App::tasks_everywhere),
//!   [`locate_task`](crate::App::locate_task) and
//!   [`cancel_task_anywhere`](crate::App::cancel_task_anywhere) ask every
//!   worker's loop through its remote queue, within
//!   [`Config::task_query_timeout`](crate::Config::task_query_timeout);
//!   [`Config::unique_task_names`](crate::Config::unique_task_names) makes a
//!   name unique in the process. A cancel returns a
//!   [`CancelOutcome`](crate::CancelOutcome): graceful, dropped, or already
//!   finished.
//! - **Seeing them.** [`rt::dump`](crate::rt::dump) lists a loop's tasks
//!   (state, polls, busy time, age, last poll, spawn location, cancel);
//!   [`App::task_dump`](crate::App::task_dump) gathers every worker's, as
//!   data and as a text tree; [`Config::dump_on_sigusr1`](crate::Config::dump_on_sigusr1)
//!   logs the tree on SIGUSR1; a poll slower than
//!   [`Config::slow_poll_threshold`](crate::Config::slow_poll_threshold)
//!   (100 ms by default) is counted and logged (each task's first, then at
//!   most one warning a second per worker, with the count skipped). At each
//!   worker's stop, tasks still alive or dropped are logged and kept in
//!   [`App::stop_reports`](crate::App::stop_reports);
//!   [`rt::assert_no_live_tasks`](crate::rt::assert_no_live_tasks) fails a
//!   test that leaves tasks behind.
//! - **Typed events.** [`App::dispatch_payload`](crate::App::dispatch_payload)
//!   and [`App::dispatch_all_payload`](crate::App::dispatch_all_payload)
//!   carry any `Send + Sync + 'static` value; [`Event::payload`](crate::Event::payload)
//!   reads it back typed.
//!
//! A flaky job, restarted with backoff, checked on the paused clock:
//!
//! ```
//! use std::time::Duration;
//! use sanio::{App, Backoff, CancelOutcome, Restart, TaskState};
//!
//! let app = App::new("guide");
//! sanio::Runtime::new()?.with_paused_clock().block_on(async {
//!     let task = app
//!         .task("sync")
//!         .restart(Restart::OnFailure)
//!         .backoff(Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).jitter(false))
//!         .add_task(|| async { Err::<(), _>("upstream down") })?
//!         .expect("started on this loop");
//!     // Restarts after 100, 200 and 400 ms: three by 0.75 s.
//!     sanio::sleep(Duration::from_millis(750)).await;
//!     assert_eq!(task.restarts(), 3);
//!     // A cancel during the backoff stops the restarts, gracefully.
//!     let outcome = task.cancel_and_wait(None).await;
//!     assert_eq!(outcome, CancelOutcome::Graceful(TaskState::Cancelled));
//!     Ok::<(), sanio::Error>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 12. The app on day two: middleware, blueprints, state, files, forms
//!
//! What a Sanic user reaches for after the first page, each in its own
//! file: `app/middleware.rs`, `app/blueprint.rs`, `app/state.rs`,
//! `app/dispatch.rs` (one request through all of it), and pure cores in
//! `http/` for static files, forms and cookies.
//!
//! One request goes through, in this order:
//!
//! ```text
//! route (404/405 if none; a blueprint's host must match)
//! request middleware: the app's, then each blueprint's, outer to inner
//!     (higher priority first, then registration order); one may answer
//! handler (a panic is a 500)
//! error handler: the nearest for the status, then the nearest catch-all
//! response middleware: the blueprint's inner to outer, then the app's
//!     (higher priority first, then REVERSE registration order)
//! ```
//!
//! | Sanic | sanio |
//! |---|---|
//! | `@app.on_request` / `@app.on_response` | `app.on_request(f)` / `app.on_response(f)` (`_with_priority`) |
//! | `Blueprint("admin", url_prefix="/admin")` | `Blueprint::new("admin").url_prefix("/admin")` |
//! | `app.ctx.db = ...` | `app.state(Db(...))`, read with `req.state::<Db>()` |
//! | one connection per worker | `app.worker_state(|| Conn::open())`, `req.worker_state::<Conn>()` |
//! | `request.ctx.user = ...` | `req.ctx().insert(User(...))` |
//! | `app.static("/static", "./static")` | `app.static_files("/static", "./static")` |
//! | `request.form` / `request.files` | `req.form()?` (`.get(name)`, `.files()`) |
//! | `@app.post(.., stream=True)` | `app.route_streaming(Method::Post, .., f)`, `req.body_stream()`, `req.form_stream(limits)` |
//! | `request.cookies` / `response.add_cookie` | `req.cookie(name)` / `response.with_cookie(&Cookie::new(..)?)` |
//! | `@app.exception(NotFound)` | `app.exception(StatusCode::NOT_FOUND, f)` |
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use sanio::http::Cookie;
//! use sanio::{App, Blueprint, Config, HttpError, Request, RequestInfo, Response, StatusCode};
//!
//! /// App-wide: shared by every worker.
//! struct Visits(AtomicU64);
//! /// Per request: set by a middleware, read by handlers.
//! #[derive(Clone)]
//! struct User(String);
//!
//! let app = App::new("day-two");
//! app.state(Visits(AtomicU64::new(0)))?;
//!
//! // Who is calling: a cookie, kept in the request's ctx.
//! app.on_request(|req: Request| async move {
//!     if let Some(name) = req.cookie("user") {
//!         req.ctx().insert(User(name));
//!     }
//!     req
//! })?;
//! // Every response says which request it answers.
//! app.on_response(|info: RequestInfo, res: Response| async move {
//!     res.with_header("x-request-id", info.id())
//! })?;
//!
//! app.get("/", |req: Request| async move {
//!     let visits = req.state::<Visits>().expect("set before run");
//!     let n = visits.0.fetch_add(1, Ordering::Relaxed) + 1;
//!     let user = req.ctx().get::<User>().map_or("stranger".to_owned(), |u| u.0);
//!     Ok::<_, HttpError>(
//!         Response::text(format!("hello {user}, visit {n}"))
//!             .with_cookie(&Cookie::new("user", "ada")?.path("/").http_only(true)),
//!     )
//! })?;
//!
//! // A group under /admin that wants a header.
//! let mut admin = Blueprint::new("admin").url_prefix("/admin");
//! admin.on_request(|req: Request| async move {
//!     match req.header("authorization") {
//!         Some("Bearer letmein") => Ok(req),
//!         _ => Err(HttpError::new(StatusCode::UNAUTHORIZED, "who are you?")),
//!     }
//! });
//! admin.post("/echo", |req: Request| async move {
//!     let form = req.form()?; // urlencoded or multipart, within limits
//!     Ok::<_, HttpError>(format!("name={}", form.get("name").unwrap_or("?")))
//! });
//! app.blueprint(admin)?;
//!
//! let server = app.serve(Config::default().port(0))?;
//! let ask = |raw: &str| -> std::io::Result<String> {
//!     let mut stream = TcpStream::connect(server.local_addr())?;
//!     stream.write_all(raw.as_bytes())?;
//!     let mut reply = String::new();
//!     stream.read_to_string(&mut reply)?;
//!     Ok(reply)
//! };
//! let first = ask("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! assert!(first.ends_with("hello stranger, visit 1"));
//! assert!(first.contains("set-cookie: user=ada; Path=/; HttpOnly\r\n"));
//! assert!(first.contains("x-request-id: "));
//! let again = ask("GET / HTTP/1.1\r\nHost: x\r\nCookie: user=ada\r\nConnection: close\r\n\r\n")?;
//! assert!(again.ends_with("hello ada, visit 2"));
//!
//! let form = "name=Grace";
//! let refused = ask(&format!(
//!     "POST /admin/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
//!      Content-Length: {}\r\nConnection: close\r\n\r\n{form}", form.len()))?;
//! assert!(refused.starts_with("HTTP/1.1 401"));
//! assert!(refused.ends_with(r#"{"error": "who are you?"}"#));
//! let echoed = ask(&format!(
//!     "POST /admin/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer letmein\r\n\
//!      Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
//!      Connection: close\r\n\r\n{form}", form.len()))?;
//! assert!(echoed.ends_with("name=Grace"));
//!
//! server.stop();
//! server.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A large upload goes to a streaming route: the connection calls the
//! handler as soon as the head is read and feeds it the body chunk by chunk
//! (`http/body_stream.rs`: a one-chunk slot; the socket is read only when
//! the handler has taken the last chunk), so memory stays at a chunk or two
//! whatever the upload's size, and the body limit is counted as it passes.
//!
//! Static files (`app.static_files("/static", dir)`) stream the file in
//! 64 KiB chunks with `Content-Length`, answer `ETag`/`Last-Modified`
//! conditionals with 304 and one `Range` with 206 or 416, and refuse every
//! path that could leave `dir`: see [`StaticFiles`](crate::http::StaticFiles)
//! for the rules and `tests/static_files.rs` for the attempts.
//!
//! Left out on purpose: templating (render with any crate into
//! `Response::html`), sessions (a signed cookie plus state is an app's
//! choice of store), CORS beyond `app.cors(origin)` (preflights and
//! `Access-Control-Allow-Origin` for one origin), and compression (belongs in a proxy, or a later opt-in feature).
//!
//! # 13. Driving the loop yourself, and reading a trace
//!
//! `block_on` owns its thread. A program with a main loop of its own (a
//! game, a GUI, a plugin host, a test) calls
//! [`Runtime::turn`](crate::Runtime::turn) instead: one turn of the loop
//! (section 2), waiting for the OS at most as long as the host allows, and
//! a [`Turn`](crate::rt::Turn) report of what it did. The runtime is an
//! epoll instance, and its descriptor (`AsFd`) turns readable on socket
//! readiness and on work from other threads, so a foreign poller can watch
//! it next to its own sources; timers do not make it readable, so the host
//! sleeps at most until [`next_deadline`](crate::Runtime::next_deadline).
//! [`App::attach`](crate::App::attach) puts an app on such a runtime as
//! one worker. `examples/embed.rs` is a complete host on `poll(2)`.
//!
//! Source: `src/rt/embed.rs`, `src/app/attach.rs`, `examples/embed.rs`.
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = sanio::Runtime::new()?;
//! let task = rt.spawn(async {
//!     sanio::sleep(Duration::from_millis(1)).await;
//!     "done"
//! });
//! let first = rt.turn(Some(Duration::ZERO))?; // polls the task once
//! assert_eq!(first.tasks_polled, 1);
//! assert!(rt.next_deadline().is_some()); // its sleep's timer
//! while !task.is_finished() {
//!     // A host would wait on its own sources and `rt.as_fd()` here.
//!     rt.turn(Some(Duration::from_millis(5)))?;
//! }
//! assert_eq!(rt.block_on(task), Ok("done"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Reading a trace
//!
//! A runtime made with [`with_trace`](crate::Runtime::with_trace) records
//! every step of the loop (`src/rt/trace.rs`).
//! `cargo run --release --example trace` runs a scripted scenario on one
//! loop (an app attached to it, then, from the main future: a client task
//! that sends `GET /`, a client task that does a websocket echo, a task
//! cancelled with a grace period it uses, and a timer), prints the
//! timeline, and writes `trace.json`. Here is the timeline of one run,
//! shortened (times in ms since tracing began; task ids are `slot.generation`;
//! the unnamed tasks are the app's: `0.0` the worker, `2.2` its accept loop,
//! the others the server side of each connection):
//!
//! ```text
//!  0.082 ms  spawn          task 1.1 "http-client"
//!  0.083 ms  wait for I/O
//!  0.085 ms    -> 0 event(s)
//!  0.085 ms  poll           task 0.0                      the worker starts: listeners, accept loop
//!  0.104 ms  poll           task 1.1 "http-client"        connects, writes the request
//!  0.217 ms    -> pending    task 1.1 "http-client" (112µs)
//!  0.237 ms  poll           task 3.3                      the server side reads the request
//!  0.304 ms  timer insert   due in 1.99s                  a connection timeout (removed when done)
//!  0.305 ms  wait for I/O
//!  0.307 ms  io             socket 1 readable+writable
//!  0.308 ms  wake           task 1.1 "http-client" (by the loop)
//!  0.309 ms  poll           task 1.1 "http-client"        reads the reply
//!  0.342 ms    -> ready      task 1.1 "http-client" (32µs)
//!  0.342 ms  end            task 1.1 "http-client" (done)
//!  0.343 ms  wake           main (by task 1.1 "http-client")
//!  ...
//!  0.523 ms  cancel         task 1.7 "cleaner" requested
//!  0.523 ms  wake           task 1.7 "cleaner" (by the loop)
//!  0.524 ms  poll           task 1.7 "cleaner"
//!  0.524 ms  cancel seen    task 1.7 "cleaner"            `cancellable(sleep(1h))` returns Err
//!  0.524 ms  timer remove                                 ...and drops its hour-long sleep
//!  0.524 ms  timer insert   due in 4.99ms                 the 5 ms cleanup sleep
//!  0.525 ms    -> pending    task 1.7 "cleaner" (1µs)
//!  0.525 ms  timer insert   due in 100ms                  the grace period starts
//!  0.525 ms  wait for I/O                                 nothing to do: sleep in epoll_wait
//!  5.609 ms    -> 0 event(s)
//!  5.611 ms  timer fire
//!  5.613 ms  wake           task 1.7 "cleaner" (by the loop)
//!  5.616 ms    -> ready      task 1.7 "cleaner" (3µs)       its cleanup is done, within the grace
//!  5.617 ms  end            task 1.7 "cleaner" (done)
//! ```
//!
//! Read it as the loop's four steps (section 2) over and over: *wait for
//! I/O* (with the number of events it returned), the `io` lines for the
//! sockets that became ready and the `wake`s they cause, the timers that
//! fire, then the `poll`s of the ready tasks, each with its outcome and
//! how long it took. A wake says who caused it: a task (a channel send, a
//! `JoinHandle` completing: `main (by task 1.1 ...)`), the loop (I/O or a
//! timer), or another thread. The cancel shows the model of section 2 in
//! order: requested, a wake, the poll in which the aware await sees it,
//! then the grace timer; here the cleanup ends first, so the task ends
//! `done`. A task that overran its grace would show `grace over`,
//! `dropped` and `end (cancelled)` instead.
//!
//! Open `trace.json` at <https://ui.perfetto.dev> (or `chrome://tracing`).
//! Perfetto shows one track per task, named `task 1.1 http-client` and so
//! on, plus `loop` (its *wait for I/O* slices, and the I/O and timer
//! instants) and `main (block_on)`. Each poll is a slice on its task's
//! track; select one to see its duration. Wakes are arrows: from the poll
//! that woke a task (or from the loop track, for I/O, timers and other
//! threads) to the next poll of the task it woke. Follow the arrows from
//! `http-client`'s first poll through the server's connection task and back
//! to see one HTTP request as a picture; the websocket echo is the same
//! zig-zag through the connection's tasks; the cancel is an instant
//! (`cancel requested`, `cancel observed`) on `cleaner`'s track followed by
//! one short poll 5 ms later.
//!
//! The ring keeps the newest events only (its capacity is the argument of
//! `with_trace`), so a long run cannot eat memory; with tracing off every
//! hook is one branch that is never taken.
//!
//! ```
//! let rt = sanio::Runtime::new().unwrap().with_trace(1_000);
//! rt.block_on(async {
//!     let task = sanio::rt::spawn_named("napper", sanio::sleep(std::time::Duration::from_millis(1)));
//!     task.await.unwrap();
//! });
//! let text = rt.trace().unwrap().to_text();
//! assert!(text.contains("timer fire"));
//! assert!(text.contains("end            task 0.0 \"napper\" (done)"));
//! ```
//!
//! # 14. More than one machine (feature `redis`)
//!
//! Everything so far lives in one process. With `Config::redis(url)` (or
//! `SANIO_REDIS_URL`) every instance joins a cluster through one Redis, and
//! the pieces are the ones you already know, reused:
//!
//! - **A client on our own loop.** `app/cluster/conn.rs` opens a
//!   [`TcpStream`](crate::net::TcpStream), sends commands as RESP arrays and
//!   reads frames back. The framing is `redis-protocol`'s, used sans-I/O:
//!   `encode` into a `Vec`, `decode` from the bytes read so far. Reading is
//!   cancel-safe because bytes stay in the connection's buffer until a whole
//!   frame decodes, which is what lets the bridge race a read against a
//!   timer and its outbox in one `poll_fn`.
//! - **The bridge is a task.** Worker 0 spawns it like any background task.
//!   It SUBSCRIBEs to `<prefix>:events` and hands every message to
//!   `dispatch_all` (chapter 9's remote queues), so workers never learn
//!   where an event came from, except through `Event::origin()`. A
//!   payload crosses as bytes (`dispatch_cluster_json` writes JSON), and
//!   arrives as an `Event::payload::<ClusterPayload>()`: a Rust value
//!   cannot leave its process, so the receiver names the type it decodes.
//!   `dispatch_cluster` pushes onto a bounded outbox behind a mutex and
//!   wakes the bridge's stored waker, from any thread (chapter 1: a waker is
//!   `Send`). Any error ends the session: the outbox is dropped
//!   (at-most-once), the bridge sleeps a jittered backoff and starts over.
//! - **Leases.** A singleton contends with `SET key token NX PX ttl`,
//!   renews with a script that extends only if the key still holds its
//!   token, and on cancel (chapter 8: the graceful stop cancels app tasks,
//!   and later awaits still work) deletes the key with a compare-and-delete
//!   script, so another instance takes over without waiting for expiry.
//! - **Readiness.** `app.health()` reads the stop flag that `app.stop()`
//!   sets first, so `/readyz` says 503 the moment a drain begins; with
//!   [`Config::drain_delay`](crate::Config::drain_delay) the worker waits
//!   that long (a sleep raced against a second stop) before it cancels its
//!   acceptor, so the balancer hears "not ready" instead of "refused".
//!
//! `tests/cluster.rs` starts a real `redis-server` and checks each promise:
//! delivery to all four workers of two instances, recovery after Redis is
//! killed and restarted, takeover from a dead holder, and the immediate
//! handover on a graceful stop; `tests/cluster_demo.rs` does the same with
//! two demo processes, a `/feed` websocket on each worker of the receiving
//! one, `kill -9` and SIGTERM.
