//! Errors: [`ParseError`] (what was wrong with the bytes a client sent, and
//! the status that answers it) and [`HttpError`] (an error a handler returns
//! that becomes a response).

use std::fmt;

use super::status::StatusCode;

/// Why a request could not be read. Each variant maps to the status the
/// client gets before the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Request line or header syntax httparse rejected. 400.
    Malformed,
    /// A header value with a bare CR, a NUL or an obs-fold line. 400.
    BadHeaderValue,
    /// HTTP/1.1 without a `Host` header. 400.
    MissingHost,
    /// More than one `Host` header. 400.
    DuplicateHost,
    /// `Content-Length` that is not a plain number, or sent twice. 400.
    BadContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`. 400.
    LengthAndChunked,
    /// A transfer coding other than `chunked`. 501.
    UnsupportedEncoding,
    /// `Transfer-Encoding` whose last coding is not `chunked`, or chunked
    /// twice. 400.
    BadTransferEncoding,
    /// A malformed chunk-size line, chunk terminator or trailer. 400.
    BadChunk,
    /// A head longer than `max_head_bytes`. 431.
    HeadTooLarge,
    /// More header fields than `max_headers`. 431.
    TooManyHeaders,
    /// A request target longer than `max_uri_bytes`. 414.
    UriTooLong,
    /// A body longer than `max_body_bytes`. 413.
    BodyTooLarge,
}

impl ParseError {
    /// The status that answers this error.
    pub(crate) const fn status(self) -> StatusCode {
        match self {
            ParseError::UnsupportedEncoding => StatusCode::NOT_IMPLEMENTED,
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            ParseError::UriTooLong => StatusCode::URI_TOO_LONG,
            ParseError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A short explanation for the error body and the log.
    pub(crate) const fn message(self) -> &'static str {
        match self {
            ParseError::Malformed => "malformed request",
            ParseError::BadHeaderValue => "invalid header value",
            ParseError::MissingHost => "missing Host header",
            ParseError::DuplicateHost => "duplicate Host header",
            ParseError::BadContentLength => "invalid Content-Length",
            ParseError::LengthAndChunked => "both Content-Length and Transfer-Encoding",
            ParseError::UnsupportedEncoding => "unsupported Transfer-Encoding",
            ParseError::BadTransferEncoding => "invalid Transfer-Encoding",
            ParseError::BadChunk => "invalid chunked body",
            ParseError::HeadTooLarge => "request head too large",
            ParseError::TooManyHeaders => "too many header fields",
            ParseError::UriTooLong => "request target too long",
            ParseError::BodyTooLarge => "request body too large",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// An error with the status it should be answered with. As a handler's
/// error it becomes a response with body `{"error": "<message>"}`.
///
/// # Examples
///
/// ```
/// use sanio::{HttpError, IntoResponse, StatusCode};
///
/// let err = HttpError::new(StatusCode::CONFLICT, "name taken");
/// assert_eq!(err.to_string(), "409 Conflict: name taken");
/// let response = err.into_response();
/// assert_eq!(response.status(), StatusCode::CONFLICT);
/// assert_eq!(response.body_bytes(), Some(&br#"{"error": "name taken"}"#[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The status of the response.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
}

impl HttpError {
    /// An error with a status and a message.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = sanio::HttpError::new(sanio::StatusCode::FORBIDDEN, "no");
    /// assert_eq!(err.status.as_u16(), 403);
    /// ```
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A 400 Bad Request.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::HttpError::bad_request("x").status.as_u16(), 400);
    /// ```
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 404 Not Found.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::HttpError::not_found("x").status.as_u16(), 404);
    /// ```
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A 500 Internal Server Error.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::HttpError::internal("x").status.as_u16(), 500);
    /// ```
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The JSON body `{"error": "<message>"}`, escaped by hand so that it
    /// needs no serde.
    pub(crate) fn json_body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 14);
        out.extend_from_slice(b"{\"error\": \"");
        for c in self.message.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
                }
                c => {
                    let mut utf8 = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\"}");
        out
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for HttpError {}

impl From<ParseError> for HttpError {
    fn from(err: ParseError) -> Self {
        HttpError::new(err.status(), err.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_the_rfc() {
        let table = [
            (ParseError::Malformed, 400),
            (ParseError::LengthAndChunked, 400),
            (ParseError::UnsupportedEncoding, 501),
            (ParseError::HeadTooLarge, 431),
            (ParseError::TooManyHeaders, 431),
            (ParseError::UriTooLong, 414),
            (ParseError::BodyTooLarge, 413),
            (ParseError::BadChunk, 400),
        ];
        for (err, code) in table {
            assert_eq!(err.status().as_u16(), code, "{err:?}");
        }
    }

    #[test]
    fn json_body_is_escaped() {
        let err = HttpError::bad_request("a \"q\"\\\n\u{1}é");
        assert_eq!(
            String::from_utf8(err.json_body()).unwrap(),
            "{\"error\": \"a \\\"q\\\"\\\\\\n\\u0001é\"}"
        );
    }
}
