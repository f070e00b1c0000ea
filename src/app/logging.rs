//! The quickest way to see sanio's logs: [`log_to_stderr`].
//!
//! sanio logs through the `log` facade and installs no logger by itself:
//! an application chooses one (`env_logger`, `tracing-log`, ...). Until it
//! does, every log line, the access log included, goes nowhere. For a
//! quick look, one call installs this minimal stderr logger.

use std::io::Write;

/// Writes each record as `[LEVEL target] message` to stderr.
struct StderrLogger;

/// The one instance `log` holds.
static LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            // A failed write to stderr has nowhere to be reported.
            let _ = writeln!(
                std::io::stderr().lock(),
                "[{} {}] {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs a minimal logger that writes records up to `level` to stderr
/// (`[INFO sanio::access] GET / 200 13B 41µs`). Call it first thing in
/// `main`; with `Config::access_log(true)` it shows one line per request.
///
/// # Errors
///
/// When a logger is already installed (it stays).
///
/// # Examples
///
/// ```
/// sanio::log_to_stderr(log::LevelFilter::Info).ok();
/// log::info!("visible on stderr");
/// ```
pub fn log_to_stderr(level: log::LevelFilter) -> Result<(), log::SetLoggerError> {
    log::set_logger(&LOGGER)?;
    log::set_max_level(level);
    Ok(())
}
