//! `TlsConfig`: where the certificate comes from (PEM files, PEM bytes, or
//! a ready `rustls::ServerConfig`), the lowest protocol version, and the
//! handshake timeout; and `TlsError`, what can go wrong loading it.
//!
//! PEM is parsed by `rustls-pki-types` (re-exported by rustls as
//! `rustls::pki_types`): a standard format gets a well-kept parser, not a
//! hand-written one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// The handshake timeout by default: asyncio's `ssl_handshake_timeout`,
/// which is what a Sanic server runs with.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The lowest TLS version a client may use.
///
/// # Examples
///
/// ```
/// let tls = sanio::TlsConfig::from_pem(CERT, KEY)?.min_version(sanio::TlsVersion::Tls13);
/// # let _ = tls;
/// # const CERT: &[u8] = include_bytes!("../../../tests/data/cert.pem");
/// # const KEY: &[u8] = include_bytes!("../../../tests/data/key.pem");
/// # Ok::<(), sanio::TlsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// TLS settings for [`Config::tls`](crate::Config::tls): the certificate
/// chain and private key, or a ready `rustls::ServerConfig`.
///
/// Built from PEM (files or bytes), the server speaks TLS 1.2 and 1.3
/// (see [`min_version`](Self::min_version)) with rustls' `ring` provider,
/// offers ALPN `http/1.1`, and asks for no client certificate. A ready
/// `ServerConfig` is used as it is: its versions, ALPN and verifier are
/// yours. A client that has not finished its handshake after
/// [`handshake_timeout`](Self::handshake_timeout) (60 s by default, as
/// asyncio's) is dropped.
///
/// Cloning is cheap (the parsed certificate is shared).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sanio::{Config, TlsConfig, TlsVersion};
///
/// let tls = TlsConfig::from_pem(CERT, KEY)?
///     .min_version(TlsVersion::Tls13)
///     .handshake_timeout(Duration::from_secs(10));
/// let config = Config::default().port(8443).tls(tls);
/// assert!(config.get_tls().is_some());
/// # const CERT: &[u8] = include_bytes!("../../../tests/data/cert.pem");
/// # const KEY: &[u8] = include_bytes!("../../../tests/data/key.pem");
/// # Ok::<(), sanio::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    /// The certificate and key, or the whole rustls configuration.
    source: Source,
    /// The lowest version offered (ignored for a ready `ServerConfig`).
    min_version: TlsVersion,
    /// How long a handshake may take.
    handshake_timeout: Duration,
}

/// Where the certificate came from.
#[derive(Clone)]
enum Source {
    /// Parsed PEM; `files` names where it was read, for a reload.
    Pem {
        /// The chain, leaf first.
        chain: Vec<CertificateDer<'static>>,
        /// The private key.
        key: Arc<PrivateKeyDer<'static>>,
        /// The certificate and key files, when read from files.
        files: Option<(PathBuf, PathBuf)>,
    },
    /// The caller's own rustls configuration.
    Ready(Arc<ServerConfig>),
}

impl TlsConfig {
    /// Reads a certificate chain (leaf first) and a private key (PKCS#8,
    /// PKCS#1 or SEC1) from PEM files. [`reload`](Self::reload) reads them
    /// again.
    ///
    /// # Errors
    ///
    /// [`TlsError::Pem`] when a file cannot be read or holds no
    /// certificate or key.
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = sanio::TlsConfig::from_pem_files("tests/data/cert.pem", "tests/data/key.pem")?;
    /// assert!(sanio::TlsConfig::from_pem_files("missing.pem", "tests/data/key.pem").is_err());
    /// # let _ = tls;
    /// # Ok::<(), sanio::TlsError>(())
    /// ```
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let pem_error = |path: &Path| {
            let what = path.display().to_string();
            move |source: rustls::pki_types::pem::Error| TlsError::Pem { what, source }
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(pem_error(cert))?;
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(pem_error(key))?;
        Self::from_parts(
            chain,
            key_der,
            Some((cert.to_path_buf(), key.to_path_buf())),
            &cert.display().to_string(),
        )
    }

    /// Takes a certificate chain and a private key as PEM bytes.
    ///
    /// # Errors
    ///
    /// [`TlsError::Pem`] when the bytes hold no certificate or key.
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = sanio::TlsConfig::from_pem(CERT, KEY)?;
    /// assert!(sanio::TlsConfig::from_pem(b"not pem", KEY).is_err());
    /// # const CERT: &[u8] = include_bytes!("../../../tests/data/cert.pem");
    /// # const KEY: &[u8] = include_bytes!("../../../tests/data/key.pem");
    /// # let _ = tls;
    /// # Ok::<(), sanio::TlsError>(())
    /// ```
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let pem_error = |what: &str| {
            let what = what.to_owned();
            move |source| TlsError::Pem { what, source }
        };
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error("certificate PEM"))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(pem_error("key PEM"))?;
        Self::from_parts(chain, key, None, "certificate PEM")
    }

    /// Uses a ready rustls configuration as it is (client authentication,
    /// session tickets, ALPN and versions included).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// # use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    /// # let chain = vec![CertificateDer::from_pem_slice(include_bytes!("../../../tests/data/cert.pem")).unwrap()];
    /// # let key = PrivateKeyDer::from_pem_slice(include_bytes!("../../../tests/data/key.pem")).unwrap();
    ///
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let server_config = rustls::ServerConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_no_client_auth()
    ///     .with_single_cert(chain, key)
    ///     .unwrap();
    /// let tls = sanio::TlsConfig::from_server_config(Arc::new(server_config));
    /// # let _ = tls;
    /// ```
    pub fn from_server_config(config: Arc<ServerConfig>) -> Self {
        Self {
            source: Source::Ready(config),
            min_version: TlsVersion::default(),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// Checks that a chain was found; builds once so that a key that does
    /// not fit is an error now, not at the first client.
    fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        files: Option<(PathBuf, PathBuf)>,
        what: &str,
    ) -> Result<Self, TlsError> {
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(what.to_owned()));
        }
        let config = Self {
            source: Source::Pem {
                chain,
                key: Arc::new(key),
                files,
            },
            min_version: TlsVersion::default(),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        };
        config.server_config()?;
        Ok(config)
    }

    /// Sets the lowest protocol version (TLS 1.2 by default). Ignored for
    /// [`from_server_config`](Self::from_server_config).
    ///
    /// # Examples
    ///
    /// See [`TlsConfig`].
    pub fn min_version(mut self, version: TlsVersion) -> Self {
        self.min_version = version;
        self
    }

    /// Sets how long a client has to finish its handshake (60 s by
    /// default).
    ///
    /// # Examples
    ///
    /// See [`TlsConfig`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The handshake timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # let tls = sanio::TlsConfig::from_pem(CERT, KEY)?;
    /// assert_eq!(tls.get_handshake_timeout(), std::time::Duration::from_secs(60));
    /// # const CERT: &[u8] = include_bytes!("../../../tests/data/cert.pem");
    /// # const KEY: &[u8] = include_bytes!("../../../tests/data/key.pem");
    /// # Ok::<(), sanio::TlsError>(())
    /// ```
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The same settings with the certificate and key read again from
    /// their files (what SIGHUP does); a configuration not read from files
    /// is returned as it is.
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](Self::from_pem_files).
    ///
    /// # Examples
    ///
    /// ```
    /// let tls = sanio::TlsConfig::from_pem_files("tests/data/cert.pem", "tests/data/key.pem")?;
    /// let again = tls.reload()?;
    /// # let _ = again;
    /// # Ok::<(), sanio::TlsError>(())
    /// ```
    pub fn reload(&self) -> Result<Self, TlsError> {
        match &self.source {
            Source::Pem {
                files: Some((cert, key)),
                ..
            } => Ok(Self::from_pem_files(cert, key)?
                .min_version(self.min_version)
                .handshake_timeout(self.handshake_timeout)),
            _ => Ok(self.clone()),
        }
    }

    /// The rustls configuration for new connections.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let (chain, key) = match &self.source {
            Source::Ready(config) => return Ok(Arc::clone(config)),
            Source::Pem { chain, key, .. } => (chain.clone(), key.clone_key()),
        };
        let versions: &[&'static rustls::SupportedProtocolVersion] = match self.min_version {
            TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Pem {
                files: Some((cert, _)),
                ..
            } => format!("PEM file {}", cert.display()),
            Source::Pem { .. } => "PEM bytes".to_owned(),
            Source::Ready(_) => "a rustls ServerConfig".to_owned(),
        };
        f.debug_struct("TlsConfig")
            .field("source", &source)
            .field("min_version", &self.min_version)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// What went wrong loading a certificate and key.
///
/// # Examples
///
/// ```
/// let err = sanio::TlsConfig::from_pem_files("missing.pem", "key.pem").unwrap_err();
/// assert!(err.to_string().contains("missing.pem"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file or buffer could not be read or parsed, or holds no key.
    Pem {
        /// The file, or which buffer.
        what: String,
        /// The parser's error.
        source: rustls::pki_types::pem::Error,
    },
    /// The PEM holds no certificate.
    NoCertificate(String),
    /// rustls refused the settings (e.g. a key that does not match the
    /// certificate).
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem { what, source } => write!(f, "cannot load {what}: {source}"),
            Self::NoCertificate(what) => write!(f, "no certificate in {what}"),
            Self::Rustls(err) => write!(f, "TLS settings refused: {err}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Pem { source, .. } => Some(source),
            Self::Rustls(err) => Some(err),
            Self::NoCertificate(_) => None,
        }
    }
}

impl From<rustls::Error> for TlsError {
    fn from(err: rustls::Error) -> Self {
        Self::Rustls(err)
    }
}
