//! Findings sorted in bounded memory, so a hunt with millions of findings runs in
//! flat memory: [`ExternalSort`] keeps findings in memory up to a budget, then
//! spills sorted runs to anonymous temporary files and merges them (k-way) at the
//! end.
//!
//! Runs are written in a compact binary form private to this process, in unlinked
//! temporary files (`tempfile::tempfile`): the kernel deletes them however the
//! process ends.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::event::{Platform, Position, Provenance};
use crate::finding::{DetectionType, Finding, Related, Severity};

/// Bytes of findings (estimated) kept in memory before a run is spilled.
pub const DEFAULT_BUDGET: usize = 16 << 20;
/// Most runs merged at once; beyond it, runs are first merged into one.
const MAX_RUNS: usize = 64;
/// Read and write buffer per run file.
const RUN_BUFFER: usize = 64 * 1024;

/// A rough size of a finding in memory, to decide when to spill.
fn weight(f: &Finding) -> usize {
    320 + f.host.len()
        + f.exec_cmd.len()
        + f.nohup_target.len()
        + f.nohup_args.len()
        + f.command_line.len()
        + f.indicators.iter().map(|i| i.len() + 24).sum::<usize>()
        + f.user.as_ref().map_or(0, String::len)
        + f.related.iter().map(|r| r.what.len() + 96).sum::<usize>()
}

/// Values with few distinct instances, written as an index: the enums, the
/// `&'static str` names (which cannot be rebuilt from text) and input paths.
#[derive(Default)]
struct Interned {
    platforms: Vec<Platform>,
    detections: Vec<DetectionType>,
    names: Vec<&'static str>,
    paths: Vec<Arc<str>>,
    path_index: HashMap<Arc<str>, u32>,
}

fn index_of<T: PartialEq + Copy>(table: &mut Vec<T>, v: T) -> u64 {
    match table.iter().position(|x| *x == v) {
        Some(i) => i as u64,
        None => {
            table.push(v);
            (table.len() - 1) as u64
        }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("spill file: bad {what}"),
    )
}

fn lookup<T: Clone>(table: &[T], i: u64, what: &str) -> io::Result<T> {
    table.get(i as usize).cloned().ok_or_else(|| bad(what))
}

/// One entry of a run: the finding's input, its place among the findings pushed,
/// and the finding.
type Entry = (usize, u64, Finding);

impl Interned {
    fn path(&mut self, p: &Arc<str>) -> u64 {
        if let Some(&i) = self.path_index.get(p) {
            return u64::from(i);
        }
        let i = self.paths.len() as u32;
        self.paths.push(p.clone());
        self.path_index.insert(p.clone(), i);
        u64::from(i)
    }

    fn put_provenance(&mut self, w: &mut impl Write, p: &Provenance) -> io::Result<()> {
        put_u64(w, self.path(&p.path))?;
        let (tag, n) = match p.position {
            Position::Line(n) => (0u8, n),
            Position::Record(n) => (1, n),
            Position::None => (2, 0),
        };
        w.write_all(&[tag])?;
        put_u64(w, n)?;
        put_u64(w, index_of(&mut self.names, p.format))
    }

    fn get_provenance(&self, r: &mut impl Read) -> io::Result<Provenance> {
        let path = lookup(&self.paths, get_u64(r)?, "path")?;
        let tag = get_u8(r)?;
        let n = get_u64(r)?;
        let position = match tag {
            0 => Position::Line(n),
            1 => Position::Record(n),
            _ => Position::None,
        };
        let format = lookup(&self.names, get_u64(r)?, "format")?;
        Ok(Provenance {
            path,
            position,
            format,
        })
    }

    fn encode(&mut self, w: &mut impl Write, (input, seq, f): &Entry) -> io::Result<()> {
        put_u64(w, *input as u64)?;
        put_u64(w, *seq)?;
        put_time(w, f.time)?;
        put_str(w, &f.host)?;
        put_u64(w, index_of(&mut self.platforms, f.platform))?;
        put_u64(w, index_of(&mut self.detections, f.detection_type))?;
        for s in [&f.exec_cmd, &f.nohup_target, &f.nohup_args, &f.command_line] {
            put_str(w, s)?;
        }
        put_u64(w, f.suspicion_score as u64)?;
        w.write_all(&[f.severity as u8])?;
        put_u64(w, f.indicators.len() as u64)?;
        for i in &f.indicators {
            put_str(w, i)?;
        }
        put_id(w, f.pid)?;
        put_id(w, f.ppid)?;
        put_opt_str(w, f.user.as_deref())?;
        self.put_provenance(w, &f.source)?;
        put_u64(w, f.related.len() as u64)?;
        for rel in &f.related {
            put_u64(w, index_of(&mut self.names, rel.indicator))?;
            put_str(w, &rel.what)?;
            put_time(w, rel.time)?;
            put_id(w, rel.pid)?;
            match &rel.source {
                Some(p) => {
                    w.write_all(&[1])?;
                    self.put_provenance(w, p)?;
                }
                None => w.write_all(&[0])?,
            }
        }
        Ok(())
    }

    /// The next entry of a run, or `None` at its end.
    fn decode(&self, r: &mut impl Read) -> io::Result<Option<Entry>> {
        let mut first = [0u8; 8];
        match r.read_exact(&mut first) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let input = u64::from_le_bytes(first) as usize;
        let seq = get_u64(r)?;
        let time = get_time(r)?;
        let host = get_str(r)?;
        let platform = lookup(&self.platforms, get_u64(r)?, "platform")?;
        let detection_type = lookup(&self.detections, get_u64(r)?, "detection")?;
        let exec_cmd = get_str(r)?;
        let nohup_target = get_str(r)?;
        let nohup_args = get_str(r)?;
        let command_line = get_str(r)?;
        let suspicion_score = get_u64(r)? as i64;
        let severity = lookup(&Severity::ALL, u64::from(get_u8(r)?), "severity")?;
        let n = get_u64(r)?;
        let mut indicators = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            indicators.push(get_str(r)?);
        }
        let pid = get_id(r)?;
        let ppid = get_id(r)?;
        let user = get_opt_str(r)?;
        let source = self.get_provenance(r)?;
        let n = get_u64(r)?;
        let mut related = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            let indicator = lookup(&self.names, get_u64(r)?, "indicator")?;
            let what = get_str(r)?;
            let time = get_time(r)?;
            let pid = get_id(r)?;
            let source = match get_u8(r)? {
                1 => Some(self.get_provenance(r)?),
                _ => None,
            };
            related.push(Related {
                indicator,
                what,
                time,
                pid,
                source,
            });
        }
        Ok(Some((
            input,
            seq,
            Finding {
                time,
                host,
                platform,
                detection_type,
                exec_cmd,
                nohup_target,
                nohup_args,
                command_line,
                suspicion_score,
                severity,
                indicators,
                pid,
                ppid,
                user,
                source,
                related,
            },
        )))
    }
}

fn put_u64(w: &mut impl Write, v: u64) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

fn put_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    put_u64(w, s.len() as u64)?;
    w.write_all(s.as_bytes())
}

fn put_opt_str(w: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => {
            w.write_all(&[1])?;
            put_str(w, s)
        }
        None => w.write_all(&[0]),
    }
}

/// A pid as `n + 1`, `None` as 0.
fn put_id(w: &mut impl Write, id: Option<u32>) -> io::Result<()> {
    put_u64(w, id.map_or(0, |n| u64::from(n) + 1))
}

fn put_time(w: &mut impl Write, t: Option<DateTime<Utc>>) -> io::Result<()> {
    match t {
        Some(t) => {
            w.write_all(&[1])?;
            put_u64(w, t.timestamp() as u64)?;
            put_u64(w, u64::from(t.timestamp_subsec_nanos()))
        }
        None => w.write_all(&[0]),
    }
}

fn get_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn get_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn get_str(r: &mut impl Read) -> io::Result<String> {
    let n = get_u64(r)?;
    let mut buf = Vec::new();
    r.take(n).read_to_end(&mut buf)?;
    if buf.len() as u64 != n {
        return Err(bad("string"));
    }
    String::from_utf8(buf).map_err(|_| bad("utf-8"))
}

fn get_opt_str(r: &mut impl Read) -> io::Result<Option<String>> {
    Ok(match get_u8(r)? {
        1 => Some(get_str(r)?),
        _ => None,
    })
}

fn get_id(r: &mut impl Read) -> io::Result<Option<u32>> {
    Ok(get_u64(r)?.checked_sub(1).map(|n| n as u32))
}

fn get_time(r: &mut impl Read) -> io::Result<Option<DateTime<Utc>>> {
    Ok(match get_u8(r)? {
        1 => {
            let secs = get_u64(r)? as i64;
            let nanos = get_u64(r)? as u32;
            Some(DateTime::from_timestamp(secs, nanos).ok_or_else(|| bad("time"))?)
        }
        _ => None,
    })
}

/// Sorts findings in bounded memory by `key`, then by input, then by the order they
/// were pushed (so ties keep the order of a stable in-memory sort of the findings
/// gathered input after input): up to a budget they are kept and sorted in memory;
/// beyond it, sorted runs are spilled to temporary files and merged at the end.
pub struct ExternalSort<K> {
    key: fn(&Finding) -> K,
    budget: usize,
    buffered: Vec<Entry>,
    buffered_bytes: usize,
    runs: Vec<File>,
    interned: Interned,
    pushed: u64,
    spilled: u64,
}

impl<K: Ord> ExternalSort<K> {
    /// A sorter by `key` that keeps about `budget` bytes of findings in memory.
    pub fn new(key: fn(&Finding) -> K, budget: usize) -> Self {
        ExternalSort {
            key,
            budget: budget.max(1),
            buffered: Vec::new(),
            buffered_bytes: 0,
            runs: Vec::new(),
            interned: Interned::default(),
            pushed: 0,
            spilled: 0,
        }
    }

    /// Adds a finding of input number `input` (findings of one input are pushed in
    /// the order they are to keep among equals).
    pub fn push(&mut self, input: usize, finding: Finding) -> io::Result<()> {
        self.buffered_bytes += weight(&finding);
        self.buffered.push((input, self.pushed, finding));
        self.pushed += 1;
        if self.buffered_bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Findings pushed so far.
    pub fn len(&self) -> u64 {
        self.pushed
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }

    /// Findings written to temporary files so far.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    fn sort_buffered(&mut self) {
        let key = self.key;
        // (input, seq) is unique: an unstable sort gives the one order.
        self.buffered
            .sort_unstable_by_key(|(input, seq, f)| (key(f), *input, *seq));
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.buffered.is_empty() {
            return Ok(());
        }
        self.sort_buffered();
        let mut w = BufWriter::with_capacity(RUN_BUFFER, tempfile::tempfile()?);
        for entry in self.buffered.drain(..) {
            self.interned.encode(&mut w, &entry)?;
            self.spilled += 1;
        }
        self.buffered = Vec::new();
        self.buffered_bytes = 0;
        self.runs.push(w.into_inner().map_err(|e| e.into_error())?);
        if self.runs.len() >= MAX_RUNS {
            // Too many files to merge at once: fold them into one run.
            let runs = std::mem::take(&mut self.runs);
            let interned = std::mem::take(&mut self.interned);
            let mut merged = BufWriter::with_capacity(RUN_BUFFER, tempfile::tempfile()?);
            let mut merge = Merge::new(self.key, runs, interned, Vec::new())?;
            while let Some(entry) = merge.next_entry()? {
                merge.interned.encode(&mut merged, &entry)?;
            }
            self.interned = merge.interned;
            self.runs
                .push(merged.into_inner().map_err(|e| e.into_error())?);
        }
        Ok(())
    }

    /// Every finding pushed, in order.
    pub fn finish(mut self) -> io::Result<Sorted<K>> {
        self.sort_buffered();
        let memory = std::mem::take(&mut self.buffered);
        let interned = std::mem::take(&mut self.interned);
        Ok(Sorted {
            merge: Merge::new(self.key, std::mem::take(&mut self.runs), interned, memory)?,
        })
    }
}

/// One source of a merge: a run file, or the findings still in memory.
enum Source {
    File(BufReader<File>),
    Memory(std::vec::IntoIter<Entry>),
}

/// An entry's place in the merge: its key, input and seq; then its source.
type Head<K> = Reverse<((K, usize, u64), usize)>;

/// A k-way merge of sorted sources.
struct Merge<K> {
    key: fn(&Finding) -> K,
    sources: Vec<Source>,
    heads: Vec<Option<Entry>>,
    /// Smallest key first (a max-heap of reversed keys), with its source.
    heap: BinaryHeap<Head<K>>,
    interned: Interned,
}

impl<K: Ord> Merge<K> {
    fn new(
        key: fn(&Finding) -> K,
        runs: Vec<File>,
        interned: Interned,
        memory: Vec<Entry>,
    ) -> io::Result<Self> {
        let mut sources = Vec::with_capacity(runs.len() + 1);
        for mut f in runs {
            f.rewind()?;
            sources.push(Source::File(BufReader::with_capacity(RUN_BUFFER, f)));
        }
        sources.push(Source::Memory(memory.into_iter()));
        let mut merge = Merge {
            key,
            heads: (0..sources.len()).map(|_| None).collect(),
            sources,
            heap: BinaryHeap::new(),
            interned,
        };
        for i in 0..merge.sources.len() {
            merge.refill(i)?;
        }
        Ok(merge)
    }

    fn refill(&mut self, i: usize) -> io::Result<()> {
        let next = match &mut self.sources[i] {
            Source::File(r) => self.interned.decode(r)?,
            Source::Memory(it) => it.next(),
        };
        if let Some((input, seq, f)) = &next {
            self.heap.push(Reverse((((self.key)(f), *input, *seq), i)));
        }
        self.heads[i] = next;
        Ok(())
    }

    fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        let Some(Reverse((_, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let item = self.heads[i].take();
        self.refill(i)?;
        Ok(item)
    }
}

/// The findings of an [`ExternalSort`], in order; an I/O error reading a run back
/// ends the iteration with that error.
pub struct Sorted<K> {
    merge: Merge<K>,
}

impl<K: Ord> Iterator for Sorted<K> {
    type Item = io::Result<Finding>;

    fn next(&mut self) -> Option<Self::Item> {
        self.merge
            .next_entry()
            .transpose()
            .map(|r| r.map(|(_, _, f)| f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn finding(secs: Option<i64>, n: u64) -> Finding {
        Finding {
            time: secs.map(|s| Utc.timestamp_opt(s, (n % 1000) as u32 * 1_000_000).unwrap()),
            host: format!("host{}", n % 7),
            platform: if n % 2 == 0 {
                Platform::Unix
            } else {
                Platform::Windows
            },
            detection_type: if n % 3 == 0 {
                DetectionType::Nohup
            } else {
                DetectionType::SignalMask
            },
            exec_cmd: format!("nohup /tmp/x{n} \u{202e}"),
            nohup_target: String::new(),
            nohup_args: "-p 1".into(),
            command_line: "x".repeat((n % 50) as usize),
            suspicion_score: n as i64 - 5,
            severity: Severity::ALL[(n % 5) as usize],
            indicators: vec!["a".into(), format!("i{n}")],
            pid: (n % 4 != 0).then_some(n as u32),
            ppid: (n % 3 == 0).then_some(0),
            user: (n % 2 == 0).then(|| "root".to_string()),
            source: Provenance {
                path: Arc::from(format!("/var/log/f{}", n % 3).as_str()),
                position: match n % 3 {
                    0 => Position::Line(n),
                    1 => Position::Record(n),
                    _ => Position::None,
                },
                format: if n % 2 == 0 { "auditd" } else { "evtx" },
            },
            related: (0..n % 3)
                .map(|k| {
                    Related::new(
                        if k == 0 {
                            "payload_made_executable"
                        } else {
                            "listener_after_launch"
                        },
                        &format!("chmod +x /tmp/x{n}"),
                        (k == 1).then(|| Utc.timestamp_opt(1_700_000_000, 5).unwrap()),
                        (k == 0).then_some(7),
                        (k == 0).then(|| Provenance {
                            path: Arc::from("/var/log/other"),
                            position: Position::Line(k),
                            format: "auditd",
                        }),
                    )
                })
                .collect(),
        }
    }

    /// Every field, so a field lost on the way through a run shows.
    fn text(f: &Finding) -> String {
        format!("{f:?}")
    }

    /// Severity first, then newest first: a key like the CLI's `--sort severity`.
    fn by_severity(f: &Finding) -> (Reverse<Severity>, Reverse<Option<DateTime<Utc>>>) {
        (Reverse(f.severity), Reverse(f.time))
    }

    /// The external sort gives exactly the stable in-memory sort of the findings
    /// gathered input after input, across many runs and a fold of runs, with every
    /// field intact.
    #[test]
    fn spilled_runs_merge_into_exactly_the_in_memory_order() {
        // Times repeat (ties) and some are missing; inputs arrive interleaved.
        let items: Vec<(usize, Finding)> = (0..5000u64)
            .map(|n| {
                let t = (n % 11 != 0).then_some(1_700_000_000 + ((n * 7919) % 613) as i64);
                ((n % 4) as usize, finding(t, n))
            })
            .collect();
        // The oracle: gathered input after input, then a stable sort.
        let mut want: Vec<&Finding> = (0..4)
            .flat_map(|input| items.iter().filter(move |(i, _)| *i == input))
            .map(|(_, f)| f)
            .collect();
        want.sort_by_key(|f| by_severity(f));
        // A tiny budget: a run every few findings, more runs than MAX_RUNS.
        let mut sorter = ExternalSort::new(by_severity, 4096);
        for (i, f) in items.iter().cloned() {
            sorter.push(i, f).unwrap();
        }
        assert!(sorter.spilled() > 4000, "most findings went to disk");
        assert_eq!(sorter.len(), 5000);
        let got: Vec<String> = sorter
            .finish()
            .unwrap()
            .map(|f| text(&f.unwrap()))
            .collect();
        let want: Vec<String> = want.into_iter().map(text).collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "same order and content as the in-memory sort");
    }

    #[test]
    fn findings_within_the_budget_never_touch_the_disk() {
        let mut sorter = ExternalSort::new(by_severity, DEFAULT_BUDGET);
        for n in 0..100 {
            sorter.push(0, finding(Some(1_700_000_000), n)).unwrap();
        }
        assert_eq!(sorter.spilled(), 0);
        let got: Vec<Finding> = sorter.finish().unwrap().map(Result::unwrap).collect();
        assert_eq!(got.len(), 100);
        assert!(got.windows(2).all(|w| w[0].severity >= w[1].severity));
    }
}
