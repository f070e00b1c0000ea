//! The reactor: from "the kernel says this socket is ready" to "this task
//! runs again".
//!
//! A non-blocking socket answers `WouldBlock` when a read has no data or a
//! write has no buffer space. Instead of retrying in a loop (burning a core),
//! the task registers its waker and returns `Pending`; the loop sleeps in
//! `epoll_wait` (through `mio::Poll`) until the kernel reports readiness, and
//! then wakes exactly the tasks waiting on that socket.
//!
//! Each registered socket gets a [`ScheduledIo`] slot in a `Slab`; its key is
//! the `mio::Token`. The slot remembers the last readiness seen and one waker
//! per direction (a reader and a writer can wait at the same time, e.g. a
//! websocket's receive task and its sender).
//!
//! mio is **edge-triggered**: it reports a change to ready once, not "still
//! ready" on every poll. So readiness is cached here and cleared only when an
//! operation actually returns `WouldBlock` ("Draining readiness" in mio's
//! docs). [`Registration::poll_io`] is the one place that implements this
//! "try the operation, on `WouldBlock` clear and wait" idiom; every socket
//! type in `net` calls it, and nothing else re-implements it.
//!
//! A new registration starts as "ready both ways": the first read is simply
//! attempted. That costs one `WouldBlock` at worst and saves a loop turn when
//! data is already there, as it usually is for a freshly accepted HTTP client.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Poll as MioPoll, Registry, Token};
use slab::Slab;

use super::context;
use super::core::Core;
use super::trace::{Trace, What};

/// The token of the cross-thread `mio::Waker`; never a slab key.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// How many events one `epoll_wait` may return.
const EVENTS_CAPACITY: usize = 1024;

/// A direction of I/O on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reading, accepting.
    Read,
    /// Writing, connecting.
    Write,
}

/// What the reactor knows about one registered socket.
#[derive(Default)]
struct ScheduledIo {
    /// The last readiness reported, not yet drained by a `WouldBlock` or a
    /// short read.
    readable: bool,
    /// See `readable`.
    writable: bool,
    /// The peer closed its side, or the socket failed: sticky, never
    /// cleared. A short read must not hide an EOF whose edge was already
    /// reported together with the last data.
    read_closed: bool,
    /// The write side closed or failed: sticky, like `read_closed`.
    write_closed: bool,
    /// The task waiting to read, if any.
    reader: Option<Waker>,
    /// The task waiting to write, if any.
    writer: Option<Waker>,
}

/// mio's poll and the slab of registered sockets.
pub(crate) struct Reactor {
    /// The OS poller. Borrowed only by [`Reactor::poll`].
    poll: RefCell<MioPoll>,
    /// A handle to register sources without borrowing `poll`.
    registry: Registry,
    /// Buffer for the events of one poll.
    events: RefCell<Events>,
    /// Registered sockets; the key is the token.
    ios: RefCell<Slab<ScheduledIo>>,
    /// Wakers taken from `ios` during a poll, woken after `ios` is released.
    to_wake: RefCell<Vec<Waker>>,
}

impl Reactor {
    /// Creates the poller and the `mio::Waker` other threads use to wake it.
    pub(crate) fn new() -> io::Result<(Self, mio::Waker)> {
        let poll = MioPoll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let reactor = Self {
            poll: RefCell::new(poll),
            registry,
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            ios: RefCell::new(Slab::new()),
            to_wake: RefCell::new(Vec::new()),
        };
        Ok((reactor, waker))
    }

    /// The epoll descriptor (the registry's clone of it), for a foreign
    /// poller.
    pub(crate) fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.registry)
    }

    /// How many sockets are registered.
    pub(crate) fn len(&self) -> usize {
        self.ios.borrow().len()
    }

    /// Step 1 of a turn: waits for I/O (at most `timeout`; `None` = until
    /// something happens) and wakes the tasks whose sockets became ready.
    /// Returns how many events the OS reported (remote wakes included).
    pub(crate) fn poll(&self, timeout: Option<Duration>, trace: &Trace) -> usize {
        let mut events = self.events.borrow_mut();
        if let Err(err) = self.poll.borrow_mut().poll(&mut events, timeout) {
            if err.kind() != io::ErrorKind::Interrupted {
                log::error!("polling for I/O failed: {err}");
            }
            return 0;
        }
        let count = events.iter().count();
        let mut to_wake = self.to_wake.borrow_mut();
        {
            let mut ios = self.ios.borrow_mut();
            for event in events.iter() {
                // The waker token only interrupts the wait; the loop drains
                // the remote queue on every turn anyway.
                let Some(io) = ios.get_mut(event.token().0) else {
                    continue; // the waker token, or a socket already dropped
                };
                trace.record(|| What::Io {
                    token: event.token().0,
                    read: event.is_readable(),
                    write: event.is_writable(),
                });
                let read_closed = event.is_read_closed() || event.is_error();
                let write_closed = event.is_write_closed() || event.is_error();
                if event.is_readable() || read_closed {
                    io.readable = true;
                    io.read_closed |= read_closed;
                    to_wake.extend(io.reader.take());
                }
                if event.is_writable() || write_closed {
                    io.writable = true;
                    io.write_closed |= write_closed;
                    to_wake.extend(io.writer.take());
                }
            }
        }
        to_wake.drain(..).for_each(Waker::wake);
        count
    }
}

/// A socket registered with the reactor of the loop that created it.
///
/// Dropping it frees the slot. The socket itself must be dropped (closed)
/// first or at the same time, which removes it from epoll; the net types own
/// both and declare the socket first so it is.
pub(crate) struct Registration {
    /// The loop this socket belongs to.
    core: Rc<Core>,
    /// Slab key and mio token.
    key: usize,
}

impl Registration {
    /// Registers `source` for reading and writing with the current loop.
    ///
    /// # Errors
    ///
    /// [`NoRuntime`](super::NoRuntime) (as an `io::Error`) outside a loop, or
    /// the error of `epoll_ctl`.
    pub(crate) fn new(source: &mut impl Source) -> io::Result<Self> {
        let core = context::current()?;
        let key = core.reactor.ios.borrow_mut().insert(ScheduledIo {
            readable: true,
            writable: true,
            ..ScheduledIo::default()
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(err) = core.reactor.registry.register(source, Token(key), interest) {
            core.reactor.ios.borrow_mut().remove(key);
            return Err(err);
        }
        Ok(Self { core, key })
    }

    /// Runs `op` until it stops saying `WouldBlock`, waiting for readiness
    /// in `direction` between tries: **the** I/O idiom of sanio.
    ///
    /// 1. If the cached readiness says "not ready", store the waker and
    ///    return `Pending`; the reactor wakes us when it changes.
    /// 2. If this poll of the task has used up its I/O budget
    ///    ([`IO_BUDGET`](super::core::IO_BUDGET) operations), yield once:
    ///    wake the task and return `Pending`, so the rest of the loop runs.
    /// 3. Otherwise try `op`. `WouldBlock` means the readiness was used up:
    ///    clear it and go to 1. Anything else (data, EOF, an error) is the
    ///    answer.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if !self.is_ready(direction) {
                self.set_waker(direction, cx.waker());
                return Poll::Pending;
            }
            if !self.core.take_io_budget() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.clear_ready(direction);
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// `Ready` once the peer closed its side or the socket failed (the
    /// sticky flags above); otherwise stores the reader's waker and returns
    /// `Pending`. Reads nothing: a reader holding off for back-pressure
    /// still learns that the peer left.
    pub(crate) fn poll_read_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let closed = self.core.reactor.ios.borrow()[self.key].read_closed;
        if closed {
            return Poll::Ready(());
        }
        self.set_waker(Direction::Read, cx.waker());
        Poll::Pending
    }

    /// Whether the cached readiness allows a try in `direction`.
    fn is_ready(&self, direction: Direction) -> bool {
        let ios = self.core.reactor.ios.borrow();
        let io = &ios[self.key];
        match direction {
            Direction::Read => io.readable || io.read_closed,
            Direction::Write => io.writable || io.write_closed,
        }
    }

    /// Forgets the readiness in `direction`; the next event sets it again.
    ///
    /// Besides `WouldBlock`, a *short* read or write proves the same thing:
    /// a stream socket that returned fewer bytes than asked for had no more
    /// at that instant, and epoll reports data that arrives later as a new
    /// edge. Stream types call this after a short read or write and so save
    /// the extra syscall that would only return `WouldBlock` (tokio does the
    /// same).
    pub(crate) fn clear_ready(&self, direction: Direction) {
        let mut ios = self.core.reactor.ios.borrow_mut();
        let io = &mut ios[self.key];
        match direction {
            Direction::Read => io.readable = false,
            Direction::Write => io.writable = false,
        }
    }

    /// Stores the waker to wake when `direction` becomes ready.
    fn set_waker(&self, direction: Direction, waker: &Waker) {
        let mut ios = self.core.reactor.ios.borrow_mut();
        let io = &mut ios[self.key];
        let slot = match direction {
            Direction::Read => &mut io.reader,
            Direction::Write => &mut io.writer,
        };
        match slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let removed = self.core.reactor.ios.borrow_mut().try_remove(self.key);
        drop(removed); // drops the wakers outside the borrow
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.key)
            .finish()
    }
}
