//! Input errors as a person sees them on stderr: each printed as it happens, but the
//! same error repeated (one per line of a file read in the wrong format) only a few
//! times, with a count of the rest at the end; and the inputs that could not be read
//! at all remembered for the summary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sighunt_core::input::InputError;

use super::escape_control;

/// How many times one error (same input, same message) is printed.
pub const SHOWN_PER_KIND: u64 = 3;
/// How many error lines one input prints in all.
pub const SHOWN_PER_INPUT: u64 = 50;
/// Distinct errors tracked for capping; past this, only per-input caps apply
/// (memory stays bounded when every message differs).
const MAX_KINDS: usize = 10_000;
/// Inputs kept by name for the summary.
const MAX_FAILED_NAMED: usize = 1_000;

/// Prints and counts input errors; shared by the hunt's worker threads.
#[derive(Default)]
pub struct InputErrorLog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Times each (input, message) was seen.
    kinds: HashMap<(Arc<str>, String), u64>,
    /// Error lines printed and errors seen, per input.
    per_input: HashMap<Arc<str>, (u64, u64)>,
    /// Inputs that failed as a whole (no position), with why.
    failed: Vec<String>,
    failed_count: u64,
}

impl InputErrorLog {
    /// Records `e`; returns the line to print now, or `None` when it is capped.
    pub fn record(&self, e: &InputError) -> Option<String> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if e.location.is_none() {
            s.failed_count += 1;
            if s.failed.len() < MAX_FAILED_NAMED {
                s.failed
                    .push(escape_control(&format!("{} ({})", e.path, e.message)));
            }
        }
        let seen_kind = {
            let key = (e.path.clone(), e.message.clone());
            if let Some(n) = s.kinds.get_mut(&key) {
                *n += 1;
                *n
            } else if s.kinds.len() < MAX_KINDS {
                s.kinds.insert(key, 1);
                1
            } else {
                1
            }
        };
        let (printed, seen) = s.per_input.entry(e.path.clone()).or_insert((0, 0));
        *seen += 1;
        if seen_kind > SHOWN_PER_KIND || *printed >= SHOWN_PER_INPUT {
            return None;
        }
        *printed += 1;
        Some(format!("sighunt: {}", escape_control(&e.to_string())))
    }

    /// Lines saying what was not printed: per repeated error, then per input.
    pub fn untold(&self) -> Vec<String> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut lines = Vec::new();
        let mut repeated: Vec<_> = s
            .kinds
            .iter()
            .filter(|(_, n)| **n > SHOWN_PER_KIND)
            .collect();
        repeated.sort_by(|a, b| a.0.cmp(b.0));
        for ((path, message), n) in repeated {
            lines.push(escape_control(&format!(
                "sighunt: {path}: {} more \"{message}\" not shown",
                n - SHOWN_PER_KIND
            )));
        }
        let mut inputs: Vec<_> = s
            .per_input
            .iter()
            .filter(|(_, (printed, seen))| *printed >= SHOWN_PER_INPUT && seen > printed)
            .collect();
        inputs.sort_by(|a, b| a.0.cmp(b.0));
        for (path, (printed, seen)) in inputs {
            lines.push(escape_control(&format!(
                "sighunt: {path}: {seen} input errors, the first {printed} shown"
            )));
        }
        lines
    }

    /// Inputs that could not be read at all (`path (why)`), and how many in all.
    pub fn failed_inputs(&self) -> (Vec<String>, u64) {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (s.failed.clone(), s.failed_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(path: &Arc<str>, line: u64, message: &str) -> InputError {
        InputError::new(path, Some(format!("line {line}")), message)
    }

    #[test]
    fn a_repeated_error_is_printed_a_few_times_then_counted() {
        let log = InputErrorLog::default();
        let path: Arc<str> = Arc::from("syslog.log");
        let printed = (1..=41)
            .filter_map(|n| log.record(&error(&path, n, "not a JSON object; line skipped")))
            .count();
        assert_eq!(printed as u64, SHOWN_PER_KIND);
        assert_eq!(
            log.untold(),
            ["sighunt: syslog.log: 38 more \"not a JSON object; line skipped\" not shown"]
        );
        assert_eq!(log.failed_inputs().1, 0);
    }

    #[test]
    fn distinct_errors_are_capped_per_input() {
        let log = InputErrorLog::default();
        let path: Arc<str> = Arc::from("x");
        let printed = (1..=200)
            .filter_map(|n| log.record(&error(&path, n, &format!("bad value {n}"))))
            .count();
        assert_eq!(printed as u64, SHOWN_PER_INPUT);
        assert_eq!(
            log.untold(),
            ["sighunt: x: 200 input errors, the first 50 shown"]
        );
    }

    #[test]
    fn whole_input_failures_are_named() {
        let log = InputErrorLog::default();
        let path: Arc<str> = Arc::from("/var/log/secure");
        let line = log.record(&InputError::new(
            &path,
            None,
            "cannot read: Permission denied",
        ));
        assert_eq!(
            line.as_deref(),
            Some("sighunt: /var/log/secure: cannot read: Permission denied")
        );
        assert_eq!(
            log.failed_inputs(),
            (
                vec!["/var/log/secure (cannot read: Permission denied)".to_string()],
                1
            )
        );
    }
}
