//! PURE: responses into bytes. A status line, the handler's headers, the
//! framing headers this layer owns (`Content-Length` or
//! `Transfer-Encoding`, `Connection`, and `Date` unless the handler set
//! one), names in lower case, then the body, appended to an output buffer that may already hold
//! earlier pipelined responses.

use super::date::append_date;
use super::headers::Headers;
use super::status::StatusCode;

/// How the body that follows a head is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// No framing header: no body (1xx, 204, 304), or a body that ends
    /// when the connection closes (a stream to an HTTP/1.0 client).
    Unframed,
}

/// What the `Connection` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persist {
    /// The connection closes after this response: `Connection: close`.
    Close,
    /// HTTP/1.0 keep-alive: `Connection: keep-alive`.
    KeepAlive10,
    /// HTTP/1.1 default: no header from this layer (the handler's, if any,
    /// is written, e.g. `Connection: Upgrade`).
    Default,
}

/// Appends a response head.
pub(crate) fn encode_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &Headers,
    framing: Framing,
    persist: Persist,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    let code = status.as_u16();
    out.extend_from_slice(&[
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
        b' ',
    ]);
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_date = false;
    for (name, value) in headers.iter() {
        if is_framing(name)
            || (persist != Persist::Default && name.eq_ignore_ascii_case("connection"))
        {
            continue;
        }
        has_date |= name.eq_ignore_ascii_case("date");
        header(out, name.as_bytes(), value.as_bytes());
    }
    match framing {
        Framing::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            append_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Unframed => {}
    }
    match persist {
        Persist::Close => out.extend_from_slice(b"connection: close\r\n"),
        Persist::KeepAlive10 => out.extend_from_slice(b"connection: keep-alive\r\n"),
        Persist::Default => {}
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        append_date(out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// True for the headers this layer writes itself.
fn is_framing(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
}

/// Appends `name: value\r\n`, the name in lower case: every field of a
/// response is written alike, whoever set it (as HTTP/2 requires and as
/// hyper does).
fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    let at = out.len();
    out.extend_from_slice(name);
    out[at..].make_ascii_lowercase();
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal without the formatting machinery.
pub(crate) fn append_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends one chunk of a chunked body (nothing for empty data, which would
/// end the body).
pub(crate) fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = data.len();
    while n > 0 {
        at -= 1;
        digits[at] = HEX[n % 16];
        n /= 16;
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the last chunk (no trailers).
pub(crate) fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head as text, with the date replaced.
    fn head(status: StatusCode, headers: &Headers, framing: Framing, persist: Persist) -> String {
        let mut out = Vec::new();
        encode_head(&mut out, status, headers, framing, persist);
        let text = String::from_utf8(out).unwrap();
        let start = text.find("date: ").expect("a date") + 6;
        format!("{}DATE{}", &text[..start], &text[start + 29..])
    }

    #[test]
    fn heads_table() {
        let mut h = Headers::new();
        h.append("Content-Type", "text/plain");
        h.append("Content-Length", "999");
        h.append("Connection", "Upgrade");
        assert_eq!(
            head(StatusCode::OK, &h, Framing::Length(5), Persist::Default),
            // Names in lower case, whoever set them.
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: Upgrade\r\ncontent-length: 5\r\ndate: DATE\r\n\r\n"
        );
        assert_eq!(
            head(StatusCode::new(599), &Headers::new(), Framing::Chunked, Persist::Close),
            "HTTP/1.1 599 \r\ntransfer-encoding: chunked\r\nconnection: close\r\ndate: DATE\r\n\r\n"
        );
        assert_eq!(
            head(
                StatusCode::NO_CONTENT,
                &Headers::new(),
                Framing::Unframed,
                Persist::KeepAlive10
            ),
            "HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\ndate: DATE\r\n\r\n"
        );
    }

    #[test]
    fn a_handler_date_is_kept() {
        let h: Headers = [("Date", "Thu, 01 Jan 1970 00:00:00 GMT")]
            .into_iter()
            .collect();
        let mut out = Vec::new();
        encode_head(
            &mut out,
            StatusCode::OK,
            &h,
            Framing::Length(0),
            Persist::Default,
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("ate: ").count(), 1, "{text}");
    }

    #[test]
    fn numbers_and_chunks() {
        let mut out = Vec::new();
        for n in [0, 7, 10, 12345, u64::MAX] {
            out.clear();
            append_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        out.clear();
        encode_chunk(&mut out, &[b'x'; 26]);
        encode_chunk(&mut out, b"");
        encode_last_chunk(&mut out);
        assert_eq!(
            out,
            [b"1a\r\n".as_slice(), &[b'x'; 26], b"\r\n0\r\n\r\n"].concat()
        );
    }
}
