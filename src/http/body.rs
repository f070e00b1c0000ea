//! PURE: a request body from bytes, by `Content-Length` or chunked.
//!
//! [`BodyDecoder::decode`] takes whatever bytes are buffered, appends the
//! body bytes among them to the body and says how many it consumed and
//! whether the body is complete. Bytes it did not consume stay with the
//! caller (an unfinished chunk-size line, say) and are offered again with
//! more behind them. Chunk sizes go through `httparse::parse_chunk_size`;
//! the rules httparse does not check (an empty size line, a bare LF or a NUL
//! in a chunk extension) are checked here. Trailers are read and dropped.
//!
//! States and their transitions:
//!
//! ```text
//! Length(n) --n bytes--> Done
//! Chunked: Size --size>0--> Data(size) --size bytes--> DataEnd --CRLF--> Size
//!          Size --size=0--> Trailers --blank line--> Done
//! ```

use super::error::ParseError;
use super::parse::BodyKind;

/// Longest chunk-size line (size plus extensions) accepted.
const MAX_SIZE_LINE: usize = 1024;
/// Most bytes of trailer fields accepted.
const MAX_TRAILERS: usize = 8192;

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk, with this many data bytes left.
    Data(u64),
    /// After a chunk's data, expecting its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines until a blank one; `seen` bytes
    /// of trailers so far.
    Trailers(usize),
}

/// Decodes one request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// A body of known length, with this many bytes left.
    Length(u64),
    /// A chunked body.
    Chunked(Chunked),
    /// The body is complete.
    Done,
}

/// What one call to [`BodyDecoder::decode`] did.
#[must_use = "the consumed bytes must be removed from the buffer"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Bytes of the input used (body, framing or trailers).
    pub(crate) consumed: usize,
    /// The body is complete; bytes after `consumed` belong to the next
    /// request.
    pub(crate) done: bool,
}

impl BodyDecoder {
    /// A decoder for a body framed as `kind`.
    pub(crate) fn new(kind: BodyKind) -> Self {
        match kind {
            BodyKind::Empty | BodyKind::Length(0) => BodyDecoder::Done,
            BodyKind::Length(n) => BodyDecoder::Length(n),
            BodyKind::Chunked => BodyDecoder::Chunked(Chunked::Size),
        }
    }

    /// True once the body is complete.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self, BodyDecoder::Done)
    }

    /// Decodes what it can of `input`, appending body bytes to `body`.
    ///
    /// # Errors
    ///
    /// `BadChunk` for broken chunked framing, `BodyTooLarge` when the body
    /// would pass `max_body`, `HeadTooLarge` for oversized trailers.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        body: &mut Vec<u8>,
        max_body: u64,
    ) -> Result<Progress, ParseError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            let step = match *self {
                BodyDecoder::Done => {
                    return Ok(Progress {
                        consumed: pos,
                        done: true,
                    })
                }
                BodyDecoder::Length(left) => {
                    let take = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    body.extend_from_slice(&rest[..take]);
                    *self = match left - take as u64 {
                        0 => BodyDecoder::Done,
                        left => BodyDecoder::Length(left),
                    };
                    Some(take)
                }
                BodyDecoder::Chunked(state) => {
                    let (used, next) = chunked_step(state, rest, body, max_body)?;
                    *self = next;
                    used
                }
            };
            match step {
                Some(used) if used > 0 || self.is_done() => pos += used,
                _ => {
                    return Ok(Progress {
                        consumed: pos,
                        done: self.is_done(),
                    })
                }
            }
        }
    }
}

/// One step of the chunked state machine: `None` when more bytes are
/// needed, else the bytes used and the next state.
fn chunked_step(
    state: Chunked,
    rest: &[u8],
    body: &mut Vec<u8>,
    max_body: u64,
) -> Result<(Option<usize>, BodyDecoder), ParseError> {
    let stay = BodyDecoder::Chunked(state);
    match state {
        Chunked::Size => {
            let Some(line) = crlf_line(rest, MAX_SIZE_LINE)? else {
                return Ok((None, stay));
            };
            let size = chunk_size(line)?;
            if size == 0 {
                return Ok((Some(line.len()), BodyDecoder::Chunked(Chunked::Trailers(0))));
            }
            if (body.len() as u64).saturating_add(size) > max_body {
                return Err(ParseError::BodyTooLarge);
            }
            Ok((Some(line.len()), BodyDecoder::Chunked(Chunked::Data(size))))
        }
        Chunked::Data(left) => {
            let take = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            body.extend_from_slice(&rest[..take]);
            let next = match left - take as u64 {
                0 => Chunked::DataEnd,
                left => Chunked::Data(left),
            };
            Ok((Some(take), BodyDecoder::Chunked(next)))
        }
        Chunked::DataEnd => match rest {
            [b'\r', b'\n', ..] => Ok((Some(2), BodyDecoder::Chunked(Chunked::Size))),
            [] | [b'\r'] => Ok((None, stay)),
            _ => Err(ParseError::BadChunk),
        },
        Chunked::Trailers(seen) => {
            let Some(line) = crlf_line(rest, MAX_TRAILERS - seen)? else {
                return Ok((None, stay));
            };
            if line.len() == 2 {
                return Ok((Some(2), BodyDecoder::Done));
            }
            if line.contains(&0) || !is_field_line(&line[..line.len() - 2]) {
                return Err(ParseError::BadChunk);
            }
            let next = Chunked::Trailers(seen + line.len());
            Ok((Some(line.len()), BodyDecoder::Chunked(next)))
        }
    }
}

/// `field-name ":" ...` with a non-empty token name (RFC 9110 §5.1):
/// trailers are dropped, but a malformed one makes the message invalid.
fn is_field_line(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0
        && line[..colon]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The first line of `rest`, CRLF included, if complete. A bare LF, a CR
/// inside the line, or a line longer than `max` is an error.
fn crlf_line(rest: &[u8], max: usize) -> Result<Option<&[u8]>, ParseError> {
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        // A CR anywhere but last is already a bare CR: fail now, not when
        // (if ever) the line ends.
        let early_cr = rest.iter().rev().skip(1).any(|&b| b == b'\r');
        if rest.len() > max || early_cr {
            return Err(ParseError::BadChunk);
        }
        return Ok(None);
    };
    let line = &rest[..=lf];
    if lf == 0 || line[lf - 1] != b'\r' || line[..lf - 1].contains(&b'\r') || line.len() > max {
        return Err(ParseError::BadChunk);
    }
    Ok(Some(line))
}

/// The size in a complete chunk-size line.
fn chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    // httparse reads an empty line as size 0 and lets any byte through in
    // extensions: both are refused here first.
    if !line[0].is_ascii_hexdigit() || line.contains(&0) {
        return Err(ParseError::BadChunk);
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((used, size))) if used == line.len() => Ok(size),
        _ => Err(ParseError::BadChunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes (keeping unconsumed bytes,
    /// as the connection does) and returns the body and leftover bytes.
    fn feed(
        kind: BodyKind,
        input: &[u8],
        step: usize,
        max: u64,
    ) -> Result<(Vec<u8>, Vec<u8>), ParseError> {
        let mut decoder = BodyDecoder::new(kind);
        let mut body = Vec::new();
        let mut buffered = Vec::new();
        let mut chunks = input.chunks(step.max(1));
        loop {
            let p = decoder.decode(&buffered, &mut body, max)?;
            buffered.drain(..p.consumed);
            if p.done {
                return Ok((body, buffered));
            }
            match chunks.next() {
                Some(piece) => buffered.extend_from_slice(piece),
                None => return Err(ParseError::Malformed), // incomplete
            }
        }
    }

    #[test]
    fn length_body_in_any_pieces() {
        for step in [1, 2, 3, 100] {
            let (body, rest) = feed(BodyKind::Length(5), b"helloGET", step, 100).unwrap();
            assert_eq!(body, b"hello");
            assert!(b"GET".starts_with(&rest), "step {step}: {rest:?}");
        }
    }

    #[test]
    fn chunked_bodies_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            (
                b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                b"hello world",
            ),
            (
                b"A\r\n0123456789\r\n0\r\nX-Trailer: a\r\nY: b\r\n\r\n",
                b"0123456789",
            ),
            (b"0\r\n\r\n", b""),
            (b"00003\r\nabc\r\n000\r\n\r\n", b"abc"),
            (b"3 ; x\r\nabc\r\n0\r\n\r\n", b"abc"),
        ];
        for (input, want) in table {
            for step in [1, 2, 7, 1000] {
                let (body, rest) = feed(BodyKind::Chunked, input, step, 100).unwrap();
                assert_eq!(
                    &body,
                    want,
                    "{:?} step {step}",
                    String::from_utf8_lossy(input)
                );
                assert!(rest.is_empty());
            }
        }
    }

    #[test]
    fn hostile_chunked_table() {
        use ParseError::*;
        let table: &[(&[u8], ParseError)] = &[
            (b"\r\nhello\r\n0\r\n\r\n", BadChunk),
            (b"5\nhello\r\n0\r\n\r\n", BadChunk),
            (b"5;a\nb\r\nhello\r\n0\r\n\r\n", BadChunk),
            (b"5;a\0b\r\nhello\r\n0\r\n\r\n", BadChunk),
            (b"5;a\rb\r\nhello\r\n0\r\n\r\n", BadChunk),
            (b"x\r\nhello\r\n0\r\n\r\n", BadChunk),
            (b"-5\r\nhello\r\n0\r\n\r\n", BadChunk),
            (b"fffffffffffffffff\r\n", BadChunk),
            (b"5\r\nhelloXX0\r\n\r\n", BadChunk),
            (b"5\r\nhello\r\n0\r\nBad\ntrailer\r\n\r\n", BadChunk),
            // A bare CR fails before its line ends (differential harness).
            (b"5\r\nhello\r\n0\r\n\rY", BadChunk),
            (b"5;a\rb", BadChunk),
            (b"5\r\nhello\r\n0\r\nT,\r\n: v\r\n\r\n", BadChunk),
            (b"5\r\nhello\r\n0\r\nNo colon\r\n\r\n", BadChunk),
            (b"65\r\n", BodyTooLarge),
            (b"ffffffffffffffff\r\n", BodyTooLarge),
        ];
        for (input, want) in table {
            for step in [1, 1000] {
                let got = feed(BodyKind::Chunked, input, step, 100).unwrap_err();
                assert_eq!(
                    got,
                    *want,
                    "{:?} step {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn endless_size_line_and_trailers_are_cut_off() {
        let long = vec![b'1'; MAX_SIZE_LINE + 10];
        assert_eq!(
            feed(BodyKind::Chunked, &long, 4096, u64::MAX).unwrap_err(),
            ParseError::BadChunk
        );
        let mut trailers = b"0\r\n".to_vec();
        for _ in 0..1000 {
            trailers.extend_from_slice(b"X-Long-Trailer: aaaaaaaaaa\r\n");
        }
        assert_eq!(
            feed(BodyKind::Chunked, &trailers, 64, 100).unwrap_err(),
            ParseError::BadChunk
        );
    }
}
