//! The hunt: inputs → sources → events → detectors → findings.
//!
//! Each input gets its own detector set (correlation state is per input), so inputs
//! are independent, scanned in parallel, and a bad one never affects another.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rayon::prelude::*;

use crate::allowlist::{AllowList, Suppressed};
use crate::detectors::{self, Detector, Exclusion};
use crate::engine::{Engine, EngineOptions, Hold, ordered};
use crate::finding::{Finding, Severity};
use crate::input::{
    self, Compression, Found, InputError, InputFormat, InputSpec, OpenError, Opened,
};
use crate::profile::Profile;
use crate::rules::{Rules, RulesError};
use crate::sources::windows::json_ranged;
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
    /// Findings released before the end of their input to keep memory bounded
    /// (more than [`HELD_PER_INPUT`] held): later evidence could no longer amend them.
    pub released_early: u64,
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
        if self.released_early > 0 {
            out.push_str(&format!(
                ", {} finding{} released before the end of {} input (bounded memory; later evidence could not amend {})",
                self.released_early,
                plural(self.released_early),
                if self.released_early == 1 { "its" } else { "their" },
                if self.released_early == 1 { "it" } else { "them" },
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
        self.released_early += other.released_early;
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

/// Where a hunt's findings go as the engines release them (severity floor and
/// allow-list applied), from worker threads. The hunt keeps none of them: a sink
/// that writes or spills them keeps memory flat in their number.
pub trait FindingSink: Sync {
    /// Findings of input number `input` (its place in the discovered list), as its
    /// engine released them: the findings of one input arrive in that order.
    fn findings(&self, input: usize, findings: Vec<Finding>);
    /// Input number `input` is done: all its findings were delivered.
    fn input_done(&self, _input: usize) {}
    /// Whether findings the allow-list suppressed, and launches left out on
    /// purpose, are wanted ([`FindingSink::suppressed`], [`FindingSink::excluded`]).
    fn wants_suppressed(&self) -> bool {
        false
    }
    /// A finding the allow-list suppressed (only if [`FindingSink::wants_suppressed`]).
    fn suppressed(&self, _input: usize, _suppressed: Suppressed) {}
    /// Launches of input number `input` left out on purpose.
    fn excluded(&self, _input: usize, _excluded: Vec<Exclusion>) {}
}

/// Findings an input's engine holds for amending evidence before the oldest are
/// released early (when twice as many are held): evidence that amends a finding
/// comes seconds of log later, far fewer findings later, and memory stays bounded
/// in one input with millions of findings.
pub const HELD_PER_INPUT: usize = 2_000;

/// Runs a hunt over `paths`, inputs in parallel; input errors go to `on_error` as
/// they happen. Every finding is gathered in memory (see [`hunt_found`]).
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

/// Gathers findings in memory with their input and arrival, for [`hunt_found`].
#[derive(Default)]
struct Gather {
    findings: Mutex<Vec<(usize, u64, Finding)>>,
    suppressed: Mutex<Vec<(usize, u64, Suppressed)>>,
    excluded: Mutex<Vec<(usize, Vec<Exclusion>)>>,
}

/// Locks `m`, also after a panic elsewhere (what it guards stays consistent: pushes).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FindingSink for Gather {
    fn findings(&self, input: usize, findings: Vec<Finding>) {
        let mut v = lock(&self.findings);
        for f in findings {
            let seq = v.len() as u64;
            v.push((input, seq, f));
        }
    }
    fn wants_suppressed(&self) -> bool {
        true
    }
    fn suppressed(&self, input: usize, s: Suppressed) {
        let mut v = lock(&self.suppressed);
        let seq = v.len() as u64;
        v.push((input, seq, s));
    }
    fn excluded(&self, input: usize, excluded: Vec<Exclusion>) {
        lock(&self.excluded).push((input, excluded));
    }
}

/// Runs a hunt over inputs already [`discover`](input::discover)ed, counting its
/// progress in `counters` (a progress display reads them from another thread), and
/// returns every finding, newest first (ties in input order, then log order). The
/// findings are all held in memory: [`hunt_into`] hands them on instead.
pub fn hunt_found(
    found: Vec<input::Discovered>,
    options: &HuntOptions,
    rules: &Rules,
    on_error: ErrorReporter<'_>,
    counters: &Counters,
) -> Result<HuntReport, RulesError> {
    let gather = Gather::default();
    let stats = hunt_into(
        found,
        options,
        rules,
        on_error,
        counters,
        &gather,
        &Running::default(),
    )?;
    let mut findings = gather
        .findings
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    findings.sort_by_key(|(input, seq, f)| (std::cmp::Reverse(f.time), *input, *seq));
    let mut suppressed = gather
        .suppressed
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    suppressed.sort_by_key(|(input, seq, s)| (std::cmp::Reverse(s.finding.time), *input, *seq));
    let mut excluded = gather
        .excluded
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    excluded.sort_by_key(|(input, _)| *input);
    Ok(HuntReport {
        findings: findings.into_iter().map(|(_, _, f)| f).collect(),
        stats,
        suppressed: suppressed.into_iter().map(|(_, _, s)| s).collect(),
        excluded: excluded.into_iter().flat_map(|(_, e)| e).collect(),
    })
}

/// The engines of the inputs a hunt is reading, reachable from another thread: an
/// interrupted hunt ([`Running::interrupt`]) releases what they hold, so what was
/// found so far is written even while a worker waits on a silent pipe.
#[derive(Default)]
pub struct Running<'a> {
    engines: Mutex<BTreeMap<usize, Arc<Mutex<Engine<'a>>>>>,
    /// Inputs opened (or being opened: sniffing waits on a pipe) and not finished.
    reading: Mutex<std::collections::BTreeSet<usize>>,
    /// Counters of the inputs finished.
    finished: Mutex<HuntStats>,
}

impl<'a> Running<'a> {
    fn start(&self, input: usize, engine: Engine<'a>) -> Arc<Mutex<Engine<'a>>> {
        let engine = Arc::new(Mutex::new(engine));
        lock(&self.engines).insert(input, engine.clone());
        engine
    }

    fn done(&self, input: usize, stats: &HuntStats) {
        lock(&self.engines).remove(&input);
        lock(&self.reading).remove(&input);
        lock(&self.finished).add(stats);
    }

    /// Ends every input being read as if it ended now (the detectors release what
    /// they hold back), hands their findings to `sink`, and returns the counters of
    /// the hunt so far: the inputs finished and those cut short. The workers are not
    /// waited for (one may be blocked on a pipe): the caller is about to exit.
    pub fn interrupt(&self, sink: &dyn FindingSink) -> HuntStats {
        let engines = std::mem::take(&mut *lock(&self.engines));
        let mut stats = lock(&self.finished).clone();
        stats.files += lock(&self.reading).len() as u64;
        for (input, engine) in engines {
            let mut engine = lock(&engine);
            sink.findings(input, released(engine.finish()));
            stats.add(&engine.stats);
        }
        stats
    }
}

/// Runs a hunt, inputs in parallel, handing findings to `sink` as the engines
/// release them, and returns the counters. The engines of the inputs being read are
/// kept in `running`, for an interrupt.
pub fn hunt_into<'a>(
    found: Vec<input::Discovered>,
    options: &HuntOptions,
    rules: &Rules,
    on_error: ErrorReporter<'a>,
    counters: &'a Counters,
    sink: &dyn FindingSink,
    running: &Running<'a>,
) -> Result<HuntStats, RulesError> {
    // Built once (bad rules fail here, before any input is read), copied per input.
    let prototype = detectors::default_set(rules)?;
    let run = || {
        found
            .into_par_iter()
            .enumerate()
            .map(|(index, found)| {
                let mut stats = HuntStats::default();
                let mut out = Delivery {
                    sink,
                    input: index,
                    running,
                };
                match found {
                    Ok(found) => scan_input(
                        &found, options, &prototype, &mut stats, on_error, counters, &mut out,
                    ),
                    Err(e) => {
                        stats.input_errors += 1;
                        on_error(&e);
                    }
                }
                running.done(index, &stats);
                sink.input_done(index);
                counters.files_done.fetch_add(1, Ordering::Relaxed);
                stats
            })
            .reduce(HuntStats::default, |mut a, b| {
                a.add(&b);
                a
            })
    };
    let pool = options.threads.and_then(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .ok()
    });
    Ok(match pool {
        Some(pool) => pool.install(run),
        None => run(),
    })
}

/// One input's way to its hunt's sink.
pub struct Delivery<'s, 'a> {
    sink: &'s dyn FindingSink,
    input: usize,
    running: &'s Running<'a>,
}

/// Scans one input with the profile's logic (for the default profile, a fresh copy
/// of the detector `prototype`, the allow-list applied), handing its findings to
/// `out` as they are released.
pub fn scan_input<'a>(
    found: &Found,
    options: &HuntOptions,
    prototype: &[Box<dyn Detector>],
    stats: &mut HuntStats,
    on_error: ErrorReporter<'a>,
    counters: &'a Counters,
    out: &mut Delivery<'_, 'a>,
) {
    let name = found.spec.display();
    if found.skip.is_some() {
        stats.not_read += 1;
        return;
    }
    stats.files += 1;
    lock(&out.running.reading).insert(out.input);
    // A FIFO the user named is read like stdin; one a walk found is not read.
    let mut opened = match input::open_as(&found.spec, options.input_format, found.named) {
        Ok(o) => o,
        Err(OpenError::UnknownFormat) if !found.named => {
            stats.skipped += 1;
            stats.skipped_paths.push(name);
            return;
        }
        Err(OpenError::NotRegular(_)) if !found.named => {
            // Swapped for a FIFO, device or socket after the walk saw a file.
            stats.files -= 1;
            stats.not_read += 1;
            return;
        }
        Err(e) => {
            stats.input_errors += 1;
            stats.unreadable += 1;
            let message = match e {
                OpenError::Io(io) => format!("cannot read: {io}"),
                other => other.to_string(),
            };
            on_error(&InputError::new(&name, None, message));
            return;
        }
    };
    // Kept to see, at the end, whether the file shrank while it was read.
    let file = opened.file.take();
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
        out.sink.findings(out.input, findings);
        check_shrink(&name, file.as_ref(), stats, on_error);
        return;
    }
    if let Some((path, ranges)) = split_plan(found, &opened) {
        // One large text file: its ranges are parsed in parallel and detected in
        // order by one engine, so the findings are those of a single read.
        let format = opened.format;
        drop(opened);
        stats.split_files += 1;
        stats.split_ranges += ranges.len() as u64;
        detect(
            prototype,
            options,
            counters,
            stats,
            on_error,
            0,
            out,
            |sink| {
                if format == InputFormat::Json {
                    return read_json_ranges(path, &name, &ranges, sink);
                }
                ordered::feed_in_order(
                    ranges.len(),
                    rayon::current_num_threads(),
                    |i, range_sink| {
                        if let Some(mut parser) = sources::line_parser(format, &name) {
                            chunked::read_range(
                                path,
                                &name,
                                ranges[i],
                                parser.as_mut(),
                                range_sink,
                            );
                        }
                    },
                    sink,
                )
            },
        );
        check_shrink(&name, file.as_ref(), stats, on_error);
        return;
    }
    let size = file.as_ref().map_or(0, |(_, len)| *len);
    let events_before = stats.events;
    let bytes = detect(
        prototype,
        options,
        counters,
        stats,
        on_error,
        size,
        out,
        |sink| sources::read_input(opened, sink),
    );
    if options.input_format.is_some() && stats.events == events_before && bytes > 0 {
        stats.no_event_forced.push((name.clone(), bytes));
    }
    check_shrink(&name, file.as_ref(), stats, on_error);
}

/// A file shorter now than when it was opened was truncated or rewritten while it
/// was read: what was read may be partial or mixed, so it is an input error (the
/// findings made are kept).
fn check_shrink(
    name: &Arc<str>,
    file: Option<&(std::fs::File, u64)>,
    stats: &mut HuntStats,
    on_error: ErrorReporter<'_>,
) {
    let Some((f, opened_len)) = file else { return };
    let Ok(now) = f.metadata().map(|m| m.len()) else {
        return;
    };
    if now < *opened_len {
        stats.input_errors += 1;
        on_error(&InputError::new(
            name,
            None,
            format!(
                "the file shrank while it was read (from {opened_len} to {now} bytes): \
                 truncated or rewritten during the hunt, so its findings may be incomplete"
            ),
        ));
    }
}

/// The ranges to read one input in, in parallel, when it is a large uncompressed
/// file of a line format whose records stand alone or span only nearby lines (JSON
/// only when it is JSON Lines), and there are threads to spare; `None` to read it
/// as one stream.
fn split_plan<'f>(found: &'f Found, opened: &Opened) -> Option<(&'f Path, Vec<chunked::Range>)> {
    let InputSpec::File(path) = &found.spec else {
        return None;
    };
    let splittable = matches!(
        opened.format,
        InputFormat::Auditd | InputFormat::Syslog | InputFormat::Journald | InputFormat::Json
    );
    if !splittable || opened.compression != Compression::None {
        return None;
    }
    let threads = rayon::current_num_threads();
    // An I/O error here is met again, and reported, when the file is read whole.
    if opened.format == InputFormat::Json
        && (threads < 2
            || std::fs::metadata(path).ok()?.len() < chunked::MIN_CHUNKED_BYTES
            || !json_ranged::is_json_lines(path).ok()?)
    {
        return None;
    }
    let ranges = chunked::plan(path, threads).ok().flatten()?;
    Some((path, ranges))
}

/// A JSON Lines file's ranges, parsed in parallel; the script block parts they
/// defer are mapped here, in file order, by one mapper.
fn read_json_ranges(
    path: &Path,
    name: &Arc<str>,
    ranges: &[chunked::Range],
    sink: &mut dyn EventSink,
) {
    let mut mapper = json_ranged::ordered_mapper(name);
    ordered::feed_in_order_with(
        ranges.len(),
        rayon::current_num_threads(),
        |i, range_sink| json_ranged::read_range(path, name, ranges[i], range_sink),
        sink,
        |deferred: json_ranged::Deferred, sink| deferred.finish(&mut mapper, sink),
    );
    mapper.finish(sink);
}

/// Runs an [`Engine`] with a copy of the detector `prototype` over the events `feed`
/// delivers, until the input ends ([`Hold::Batch`], at most twice
/// [`HELD_PER_INPUT`] findings held), handing findings to `out` as they are
/// released; adds its counters to `stats` and returns the bytes read.
///
/// `whole_size` is counted as read at the end if the source reported no progress of
/// its own (EVTX, XML and JSON readers do not; line sources do).
#[allow(clippy::too_many_arguments)]
fn detect<'a>(
    prototype: &[Box<dyn Detector>],
    options: &HuntOptions,
    counters: &'a Counters,
    stats: &mut HuntStats,
    on_error: ErrorReporter<'a>,
    whole_size: u64,
    out: &mut Delivery<'_, 'a>,
    feed: impl FnOnce(&mut dyn EventSink),
) -> u64 {
    let engine_options = EngineOptions {
        min_severity: options.min_severity,
        allowlist: options.allowlist.clone(),
        hold: Hold::Batch,
        keep_suppressed: out.sink.wants_suppressed(),
    };
    let engine = Engine::with_detectors(
        detectors::clone_set(prototype),
        engine_options,
        Box::new(move |e: &InputError| on_error(e)),
    )
    .with_counters(counters);
    let engine = out.running.start(out.input, engine);
    let mut releasing = Releasing {
        engine: &engine,
        out,
    };
    feed(&mut releasing);
    let mut engine = lock(&engine);
    let bytes = if engine.bytes_read == 0 {
        counters.add_bytes(whole_size);
        whole_size
    } else {
        engine.bytes_read
    };
    out.sink.findings(out.input, released(engine.finish()));
    for s in engine.take_suppressed() {
        out.sink.suppressed(out.input, s);
    }
    if out.sink.wants_suppressed() {
        out.sink
            .excluded(out.input, std::mem::take(&mut engine.excluded));
    }
    stats.add(&engine.stats);
    bytes
}

/// The findings of released [`Ready`](crate::engine::Ready)s.
fn released(ready: Vec<crate::engine::Ready>) -> Vec<Finding> {
    ready.into_iter().map(|r| r.finding).collect()
}

/// An engine that hands its oldest findings on once it holds twice
/// [`HELD_PER_INPUT`], so memory stays bounded whatever the number of findings in
/// one input. It is locked per event only: an interrupt can reach it while the
/// worker waits for input.
struct Releasing<'e, 'o, 's, 'a> {
    engine: &'e Mutex<Engine<'a>>,
    out: &'o mut Delivery<'s, 'a>,
}

impl EventSink for Releasing<'_, '_, '_, '_> {
    fn event(&mut self, event: crate::event::Event) {
        let mut engine = lock(self.engine);
        engine.event(event);
        self.release_excess(&mut engine);
    }

    fn lend(&mut self, slot: &mut Option<crate::event::Event>) {
        let mut engine = lock(self.engine);
        engine.lend(slot);
        self.release_excess(&mut engine);
    }

    fn error(&mut self, error: InputError) {
        lock(self.engine).error(error);
    }

    fn progress(&mut self, bytes: u64) {
        lock(self.engine).progress(bytes);
    }
}

impl Releasing<'_, '_, '_, '_> {
    /// Hands the oldest findings on once the engine holds too many.
    fn release_excess(&mut self, engine: &mut Engine<'_>) {
        if engine.held() >= 2 * HELD_PER_INPUT {
            let oldest = released(engine.take_oldest(HELD_PER_INPUT));
            self.out.sink.findings(self.out.input, oldest);
            for s in engine.take_suppressed() {
                self.out.sink.suppressed(self.out.input, s);
            }
        }
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
