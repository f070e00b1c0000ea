//! `Headers`: an ordered list of header fields with case-insensitive lookup.
//!
//! All names and values live back to back in one `String`, and a list of
//! spans says where each field is: reading a request's fields costs two
//! allocations however many fields there are, not two per field. Those two
//! buffers go back to a per-thread pool when the list is dropped, so on a
//! warm loop the fields of a request or response cost no allocation at all.

use std::cell::RefCell;
use std::fmt;

/// Most storages a thread keeps.
const MAX_POOLED: usize = 256;
/// Storages with more text than this are freed rather than pooled.
const MAX_POOLED_TEXT: usize = 16 * 1024;

thread_local! {
    /// Spare storage (empty text and spans, with capacity) of this thread.
    static POOL: RefCell<Vec<(String, Vec<Span>)>> = const { RefCell::new(Vec::new()) };
}

/// Where one field sits in the text: name is `text[start..mid]`, value is
/// `text[mid..end]`.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// First byte of the name.
    start: u32,
    /// End of the name, start of the value.
    mid: u32,
    /// End of the value.
    end: u32,
}

/// Header fields in the order they were added. Names compare ignoring ASCII
/// case; the spelling given is kept for writing.
///
/// # Examples
///
/// ```
/// use sanio::Headers;
///
/// let mut headers = Headers::new();
/// headers.append("Set-Cookie", "a=1");
/// headers.append("set-cookie", "b=2");
/// headers.insert("Content-Type", "text/plain");
/// assert_eq!(headers.get("content-type"), Some("text/plain"));
/// assert_eq!(headers.get_all("SET-COOKIE").collect::<Vec<_>>(), ["a=1", "b=2"]);
/// assert_eq!(headers.len(), 3);
/// ```
#[derive(Clone, Default)]
pub struct Headers {
    /// Names and values back to back. Removed fields leave their bytes
    /// behind until the list is dropped.
    text: String,
    /// One span per live field, in order.
    spans: Vec<Span>,
}

impl Headers {
    /// No fields.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Headers::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Self {
            text: String::new(),
            spans: Vec::new(),
        }
    }

    /// Room for `fields` fields of `bytes` bytes in all.
    pub(crate) fn with_capacity(fields: usize, bytes: usize) -> Self {
        let mut headers = Self::new();
        headers.take_pooled();
        headers.text.reserve(bytes);
        headers.spans.reserve(fields);
        headers
    }

    /// Takes storage from this thread's pool, if it has some.
    fn take_pooled(&mut self) {
        let pooled = POOL.try_with(|pool| pool.borrow_mut().pop()).ok().flatten();
        if let Some((text, spans)) = pooled {
            self.text = text;
            self.spans = spans;
        }
    }

    /// The value of the first field named `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("Host", "example.com");
    /// assert_eq!(headers.get("HOST"), Some("example.com"));
    /// assert_eq!(headers.get("accept"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The values of every field named `name`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("Accept", "a");
    /// headers.append("accept", "b");
    /// assert_eq!(headers.get_all("accept").count(), 2);
    /// ```
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// True if a field named `name` is present.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("Upgrade", "websocket");
    /// assert!(headers.contains("upgrade"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Adds a field after the others, keeping any of the same name.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("Vary", "Accept");
    /// headers.append("Vary", "Origin");
    /// assert_eq!(headers.len(), 2);
    /// ```
    pub fn append(&mut self, name: &str, value: &str) {
        if self.text.capacity() == 0 && self.spans.capacity() == 0 {
            self.take_pooled();
        }
        let start = self.text.len();
        self.text.push_str(name);
        let mid = self.text.len();
        self.text.push_str(value);
        self.push_span(start, mid, self.text.len());
    }

    /// Records a span; offsets beyond `u32` cannot occur because heads and
    /// response headers are far smaller than 4 GiB.
    fn push_span(&mut self, start: usize, mid: usize, end: usize) {
        let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.spans.push(Span {
            start: offset(start),
            mid: offset(mid),
            end: offset(end),
        });
    }

    /// Adds a field from raw bytes (values that are not UTF-8 are kept with
    /// replacement characters).
    pub(crate) fn append_bytes(&mut self, name: &str, value: &[u8]) {
        match std::str::from_utf8(value) {
            Ok(value) => self.append(name, value),
            Err(_) => self.append(name, &String::from_utf8_lossy(value)),
        }
    }

    /// Sets `name` to `value`: removes every field of that name, then
    /// appends.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("Cache-Control", "no-cache");
    /// headers.insert("cache-control", "max-age=60");
    /// assert_eq!(headers.get("Cache-Control"), Some("max-age=60"));
    /// assert_eq!(headers.len(), 1);
    /// ```
    pub fn insert(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.append(name, value);
    }

    /// Removes every field named `name`; returns how many there were.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("X-A", "1");
    /// assert_eq!(headers.remove("x-a"), 1);
    /// assert!(headers.is_empty());
    /// ```
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.spans.len();
        let text = &self.text;
        self.spans
            .retain(|s| !text[s.start as usize..s.mid as usize].eq_ignore_ascii_case(name));
        before - self.spans.len()
    }

    /// How many fields there are.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Headers::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if there are no fields.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Headers::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Every `(name, value)` in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut headers = sanio::Headers::new();
    /// headers.append("A", "1");
    /// headers.append("B", "2");
    /// let all: Vec<_> = headers.iter().collect();
    /// assert_eq!(all, [("A", "1"), ("B", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans.iter().map(|s| {
            (
                &self.text[s.start as usize..s.mid as usize],
                &self.text[s.mid as usize..s.end as usize],
            )
        })
    }
}

impl Drop for Headers {
    /// Gives the storage back to this thread's pool.
    fn drop(&mut self) {
        if self.spans.capacity() == 0 || self.text.capacity() > MAX_POOLED_TEXT {
            return;
        }
        let mut text = std::mem::take(&mut self.text);
        let mut spans = std::mem::take(&mut self.spans);
        text.clear();
        spans.clear();
        // Ignored while the thread's pool is being torn down.
        let _ = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < MAX_POOLED {
                pool.push((text, spans));
            }
        });
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.append(name, value);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_then_append_keeps_order_and_values() {
        let mut h: Headers = [("A", "1"), ("B", "2"), ("a", "3")].into_iter().collect();
        assert_eq!(h.get_all("a").collect::<Vec<_>>(), ["1", "3"]);
        h.insert("b", "x");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("A", "1"), ("a", "3"), ("b", "x")]
        );
        h.append_bytes("C", b"\xffok");
        assert_eq!(h.get("c"), Some("\u{fffd}ok"));
        assert_eq!(
            format!("{h:?}"),
            "{\"A\": \"1\", \"a\": \"3\", \"b\": \"x\", \"C\": \"\u{fffd}ok\"}"
        );
    }
}
