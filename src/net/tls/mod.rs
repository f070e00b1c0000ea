//! TLS on the loop (feature `tls`): the settings ([`TlsConfig`]), the
//! stream (`TlsStream`, rustls over a `TcpStream`), and the acceptor that
//! runs handshakes with the current certificate.
//!
//! The HTTP and websocket layers never see this module: they get a
//! [`Stream`](super::Stream), which is TCP or TLS.

mod config;
mod stream;

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::ServerConfig;

pub use config::{TlsConfig, TlsError, TlsVersion};
pub(crate) use stream::TlsStream;

use super::TcpStream;
use stream::HandshakeError;

/// Runs handshakes with the current certificate; shared by every worker.
/// A reload swaps the configuration: handshakes that start afterwards use
/// the new one, connections already up keep the one they began with
/// (each `ServerConnection` holds its own `Arc`).
#[derive(Debug)]
pub(crate) struct TlsAcceptor {
    /// The rustls configuration and the handshake timeout, swapped whole.
    current: RwLock<(Arc<ServerConfig>, Duration)>,
    /// The settings it was built from, for a reload from files.
    settings: RwLock<TlsConfig>,
}

impl TlsAcceptor {
    /// Builds the rustls configuration from `settings`.
    pub(crate) fn new(settings: &TlsConfig) -> Result<Self, TlsError> {
        Ok(Self {
            current: RwLock::new((settings.server_config()?, settings.get_handshake_timeout())),
            settings: RwLock::new(settings.clone()),
        })
    }

    /// Uses `settings` for new connections from now on.
    pub(crate) fn replace(&self, settings: &TlsConfig) -> Result<(), TlsError> {
        let next = (settings.server_config()?, settings.get_handshake_timeout());
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next;
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings.clone();
        Ok(())
    }

    /// Reads the certificate and key files again.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        let settings = self
            .settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .reload()?;
        self.replace(&settings)
    }

    /// Runs the handshake on an accepted connection. `None` (logged at
    /// debug with the peer's address) when it fails or times out.
    pub(crate) async fn accept(&self, tcp: TcpStream, peer: SocketAddr) -> Option<TlsStream> {
        let (config, timeout) = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match crate::rt::timeout(timeout, TlsStream::accept(tcp, config)).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(HandshakeError::PlainText)) => {
                log::debug!("{peer}: plain text on the TLS port; closing");
                None
            }
            Ok(Err(HandshakeError::Failed(err))) => {
                log::debug!("{peer}: TLS handshake failed: {err}");
                None
            }
            Err(_) => {
                log::debug!("{peer}: TLS handshake not done in {timeout:?}; closing");
                None
            }
        }
    }
}
