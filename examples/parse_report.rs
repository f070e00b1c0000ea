//! The differential harness's sanio side: reads cases (one hex-encoded
//! byte stream per line) on stdin and prints what sanio's connection code
//! would frame from each, one line per case in the format of
//! `tests/differential/hyper_parse`: `end` (clean, incomplete, rejected)
//! then `method<TAB>target<TAB>version<TAB>body-hex` per request, `|`
//! between them.
//!
//! ```text
//! cargo run --example parse_report --features fuzzing < cases.hex
//! ```

use std::io::BufRead;

use sanio::fuzzing::{parse_pipeline, Outcome};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn main() {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let case = unhex(line.trim());
        let (requests, outcome) = parse_pipeline(&case);
        let consumed: usize = requests.iter().map(|r| r.consumed).sum();
        let closed = requests.last().is_some_and(|r| !r.keep_alive);
        let end = match outcome {
            Outcome::Rejected(_) => "rejected",
            _ if consumed == case.len() || closed => "clean",
            _ => "incomplete",
        };
        let mut out = end.to_owned();
        for r in &requests {
            out.push_str(&format!(
                "|{}\t{}\t{}\t{}",
                r.method,
                r.target,
                r.version,
                hex(&r.body)
            ));
        }
        println!("{out}");
    }
}
