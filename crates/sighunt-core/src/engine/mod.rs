//! The engine: one detector set fed event by event, whatever the mode. It counts
//! events and input errors, remembers what the allow-list needs (the parent image of
//! each finding's process), holds each finding for evidence that may still amend it
//! ([`Hold`]), then applies the severity floor and the allow-list in one place and
//! releases it ([`Engine::take_ready`]).
//!
//! A hunt uses [`Hold::Batch`] (nothing leaves before the input ends), `--follow` and
//! the auditd plugin [`Hold::Wall`] (low latency), the Kafka stream [`Hold::LogTime`]
//! (the same findings however fast messages are read).

pub mod follow;
pub mod hunt;
pub mod ordered;
pub mod spill;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::allowlist::{AllowList, FindingContext, Suppressed};
use crate::detectors::{self, Detector, Findings};
use crate::engine::hunt::{Counters, HuntStats};
use crate::event::{Event, Position};
use crate::finding::{Finding, Severity};
use crate::input::InputError;
use crate::rules::{Rules, RulesError, SectionCheck};
use crate::sources::EventSink;

/// The owners' checks of the rule sections a run reads: the detectors, the
/// allow-list, the seed profile and the live check.
pub const RULE_CHECKS: &[SectionCheck] = &[
    |r| detectors::default_set(r).map(drop),
    |r| AllowList::from_rules(r, Utc::now()).map(drop),
    |r| crate::profile::seed::SeedQuery::from_rules(r).map(drop),
    |r| r.section::<crate::live::LiveRules>("signal_live").map(drop),
];

/// Checks every rule section a run reads, so a bad rule file fails before any
/// input is read. The rules compiled into the binary pass by construction (a unit
/// test runs every check on them), and are not checked again: building every
/// detector, the allow-list and the seed profile only to drop them was two thirds
/// of a run's start-up.
pub fn validate_rules(rules: &Rules) -> Result<(), RulesError> {
    if rules.is_embedded() {
        return Ok(());
    }
    rules.validate(RULE_CHECKS)
}

/// How long a finding is held for evidence that may amend it before it is emitted.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(500);
/// Most findings held at once; beyond this the oldest leave early (bounded memory
/// under a flood of findings).
const MAX_HELD: usize = 10_000;

/// How long a finding is held for evidence that may amend it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Until the input ends ([`Engine::finish`]): a hunt over files, where every
    /// later event may still amend a finding.
    Batch,
    /// This long after its event completed (live modes: low latency).
    Wall(Duration),
    /// Until its host's log (event times) has moved `window` past it, or for
    /// `max_wall` at most. Independent of how fast or unevenly messages are read,
    /// so re-processing the same messages makes the same findings (the Kafka
    /// stream).
    LogTime {
        window: chrono::TimeDelta,
        max_wall: Duration,
    },
}

/// What the engine does with findings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Drop findings below this severity.
    pub min_severity: Severity,
    /// Findings it matches are suppressed.
    pub allowlist: AllowList,
    /// How long a finding is held for amending evidence.
    pub hold: Hold,
    /// Keep the findings the allow-list suppressed ([`Engine::take_suppressed`]),
    /// for `--explain`; otherwise they are only counted.
    pub keep_suppressed: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            min_severity: Severity::Informational,
            allowlist: AllowList::default(),
            hold: Hold::Wall(DEFAULT_HOLD),
            keep_suppressed: false,
        }
    }
}

/// A finding ready to leave, and the lowest input position (line) its evidence came
/// from: a consumer that commits input positions must not commit past it before the
/// finding is safely delivered.
#[derive(Debug)]
pub struct Ready {
    pub finding: Finding,
    pub floor: u64,
}

/// A finding still held for amending evidence.
struct Held {
    born: Instant,
    floor: u64,
    /// Position of the event that made it (`floor` may be lower: see
    /// [`Engine::evidence_floor`]).
    position: u64,
    context: FindingContext,
    /// Time and host of the event that made it.
    time: Option<DateTime<Utc>>,
    host: Arc<str>,
}

/// Most hosts whose latest log time is remembered per engine.
const MAX_HOSTS: usize = 65_536;

/// Reports an input error; called as errors happen.
pub type ErrorFn<'a> = Box<dyn FnMut(&InputError) + Send + 'a>;

/// The detectors of one input (a file of a hunt, a followed input, a Kafka
/// partition), fed event by event, releasing findings once they have been held long
/// enough. Every mode counts, allow-lists and filters findings here, and only here.
pub struct Engine<'a> {
    detectors: Vec<Box<dyn Detector>>,
    findings: Findings,
    /// One entry per finding in `findings`, in the same order.
    held: VecDeque<Held>,
    options: EngineOptions,
    on_error: ErrorFn<'a>,
    /// Where a progress display reads bytes read and findings made.
    counters: Option<&'a Counters>,
    /// Findings the allow-list suppressed, kept when the options ask for it.
    suppressed: Vec<Suppressed>,
    /// Bytes the source reported reading.
    pub bytes_read: u64,
    /// Events seen, input errors, findings reported per severity, suppressed.
    pub stats: HuntStats,
    /// The latest event time seen (log time).
    pub latest_time: Option<DateTime<Utc>>,
    /// Launches the detectors left out on purpose (scheduler launches), the first
    /// of each detector; all are counted in `stats.excluded`. Filled by `finish`.
    pub excluded: Vec<crate::detectors::Exclusion>,
    /// The latest event time seen per host, as its place in `host_times`.
    host_time: HashMap<Arc<str>, usize>,
    host_times: Vec<DateTime<Utc>>,
    /// The host of the last event with a time, and its place in `host_times`:
    /// events mostly follow one of their own host, which then costs a comparison
    /// instead of a hash of the host name.
    last_host: Option<(Arc<str>, usize)>,
    /// Set by a caller that commits input positions: the lowest position it still
    /// needs. A new finding's evidence lies above it, so the finding's floor is
    /// taken no higher: the evidence it was made from stays needed while it is
    /// held, even once the detectors have let that evidence go.
    pub evidence_floor: Option<u64>,
}

impl<'a> Engine<'a> {
    /// An engine with the default detector set built from `rules`.
    pub fn new(
        rules: &Rules,
        options: EngineOptions,
        on_error: ErrorFn<'a>,
    ) -> Result<Self, RulesError> {
        Ok(Self::with_detectors(
            detectors::default_set(rules)?,
            options,
            on_error,
        ))
    }

    /// An engine with these detectors (a copy of a set built once per run).
    pub fn with_detectors(
        detectors: Vec<Box<dyn Detector>>,
        options: EngineOptions,
        on_error: ErrorFn<'a>,
    ) -> Self {
        Engine {
            detectors,
            findings: Findings::default(),
            held: VecDeque::new(),
            options,
            on_error,
            counters: None,
            suppressed: Vec::new(),
            bytes_read: 0,
            stats: HuntStats::default(),
            latest_time: None,
            excluded: Vec::new(),
            host_time: HashMap::new(),
            host_times: Vec::new(),
            last_host: None,
            evidence_floor: None,
        }
    }

    /// Counts bytes read and findings made in `counters` too.
    pub fn with_counters(mut self, counters: &'a Counters) -> Self {
        self.counters = Some(counters);
        self
    }

    /// The findings the allow-list suppressed so far (kept only when
    /// [`EngineOptions::keep_suppressed`]).
    pub fn take_suppressed(&mut self) -> Vec<Suppressed> {
        std::mem::take(&mut self.suppressed)
    }

    /// Findings held long enough (all of them with `all`), allow-listed and
    /// filtered by severity, oldest first.
    pub fn take_ready(&mut self, now: Instant, all: bool) -> Vec<Ready> {
        let hold = self.options.hold;
        let (host_time, host_times) = (&self.host_time, &self.host_times);
        let settled = |h: &Held| {
            let age = now.saturating_duration_since(h.born);
            match hold {
                Hold::Batch => false,
                Hold::Wall(d) => age >= d,
                Hold::LogTime { window, max_wall } => {
                    age >= max_wall
                        || match (h.time, host_time.get(&h.host)) {
                            (Some(t), Some(&i)) => host_times[i] >= t + window,
                            // No log time to go by: a short wall-clock hold.
                            _ => age >= DEFAULT_HOLD,
                        }
                }
            }
        };
        let mut n = self.held.iter().take_while(|h| all || settled(h)).count();
        if hold != Hold::Batch {
            n = n.max(self.held.len().saturating_sub(MAX_HELD));
        }
        self.release(n)
    }

    /// Releases the oldest held findings beyond the newest `keep`, whatever the hold
    /// (allow-listed and filtered by severity like [`Engine::take_ready`]): a hunt
    /// keeps memory bounded this way under a flood of findings in one input. A
    /// finding released early can no longer be amended by later evidence (counted
    /// in `stats.released_early`).
    pub fn take_oldest(&mut self, keep: usize) -> Vec<Ready> {
        let n = self.held.len().saturating_sub(keep);
        self.stats.released_early += n as u64;
        self.release(n)
    }

    /// Releases the `n` oldest held findings that pass the severity floor and the
    /// allow-list, oldest first.
    fn release(&mut self, n: usize) -> Vec<Ready> {
        if n == 0 {
            return Vec::new();
        }
        let found = self.findings.drain_oldest(n);
        let mut ready = Vec::with_capacity(found.len());
        for (finding, held) in found.into_iter().zip(self.held.drain(..n)) {
            if finding.severity < self.options.min_severity {
                continue;
            }
            if let Some(by) = self.options.allowlist.suppression(&finding, &held.context) {
                self.stats.suppressed += 1;
                if self.options.keep_suppressed {
                    self.suppressed.push(Suppressed { finding, by });
                }
                continue;
            }
            self.stats.by_severity[finding.severity as usize] += 1;
            let floor = match finding.source.position {
                Position::Line(n) | Position::Record(n) => held.floor.min(n),
                Position::None => held.floor,
            };
            ready.push(Ready { finding, floor });
        }
        ready
    }

    /// End of all input: lets the detectors emit what they hold back, and releases
    /// every finding.
    pub fn finish(&mut self) -> Vec<Ready> {
        for d in &mut self.detectors {
            d.finish(&mut self.findings);
        }
        self.stats.state_dropped += self
            .detectors
            .iter()
            .map(|d| d.state_dropped())
            .sum::<u64>();
        for d in &self.detectors {
            let (kept, count) = d.exclusions();
            self.stats.excluded += count;
            self.excluded.extend_from_slice(kept);
        }
        self.track_new(0, None, None, Arc::from(""));
        self.take_ready(Instant::now(), true)
    }

    /// Reports something about an input that is not an error (a followed file that
    /// does not exist yet): shown like an error, not counted as one.
    pub fn notice(&mut self, notice: &InputError) {
        (self.on_error)(notice);
    }

    /// The lowest input position a held finding came from.
    pub fn min_held_floor(&self) -> Option<u64> {
        self.held.iter().map(|h| h.floor).min()
    }

    /// The lowest input position still needed to rebuild what the engine holds: its
    /// held findings' evidence and the detectors' correlation state
    /// ([`Detector::oldest_evidence`]). Reading the input again from this position
    /// (after a crash, on another Kafka consumer) makes the same findings again.
    pub fn oldest_position_held(&self) -> Option<u64> {
        self.detectors_evidence()
            .into_iter()
            .chain(self.min_held_floor())
            .min()
    }

    /// The lowest input position of the detectors' correlation state
    /// ([`Detector::oldest_evidence`]).
    pub fn detectors_evidence(&self) -> Option<u64> {
        self.detectors
            .iter()
            .filter_map(|d| d.oldest_evidence())
            .min()
    }

    /// The lowest position of an event a held finding was made from.
    pub fn min_held_position(&self) -> Option<u64> {
        self.held.iter().map(|h| h.position).min()
    }

    /// Findings held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The place of `host`'s latest time in `host_times`, made with `t` for a host
    /// not seen before; `host` becomes the last host.
    fn host_place(&mut self, host: &str, t: DateTime<Utc>) -> usize {
        let (key, i) = match self.host_time.get_key_value(host) {
            Some((key, &i)) => (key.clone(), i),
            None => {
                if self.host_time.len() >= MAX_HOSTS {
                    // Forgotten hosts fall back on the wall-clock limit.
                    self.host_time.clear();
                    self.host_times.clear();
                }
                let key: Arc<str> = Arc::from(host);
                let i = self.host_times.len();
                self.host_times.push(t);
                self.host_time.insert(key.clone(), i);
                (key, i)
            }
        };
        self.last_host = Some((key, i));
        i
    }

    fn track_new(
        &mut self,
        floor: u64,
        parent_image: Option<String>,
        time: Option<DateTime<Utc>>,
        host: Arc<str>,
    ) {
        if self.findings.len() > self.held.len() {
            let now = Instant::now();
            let position = floor;
            let floor = self.evidence_floor.map_or(floor, |e| e.min(floor));
            while self.held.len() < self.findings.len() {
                self.held.push_back(Held {
                    born: now,
                    floor,
                    position,
                    context: FindingContext {
                        parent_image: parent_image.clone(),
                    },
                    time,
                    host: host.clone(),
                });
            }
        }
    }
}

impl Engine<'_> {
    /// Runs the detectors on one event and tracks the findings it made.
    fn observe(&mut self, event: &Event) {
        self.stats.events += 1;
        let host = match event {
            Event::Process(p) => p.host.as_str(),
            Event::Script(s) => s.host.as_str(),
            Event::Network(n) => n.host.as_str(),
            Event::FileWrite(f) => f.host.as_str(),
        };
        let time = event.time();
        if let Some(t) = time {
            if self.latest_time.is_none_or(|l| t > l) {
                self.latest_time = Some(t);
            }
            let i = match &self.last_host {
                Some((last, i)) if crate::text::same_text(last, host) => *i,
                _ => self.host_place(host, t),
            };
            let latest = &mut self.host_times[i];
            if t > *latest {
                *latest = t;
            }
        }
        for d in &mut self.detectors {
            d.observe(event, &mut self.findings);
        }
        if self.findings.len() > self.held.len() {
            if let Some(c) = self.counters {
                let made = (self.findings.len() - self.held.len()) as u64;
                c.findings
                    .fetch_add(made, std::sync::atomic::Ordering::Relaxed);
            }
            let floor = match event.provenance().position {
                Position::Line(n) | Position::Record(n) => n,
                Position::None => 0,
            };
            let parent_image = match event {
                Event::Process(p) => p.parent_exe.clone(),
                _ => None,
            };
            let host = Arc::from(host);
            self.track_new(floor, parent_image, time, host);
        }
    }
}

impl EventSink for Engine<'_> {
    fn event(&mut self, event: Event) {
        self.observe(&event);
    }

    /// Looks at the event where it lies and leaves it for the source to reuse.
    fn lend(&mut self, slot: &mut Option<Event>) {
        if let Some(event) = slot {
            self.observe(event);
        }
    }

    fn error(&mut self, error: InputError) {
        self.stats.input_errors += 1;
        (self.on_error)(&error);
    }

    fn progress(&mut self, bytes: u64) {
        self.bytes_read += bytes;
        if let Some(c) = self.counters {
            c.add_bytes(bytes);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
