//! The `Date` header value, cached per thread and formatted again at most
//! once a second. The cache is checked against the loop's turn clock, so a
//! response costs neither a format nor a clock read; the wall clock is read
//! only when the second changes.

use std::cell::RefCell;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes in an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

/// The cached value and how long it stays right.
struct Cached {
    /// The formatted date; valid before `until`.
    text: [u8; DATE_LEN],
    /// The (monotonic) instant the shown second ends; `None` before the
    /// first format.
    until: Option<Instant>,
}

thread_local! {
    /// This thread's cache (each loop runs on its own thread).
    static CACHE: RefCell<Cached> = const { RefCell::new(Cached { text: [b' '; DATE_LEN], until: None }) };
}

/// Appends the current date, as a `Date` header value, to `out`.
pub(crate) fn append_date(out: &mut Vec<u8>) {
    let now = crate::rt::coarse_now();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.until.map_or(true, |until| now >= until) {
            let wall = SystemTime::now();
            let since_epoch = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
            let left_in_second =
                Duration::from_secs(1) - Duration::from_nanos(since_epoch.subsec_nanos().into());
            // Formatted straight into the cache: no allocation.
            let mut text = [0u8; DATE_LEN];
            let date = httpdate::HttpDate::from(wall);
            if write!(&mut text[..], "{date}").is_ok() {
                cache.text = text;
                cache.until = Some(now + left_in_second);
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
