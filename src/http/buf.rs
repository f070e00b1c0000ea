//! Connection buffers and the thread-local pool they come from.
//!
//! A connection holds buffers only while a request is in flight. When it
//! goes idle with nothing buffered it gives them back, so ten thousand idle
//! keep-alive connections cost ten thousand small task slots, not ten
//! thousand pairs of 8 KiB buffers.
//!
//! The same pool keeps the small strings of a request (its target) and the
//! bodies of responses made by `Response::json`, so that a warm loop
//! answers a request without asking the allocator for anything.

use std::cell::RefCell;

/// Size of a fresh read buffer.
pub(crate) const READ_BUF_SIZE: usize = 8192;
/// Capacity of a fresh write buffer.
const WRITE_BUF_SIZE: usize = 8192;
/// Buffers larger than this are freed rather than pooled.
const MAX_POOLED_SIZE: usize = 64 * 1024;
/// Most buffers of each kind a thread keeps.
const MAX_POOLED: usize = 256;

/// Spare buffers of one loop thread.
#[derive(Default)]
struct Pool {
    /// Read buffers: zero-filled, `len() == READ_BUF_SIZE` or more.
    read: Vec<Vec<u8>>,
    /// Write buffers: empty, with capacity.
    write: Vec<Vec<u8>>,
    /// Strings (request targets): empty, with capacity.
    strings: Vec<String>,
    /// Response bodies: empty, with capacity.
    bodies: Vec<Vec<u8>>,
}

/// Strings larger than this are freed rather than pooled.
const MAX_POOLED_STRING: usize = 16 * 1024;
/// Response bodies larger than this are freed rather than pooled.
const MAX_POOLED_BODY: usize = 16 * 1024;
/// Most response bodies a thread keeps.
const MAX_POOLED_BODIES: usize = 64;

thread_local! {
    /// This thread's pool.
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// A write buffer from the pool (empty, with room).
pub(crate) fn take_write_buf() -> Vec<u8> {
    POOL.with(|pool| pool.borrow_mut().write.pop())
        .unwrap_or_else(|| Vec::with_capacity(WRITE_BUF_SIZE))
}

/// Gives a write buffer back.
pub(crate) fn give_write_buf(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > MAX_POOLED_SIZE {
        return;
    }
    buf.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.write.len() < MAX_POOLED {
            pool.write.push(buf);
        }
    });
}

/// An empty string from the pool (or a new one).
pub(crate) fn take_string() -> String {
    POOL.try_with(|pool| pool.borrow_mut().strings.pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Gives a string back.
pub(crate) fn give_string(mut text: String) {
    if text.capacity() == 0 || text.capacity() > MAX_POOLED_STRING {
        return;
    }
    text.clear();
    // Ignored while the thread's pool is being torn down.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.strings.len() < MAX_POOLED {
            pool.strings.push(text);
        }
    });
}

/// An empty body buffer from the pool (or a new one).
#[cfg(feature = "json")]
pub(crate) fn take_body_buf() -> Vec<u8> {
    POOL.try_with(|pool| pool.borrow_mut().bodies.pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Gives a body buffer back once its bytes are written.
pub(crate) fn give_body_buf(mut body: Vec<u8>) {
    if body.capacity() == 0 || body.capacity() > MAX_POOLED_BODY {
        return;
    }
    body.clear();
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.bodies.len() < MAX_POOLED_BODIES {
            pool.bodies.push(body);
        }
    });
}

/// Bytes read from a socket and not yet used.
///
/// INVARIANT: `start <= end <= data.len()`; `data` is fully initialized
/// (zero-filled when made), so reads go straight into `data[end..]`
/// without clearing memory first.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    /// Storage; empty while the connection is idle.
    data: Vec<u8>,
    /// First unused byte.
    start: usize,
    /// End of the bytes read.
    end: usize,
}

impl ReadBuf {
    /// The unused bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// How many unused bytes there are.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    /// True if no bytes are waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room to read into: takes storage from the pool if there is none,
    /// moves unused bytes to the front, and doubles the storage when it is
    /// full. Callers bound how much they buffer.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.data.is_empty() {
            self.data = POOL
                .with(|pool| pool.borrow_mut().read.pop())
                .unwrap_or_else(|| vec![0; READ_BUF_SIZE]);
        }
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.data.resize(self.data.len() * 2, 0);
            }
        }
        &mut self.data[self.end..]
    }

    /// Records `n` bytes read into [`spare`](Self::spare).
    pub(crate) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Gives the storage back to the pool if nothing is buffered.
    pub(crate) fn release_if_empty(&mut self) {
        if !self.is_empty() || self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data);
        if data.len() > MAX_POOLED_SIZE {
            return;
        }
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.read.len() < MAX_POOLED {
                pool.read.push(data);
            }
        });
    }

    /// Takes the unused bytes out (for an upgrade), releasing the storage.
    pub(crate) fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.bytes().to_vec();
        self.consume(rest.len());
        self.release_if_empty();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_consumes_compacts_and_grows() {
        let mut buf = ReadBuf::default();
        assert_eq!(buf.spare().len(), READ_BUF_SIZE);
        buf.spare()[..3].copy_from_slice(b"abc");
        buf.filled(3);
        buf.consume(1);
        assert_eq!(buf.bytes(), b"bc");
        let room = buf.spare().len();
        buf.filled(room);
        assert_eq!(buf.len(), READ_BUF_SIZE - 1);
        assert_eq!(buf.spare().len(), 1, "compacted");
        buf.filled(1);
        assert_eq!(buf.spare().len(), READ_BUF_SIZE, "doubled");
        assert_eq!(&buf.bytes()[..2], b"bc");
        assert_eq!(buf.take_rest().len(), READ_BUF_SIZE);
        assert!(buf.is_empty());
    }

    #[test]
    fn idle_buffers_return_to_the_pool() {
        let mut buf = ReadBuf::default();
        buf.spare();
        buf.release_if_empty();
        assert!(buf.data.is_empty());
        let pooled = POOL.with(|p| p.borrow().read.len());
        assert!(pooled >= 1);
        let w = take_write_buf();
        assert!(w.capacity() >= WRITE_BUF_SIZE);
        give_write_buf(w);
    }
}
