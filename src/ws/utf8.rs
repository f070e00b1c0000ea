//! `Utf8Check`: UTF-8 validation of a text that arrives in pieces.
//!
//! A text message reaches the server a few bytes at a time, and a code
//! point may be split between two pieces (two TCP reads, or two frames of a
//! fragmented message). RFC 6455 §8.1 has the server fail the connection
//! when the text is not UTF-8; the strict reading (Autobahn's 6.4.x cases)
//! is "as soon as the bytes received so far cannot begin a valid text".
//!
//! The check keeps only the start of a code point cut at the end of the
//! last piece (at most 3 bytes): no copy of the text, no growth. It leans
//! on `std::str::from_utf8`, whose error tells the two endings apart:
//! `error_len() == None` means "valid so far, but a sequence is cut short"
//! (wait for more), `Some(_)` means "these bytes can never be UTF-8". That
//! is the whole decoder, so no crate is needed (tungstenite keeps its own
//! copy of the `utf-8` crate's decoder private).

use std::fmt;

/// The bytes received cannot be the start of a valid UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8 in a text message")
    }
}

/// An incremental UTF-8 check over the pieces of one text: `feed` each
/// piece as it arrives ("€" cut after two bytes is fine so far), then
/// `finish` at the end of the text (nothing may be left cut short).
#[derive(Debug, Default)]
pub(super) struct Utf8Check {
    /// The start of a code point cut at the end of the last piece.
    /// INVARIANT: `pending[..len]` is an incomplete but so far valid
    /// sequence, so `len <= 3` between calls.
    pending: [u8; 4],
    /// How many bytes of `pending` are in use.
    len: usize,
}

impl Utf8Check {
    /// Checks the next piece of the text.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] as soon as the text so far cannot be valid; the
    /// check should not be fed after that.
    pub(super) fn feed(&mut self, mut piece: &[u8]) -> Result<(), InvalidUtf8> {
        // First complete a code point cut at the end of the last piece, one
        // byte at a time: it is valid exactly when it is whole.
        while self.len > 0 {
            let Some((&byte, rest)) = piece.split_first() else {
                return Ok(());
            };
            let slot = self.pending.get_mut(self.len).ok_or(InvalidUtf8)?;
            *slot = byte;
            self.len += 1;
            piece = rest;
            match std::str::from_utf8(&self.pending[..self.len]) {
                Ok(_) => self.len = 0,
                Err(err) if err.error_len().is_none() => {}
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match std::str::from_utf8(piece) {
            Ok(_) => Ok(()),
            Err(err) if err.error_len().is_none() => {
                let cut = &piece[err.valid_up_to()..];
                self.pending[..cut.len()].copy_from_slice(cut);
                self.len = cut.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the text: valid if no code point is left cut short. The check
    /// is empty again afterwards.
    ///
    /// # Errors
    ///
    /// [`InvalidUtf8`] when the text ends inside a code point.
    pub(super) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let cut = self.len;
        self.len = 0;
        if cut == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` then finishes; the first error, with the index of the
    /// piece (or `pieces.len()` for `finish`).
    fn check(pieces: &[&[u8]]) -> Result<(), usize> {
        let mut check = Utf8Check::default();
        for (i, piece) in pieces.iter().enumerate() {
            check.feed(piece).map_err(|_| i)?;
        }
        check.finish().map_err(|_| pieces.len())
    }

    /// Texts with one- to four-byte code points.
    const VALID: &[&str] = &[
        "",
        "plain ascii",
        "κόσμε",
        "€uro",
        "a𝄞b",
        "\u{10ffff}",
        "日本語テキスト",
    ];

    #[test]
    fn a_valid_text_passes_whatever_the_split() {
        for text in VALID {
            let bytes = text.as_bytes();
            for cut in 0..=bytes.len() {
                assert_eq!(
                    check(&[&bytes[..cut], &bytes[cut..]]),
                    Ok(()),
                    "{text:?} at {cut}"
                );
            }
            for a in 0..=bytes.len() {
                for b in a..=bytes.len() {
                    let pieces = [&bytes[..a], &bytes[a..b], &bytes[b..]];
                    assert_eq!(check(&pieces), Ok(()), "{text:?} at {a}, {b}");
                }
            }
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(check(&bytewise), Ok(()), "{text:?} byte by byte");
        }
    }

    #[test]
    fn invalid_bytes_fail_in_the_piece_that_holds_them() {
        // (text, the index of the first byte that makes it invalid)
        let cases: &[(&[u8], usize)] = &[
            (b"ab\xffcd", 2),
            (
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited",
                12,
            ), // > U+10FFFF
            (b"a\xed\xa0\x80", 2), // a surrogate
            (b"\xc0\xaf", 0),      // overlong
            (b"\xe0\x80\xaf", 1),  // overlong
            (b"\xe2\x82(", 2),     // cut short
            (b"x\x80", 1),         // lone continuation
        ];
        for &(bytes, bad) in cases {
            assert_eq!(check(&[bytes]), Err(0), "{bytes:?} whole");
            for cut in 0..=bytes.len() {
                // The error is found in the first piece if the bad byte is in
                // it, else in the second, never later.
                let want = if bad < cut { 0 } else { 1 };
                assert_eq!(
                    check(&[&bytes[..cut], &bytes[cut..], b"tail"]),
                    Err(want),
                    "{bytes:?} at {cut}"
                );
            }
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(check(&bytewise), Err(bad), "{bytes:?} byte by byte");
        }
    }

    #[test]
    fn a_text_cut_short_at_its_end_fails_at_finish() {
        for text in ["€", "𝄞", "aκ"] {
            let bytes = text.as_bytes();
            for cut in (1..bytes.len()).filter(|&cut| !text.is_char_boundary(cut)) {
                assert_eq!(check(&[&bytes[..cut]]), Err(1), "{text:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn finish_empties_the_check_for_the_next_text() {
        let mut check = Utf8Check::default();
        assert_eq!(check.feed(&[0xe2, 0x82]), Ok(()));
        assert_eq!(check.finish(), Err(InvalidUtf8));
        assert_eq!(check.feed(b"fresh"), Ok(()));
        assert_eq!(check.finish(), Ok(()));
    }
}
