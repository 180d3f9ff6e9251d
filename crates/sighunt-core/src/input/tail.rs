//! Following one log file by name, like `tail -F`: the path is checked on every
//! poll (device and inode); a rotated-away file is drained until it has been quiet
//! for [`RETIRE_GRACE`] (a writer may still append to it before reopening), then
//! closed; a file that shrinks is read again from its start, and so is one whose
//! bytes before the read position changed (truncated, then grown past that position
//! before the poll). Each byte is read once through one descriptor, so no line is
//! lost or read twice across a rotation. A generation that came and went between
//! two polls (two rotations in one poll interval) is found among the path's rotated
//! siblings (`NAME.1`, `NAME-20240101`: same directory, unknown inode, modified
//! since the last poll) and read whole before the new file. Only regular files are
//! opened, never blocking (a FIFO at the path is reported, not read).

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::input::splitter::Splitter;
use crate::input::{InputError, InputFormat};
use crate::sources::EventSink;
use crate::sources::feeder::Feeder;

/// A rotated-away file is read until it has been quiet this long.
pub const RETIRE_GRACE: Duration = Duration::from_secs(5);
/// Most bytes read from one file in one poll, so a large backlog does not delay the
/// findings of its first part (nor stop other files from being read).
const POLL_BUDGET: u64 = 8 * 1024 * 1024;
/// Most rotated-away files drained at once per followed path.
const MAX_RETIRED: usize = 8;
/// Bytes before the read position remembered to notice a rewritten file.
const FINGERPRINT: usize = 64;
/// Inodes of generations already read, remembered per followed path (so a rotated
/// sibling already read is not read again).
const MAX_KNOWN: usize = 64;

/// One open file of a followed path (the path's current file, or one rotated away).
struct Generation {
    file: File,
    /// Device and inode.
    id: (u64, u64),
    /// Bytes read through this descriptor.
    offset: u64,
    lines: Splitter,
    last_data: Instant,
    /// The last bytes read (at most [`FINGERPRINT`]), ending at `offset`.
    tail: Vec<u8>,
}

impl Generation {
    fn open(path: &Path) -> io::Result<Generation> {
        // Never blocks, and only a regular file (the type read from the descriptor).
        let file = crate::input::open_regular(path)?;
        let meta = file.metadata()?;
        Ok(Generation {
            file,
            id: (meta.dev(), meta.ino()),
            offset: 0,
            lines: Splitter::default(),
            last_data: Instant::now(),
            tail: Vec::new(),
        })
    }

    /// Whether the bytes just before the read position are no longer those read
    /// there: the file was truncated and written again past that position.
    fn rewritten(&self) -> bool {
        if self.tail.is_empty() {
            return false;
        }
        let mut now = vec![0u8; self.tail.len()];
        let at = self.offset - self.tail.len() as u64;
        match self.file.read_exact_at(&mut now, at) {
            Ok(()) => now != self.tail,
            // Shorter than that now: the size check handles it.
            Err(_) => false,
        }
    }

    fn remember_tail(&mut self, bytes: &[u8]) {
        if bytes.len() >= FINGERPRINT {
            self.tail.clear();
            self.tail
                .extend_from_slice(&bytes[bytes.len() - FINGERPRINT..]);
        } else {
            self.tail.extend_from_slice(bytes);
            let excess = self.tail.len().saturating_sub(FINGERPRINT);
            self.tail.drain(..excess);
        }
    }

    /// Reads up to `budget` bytes, feeding complete lines; returns the bytes read.
    fn read(
        &mut self,
        budget: u64,
        feeder: &mut Feeder,
        sink: &mut dyn EventSink,
    ) -> io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < budget {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n as u64;
            self.offset += n as u64;
            self.remember_tail(&buf[..n]);
            self.lines
                .split(&buf[..n], &mut |piece| feeder.piece(piece, sink));
        }
        if total > 0 {
            self.last_data = Instant::now();
        }
        Ok(total)
    }

    /// The file will not grow any more: its unterminated last line is a line.
    fn close(mut self, feeder: &mut Feeder, sink: &mut dyn EventSink) {
        self.lines.finish(&mut |piece| feeder.piece(piece, sink));
    }
}

/// A path followed like `tail -F`.
pub struct Followed {
    path: PathBuf,
    pub(crate) feeder: Feeder,
    current: Option<Generation>,
    retired: Vec<Generation>,
    /// The last problem reported about the path, so it is reported once.
    reported: Option<String>,
    /// Inodes of the generations opened so far (the newest [`MAX_KNOWN`]).
    known: VecDeque<(u64, u64)>,
    /// When the path was last polled (siblings modified since may be missed
    /// generations).
    last_poll: Option<std::time::SystemTime>,
}

impl Followed {
    pub fn new(path: PathBuf, forced: Option<InputFormat>) -> Self {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        Followed {
            feeder: Feeder::new(name, forced),
            path,
            current: None,
            retired: Vec::new(),
            reported: None,
            known: VecDeque::new(),
            last_poll: None,
        }
    }

    fn remember(&mut self, id: (u64, u64)) {
        if !self.known.contains(&id) {
            if self.known.len() >= MAX_KNOWN {
                self.known.pop_front();
            }
            self.known.push_back(id);
        }
    }

    /// Rotated siblings of the path (`NAME.N`, `NAME-…`, uncompressed) that were
    /// never opened and were modified since the last poll, oldest first: whole
    /// generations that were created and rotated away between two polls.
    fn missed_generations(&self, current: (u64, u64)) -> Vec<Generation> {
        let (Some(since), Some(dir), Some(base)) = (
            self.last_poll,
            self.path.parent(),
            self.path.file_name().and_then(|n| n.to_str()),
        ) else {
            return Vec::new();
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<(std::time::SystemTime, Generation)> = Vec::new();
        for entry in entries.flatten().take(4096) {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(suffix) = name.strip_prefix(base) else {
                continue;
            };
            let rotated = suffix.starts_with('.') || suffix.starts_with('-');
            let compressed = [".gz", ".zst", ".xz", ".bz2", ".lz4", ".z"]
                .iter()
                .any(|ext| suffix.ends_with(ext));
            if !rotated || compressed {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let id = (meta.dev(), meta.ino());
            let fresh = meta.modified().is_ok_and(|m| m >= since);
            if !meta.is_file() || !fresh || id == current || self.known.contains(&id) {
                continue;
            }
            if self.retired.iter().any(|g| g.id == id) {
                continue;
            }
            if let (Ok(g), Ok(m)) = (Generation::open(&entry.path()), meta.modified()) {
                if g.id == id {
                    found.push((m, g));
                }
            }
        }
        found.sort_by_key(|(m, _)| *m);
        found.into_iter().map(|(_, g)| g).collect()
    }

    /// Reports a problem with the path once (until it changes); `counted` ones are
    /// input errors, the others notices.
    fn note(&mut self, message: String, counted: bool, sink: &mut Engine) {
        if self.reported.as_deref() != Some(message.as_str()) {
            let e = InputError::new(&self.feeder.name, None, message.clone());
            if counted {
                sink.error(e);
            } else {
                sink.notice(&e);
            }
            self.reported = Some(message);
        }
    }

    /// Reads what is new; returns whether anything was read.
    pub fn poll(&mut self, now: Instant, sink: &mut Engine) -> bool {
        if self.feeder.failed {
            return false;
        }
        let mut read = 0;
        // Older data first: what was appended to rotated-away files.
        let mut i = 0;
        while i < self.retired.len() {
            let g = &mut self.retired[i];
            let n = g.read(POLL_BUDGET, &mut self.feeder, sink).unwrap_or(0);
            read += n;
            if n == 0 && now.saturating_duration_since(g.last_data) >= RETIRE_GRACE {
                let g = self.retired.remove(i);
                g.close(&mut self.feeder, sink);
            } else {
                i += 1;
            }
        }
        let current = self.read_current(sink);
        read += current;
        // Has the path been rotated (renamed away, replaced) since?
        match fs::metadata(&self.path) {
            Ok(meta) => {
                let id = (meta.dev(), meta.ino());
                if self.current.as_ref().is_some_and(|g| g.id != id) {
                    // Drain the old file to its current end before switching, so
                    // its last lines come before the new file's first ones.
                    read += self.read_current(sink);
                    if let Some(mut old) = self.current.take() {
                        old.last_data = now;
                        self.retired.push(old);
                    }
                    // Generations that came and went since the last poll, in order.
                    for mut g in self.missed_generations(id) {
                        self.remember(g.id);
                        while let Ok(n) = g.read(POLL_BUDGET, &mut self.feeder, sink) {
                            read += n;
                            if n == 0 {
                                break;
                            }
                        }
                        g.last_data = now;
                        self.retired.push(g);
                    }
                    while self.retired.len() > MAX_RETIRED {
                        let g = self.retired.remove(0);
                        g.close(&mut self.feeder, sink);
                    }
                }
                if self.current.is_none() {
                    match Generation::open(&self.path) {
                        Ok(g) => {
                            self.reported = None;
                            self.remember(g.id);
                            self.current = Some(g);
                            read += self.read_current(sink);
                        }
                        Err(e) => self.note(format!("cannot read: {e}; retrying"), true, sink),
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.current.is_none() && self.retired.is_empty() {
                    self.note(
                        "does not exist (yet); waiting for it to appear".into(),
                        false,
                        sink,
                    );
                }
            }
            Err(e) => self.note(format!("cannot read: {e}; retrying"), true, sink),
        }
        if current < POLL_BUDGET {
            // At the end of the file for now: decide the format on what is there.
            self.feeder.caught_up(sink);
        }
        // A little before now: a sibling written in the same second as this poll
        // still counts as new on file systems with coarse timestamps.
        self.last_poll = std::time::SystemTime::now().checked_sub(Duration::from_secs(1));
        read > 0
    }

    fn read_current(&mut self, sink: &mut Engine) -> u64 {
        let Some(g) = &mut self.current else { return 0 };
        // Truncated (copytruncate, `> file`): read it again from its start.
        // Or truncated and written again past the position before this poll: the
        // bytes before the position changed.
        if let Ok(meta) = g.file.metadata() {
            if meta.len() < g.offset || g.rewritten() {
                let name = self.feeder.name.clone();
                sink.notice(&InputError::new(
                    &name,
                    None,
                    "file truncated; reading it from its start",
                ));
                if g.file.seek(SeekFrom::Start(0)).is_ok() {
                    g.offset = 0;
                    g.lines = Splitter::default();
                    g.tail.clear();
                }
            }
        }
        match g.read(POLL_BUDGET, &mut self.feeder, sink) {
            Ok(n) => n,
            Err(e) => {
                let message = format!("read error: {e}; retrying");
                self.note(message, true, sink);
                0
            }
        }
    }

    pub fn close(&mut self, sink: &mut Engine) {
        for g in std::mem::take(&mut self.retired) {
            g.close(&mut self.feeder, sink);
        }
        if let Some(g) = self.current.take() {
            g.close(&mut self.feeder, sink);
        }
        self.feeder.flush(sink);
    }
}

#[cfg(test)]
mod tests;
