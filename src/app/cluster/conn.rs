//! One Redis connection on sanio's loop: a `redis://` URL, connect with
//! AUTH and SELECT, commands written as RESP arrays and replies read back
//! as frames.
//!
//! RESP framing is not written by hand: `redis-protocol` encodes a frame
//! into a buffer and decodes one from a byte slice, with no I/O of its own
//! (sans-I/O), so the socket stays ours: a [`TcpStream`] on this loop.

use std::fmt;
use std::io;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::encode::encode;
use redis_protocol::resp2::types::{OwnedFrame, Resp2Frame};

use crate::net::TcpStream;
use crate::rt;

/// The largest reply a connection buffers; a bigger one is an error, not
/// unbounded growth.
const MAX_REPLY: usize = 16 * 1024 * 1024;

/// A reply frame.
pub(crate) type Frame = OwnedFrame;

/// What went wrong talking to Redis.
///
/// # Examples
///
/// ```
/// let err = sanio::app::cluster::RedisUrl::parse("http://x").unwrap_err();
/// assert!(err.to_string().contains("redis://"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL is not `redis://[user[:password]@]host[:port][/db]`.
    Url(String),
    /// Connecting, reading or writing failed, or the server closed.
    Io(io::Error),
    /// Connecting or a reply took longer than allowed.
    Timeout,
    /// The bytes were not RESP, or a reply was over the size limit.
    Protocol(String),
    /// The server answered with an error (`-ERR ...`).
    Server(String),
    /// The reply had an unexpected shape.
    Unexpected(String),
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(why) => write!(f, "bad Redis URL (want redis://host:port/db): {why}"),
            Self::Io(err) => write!(f, "Redis I/O error: {err}"),
            Self::Timeout => f.write_str("Redis did not answer in time"),
            Self::Protocol(why) => write!(f, "Redis protocol error: {why}"),
            Self::Server(why) => write!(f, "Redis error reply: {why}"),
            Self::Unexpected(why) => write!(f, "unexpected Redis reply: {why}"),
        }
    }
}

impl std::error::Error for RedisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for RedisError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// A parsed `redis://[user[:password]@]host[:port][/db]` URL.
///
/// # Examples
///
/// ```
/// use sanio::app::cluster::RedisUrl;
///
/// let url = RedisUrl::parse("redis://:secret@10.0.0.5:6380/2").unwrap();
/// assert_eq!(url.address(), "10.0.0.5:6380");
/// assert_eq!(url.db(), 2);
/// assert_eq!(RedisUrl::parse("redis://localhost").unwrap().address(), "localhost:6379");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// `host:port`.
    address: String,
    /// The ACL user, if any.
    user: Option<String>,
    /// The password, if any.
    password: Option<String>,
    /// The database to SELECT.
    db: u32,
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("RedisUrl")
            .field("address", &self.address)
            .field("user", &self.user)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl RedisUrl {
    /// Parses a `redis://` URL (user and password may be percent-encoded).
    ///
    /// # Errors
    ///
    /// [`RedisError::Url`] for another scheme, an empty host, a bad port
    /// or database number.
    ///
    /// # Examples
    ///
    /// See [`RedisUrl`].
    pub fn parse(url: &str) -> Result<Self, RedisError> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| RedisError::Url(format!("{url:?} does not start with redis://")))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let decoded = |part: &str| percent_decode_str(part).decode_utf8_lossy().into_owned();
        let (user, password) = match credentials {
            None => (None, None),
            Some(credentials) => match credentials.split_once(':') {
                Some((user, password)) => (
                    Some(decoded(user)).filter(|u| !u.is_empty()),
                    Some(decoded(password)),
                ),
                None => (Some(decoded(credentials)), None),
            },
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host_port.starts_with('[') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| RedisError::Url(format!("bad port {port:?}")))?;
                (host, port)
            }
            _ => (host_port, 6379),
        };
        if host.is_empty() {
            return Err(RedisError::Url("empty host".into()));
        }
        let path = path.split('?').next().unwrap_or("");
        let db = if path.is_empty() {
            0
        } else {
            path.parse()
                .map_err(|_| RedisError::Url(format!("bad database {path:?}")))?
        };
        Ok(Self {
            address: format!("{host}:{port}"),
            user,
            password,
            db,
        })
    }

    /// `host:port` to connect to.
    ///
    /// # Examples
    ///
    /// See [`RedisUrl`].
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The database number to SELECT.
    ///
    /// # Examples
    ///
    /// See [`RedisUrl`].
    pub fn db(&self) -> u32 {
        self.db
    }
}

/// One connection: a stream and the bytes read but not yet decoded.
pub(crate) struct Connection {
    /// The socket.
    stream: TcpStream,
    /// Received bytes not yet decoded.
    buf: Vec<u8>,
}

/// Encodes a command as a RESP array of bulk strings.
pub(crate) fn command(args: &[&[u8]]) -> Result<Vec<u8>, RedisError> {
    let frame = OwnedFrame::Array(
        args.iter()
            .map(|arg| OwnedFrame::BulkString(arg.to_vec()))
            .collect(),
    );
    encode_frame(&frame)
}

/// Encodes any frame into a fresh buffer.
pub(crate) fn encode_frame(frame: &Frame) -> Result<Vec<u8>, RedisError> {
    let mut out = vec![0; frame.encode_len(false)];
    let len =
        encode(&mut out, frame, false).map_err(|err| RedisError::Protocol(err.to_string()))?;
    out.truncate(len);
    Ok(out)
}

/// Decodes one whole frame from `bytes` (trailing bytes are an error).
pub(crate) fn decode_frame(bytes: &[u8]) -> Result<Frame, RedisError> {
    match decode(bytes) {
        Ok(Some((frame, used))) if used == bytes.len() => Ok(frame),
        Ok(_) => Err(RedisError::Protocol("incomplete or trailing bytes".into())),
        Err(err) => Err(RedisError::Protocol(err.to_string())),
    }
}

impl Connection {
    /// Connects, authenticates and selects the database, all within
    /// `limit`.
    pub(crate) async fn open(url: &RedisUrl, limit: Duration) -> Result<Self, RedisError> {
        rt::timeout(limit, async {
            let stream = TcpStream::connect(url.address.as_str()).await?;
            stream.set_nodelay(true)?;
            let mut conn = Self {
                stream,
                buf: Vec::new(),
            };
            if let Some(password) = &url.password {
                let mut args: Vec<&[u8]> = vec![b"AUTH"];
                args.extend(url.user.as_deref().map(str::as_bytes));
                args.push(password.as_bytes());
                conn.call(&args).await?;
            }
            if url.db != 0 {
                conn.call(&[b"SELECT", url.db.to_string().as_bytes()])
                    .await?;
            }
            Ok(conn)
        })
        .await
        .map_err(|_| RedisError::Timeout)?
    }

    /// Writes one command.
    pub(crate) async fn send(&mut self, args: &[&[u8]]) -> Result<(), RedisError> {
        let bytes = command(args)?;
        self.stream.write_all(&bytes).await?;
        Ok(())
    }

    /// Writes already encoded commands.
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), RedisError> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads the next frame. Cancel-safe: bytes are kept in the
    /// connection's buffer, so a read dropped at its await loses nothing.
    pub(crate) async fn read_frame(&mut self) -> Result<Frame, RedisError> {
        loop {
            if !self.buf.is_empty() {
                match decode(&self.buf) {
                    Ok(Some((frame, used))) => {
                        self.buf.drain(..used);
                        return Ok(frame);
                    }
                    Ok(None) => {}
                    Err(err) => return Err(RedisError::Protocol(err.to_string())),
                }
            }
            if self.buf.len() > MAX_REPLY {
                return Err(RedisError::Protocol(format!(
                    "reply over {MAX_REPLY} bytes"
                )));
            }
            let mut chunk = [0; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(RedisError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and reads its reply; an error reply is an `Err`.
    pub(crate) async fn call(&mut self, args: &[&[u8]]) -> Result<Frame, RedisError> {
        self.send(args).await?;
        match self.read_frame().await? {
            Frame::Error(message) => Err(RedisError::Server(message)),
            frame => Ok(frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = RedisUrl::parse("redis://user:p%40ss@host:1/3").unwrap();
        assert_eq!(url.address(), "host:1");
        assert_eq!(url.user.as_deref(), Some("user"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.db(), 3);
        assert!(!format!("{url:?}").contains("p@ss"));
        let url = RedisUrl::parse("redis://:pw@host").unwrap();
        assert_eq!((url.user, url.password.as_deref()), (None, Some("pw")));
        for bad in [
            "http://h",
            "redis://",
            "redis://h:x",
            "redis://h/x",
            "redis://:1",
        ] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_reply_over_the_limit_is_an_error_not_growth() {
        use std::io::Write;
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = RedisUrl::parse(&format!("redis://{}", server.local_addr().unwrap())).unwrap();
        let hostile = std::thread::spawn(move || {
            let (mut stream, _) = server.accept().unwrap();
            let _ = stream.write_all(b"$999999999\r\n");
            let chunk = vec![b'a'; 64 * 1024];
            while stream.write_all(&chunk).is_ok() {}
        });
        let result = crate::rt::Runtime::new().unwrap().block_on(async {
            let mut conn = Connection::open(&url, Duration::from_secs(30)).await?;
            conn.call(&[b"GET", b"k"]).await
        });
        assert!(matches!(result, Err(RedisError::Protocol(ref why)) if why.contains("over")));
        hostile.join().unwrap();
    }

    #[test]
    fn frames_round_trip() {
        let bytes = command(&[b"PUBLISH", b"ch", b"\r\n"]).unwrap();
        assert_eq!(bytes, b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$2\r\n\r\n\r\n");
        let frame = decode_frame(&bytes).unwrap();
        assert!(matches!(frame, Frame::Array(ref parts) if parts.len() == 3));
        assert!(decode_frame(b"*3\r\n$7\r\n").is_err());
        assert!(decode_frame(b"+OK\r\nextra").is_err());
    }
}
