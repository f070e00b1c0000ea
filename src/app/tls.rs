//! Certificate reload on a running app (feature `tls`): new connections
//! get the new certificate, connections already up keep theirs.

use super::{App, Error};
use crate::net::tls::TlsAcceptor;
use crate::net::TlsConfig;

impl App {
    /// Reads the certificate and key files of the running app's
    /// [`TlsConfig`] again and uses them for every connection accepted from
    /// now on. SIGHUP does the same when `run` handles signals.
    ///
    /// # Errors
    ///
    /// [`Error::NoLoop`] when the app is not running with TLS;
    /// [`Error::Tls`] when the files cannot be loaded (the old certificate
    /// stays in use).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Config, TlsConfig};
    ///
    /// let app = App::new("reload");
    /// let tls = TlsConfig::from_pem_files("tests/data/cert.pem", "tests/data/key.pem")?;
    /// let server = app.serve(Config::default().port(0).tls(tls))?;
    /// app.reload_tls()?;
    /// server.stop();
    /// server.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reload_tls(&self) -> Result<(), Error> {
        self.acceptor()?.reload().map_err(Error::Tls)
    }

    /// Uses `tls` for every connection accepted from now on.
    ///
    /// # Errors
    ///
    /// As [`reload_tls`](Self::reload_tls).
    ///
    /// # Examples
    ///
    /// ```
    /// use sanio::{App, Config, TlsConfig};
    ///
    /// let app = App::new("replace");
    /// let tls = TlsConfig::from_pem_files("tests/data/cert.pem", "tests/data/key.pem")?;
    /// let server = app.serve(Config::default().port(0).tls(tls.clone()))?;
    /// app.replace_tls(&tls)?;
    /// server.stop();
    /// server.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replace_tls(&self, tls: &TlsConfig) -> Result<(), Error> {
        self.acceptor()?.replace(tls).map_err(Error::Tls)
    }

    /// The running app's acceptor.
    fn acceptor(&self) -> Result<std::sync::Arc<TlsAcceptor>, Error> {
        self.running_config()
            .and_then(|config| config.tls_acceptor.clone())
            .ok_or(Error::NoLoop(
                "reloading a certificate (a running app with TLS)",
            ))
    }
}
