//! Following inputs as they grow: files by name across rotation and truncation
//! ([`crate::input::tail`]) and stdin read on a thread of its own, fed through the
//! [`Engine`] until a stop is requested; findings leave as soon as they are ready.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::finding::Finding;
use crate::input::splitter::{Piece, Splitter};
use crate::input::tail::Followed;
use crate::input::{InputError, InputFormat};
use crate::sources::EventSink;
use crate::sources::feeder::Feeder;

/// An event without an end marker is completed after this long without new lines
/// (auditd's own `end_of_event_timeout` is 2 s).
pub const DEFAULT_IDLE_FLUSH: Duration = Duration::from_secs(1);
/// How often followed files are checked when there is nothing to read.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

// ---------------------------------------------------------------------------------
// Reading a pipe on its own thread (stdin, the audit dispatcher)
// ---------------------------------------------------------------------------------

/// What the reader thread delivers.
pub enum Chunk {
    /// Complete lines, in order, with their 1-based numbers.
    Lines(Vec<(u64, Vec<u8>)>),
    /// A line over [`MAX_LINE_BYTES`](crate::sources::MAX_LINE_BYTES), skipped.
    TooLong { line_no: u64, bytes: u64 },
    /// A read error; the stream ends.
    Failed(io::Error),
}

/// Reads `input` line by line on a thread of its own, so that the caller can wait
/// with a timeout (idle flushes, signals) instead of blocking in `read`. The channel
/// is bounded: a slow consumer slows the reader, not the memory. The channel closes
/// at end of input.
pub fn spawn_line_reader<R: Read + Send + 'static>(mut input: R) -> Receiver<Chunk> {
    let (tx, rx) = mpsc::sync_channel::<Chunk>(64);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut splitter = Splitter::default();
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Chunk::Failed(e));
                    return;
                }
            };
            // Everything read so far is handed over before the next (blocking)
            // read, so a line is never held back waiting for the next one.
            let mut lines = Vec::new();
            let mut other = Vec::new();
            splitter.split(&buf[..n], &mut |piece| match piece {
                Piece::Line(no, l) => lines.push((no, l.to_vec())),
                Piece::TooLong(line_no, bytes) => other.push(Chunk::TooLong { line_no, bytes }),
            });
            if !lines.is_empty() && tx.send(Chunk::Lines(lines)).is_err() {
                return;
            }
            for c in other {
                if tx.send(c).is_err() {
                    return;
                }
            }
        }
        let mut last = Vec::new();
        splitter.finish(&mut |piece| {
            if let Piece::Line(no, l) = piece {
                last.push((no, l.to_vec()));
            }
        });
        if !last.is_empty() {
            let _ = tx.send(Chunk::Lines(last));
        }
    });
    rx
}

// ---------------------------------------------------------------------------------
// The follow loop
// ---------------------------------------------------------------------------------

/// How `hunt --follow` reads.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Force this format instead of sniffing.
    pub input_format: Option<InputFormat>,
    /// How often files are checked when there is nothing to read.
    pub poll: Duration,
    /// Events without an end marker are completed after this much quiet.
    pub idle_flush: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            input_format: None,
            poll: DEFAULT_POLL,
            idle_flush: DEFAULT_IDLE_FLUSH,
        }
    }
}

/// What the caller does with each batch of findings; returns `false` to stop.
pub type EmitFn<'a> = &'a mut dyn FnMut(Vec<Finding>) -> io::Result<bool>;

/// Follows `paths` (files, or `-` for stdin) until `stop` is set, or until stdin
/// ends when it is the only input. Directories are refused: a followed path names
/// one log file, which may not exist yet.
pub fn follow(
    paths: &[PathBuf],
    options: &FollowOptions,
    engine: &mut Engine,
    stop: &AtomicBool,
    emit: EmitFn<'_>,
) -> io::Result<()> {
    let mut files = Vec::new();
    let mut stdin: Option<(Feeder, Receiver<Chunk>)> = None;
    for p in paths {
        if p.as_os_str() == "-" {
            if stdin.is_none() {
                let feeder = Feeder::new(Arc::from("-"), options.input_format);
                stdin = Some((feeder, spawn_line_reader(io::stdin())));
            }
        } else if p.is_dir() {
            return Err(io::Error::other(format!(
                "{}: is a directory; --follow takes log files (which may not exist yet)",
                p.display()
            )));
        } else {
            engine.stats.files += 1;
            files.push(Followed::new(p.clone(), options.input_format));
        }
    }
    if stdin.is_some() {
        engine.stats.files += 1;
    }
    let mut stdin_done = false;
    loop {
        let now = Instant::now();
        let mut busy = false;
        for f in &mut files {
            busy |= f.poll(now, engine);
            f.feeder.idle_flush(now, options.idle_flush, engine);
        }
        if let Some((feeder, rx)) = &mut stdin {
            if !stdin_done {
                // Wait on the pipe rather than sleeping when it is the only input.
                let wait = if files.is_empty() && !busy {
                    options.poll
                } else {
                    Duration::ZERO
                };
                match drain_chunks(rx, wait, feeder, engine) {
                    Drained::Some => busy = true,
                    Drained::Nothing => feeder.caught_up(engine),
                    Drained::Closed => {
                        feeder.flush(engine);
                        stdin_done = true;
                    }
                }
                feeder.idle_flush(Instant::now(), options.idle_flush, engine);
            }
        }
        let ready = engine.take_ready(Instant::now(), false);
        if !ready.is_empty() && !emit(ready.into_iter().map(|r| r.finding).collect())? {
            return Ok(());
        }
        if stop.load(Ordering::SeqCst) || (stdin_done && files.is_empty()) {
            break;
        }
        // With stdin as the only input, waiting on the pipe above is the sleep.
        let waited_on_stdin = stdin.is_some() && files.is_empty() && !stdin_done;
        if !busy && !waited_on_stdin {
            std::thread::sleep(options.poll);
        }
    }
    for f in &mut files {
        f.close(engine);
    }
    if let Some((feeder, _)) = &mut stdin {
        feeder.flush(engine);
    }
    let rest = engine.finish();
    if !rest.is_empty() {
        emit(rest.into_iter().map(|r| r.finding).collect())?;
    }
    Ok(())
}

/// What [`drain_chunks`] found.
pub enum Drained {
    Some,
    Nothing,
    Closed,
}

/// Feeds whatever the reader thread has delivered (waiting at most `wait` for the
/// first chunk).
pub fn drain_chunks(
    rx: &Receiver<Chunk>,
    wait: Duration,
    feeder: &mut Feeder,
    sink: &mut dyn EventSink,
) -> Drained {
    let mut got = false;
    let mut first = true;
    loop {
        let chunk = if first && !wait.is_zero() {
            match rx.recv_timeout(wait) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Drained::Closed,
            }
        } else {
            match rx.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Drained::Closed,
            }
        };
        first = false;
        got = true;
        match chunk {
            Chunk::Lines(lines) => {
                for (no, l) in lines {
                    feeder.line(&l, no, sink);
                }
            }
            Chunk::TooLong { line_no, bytes } => feeder.too_long(line_no, bytes, sink),
            Chunk::Failed(e) => {
                let name = feeder.name.clone();
                sink.error(InputError::new(
                    &name,
                    None,
                    format!("read error: {e}; input ended"),
                ));
            }
        }
    }
    if got { Drained::Some } else { Drained::Nothing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reader_thread_hands_over_lines_without_waiting_for_more() {
        let (mut w, r) = std::os::unix::net::UnixStream::pair().unwrap();
        let rx = spawn_line_reader(r);
        w.write_all(b"one\ntwo\nthr").unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            match rx
                .recv_timeout(Duration::from_secs(5))
                .expect("lines arrive without EOF")
            {
                Chunk::Lines(l) => got.extend(
                    l.into_iter()
                        .map(|(n, t)| (n, String::from_utf8(t).unwrap())),
                ),
                _ => panic!("unexpected chunk"),
            }
        }
        assert_eq!(got, [(1, "one".to_string()), (2, "two".to_string())]);
        w.write_all(b"ee").unwrap();
        drop(w);
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Chunk::Lines(l) => assert_eq!(l, [(3, b"three".to_vec())]),
            _ => panic!("unexpected chunk"),
        }
        assert!(
            rx.recv_timeout(Duration::from_secs(5)).is_err(),
            "closed at EOF"
        );
    }
}
