//! Detectors: one module per behaviour family. Each reads normalized events (and a
//! small, bounded state of its own for correlation) and writes findings; weights and
//! lists come from the rule data.

pub mod correlation;
pub mod nohup;
pub mod powershell;
pub mod signal_mask;

use crate::event::Event;
use crate::finding::Finding;
use crate::rules::{Rules, RulesError};

/// A detector of one behaviour family.
///
/// # Adding a detector
///
/// 1. Write `src/detectors/NAME.rs` (and `NAME/tests.rs`): a struct built from
///    [`Rules`] that implements this trait. It reads events, never files; its
///    state is bounded (count and time) and [`state_dropped`](Detector::state_dropped)
///    counts what a limit evicted.
/// 2. Put its weights, lists and indicator descriptions in `rules/NAME.toml`, add
///    the file to the embedded rule set in `rules.rs`, and validate the section
///    when the rules load (a bad pattern fails the run before any input is read).
/// 3. Register it in [`default_set`] below; if it makes a new detection type, add
///    the variant to [`crate::finding::DetectionType`].
/// 4. Tests on both sides: real log lines that must fire (with severity and
///    indicators) and look-alikes that must not; then regenerate the golden
///    outputs (`SIGHUNT_WRITE_GOLDEN=1 cargo test --test golden`) and review the
///    diff.
/// 5. Document each indicator (name, weight, why) in the rule file and in
///    `docs/`; add it to the Sigma/query export (`export/`) where it can be said.
pub trait Detector: Send + Sync {
    /// A copy of this detector, state included. Building a detector compiles its
    /// rule data (regexes, automata: milliseconds); a hunt over many inputs builds
    /// one set and copies it, unused, for each input.
    fn boxed_clone(&self) -> Box<dyn Detector>;
    /// Looks at one event; may add findings to `out` or amend ones it added before.
    fn observe(&mut self, event: &Event, out: &mut Findings);
    /// End of input: emit anything held back.
    fn finish(&mut self, _out: &mut Findings) {}
    /// Entries of the detector's bounded correlation state dropped by a count limit
    /// before their time window ended (for the run summary); 0 when nothing was.
    fn state_dropped(&self) -> u64 {
        0
    }

    /// Launches the detector saw and deliberately left out (the seed's scheduler
    /// exclusion): the first ones kept, and how many in all.
    fn exclusions(&self) -> (&[Exclusion], u64) {
        (&[], 0)
    }

    /// The lowest input position (line or record number) of the events behind the
    /// state this detector keeps for correlation with events still to come (a
    /// process table, payloads made executable, earlier launches); `None` when it
    /// keeps none. A consumer that commits input positions (the Kafka stream) must
    /// not commit past it, so that reading again from the committed position
    /// rebuilds the same state and so the same findings. State that only amends
    /// findings still held by the engine need not be counted (the engine's held
    /// findings are).
    fn oldest_evidence(&self) -> Option<u64> {
        None
    }
}

/// The number an event's position gives to [`Detector::oldest_evidence`], `None`
/// for an event without one.
pub fn evidence_position(position: crate::event::Position) -> Option<u64> {
    match position {
        crate::event::Position::Line(n) | crate::event::Position::Record(n) => Some(n),
        crate::event::Position::None => None,
    }
}

/// A launch left out on purpose, so that nothing disappears silently: counted in the
/// run summary and shown by `--explain`.
#[derive(Debug, Clone)]
pub struct Exclusion {
    /// Why it was left out.
    pub reason: String,
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    pub host: String,
    pub command_line: String,
    pub source: crate::event::Provenance,
}

/// Identifies a finding in a [`Findings`] collector, so a detector can amend a
/// finding with evidence that arrives later (the nohup exec after its `sh -c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FindingId(u64);

/// The findings of one run (or of one follow-mode batch): appended to by detectors,
/// drained by the engine. Ids stay valid across drains; a drained finding can no
/// longer be amended.
#[derive(Debug, Default)]
pub struct Findings {
    items: Vec<Finding>,
    /// Id of `items[0]`.
    base: u64,
}

impl Findings {
    pub fn push(&mut self, finding: Finding) -> FindingId {
        self.items.push(finding);
        FindingId(self.base + self.items.len() as u64 - 1)
    }

    /// The finding with this id, unless it was already drained.
    pub fn get_mut(&mut self, id: FindingId) -> Option<&mut Finding> {
        let i = id.0.checked_sub(self.base)?;
        self.items.get_mut(usize::try_from(i).ok()?)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes every finding collected so far.
    pub fn drain(&mut self) -> Vec<Finding> {
        self.base += self.items.len() as u64;
        std::mem::take(&mut self.items)
    }

    /// Takes the `n` oldest findings (all of them if fewer); the younger ones stay
    /// amendable. Continuous modes hold each finding briefly for late evidence.
    pub fn drain_oldest(&mut self, n: usize) -> Vec<Finding> {
        let n = n.min(self.items.len());
        self.base += n as u64;
        self.items.drain(..n).collect()
    }
}

/// Copies of a detector set (see [`Detector::boxed_clone`]).
pub fn clone_set(set: &[Box<dyn Detector>]) -> Vec<Box<dyn Detector>> {
    set.iter().map(|d| d.boxed_clone()).collect()
}

/// The default detector set, configured from `rules`.
pub fn default_set(rules: &Rules) -> Result<Vec<Box<dyn Detector>>, RulesError> {
    Ok(vec![
        Box::new(nohup::NohupDetector::new(rules)?),
        Box::new(signal_mask::SignalMaskDetector::new(rules)?),
        Box::new(powershell::PowerShellDetector::new(rules)?),
    ])
}
