//! The `Date` header value, cached per thread and formatted again at most
//! once a second (formatting a date costs far more than reading the clock).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes in an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

/// The cached value and the second it was made for.
struct Cached {
    /// Seconds since the epoch that `text` shows.
    secs: u64,
    /// The formatted date.
    text: [u8; DATE_LEN],
}

thread_local! {
    /// This thread's cache (each loop runs on its own thread).
    static CACHE: RefCell<Cached> = const { RefCell::new(Cached { secs: u64::MAX, text: [b' '; DATE_LEN] }) };
}

/// Appends the current date, as a `Date` header value, to `out`.
pub(crate) fn append_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.secs != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == DATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                cache.secs = secs;
            }
        }
        out.extend_from_slice(&cache.text);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_parseable_http_date() {
        let mut out = Vec::new();
        append_date(&mut out);
        append_date(&mut out);
        assert_eq!(out.len(), 2 * DATE_LEN);
        let first = std::str::from_utf8(&out[..DATE_LEN]).unwrap();
        assert!(first.ends_with(" GMT"), "{first}");
        assert!(httpdate::parse_http_date(first).is_ok());
    }
}
