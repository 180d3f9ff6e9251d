//! The buffers of events the engine has finished with, reused for the next ones.
//!
//! An exec event carries a dozen strings (exe, comm, cwd, each argument, the joined
//! command line); allocating and freeing them per event was a tenth of a
//! one-thread hunt's instructions. The engine looks at each event where the source
//! lent it ([`EventSink::lend`](crate::sources::EventSink::lend)) and leaves it
//! there; its strings are kept here, and the next event's text is decoded into
//! them. Bounded: at most [`MAX_SPARE_STRINGS`] strings of at most
//! [`MAX_SPARE_BYTES`] each, [`MAX_SPARE_ARGVS`] argument vectors and
//! [`MAX_SPARE_PARTIALS`] partial events are kept.

use super::Partial;
use crate::event::Event;

/// Most strings kept for reuse (an exec with many arguments uses more; the rest
/// are allocated as before).
const MAX_SPARE_STRINGS: usize = 256;
/// Largest buffer kept: a huge argument's allocation is given back to the system.
const MAX_SPARE_BYTES: usize = 4 * 1024;
/// Most argument vectors kept (one per open exec event is the steady state).
const MAX_SPARE_ARGVS: usize = 16;
/// Most partial events kept for reuse.
const MAX_SPARE_PARTIALS: usize = 64;

/// Cleared buffers of finished events.
#[derive(Default)]
pub(super) struct Spares {
    strings: Vec<String>,
    argvs: Vec<Vec<String>>,
    // The boxes themselves are what is reused: the open-event map holds them.
    #[allow(clippy::vec_box)]
    partials: Vec<Box<Partial>>,
}

impl Spares {
    /// An empty string, with room from an earlier event when one is kept.
    #[inline]
    pub(super) fn string(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    /// An empty argument vector, with room from an earlier event when one is kept.
    pub(super) fn argv(&mut self) -> Vec<String> {
        self.argvs.pop().unwrap_or_default()
    }

    /// An empty partial event, boxed.
    pub(super) fn partial(&mut self) -> Box<Partial> {
        self.partials.pop().unwrap_or_default()
    }

    /// Keeps a completed or dropped partial event's box (emptied) and the text
    /// left in it.
    pub(super) fn keep_partial(&mut self, mut p: Box<Partial>) {
        // Field by field (the pattern names every field, so a new one cannot be
        // left out): each `None` written is a tag, where building a default
        // partial wrote all of its bytes.
        let Partial {
            seq,
            first_line,
            last_line,
            time_ms,
            node,
            records,
            syscall,
            argc,
            args,
            chunks,
            argv_bytes,
            truncated,
            cwd,
            path0,
            proctitle,
            sockaddr,
            has_execve,
        } = &mut *p;
        (*seq, *first_line, *last_line, *time_ms, *records) = (0, 0, 0, 0, 0);
        (*argc, *argv_bytes, *truncated, *has_execve) = (None, 0, false, false);
        for s in [node, cwd, path0, sockaddr] {
            self.keep_some(s.take());
        }
        if let Some(mut sc) = syscall.take() {
            for s in [
                &mut sc.name,
                &mut sc.user_name,
                &mut sc.comm,
                &mut sc.exe,
                &mut sc.key,
            ] {
                self.keep_some(s.take());
            }
        }
        for a in args.drain(..) {
            self.keep(a);
        }
        if !chunks.is_empty() {
            *chunks = Default::default();
        }
        *proctitle = None;
        if self.partials.len() < MAX_SPARE_PARTIALS {
            self.partials.push(p);
        }
    }

    /// Keeps `s`'s allocation for reuse (cleared), within the bounds.
    #[inline]
    pub(super) fn keep(&mut self, mut s: String) {
        // "Not empty and not huge" in one comparison: capacity 0 wraps to the maximum.
        if s.capacity().wrapping_sub(1) < MAX_SPARE_BYTES && self.strings.len() < MAX_SPARE_STRINGS
        {
            s.clear();
            self.strings.push(s);
        }
    }

    fn keep_some(&mut self, s: Option<String>) {
        if let Some(s) = s {
            self.keep(s);
        }
    }

    /// Keeps the strings of an argument vector, and the vector itself.
    pub(super) fn keep_argv(&mut self, mut argv: Vec<String>) {
        for s in argv.drain(..) {
            self.keep(s);
        }
        if argv.capacity() != 0 && self.argvs.len() < MAX_SPARE_ARGVS {
            self.argvs.push(argv);
        }
    }

    /// Takes the buffers of an event the sink has finished with, where it lies
    /// (the event is left with empty strings). Only the fields this source fills
    /// are looked at; any other text is dropped with the event as usual.
    pub(super) fn reclaim(&mut self, event: &mut Event) {
        use std::mem::take;
        match event {
            Event::Process(p) => {
                self.keep(take(&mut p.host));
                self.keep(take(&mut p.command_line));
                for s in [&mut p.user, &mut p.exe, &mut p.comm, &mut p.cwd, &mut p.key] {
                    self.keep_some(s.take());
                }
                self.keep_argv(take(&mut p.argv));
            }
            Event::Network(n) => {
                self.keep(take(&mut n.host));
                for s in [&mut n.image, &mut n.local, &mut n.remote] {
                    self.keep_some(s.take());
                }
            }
            Event::Script(_) | Event::FileWrite(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_strings_come_back_empty_with_their_room() {
        let mut spares = Spares::default();
        let mut s = String::with_capacity(100);
        s.push_str("/usr/bin/nohup");
        spares.keep(s);
        let again = spares.string();
        assert!(again.is_empty());
        assert!(again.capacity() >= 100);
        // Nothing kept: a new, empty string.
        assert_eq!(spares.string().capacity(), 0);
    }

    #[test]
    fn bounds_hold_for_size_and_count() {
        let mut spares = Spares::default();
        spares.keep(String::with_capacity(MAX_SPARE_BYTES + 1));
        assert_eq!(spares.string().capacity(), 0, "huge buffers go back");
        for _ in 0..MAX_SPARE_STRINGS + 10 {
            spares.keep(String::with_capacity(8));
        }
        assert_eq!(spares.strings.len(), MAX_SPARE_STRINGS);
    }

    #[test]
    fn an_argv_is_kept_whole_and_emptied() {
        let mut spares = Spares::default();
        spares.keep_argv(vec!["nohup".into(), "./x".into()]);
        let argv = spares.argv();
        assert!(argv.is_empty() && argv.capacity() >= 2);
        assert_eq!(spares.strings.len(), 2);
    }
}
