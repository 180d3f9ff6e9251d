//! The hunt: inputs → sources → events → detectors → findings.
//!
//! Each input gets its own detector set (correlation state is per input), so inputs
//! are independent, scanned in parallel, and a bad one never affects another.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::allowlist::{AllowList, Suppressed};
use crate::detectors::{self, Detector};
use crate::engine::{Engine, EngineOptions, Hold, ordered};
use crate::finding::{Finding, Severity};
use crate::input::{
    self, Compression, Found, InputError, InputFormat, InputSpec, OpenError, Opened,
};
use crate::profile::Profile;
use crate::rules::{Rules, RulesError};
use crate::sources::{self, EventSink, chunked};

/// What a hunt is asked to do.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// Force this format instead of sniffing.
    pub input_format: Option<InputFormat>,
    /// Drop findings below this severity.
    pub min_severity: Severity,
    /// Worker threads; `None` uses one per core.
    pub threads: Option<usize>,
    /// Which logic to apply: sighunt's detectors, or the seed query's.
    pub profile: Profile,
    /// Findings it matches are suppressed (default profile only).
    pub allowlist: AllowList,
}

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            input_format: None,
            min_severity: Severity::Informational,
            threads: None,
            profile: Profile::Default,
            allowlist: AllowList::default(),
        }
    }
}

/// Counters for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HuntStats {
    pub files: u64,
    /// Files found in a directory walk whose content is no log format sighunt reads.
    pub skipped: u64,
    /// Walk entries not read: symbolic links not followed, FIFOs, devices, sockets,
    /// links into `/proc`, `/sys` or `/dev`.
    pub not_read: u64,
    /// The first [`MAX_NAMED`] of the skipped files, to name them.
    pub skipped_paths: Vec<Arc<str>>,
    /// Inputs that could not be opened or read at all.
    pub unreadable: u64,
    /// Inputs read with a forced `--input-format` that gave no event although they
    /// had content (the first [`MAX_NAMED`]), with their size in bytes.
    pub no_event_forced: Vec<(Arc<str>, u64)>,
    pub events: u64,
    pub input_errors: u64,
    /// Findings per severity, indexed like [`Severity::ALL`].
    pub by_severity: [u64; 5],
    /// Findings suppressed by the allow-list.
    pub suppressed: u64,
    /// Correlation state entries evicted to keep memory bounded.
    pub state_dropped: u64,
    /// Launches left out on purpose (the seed's scheduler exclusion).
    pub excluded: u64,
    /// Large files split into ranges read in parallel, and how many ranges in all.
    pub split_files: u64,
    pub split_ranges: u64,
}

impl HuntStats {
    /// The one-line summary printed on stderr.
    pub fn summary(&self) -> String {
        let total: u64 = self.by_severity.iter().sum();
        let per: Vec<String> = Severity::ALL
            .iter()
            .rev()
            .zip(self.by_severity.iter().rev())
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let skipped = if self.skipped > 0 {
            format!(
                " ({} skipped: not a log format sighunt reads)",
                self.skipped
            )
        } else {
            String::new()
        };
        let skipped = if self.not_read > 0 {
            format!(
                "{skipped} ({} not read: symbolic links not followed, FIFOs, devices, sockets, /proc, /sys, /dev)",
                self.not_read
            )
        } else {
            skipped
        };
        format!(
            "sighunt: {} file{}{skipped}, {} event{}, {} finding{} ({}), {} input error{}",
            self.files,
            plural(self.files),
            self.events,
            plural(self.events),
            total,
            plural(total),
            per.join(", "),
            self.input_errors,
            plural(self.input_errors),
        ) + &self.extras()
    }

    /// Counters shown only when they are not zero.
    fn extras(&self) -> String {
        let mut out = String::new();
        if self.suppressed > 0 {
            out.push_str(&format!(
                ", {} suppressed by the allow-list",
                self.suppressed
            ));
        }
        if self.split_files > 0 {
            out.push_str(&format!(
                ", {} large file{} read as {} parallel ranges",
                self.split_files,
                plural(self.split_files),
                self.split_ranges
            ));
        }
        if self.excluded > 0 {
            out.push_str(&format!(
                ", {} scheduler launch{} excluded (no indicator of medium severity or more; --explain lists them)",
                self.excluded,
                if self.excluded == 1 { "" } else { "es" }
            ));
        }
        if self.state_dropped > 0 {
            out.push_str(&format!(
                ", {} correlation state entries evicted (bounded memory; correlations across them may be missed)",
                self.state_dropped
            ));
        }
        out
    }
}

impl HuntStats {
    /// Adds another input's counters.
    pub fn add(&mut self, other: &HuntStats) {
        self.files += other.files;
        self.skipped += other.skipped;
        self.not_read += other.not_read;
        self.unreadable += other.unreadable;
        let room = MAX_NAMED.saturating_sub(self.skipped_paths.len());
        self.skipped_paths
            .extend(other.skipped_paths.iter().take(room).cloned());
        let room = MAX_NAMED.saturating_sub(self.no_event_forced.len());
        self.no_event_forced
            .extend(other.no_event_forced.iter().take(room).cloned());
        self.events += other.events;
        self.input_errors += other.input_errors;
        self.suppressed += other.suppressed;
        self.state_dropped += other.state_dropped;
        self.excluded += other.excluded;
        self.split_files += other.split_files;
        self.split_ranges += other.split_ranges;
        for (a, b) in self.by_severity.iter_mut().zip(other.by_severity) {
            *a += b;
        }
    }
}

/// How many skipped or silent inputs a summary keeps by name (memory stays bounded
/// on a walk of millions of files).
pub const MAX_NAMED: usize = 1_000;

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The result of a hunt: findings, newest first, and the counters.
#[derive(Debug, Default)]
pub struct HuntReport {
    pub findings: Vec<Finding>,
    pub stats: HuntStats,
    /// Findings the allow-list suppressed, newest first, with the deciding entry.
    pub suppressed: Vec<Suppressed>,
    /// Launches left out on purpose (scheduler launches), oldest first.
    pub excluded: Vec<crate::detectors::Exclusion>,
}

/// Reports input errors as they happen; called from worker threads.
pub type ErrorReporter<'a> = &'a (dyn Fn(&InputError) + Sync);

/// Runs a hunt over `paths`, inputs in parallel; input errors go to `on_error` as
/// they happen.
pub fn hunt(
    paths: &[PathBuf],
    options: &HuntOptions,
    rules: &Rules,
    on_error: ErrorReporter<'_>,
) -> Result<HuntReport, RulesError> {
    hunt_found(
        input::discover(paths),
        options,
        rules,
        on_error,
        &Counters::default(),
    )
}

/// Runs a hunt over inputs already [`discover`](input::discover)ed, counting its
/// progress in `counters` (a progress display reads them from another thread).
pub fn hunt_found(
    found: Vec<input::Discovered>,
    options: &HuntOptions,
    rules: &Rules,
    on_error: ErrorReporter<'_>,
    counters: &Counters,
) -> Result<HuntReport, RulesError> {
    // Built once (bad rules fail here, before any input is read), copied per input.
    let prototype = detectors::default_set(rules)?;
    let run = || {
        found
            .into_par_iter()
            .map(|found| {
                let mut stats = HuntStats::default();
                let scanned = match found {
                    Ok(found) => {
                        scan_input(&found, options, &prototype, &mut stats, &on_error, counters)
                    }
                    Err(e) => {
                        stats.input_errors += 1;
                        on_error(&e);
                        Scanned::default()
                    }
                };
                counters.files_done.fetch_add(1, Ordering::Relaxed);
                (scanned, stats)
            })
            .collect::<Vec<_>>()
    };
    let pool = options.threads.and_then(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .ok()
    });
    let per_input = match pool {
        Some(pool) => pool.install(run),
        None => run(),
    };
    let mut report = HuntReport::default();
    for (mut scanned, stats) in per_input {
        report.findings.append(&mut scanned.findings);
        report.suppressed.append(&mut scanned.suppressed);
        report.excluded.append(&mut scanned.excluded);
        report.stats.add(&stats);
    }
    report
        .suppressed
        .sort_by_key(|s| std::cmp::Reverse(s.finding.time));
    Finding::sort_newest_first(&mut report.findings);
    Ok(report)
}

/// What one input yielded: findings reported, and findings the allow-list
/// suppressed.
#[derive(Debug, Default)]
pub struct Scanned {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Launches left out on purpose (scheduler launches).
    pub excluded: Vec<crate::detectors::Exclusion>,
    /// Bytes read (decompressed).
    pub bytes: u64,
}

/// Scans one input with the profile's logic (for the default profile, a fresh copy
/// of the detector `prototype`), then applies the allow-list.
pub fn scan_input(
    found: &Found,
    options: &HuntOptions,
    prototype: &[Box<dyn Detector>],
    stats: &mut HuntStats,
    on_error: ErrorReporter<'_>,
    counters: &Counters,
) -> Scanned {
    let name = found.spec.display();
    if found.skip.is_some() {
        stats.not_read += 1;
        return Scanned::default();
    }
    stats.files += 1;
    // A FIFO the user named is read like stdin; one a walk found is not read.
    let opened = match input::open_as(&found.spec, options.input_format, found.named) {
        Ok(o) => o,
        Err(OpenError::UnknownFormat) if !found.named => {
            stats.skipped += 1;
            stats.skipped_paths.push(name);
            return Scanned::default();
        }
        Err(OpenError::NotRegular(_)) if !found.named => {
            // Swapped for a FIFO, device or socket after the walk saw a file.
            stats.files -= 1;
            stats.not_read += 1;
            return Scanned::default();
        }
        Err(e) => {
            stats.input_errors += 1;
            stats.unreadable += 1;
            let message = match e {
                OpenError::Io(io) => format!("cannot read: {io}"),
                other => other.to_string(),
            };
            on_error(&InputError::new(&name, None, message));
            return Scanned::default();
        }
    };
    if let Profile::Seed(query) = &options.profile {
        let mut errors = 0;
        let (findings, records) = query.scan(opened, &mut |e| {
            errors += 1;
            on_error(&e);
        });
        stats.events += records;
        stats.input_errors += errors;
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| f.severity >= options.min_severity)
            .collect();
        for f in &findings {
            stats.by_severity[f.severity as usize] += 1;
        }
        return Scanned {
            findings,
            ..Scanned::default()
        };
    }
    if let Some((path, ranges)) = split_plan(found, &opened) {
        // One large text file: its ranges are parsed in parallel and detected in
        // order by one engine, so the findings are those of a single read.
        let format = opened.format;
        drop(opened);
        stats.split_files += 1;
        stats.split_ranges += ranges.len() as u64;
        return detect(prototype, options, counters, stats, on_error, 0, |sink| {
            ordered::feed_in_order(
                ranges.len(),
                |i, range_sink| {
                    if let Some(mut parser) = sources::line_parser(format, &name) {
                        chunked::read_range(path, &name, ranges[i], parser.as_mut(), range_sink);
                    }
                },
                sink,
            )
        });
    }
    let size = match &found.spec {
        InputSpec::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
        InputSpec::Stdin => 0,
    };
    let events_before = stats.events;
    let scanned = detect(
        prototype,
        options,
        counters,
        stats,
        on_error,
        size,
        |sink| sources::read_input(opened, sink),
    );
    if options.input_format.is_some() && stats.events == events_before && scanned.bytes > 0 {
        stats.no_event_forced.push((name, scanned.bytes));
    }
    scanned
}

/// The ranges to read one input in, in parallel, when it is a large uncompressed
/// file of a line format whose records stand alone or span only nearby lines, and
/// there are threads to spare; `None` to read it as one stream.
fn split_plan<'f>(found: &'f Found, opened: &Opened) -> Option<(&'f Path, Vec<chunked::Range>)> {
    let InputSpec::File(path) = &found.spec else {
        return None;
    };
    let splittable = matches!(
        opened.format,
        InputFormat::Auditd | InputFormat::Syslog | InputFormat::Journald
    );
    if !splittable || opened.compression != Compression::None {
        return None;
    }
    let threads = rayon::current_num_threads();
    // An I/O error here is met again, and reported, when the file is read whole.
    let ranges = chunked::plan(path, threads).ok().flatten()?;
    Some((path, ranges))
}

/// Runs an [`Engine`] with a copy of the detector `prototype` over the events `feed`
/// delivers, until the input ends ([`Hold::Batch`]); adds its counters to `stats`.
///
/// `whole_size` is counted as read at the end if the source reported no progress of
/// its own (EVTX, XML and JSON readers do not; line sources do).
fn detect(
    prototype: &[Box<dyn Detector>],
    options: &HuntOptions,
    counters: &Counters,
    stats: &mut HuntStats,
    on_error: ErrorReporter<'_>,
    whole_size: u64,
    feed: impl FnOnce(&mut dyn EventSink),
) -> Scanned {
    let engine_options = EngineOptions {
        min_severity: options.min_severity,
        allowlist: options.allowlist.clone(),
        hold: Hold::Batch,
        keep_suppressed: true,
    };
    let mut engine = Engine::with_detectors(
        detectors::clone_set(prototype),
        engine_options,
        Box::new(|e: &InputError| on_error(e)),
    )
    .with_counters(counters);
    feed(&mut engine);
    let bytes = if engine.bytes_read == 0 {
        counters.add_bytes(whole_size);
        whole_size
    } else {
        engine.bytes_read
    };
    let findings = engine.finish().into_iter().map(|r| r.finding).collect();
    stats.add(&engine.stats);
    Scanned {
        findings,
        suppressed: engine.take_suppressed(),
        excluded: std::mem::take(&mut engine.excluded),
        bytes,
    }
}
/// What the workers of a hunt report as they go.
#[derive(Debug, Default)]
pub struct Counters {
    pub files_done: AtomicU64,
    /// Bytes read (decompressed, for compressed inputs).
    pub bytes: AtomicU64,
    pub findings: AtomicU64,
}

impl Counters {
    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}
