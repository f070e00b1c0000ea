//! `WsConfig`: the limits and timers of one websocket connection.

use std::time::Duration;

/// Limits and keepalive timers for websocket connections.
///
/// `Default` gives: messages and frames up to 1 MiB, a keepalive ping every
/// 20 s answered within 20 s, 32 incoming messages buffered before reading
/// pauses ([`QueueFull::Pause`]), 64 KiB of outbound bytes pending before `send` waits, and 5 s to
/// finish a close handshake.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sanio::WsConfig;
///
/// let config = WsConfig::default()
///     .max_message_size(64 * 1024)
///     .ping_interval(Duration::from_secs(5))
///     .ping_timeout(None);
/// assert_eq!(config.max_message_size_bytes(), 64 * 1024);
/// assert_eq!(config.ping_interval_duration(), Some(Duration::from_secs(5)));
/// assert_eq!(config.ping_timeout_duration(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsConfig {
    /// Largest message accepted, in bytes, after reassembling its frames.
    /// Also the largest message `send` accepts.
    max_message_size: usize,
    /// Largest single frame payload accepted, in bytes.
    max_frame_size: usize,
    /// Time between keepalive pings; `None` turns them off.
    ping_interval: Option<Duration>,
    /// How long after a keepalive ping the peer has to send any frame
    /// before the connection is dropped as dead; `None` never drops it.
    ping_timeout: Option<Duration>,
    /// Incoming messages buffered before the socket stops being read.
    /// INVARIANT: at least 1.
    incoming_queue: usize,
    /// What a full incoming queue does.
    queue_full: QueueFull,
    /// Outbound bytes pending above which `send` waits.
    outbound_buffer: usize,
    /// How long a close handshake (or flushing the last bytes) may take
    /// before the connection is dropped.
    close_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl WsConfig {
    /// The defaults listed on [`WsConfig`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::WsConfig::new(), sanio::WsConfig::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            max_message_size: 1 << 20,
            max_frame_size: 1 << 20,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            incoming_queue: 32,
            queue_full: QueueFull::Pause,
            outbound_buffer: 64 * 1024,
            close_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the largest message, in bytes, either way. A bigger incoming
    /// message closes the connection with 1009; a bigger outgoing one is
    /// refused with [`WsError::MessageTooLarge`](super::WsError::MessageTooLarge).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sanio::WsConfig::new().max_message_size(10);
    /// assert_eq!(config.max_message_size_bytes(), 10);
    /// ```
    pub const fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets the largest incoming frame payload, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sanio::WsConfig::new().max_frame_size(4096);
    /// assert_eq!(config.max_frame_size_bytes(), 4096);
    /// ```
    pub const fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets the keepalive ping interval; `None` sends no pings.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let config = sanio::WsConfig::new().ping_interval(Duration::from_secs(1));
    /// assert_eq!(config.ping_interval_duration(), Some(Duration::from_secs(1)));
    /// ```
    pub fn ping_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.ping_interval = interval.into();
        self
    }

    /// Sets how long the peer has to answer a keepalive ping (any frame
    /// counts) before the connection is dropped; `None` never drops it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let config = sanio::WsConfig::new().ping_timeout(Duration::from_secs(3));
    /// assert_eq!(config.ping_timeout_duration(), Some(Duration::from_secs(3)));
    /// ```
    pub fn ping_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.ping_timeout = timeout.into();
        self
    }

    /// Sets how many incoming messages are buffered before reading pauses
    /// (back-pressure on the peer). Zero is taken as one.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sanio::WsConfig::new().incoming_queue(0);
    /// assert_eq!(config.incoming_queue_len(), 1);
    /// ```
    pub const fn incoming_queue(mut self, messages: usize) -> Self {
        self.incoming_queue = if messages == 0 { 1 } else { messages };
        self
    }

    /// Sets what happens when a message arrives while the incoming queue
    /// is full (see [`QueueFull`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{QueueFull, WsConfig};
    ///
    /// // A handler that only pushes and never reads.
    /// let config = WsConfig::new().on_queue_full(QueueFull::Drop);
    /// assert_eq!(config.queue_full(), QueueFull::Drop);
    /// ```
    pub const fn on_queue_full(mut self, policy: QueueFull) -> Self {
        self.queue_full = policy;
        self
    }

    /// Sets how many outbound bytes may be pending before `send` waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sanio::WsConfig::new().outbound_buffer(1024);
    /// assert_eq!(config.outbound_buffer_bytes(), 1024);
    /// ```
    pub const fn outbound_buffer(mut self, bytes: usize) -> Self {
        self.outbound_buffer = bytes;
        self
    }

    /// Sets how long a close handshake may take.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let config = sanio::WsConfig::new().close_timeout(Duration::from_secs(1));
    /// assert_eq!(config.close_timeout_duration(), Duration::from_secs(1));
    /// ```
    pub const fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The largest message, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::WsConfig::new().max_message_size_bytes(), 1 << 20);
    /// ```
    pub const fn max_message_size_bytes(&self) -> usize {
        self.max_message_size
    }

    /// The largest incoming frame payload, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::WsConfig::new().max_frame_size_bytes(), 1 << 20);
    /// ```
    pub const fn max_frame_size_bytes(&self) -> usize {
        self.max_frame_size
    }

    /// The keepalive ping interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(sanio::WsConfig::new().ping_interval_duration(), Some(Duration::from_secs(20)));
    /// ```
    pub const fn ping_interval_duration(&self) -> Option<Duration> {
        self.ping_interval
    }

    /// The keepalive ping timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(sanio::WsConfig::new().ping_timeout_duration(), Some(Duration::from_secs(20)));
    /// ```
    pub const fn ping_timeout_duration(&self) -> Option<Duration> {
        self.ping_timeout
    }

    /// How many incoming messages are buffered before reading pauses.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::WsConfig::new().incoming_queue_len(), 32);
    /// ```
    pub const fn incoming_queue_len(&self) -> usize {
        self.incoming_queue
    }

    /// What a full incoming queue does.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::WsConfig::new().queue_full(), sanio::QueueFull::Pause);
    /// ```
    pub const fn queue_full(&self) -> QueueFull {
        self.queue_full
    }

    /// Outbound bytes pending above which `send` waits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sanio::WsConfig::new().outbound_buffer_bytes(), 64 * 1024);
    /// ```
    pub const fn outbound_buffer_bytes(&self) -> usize {
        self.outbound_buffer
    }

    /// How long a close handshake may take.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(sanio::WsConfig::new().close_timeout_duration(), Duration::from_secs(5));
    /// ```
    pub const fn close_timeout_duration(&self) -> Duration {
        self.close_timeout
    }

    /// tungstenite's settings for these limits. Frames are handed to the
    /// socket adapter at once (`write_buffer_size` 0), and the adapter
    /// never refuses bytes, so tungstenite's own buffer only ever holds the
    /// frame being written; its cap is the largest frame we send.
    pub(crate) fn tungstenite(&self) -> tungstenite::protocol::WebSocketConfig {
        tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(0)
            .max_write_buffer_size(
                self.max_message_size
                    .saturating_add(MAX_FRAME_HEADER)
                    .max(1),
            )
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_frame_size))
    }
}

/// What the driver does while the incoming queue is full (the handler
/// has not taken [`WsConfig::incoming_queue`] messages yet).
///
/// Whatever the policy, the peer **leaving** is always seen: a FIN or a
/// reset ends the connection and cancels the handler, even while reading is
/// paused (the reactor reports a closed read side without any data being
/// read).
///
/// | policy  | incoming data | pings from the peer | its close frame |
/// |---------|---------------|---------------------|-----------------|
/// | `Pause` | waits in TCP (back-pressure) | answered once there is room | seen once there is room; FIN/reset at once |
/// | `Drop`  | discarded while full, logged | answered at once | seen at once |
/// | `Close` | fails the connection with 1008 | answered at once | seen at once |
///
/// `Pause` (the default) loses nothing and suits handlers that read. A
/// push-only handler that never calls `recv` should use `Drop` (the
/// peer's chatter is ignored, pings and the close handshake keep working)
/// or `Close` (a peer that talks to a push-only endpoint is refused).
/// While paused, the keepalive does not count the peer's silence against
/// it: its pongs cannot be read.
///
/// # Examples
///
/// ```
/// use sanio::{QueueFull, WsConfig};
///
/// let strict = WsConfig::new().incoming_queue(8).on_queue_full(QueueFull::Close);
/// assert_eq!(strict.queue_full(), QueueFull::Close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueFull {
    /// Stop reading until the handler takes a message.
    Pause,
    /// Keep reading; discard data messages that find the queue full.
    Drop,
    /// Keep reading; a data message that finds the queue full closes the
    /// connection with 1008 (policy violation).
    Close,
}

/// tungstenite's read buffer: it allocates this much per connection up
/// front and keeps it while the connection is idle (its default is 128
/// KiB). The socket is read 16 KiB at a time into a pooled chunk
/// (`adapter.rs`), and tungstenite copies its frames from there this many
/// bytes at a time, so it can be small (per idle websocket, with the rest
/// of the connection: 16 KiB measured 20.7 KB, 4 KiB 8.5 KB, 256 bytes
/// 3.0 KB; benches/ws_idle.rs). A frame larger than this grows the buffer
/// to fit; the driver gives the grown buffer back between messages.
const READ_BUFFER: usize = 256;

/// The longest frame header: 2 bytes, 8 of extended length, 4 of mask.
const MAX_FRAME_HEADER: usize = 14;
