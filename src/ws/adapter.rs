//! `NonBlocking`: the `Read + Write` that tungstenite frames over, turning
//! "not ready" into `WouldBlock` instead of a blocking call.
//!
//! tungstenite is written against blocking `std::io` traits: it calls
//! `read` and `write` and treats `WouldBlock` as "try again later", keeping
//! its partial state. This adapter makes the TCP socket look like that:
//!
//! - **Reading** polls the socket with the driver task's waker. Pending
//!   becomes `WouldBlock` (recorded in `read_blocked`), and the reactor
//!   wakes the driver when bytes arrive. The socket is read 16 KiB at a
//!   time into an [`Inbox`] chunk borrowed from a per-thread pool, and
//!   tungstenite takes its frames from there through a small buffer of its
//!   own: an idle connection holds no read buffer beyond tungstenite's few
//!   hundred bytes, and a burst still costs one `read` per 16 KiB.
//! - **Writing** never blocks: bytes are appended to `out`, an outbound
//!   buffer the driver drains into the socket as it becomes writable
//!   ([`NonBlocking::poll_flush_out`]). That keeps every socket write in
//!   one task (the driver), lets any task queue a message without waiting
//!   on the socket, and makes "pending outbound bytes" a number the
//!   handle can see; `send` waits while it is above the configured bound,
//!   which is what bounds this buffer.
//! - Every byte read is also shown to a [`FrameScan`], which checks text
//!   messages' UTF-8 as it arrives; the driver asks
//!   [`NonBlocking::take_invalid_text`] when tungstenite wants more bytes.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::task::{Context, Poll, Waker};

use super::scan::FrameScan;
use super::utf8::InvalidUtf8;
use crate::net::Stream;

/// Capacity kept by an emptied outbound buffer; more is released, so a
/// connection that once sent a large message does not keep its memory.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Bytes the socket is read into at a time.
const CHUNK: usize = 16 * 1024;

/// Spare chunks kept per thread; more are freed.
const SPARE_CHUNKS: usize = 8;

thread_local! {
    /// Chunks no connection is holding bytes in.
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Bytes read from the socket that tungstenite has not taken yet. It holds
/// a chunk only while there are such bytes; an empty inbox owns no memory.
#[derive(Debug, Default)]
struct Inbox {
    /// The chunk (`CHUNK` long while held, empty otherwise).
    chunk: Vec<u8>,
    /// The unread bytes are `chunk[pos..end]`. INVARIANT: `pos <= end <=
    /// chunk.len()`.
    pos: usize,
    /// See `pos`.
    end: usize,
}

impl Inbox {
    /// True when no bytes are waiting.
    fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// A chunk to read into: a spare one, or a new one.
    fn borrow_chunk(&mut self) -> &mut [u8] {
        if self.chunk.is_empty() {
            self.chunk = SPARE
                .try_with(|spare| spare.borrow_mut().pop())
                .ok()
                .flatten()
                .unwrap_or_else(|| vec![0; CHUNK]);
        }
        &mut self.chunk
    }

    /// Keeps the first `n` bytes of the chunk as unread (none: the chunk
    /// goes back).
    fn filled(&mut self, n: usize) {
        (self.pos, self.end) = (0, n);
        if n == 0 {
            self.give_back();
        }
    }

    /// Copies unread bytes into `buf`; the chunk goes back once emptied.
    fn take_into(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.end - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        if self.is_empty() {
            self.give_back();
        }
        n
    }

    /// Returns the chunk to the thread's spares (it is freed if there are
    /// enough, or while the thread is being torn down).
    fn give_back(&mut self) {
        (self.pos, self.end) = (0, 0);
        let chunk = std::mem::take(&mut self.chunk);
        if chunk.len() == CHUNK {
            let _ = SPARE.try_with(|spare| {
                let mut spare = spare.borrow_mut();
                if spare.len() < SPARE_CHUNKS {
                    spare.push(chunk);
                }
            });
        }
    }
}

/// A TCP stream seen through blocking-style traits.
#[derive(Debug)]
pub(super) struct NonBlocking {
    /// The connection.
    stream: Stream,
    /// Bytes tungstenite wrote that the socket has not taken yet.
    out: Vec<u8>,
    /// How much of `out` has been written. INVARIANT: `out_pos <= out.len()`.
    out_pos: usize,
    /// Read and not yet taken by tungstenite.
    inbox: Inbox,
    /// The driver task's waker, used for read readiness.
    waker: Option<Waker>,
    /// Whether the last read stopped on `WouldBlock` (the driver then
    /// waits on the reactor).
    read_blocked: bool,
    /// Whether our side of the connection has been shut down (FIN sent).
    write_shut: bool,
    /// Follows the frames in every byte read, checking text as it comes.
    scan: FrameScan,
    /// Invalid text the scan found, not yet taken by the driver.
    invalid_text: Option<InvalidUtf8>,
}

impl NonBlocking {
    /// Wraps a connected stream; `leftover` are the bytes already read
    /// past the request head (tungstenite gets them directly, the scan
    /// sees them here).
    pub(super) fn new(stream: Stream, leftover: &[u8]) -> Self {
        let mut adapter = Self {
            stream,
            out: Vec::new(),
            out_pos: 0,
            inbox: Inbox::default(),
            waker: None,
            read_blocked: false,
            write_shut: false,
            scan: FrameScan::default(),
            invalid_text: None,
        };
        scan_read(&mut adapter.scan, &mut adapter.invalid_text, leftover);
        adapter
    }

    /// True when tungstenite has taken every byte read and they ended
    /// between two data messages: it holds no partial frame or message.
    pub(super) fn between_messages(&self) -> bool {
        self.inbox.is_empty() && self.scan.between_messages()
    }

    /// The longest frame payload read since the last call.
    pub(super) fn take_largest_frame(&mut self) -> u64 {
        self.scan.take_largest_frame()
    }

    /// Invalid text the scan found in the bytes read so far (once).
    pub(super) fn take_invalid_text(&mut self) -> Option<InvalidUtf8> {
        self.invalid_text.take()
    }

    /// Whether read bytes are waiting for tungstenite (a chunk is held).
    #[cfg(test)]
    pub(super) fn holds_read_chunk(&self) -> bool {
        !self.inbox.chunk.is_empty()
    }

    /// Remembers the waker to wake when the socket becomes readable.
    pub(super) fn set_waker(&mut self, waker: &Waker) {
        match &self.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }

    /// Outbound bytes not yet taken by the socket.
    pub(super) fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Whether the last read found no data.
    pub(super) fn read_blocked(&self) -> bool {
        self.read_blocked
    }

    /// Whether the peer closed its side (FIN) or the connection failed
    /// (reset), seen without reading any data; when not, the driver is
    /// woken by the next read event.
    pub(super) fn peer_left(&self) -> bool {
        let Some(waker) = &self.waker else {
            return false;
        };
        let mut cx = Context::from_waker(waker);
        self.stream.poll_read_closed(&mut cx).is_ready()
    }

    /// The end of a connection that had a close handshake (or failed with
    /// a close frame): sends FIN once (the server closes TCP first, RFC
    /// 6455 §7.1.1), then reads and discards until the peer's EOF.
    /// Closing a socket with unread bytes makes the kernel send a reset,
    /// which can destroy our close frame before the peer reads it; waiting
    /// for EOF avoids that. `Ready` at EOF or on an error.
    pub(super) fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.write_shut {
            self.write_shut = true;
            if let Err(err) = self.stream.shutdown(std::net::Shutdown::Write) {
                log::debug!("websocket shutdown failed: {err}");
                return Poll::Ready(());
            }
        }
        let mut scratch = [0u8; 4096];
        loop {
            match self.stream.poll_read(cx, &mut scratch) {
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Writes as much of the outbound buffer as the socket takes.
    /// `Ready(Ok)` once it is empty; `Pending` when the socket is full (the
    /// waker in `cx` is woken when it drains).
    ///
    /// # Errors
    ///
    /// The socket's write error (reset, broken pipe).
    pub(super) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            match self.stream.poll_write(cx, &self.out[self.out_pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.out_pos += n,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    self.compact();
                    return Poll::Pending;
                }
            }
        }
        self.out.clear();
        self.out_pos = 0;
        if self.out.capacity() > KEEP_CAPACITY {
            self.out.shrink_to(KEEP_CAPACITY);
        }
        self.stream.poll_flush(cx)
    }

    /// Drops the written prefix once it is most of the buffer, so a
    /// slowly drained buffer does not keep growing.
    fn compact(&mut self) {
        if self.out_pos > KEEP_CAPACITY && self.out_pos * 2 > self.out.len() {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }
}

impl NonBlocking {
    /// Reads the socket into the inbox: `Ok(0)` at EOF, `WouldBlock` when
    /// nothing has arrived.
    fn fill_inbox(&mut self) -> io::Result<usize> {
        let Some(waker) = &self.waker else {
            // Only the driver reads, and it sets its waker first.
            self.read_blocked = true;
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let mut cx = Context::from_waker(waker);
        let chunk = self.inbox.borrow_chunk();
        match self.stream.poll_read(&mut cx, chunk) {
            Poll::Ready(Ok(n)) => {
                self.read_blocked = false;
                self.inbox.filled(n);
                if let Some(read) = self.inbox.chunk.get(..n) {
                    scan_read(&mut self.scan, &mut self.invalid_text, read);
                }
                Ok(n)
            }
            Poll::Ready(Err(err)) => {
                self.read_blocked = false;
                self.inbox.filled(0);
                Err(err)
            }
            Poll::Pending => {
                self.read_blocked = true;
                self.inbox.filled(0);
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
    }
}

/// Shows bytes read to the scan, keeping the invalid text it finds (a
/// function of the two fields, so the inbox can stay borrowed meanwhile).
fn scan_read(scan: &mut FrameScan, invalid_text: &mut Option<InvalidUtf8>, bytes: &[u8]) {
    if let Err(err) = scan.feed(bytes) {
        *invalid_text = Some(err);
    }
}

impl Read for NonBlocking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inbox.is_empty() && self.fill_inbox()? == 0 {
            return Ok(0);
        }
        Ok(self.inbox.take_into(buf))
    }
}

impl Write for NonBlocking {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Draining `out` is the driver's job; nothing is held back here.
        Ok(())
    }
}
