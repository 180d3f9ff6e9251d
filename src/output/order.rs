//! The order findings are shown in (`--sort`).

use std::cmp::Reverse;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
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
    /// Not sorted: each input's findings in log order, written as its engine
    /// releases them (inputs read in parallel interleave): for machines.
    None,
}

impl FromStr for SortKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "time" => Ok(SortKey::Time),
            "severity" => Ok(SortKey::Severity),
            "score" => Ok(SortKey::Score),
            "none" => Ok(SortKey::None),
            _ => Err(format!(
                "unknown sort key {s:?} (expected time, severity, score or none)"
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
            SortKey::None => "none",
        })
    }
}

/// A finding's rank in a sort order: smaller first. `Reverse(Option)` puts `None`
/// (no time) after every time.
pub type Rank = (Reverse<i64>, Reverse<Option<DateTime<Utc>>>, Reverse<i64>);

fn by_time(f: &Finding) -> Rank {
    (Reverse(0), Reverse(f.time), Reverse(0))
}

fn by_severity(f: &Finding) -> Rank {
    (
        Reverse(f.severity as i64),
        Reverse(f.time),
        Reverse(f.suspicion_score),
    )
}

fn by_score(f: &Finding) -> Rank {
    (Reverse(f.suspicion_score), Reverse(f.time), Reverse(0))
}

/// The rank function of `key`; `None` for [`SortKey::None`].
pub fn rank(key: SortKey) -> Option<fn(&Finding) -> Rank> {
    match key {
        SortKey::Time => Some(by_time),
        SortKey::Severity => Some(by_severity),
        SortKey::Score => Some(by_score),
        SortKey::None => None,
    }
}

/// Sorts `findings` by `key`; ties keep their order (newest first from the hunt).
/// [`SortKey::None`] leaves them as they are.
pub fn sort(findings: &mut [Finding], key: SortKey) {
    if let Some(rank) = rank(key) {
        findings.sort_by_key(rank);
    }
}
