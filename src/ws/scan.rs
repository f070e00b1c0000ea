//! `FrameScan`: follows the client's frames in the bytes as they are read,
//! ahead of tungstenite, to check text as it arrives.
//!
//! tungstenite parses a frame only once all of it is in, so on its own it
//! finds invalid UTF-8 in a text frame when the frame's last byte arrives:
//! a client that sends a long text frame slowly is answered late, though
//! its first bytes already showed the text could never be valid. RFC 6455
//! §8.1 wants the connection failed, and the strict reading (Autobahn
//! 6.4.3 and 6.4.4) is "as soon as the invalid bytes are seen".
//!
//! The scan reads just enough of each frame header (opcode, FIN, mask,
//! length) to unmask the payload of a text message and feed it to
//! [`Utf8Check`], across chunk and frame boundaries, control frames
//! interleaved. It judges nothing else and keeps no payload: a frame that
//! tungstenite will refuse anyway (reserved bits or opcodes, no mask, a
//! fragmented or long control frame, a continuation out of place) makes it
//! stand down for the rest of the connection, and tungstenite's error is
//! the one reported. Its memory is fixed: one frame header and the
//! check's three bytes.

use super::utf8::{InvalidUtf8, Utf8Check};

/// The longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const MAX_HEADER: usize = 14;

/// Payload bytes unmasked at a time (on the stack) for the check.
const UNMASK_CHUNK: usize = 256;

/// Where the scan is in the byte stream.
#[derive(Debug)]
enum Stage {
    /// Reading a frame header: the bytes so far.
    /// INVARIANT: `len < MAX_HEADER`, and `len` is below the header's
    /// full length once that is known.
    Header {
        /// The header bytes received.
        bytes: [u8; MAX_HEADER],
        /// How many of `bytes` are in use.
        len: usize,
    },
    /// Inside a frame's payload.
    Payload(Payload),
    /// Nothing more is checked: invalid text was found, or a frame that
    /// tungstenite will refuse came.
    Off,
}

/// The frame whose payload is being read.
#[derive(Debug)]
struct Payload {
    /// Payload bytes still to come.
    left: u64,
    /// The client's masking key.
    mask: [u8; 4],
    /// Payload bytes already read, modulo 4 (where in `mask` to resume).
    at: usize,
    /// Whether the payload is text to check.
    text: bool,
    /// Whether this frame ends a data message (a data frame with FIN).
    ends_message: bool,
}

/// The kind of the data message in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A text message: its payload is checked.
    Text,
    /// A binary message: its payload is skipped.
    Binary,
}

/// Follows frames in the inbound bytes and checks text messages' UTF-8 as
/// the bytes arrive.
#[derive(Debug)]
pub(super) struct FrameScan {
    /// Where in the stream the scan is.
    stage: Stage,
    /// The data message in progress (started, its final frame not done).
    message: Option<Kind>,
    /// The text check of the message in progress, if it is text.
    text: Utf8Check,
    /// The longest frame payload since [`take_largest_frame`](Self::take_largest_frame).
    largest_frame: u64,
}

impl Default for FrameScan {
    fn default() -> Self {
        Self {
            stage: Stage::Header {
                bytes: [0; MAX_HEADER],
                len: 0,
            },
            message: None,
            text: Utf8Check::default(),
            largest_frame: 0,
        }
    }
}

impl FrameScan {
    /// Follows the next bytes read from the client.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] once a text message's payload so far cannot be
    /// valid UTF-8 (reported once; the scan is off afterwards).
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<(), InvalidUtf8> {
        let followed = self.follow(bytes);
        if followed.is_err() {
            self.stage = Stage::Off;
        }
        followed
    }

    /// True between data messages: no frame partly read, no fragmented
    /// message in progress (false once the scan is off).
    pub(super) fn between_messages(&self) -> bool {
        matches!(self.stage, Stage::Header { len: 0, .. }) && self.message.is_none()
    }

    /// The longest frame payload announced since the last call.
    pub(super) fn take_largest_frame(&mut self) -> u64 {
        std::mem::take(&mut self.largest_frame)
    }

    /// Walks through `bytes`: header bytes, then payload bytes (checked
    /// when text), frame after frame.
    fn follow(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        while !bytes.is_empty() {
            let used = match &mut self.stage {
                Stage::Off => return Ok(()),
                Stage::Header { bytes: header, len } => {
                    let (used, whole) = fill_header(header, len, bytes);
                    if let Some(whole) = whole {
                        let header = *header;
                        self.stage = self.start_frame(&header[..whole]);
                    }
                    used
                }
                Stage::Payload(payload) => {
                    let used = usize::try_from(payload.left)
                        .map_or(bytes.len(), |left| left.min(bytes.len()));
                    if payload.text {
                        check_masked(&mut self.text, payload, &bytes[..used])?;
                    }
                    payload.left -= used as u64;
                    payload.at = (payload.at + used) % 4;
                    used
                }
            };
            self.end_frame_if_done()?;
            bytes = &bytes[used..];
        }
        Ok(())
    }

    /// The stage after a complete header: the frame's payload, or `Off`
    /// for a frame tungstenite will refuse.
    fn start_frame(&mut self, header: &[u8]) -> Stage {
        let (first, second) = (header[0], header[1]);
        let fin = first & 0x80 != 0;
        let reserved = first & 0x70 != 0;
        let masked = second & 0x80 != 0;
        if reserved || !masked {
            return Stage::Off;
        }
        let left = match second & 0x7f {
            126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
            127 => {
                let mut len = [0; 8];
                len.copy_from_slice(&header[2..10]);
                u64::from_be_bytes(len)
            }
            short => u64::from(short),
        };
        self.largest_frame = self.largest_frame.max(left);
        let mut mask = [0; 4];
        mask.copy_from_slice(&header[header.len() - 4..]);
        let text = match (first & 0x0f, self.message) {
            (0x0, Some(kind)) => kind == Kind::Text,
            (0x1, None) => {
                self.text = Utf8Check::default();
                true
            }
            (0x2, None) => false,
            (0x8..=0xa, _) if fin && left <= 125 => {
                return Stage::Payload(Payload {
                    left,
                    mask,
                    at: 0,
                    text: false,
                    ends_message: false,
                });
            }
            _ => return Stage::Off,
        };
        self.message = Some(if text { Kind::Text } else { Kind::Binary });
        Stage::Payload(Payload {
            left,
            mask,
            at: 0,
            text,
            ends_message: fin,
        })
    }

    /// Once a frame's payload is all read: ends its message if it was the
    /// final frame (a text must not end inside a code point) and waits for
    /// the next header.
    fn end_frame_if_done(&mut self) -> Result<(), InvalidUtf8> {
        let Stage::Payload(payload) = &self.stage else {
            return Ok(());
        };
        if payload.left > 0 {
            return Ok(());
        }
        let ends_text = payload.ends_message && payload.text;
        if payload.ends_message {
            self.message = None;
        }
        self.stage = Stage::Header {
            bytes: [0; MAX_HEADER],
            len: 0,
        };
        if ends_text {
            self.text.finish()?;
        }
        Ok(())
    }
}

/// Adds bytes to a partial header. Returns how many bytes were used and,
/// once the header is whole, its length.
fn fill_header(
    header: &mut [u8; MAX_HEADER],
    len: &mut usize,
    bytes: &[u8],
) -> (usize, Option<usize>) {
    let mut used = 0;
    loop {
        // The first two bytes tell the header's full length.
        let known = *len >= 2;
        let want = if known { header_len(header[1]) } else { 2 };
        let take = (want - *len).min(bytes.len() - used);
        header[*len..*len + take].copy_from_slice(&bytes[used..used + take]);
        *len += take;
        used += take;
        if *len < want {
            return (used, None);
        }
        if known {
            *len = 0;
            return (used, Some(want));
        }
    }
}

/// A header's full length, from its second byte (mask bit and length).
fn header_len(second: u8) -> usize {
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

/// Unmasks `bytes` (the next payload bytes of `payload`) a chunk at a time
/// and feeds them to the text check.
fn check_masked(check: &mut Utf8Check, payload: &Payload, bytes: &[u8]) -> Result<(), InvalidUtf8> {
    // The mask repeated to 16 bytes, turned to start at the first of these
    // bytes: every 16-byte group (and every chunk) starts with it again,
    // and the compiler unmasks a whole group in one vector operation.
    const _: () = assert!(UNMASK_CHUNK % 16 == 0);
    let mut mask = [0u8; 16];
    for (i, byte) in mask.iter_mut().enumerate() {
        *byte = payload.mask[(payload.at + i) % 4];
    }
    let mut chunk = [0u8; UNMASK_CHUNK];
    for piece in bytes.chunks(UNMASK_CHUNK) {
        let plain = &mut chunk[..piece.len()];
        for (out, masked) in plain.chunks_mut(16).zip(piece.chunks(16)) {
            for ((o, m), k) in out.iter_mut().zip(masked).zip(&mask) {
                *o = m ^ k;
            }
        }
        check.feed(plain)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame; `first` is the FIN/RSV/opcode byte. The
    /// length takes the 7-, 16- or 64-bit form it needs, or 64-bit when
    /// `long` is set.
    fn frame(first: u8, payload: &[u8], long: bool) -> Vec<u8> {
        let mask = [0x9c, 0x01, 0x5a, 0xe3];
        let mut out = vec![first];
        match payload.len() {
            len @ 0..=125 if !long => out.push(0x80 | len as u8),
            len @ 126..=0xffff if !long => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    /// Feeds `stream` in pieces cut at `cuts`; the index of the piece that
    /// reported invalid text, if one did.
    fn scan(stream: &[u8], cuts: &[usize]) -> Option<usize> {
        let mut scan = FrameScan::default();
        let mut start = 0;
        for (i, &end) in cuts.iter().chain([stream.len()].iter()).enumerate() {
            if scan.feed(&stream[start..end]).is_err() {
                return Some(i);
            }
            start = end;
        }
        None
    }

    /// A fragmented text with code points split across frames, a ping and
    /// a pong between its fragments, then a binary frame that is not UTF-8
    /// and a long text frame.
    fn valid_stream() -> Vec<u8> {
        let text = "κόσμε €𝄞".as_bytes();
        let long = "é".repeat(200);
        [
            frame(0x01, &text[..1], false),
            frame(0x89, b"ping", false),
            frame(0x00, &text[1..6], false),
            frame(0x8a, b"", false),
            frame(0x00, &text[6..14], false),
            frame(0x80, &text[14..], false),
            frame(0x82, &[0xff, 0xfe, 0xc0], false),
            frame(0x81, b"", false),
            frame(0x81, long.as_bytes(), false),
            frame(0x81, "ü".as_bytes(), true),
        ]
        .concat()
    }

    #[test]
    fn valid_text_passes_at_every_split() {
        let stream = valid_stream();
        for cut in 0..=stream.len() {
            assert_eq!(scan(&stream, &[cut]), None, "cut at {cut}");
        }
        let bytewise: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(scan(&stream, &bytewise), None, "byte by byte");
    }

    /// Streams with invalid text, and the offset of the byte that shows it.
    fn invalid_streams() -> Vec<(&'static str, Vec<u8>, usize)> {
        // Autobahn 6.4.3: valid text, then a code point above U+10FFFF.
        let autobahn = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
        let mut cases = vec![(
            "one frame, invalid in the middle",
            frame(0x81, autobahn, false),
            6 + 12,
        )];
        let long: Vec<u8> = [&[b'a'; 300][..], &[0xed, 0xa0, 0x80], &[b'b'; 40]].concat();
        cases.push(("a 16-bit length", frame(0x81, &long, false), 8 + 301));
        cases.push(("a 64-bit length", frame(0x81, &long, true), 14 + 301));
        let split = [
            frame(0x01, b"ok \xe2", false),
            frame(0x89, b"", false),
            frame(0x80, b"\x82\x28 rest", false),
        ];
        let at = split[0].len() + split[1].len() + 6 + 1;
        cases.push(("a code point split by a ping, broken", split.concat(), at));
        let cut = [
            frame(0x81, b"fine", false),
            frame(0x01, b"ab", false),
            frame(0x80, b"\xf0\x9d\x84", false),
        ];
        let end = cut.concat().len() - 1;
        cases.push(("a message ending inside a code point", cut.concat(), end));
        cases
    }

    #[test]
    fn invalid_text_is_reported_by_the_piece_that_shows_it() {
        for (name, stream, bad) in invalid_streams() {
            for cut in 0..=stream.len() {
                let want = if bad < cut { 0 } else { 1 };
                assert_eq!(scan(&stream, &[cut]), Some(want), "{name}, cut at {cut}");
            }
            let bytewise: Vec<usize> = (1..stream.len()).collect();
            assert_eq!(scan(&stream, &bytewise), Some(bad), "{name}, byte by byte");
        }
    }

    #[test]
    fn the_scan_stands_down_at_frames_tungstenite_refuses() {
        let bad_text = frame(0x81, b"\xff", false);
        let refused: Vec<(&str, Vec<u8>)> = vec![
            ("unmasked", vec![0x81, 0x01, b'x']),
            ("a reserved bit", frame(0xc1, b"x", false)),
            ("a reserved opcode", frame(0x83, b"x", false)),
            ("a continuation first", frame(0x80, b"x", false)),
            (
                "a text inside a text",
                [frame(0x01, b"x", false), frame(0x81, b"y", false)].concat(),
            ),
            ("a fragmented ping", frame(0x09, b"", false)),
            ("a long ping", frame(0x89, &[0; 126], false)),
        ];
        for (name, first) in refused {
            let stream = [first, bad_text.clone()].concat();
            assert_eq!(scan(&stream, &[]), None, "{name}");
        }
    }

    #[test]
    fn after_invalid_text_the_scan_is_off() {
        let mut scan = FrameScan::default();
        assert_eq!(scan.feed(&frame(0x81, b"\xff", false)), Err(InvalidUtf8));
        assert_eq!(scan.feed(&frame(0x81, b"\xff", false)), Ok(()));
        assert!(matches!(scan.stage, Stage::Off));
    }

    /// Where a random stream first shows invalid text: the stream offset
    /// of the byte that makes a text message's prefix invalid, or of its
    /// last byte when it ends inside a code point.
    fn first_invalid(messages: &[(bool, Vec<u8>, Vec<usize>)]) -> Option<usize> {
        messages.iter().find_map(|(text, payload, offsets)| {
            if !text {
                return None;
            }
            match std::str::from_utf8(payload) {
                Ok(_) => None,
                Err(err) => Some(match err.error_len() {
                    Some(_) => {
                        // The first byte at which no valid continuation exists.
                        let start = err.valid_up_to();
                        let bad = (start + 1..=payload.len())
                            .find(|&end| {
                                std::str::from_utf8(&payload[start..end])
                                    .err()
                                    .is_some_and(|e| e.error_len().is_some())
                            })
                            .unwrap_or(payload.len());
                        offsets[bad - 1]
                    }
                    None => offsets[payload.len() - 1],
                }),
            }
        })
    }

    #[test]
    fn random_streams_in_random_pieces_agree_with_a_whole_message_check() {
        const CHARS: &[&str] = &["a", "é", "€", "𝄞", "κ", " "];
        for seed in 0..400 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut stream = Vec::new();
            // (text, payload, stream offset of each payload byte)
            let mut messages: Vec<(bool, Vec<u8>, Vec<usize>)> = Vec::new();
            for _ in 0..rng.usize(1..5) {
                let text = rng.bool();
                // Now and then a long one, past the unmasking chunk.
                let chars = if rng.usize(..8) == 0 {
                    rng.usize(60..400)
                } else {
                    rng.usize(0..12)
                };
                let mut payload: Vec<u8> = (0..chars)
                    .flat_map(|_| CHARS[rng.usize(..CHARS.len())].bytes())
                    .collect();
                if rng.usize(..4) == 0 && !payload.is_empty() {
                    let at = rng.usize(..payload.len());
                    payload[at] = rng.u8(..); // maybe invalid now
                }
                let mut cuts: Vec<usize> = (0..rng.usize(0..3))
                    .map(|_| rng.usize(..=payload.len()))
                    .collect();
                cuts.sort_unstable();
                cuts.push(payload.len());
                let mut offsets = Vec::new();
                let mut start = 0;
                for (i, &end) in cuts.iter().enumerate() {
                    let last = i == cuts.len() - 1;
                    let opcode = match (i, text) {
                        (0, true) => 0x1,
                        (0, false) => 0x2,
                        _ => 0x0,
                    };
                    let bytes = frame(
                        opcode | if last { 0x80 } else { 0 },
                        &payload[start..end],
                        rng.bool(),
                    );
                    let header = bytes.len() - (end - start);
                    offsets.extend((0..end - start).map(|k| stream.len() + header + k));
                    stream.extend_from_slice(&bytes);
                    if rng.bool() {
                        stream.extend_from_slice(&frame(0x89, b"p", false));
                    }
                    start = end;
                }
                messages.push((text, payload, offsets));
            }
            let want = first_invalid(&messages);
            let mut cuts: Vec<usize> = (0..rng.usize(0..6))
                .map(|_| rng.usize(..=stream.len()))
                .collect();
            cuts.sort_unstable();
            let got = scan(&stream, &cuts);
            // The piece that holds the byte `want` points at.
            let piece = want.map(|bad| cuts.iter().filter(|&&cut| cut <= bad).count());
            assert_eq!(
                got, piece,
                "seed {seed}: cuts {cuts:?}, first invalid at {want:?}"
            );
        }
    }
}
