//! The order findings are shown in (`--sort`).

use std::cmp::Reverse;
use std::fmt;
use std::str::FromStr;

use sighunt_core::finding::Finding;

/// What findings are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Newest first (the seed query's order; findings without a time last).
    Time,
    /// Most severe first, then newest first: what to look at first leads the table.
    Severity,
    /// Highest score first, then newest first.
    Score,
}

impl FromStr for SortKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "time" => Ok(SortKey::Time),
            "severity" => Ok(SortKey::Severity),
            "score" => Ok(SortKey::Score),
            _ => Err(format!(
                "unknown sort key {s:?} (expected time, severity or score)"
            )),
        }
    }
}

impl fmt::Display for SortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SortKey::Time => "time",
            SortKey::Severity => "severity",
            SortKey::Score => "score",
        })
    }
}

/// Sorts `findings` by `key`; ties keep their order (newest first from the hunt).
pub fn sort(findings: &mut [Finding], key: SortKey) {
    // `Reverse(Option)` puts `None` (no time) after every time.
    match key {
        SortKey::Time => findings.sort_by_key(|f| Reverse(f.time)),
        SortKey::Severity => findings.sort_by_key(|f| {
            (
                Reverse(f.severity),
                Reverse(f.time),
                Reverse(f.suspicion_score),
            )
        }),
        SortKey::Score => findings.sort_by_key(|f| (Reverse(f.suspicion_score), Reverse(f.time))),
    }
}
