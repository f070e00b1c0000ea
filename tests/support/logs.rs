//! A logger that keeps every message, for tests that assert what was
//! logged. One per test binary: `capture` installs it (once), `logged`
//! reads what came in.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::{Mutex, Once};

/// Every message logged since the capture began.
struct Captured {
    lines: Mutex<Vec<String>>,
}

impl log::Log for Captured {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static CAPTURED: Captured = Captured {
    lines: Mutex::new(Vec::new()),
};

/// Installs the capturing logger, once for every test of the binary.
pub fn capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&CAPTURED).expect("no other logger");
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// The captured lines that contain `needle`.
pub fn logged(needle: &str) -> Vec<String> {
    let lines = CAPTURED.lines.lock().unwrap();
    lines
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}
