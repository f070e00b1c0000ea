//! The values a websocket handler deals in: [`Message`], [`CloseCode`] and
//! [`WsError`].
//!
//! These are sanio's own small types rather than tungstenite's: a handler
//! only ever receives data messages (pings, pongs and close frames are the
//! driver's business), and the public API stays put when tungstenite's
//! changes.

use std::fmt;

use crate::rt::Cancelled;

/// A data message: text or binary.
///
/// Text comes from `&str` and `String`, binary from `Vec<u8>` and `&[u8]`:
///
/// # Examples
///
/// ```
/// use sanio::Message;
///
/// assert_eq!(Message::from("hi"), Message::Text("hi".to_owned()));
/// assert_eq!(Message::from(vec![1, 2]), Message::Binary(vec![1, 2]));
/// assert_eq!(Message::from(&b"ab"[..]).as_bytes(), b"ab");
/// assert_eq!(Message::from("hi").as_text(), Some("hi"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The text, if this is a text message.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Message::Binary(vec![]).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Binary(_) => None,
        }
    }

    /// The payload as bytes, either kind.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Message::from("ok").as_bytes(), b"ok");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// The payload as owned bytes, either kind.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Message::from("ok").into_bytes(), b"ok".to_vec());
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Text(text) => text.into_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// Whether this is a text message.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Message::from("t").is_text());
    /// ```
    pub fn is_text(&self) -> bool {
        matches!(self, Self::Text(_))
    }

    /// The payload length in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::Message::from("héllo").len(), 6);
    /// ```
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sanio::Message::from("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts to tungstenite's message for writing.
    pub(crate) fn into_tungstenite(self) -> tungstenite::Message {
        match self {
            Self::Text(text) => tungstenite::Message::Text(text.into()),
            Self::Binary(bytes) => tungstenite::Message::Binary(bytes.into()),
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(bytes)
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Self {
        Self::Binary(bytes.to_vec())
    }
}

/// A close status code (RFC 6455 §7.4).
///
/// # Examples
///
/// ```
/// use sanio::CloseCode;
///
/// assert_eq!(CloseCode::from(1000), CloseCode::NORMAL);
/// assert_eq!(CloseCode::TOO_BIG.as_u16(), 1009);
/// assert!(!CloseCode(1006).is_sendable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going away (shutting down).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a kind of data this endpoint cannot accept.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1007: a text message was not valid UTF-8.
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: a message broke the endpoint's policy.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message was too big.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server hit an unexpected error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// The numeric code.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::CloseCode::NORMAL.as_u16(), 1000);
    /// ```
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether the code may appear in a close frame: 1000-1003, 1007-1014
    /// and 3000-4999. (1004-1006 and 1015 are reserved for reports, and
    /// the rest are unassigned.)
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::CloseCode;
    ///
    /// assert!(CloseCode(4000).is_sendable());
    /// assert!(!CloseCode(1005).is_sendable());
    /// assert!(!CloseCode(999).is_sendable());
    /// ```
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a websocket operation failed.
///
/// # Examples
///
/// ```
/// use sanio::WsError;
///
/// assert_eq!(WsError::Closed.to_string(), "the websocket is closed");
/// assert!(WsError::Closed.cancelled().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// The connection is closed (or closing): nothing more can be sent.
    Closed,
    /// The calling task was cancelled (the peer went away, or the server
    /// is stopping); the cancel counts as observed, so the task may clean
    /// up within its grace period.
    Cancelled(Cancelled),
    /// The message is larger than
    /// [`WsConfig::max_message_size`](super::WsConfig::max_message_size).
    MessageTooLarge {
        /// The message's size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
}

impl WsError {
    /// The cancellation, if this error is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::WsError;
    ///
    /// let err = WsError::Cancelled(sanio::rt::Cancelled::default());
    /// assert!(err.cancelled().is_some());
    /// ```
    pub fn cancelled(&self) -> Option<&Cancelled> {
        match self {
            Self::Cancelled(cancelled) => Some(cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the websocket is closed"),
            Self::Cancelled(cancelled) => write!(f, "websocket operation {cancelled}"),
            Self::MessageTooLarge { size, max } => {
                write!(f, "message of {size} bytes exceeds the limit of {max}")
            }
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Cancelled(cancelled) => Some(cancelled),
            _ => None,
        }
    }
}
