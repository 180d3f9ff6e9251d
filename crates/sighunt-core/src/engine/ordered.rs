//! One large file read as parallel ranges, detected as one stream: ranges are
//! parsed by a few worker threads, and their events are fed to a single engine in
//! file order, so correlation state crosses range edges and `-j1` and `-jN` give
//! the same findings.
//!
//! The file is cut into many ranges (see [`crate::sources::chunked::plan`]), more
//! than there are workers: each worker takes the next range not yet taken, so the
//! ranges in flight are consecutive and every worker parses while the engine
//! consumes the oldest. With one range per worker, the later ranges could only
//! parse as far as their buffers reached and then waited for the engine to finish
//! the first: on two cores `-j2` was no faster than `-j1`.
//!
//! Memory stays bounded whatever the file size: a worker starts a range only
//! while fewer than `workers + 1` ranges are in flight (taken and not yet wholly
//! detected), and each holds at most `MAX_BATCHES_AHEAD` (64) batches waiting (and
//! at most [`AHEAD_EVENTS`] events in all). Without that window, workers whose
//! ranges fit their buffers would race through the file ahead of the engine.
//!
//! Events the engine has looked at go back to their range's worker, whose parser
//! reuses their buffers (as a single read reuses the event it lends,
//! [`EventSink::lend`]): without it every event's strings were allocated on one
//! thread and freed on another.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::event::Event;
use crate::input::InputError;
use crate::sources::{EventSink, RangeSink};

/// Events parsed ahead, in all ranges together.
pub const AHEAD_EVENTS: usize = 256 * 1024;
/// Events handed over at once (one channel message).
const BATCH: usize = 256;

/// Most batches one range may have waiting for the engine.
const MAX_BATCHES_AHEAD: usize = 64;
/// Most batches of looked-at events waiting to go back to a range's parser: it
/// takes them back as fast as the engine returns them, and more would only keep
/// memory alive (the rest are freed).
const RETURNED_BATCHES: usize = 4;

/// What a range's parser delivers, in order. Events dominate, so they are kept
/// inline (a box each would cost an allocation per event). `X` is what a source
/// hands the engine's thread to finish there, in file order (state that spans
/// events, such as multi-part script blocks).
#[allow(clippy::large_enum_variant)]
enum Item<X> {
    Event(Event),
    Error(InputError),
    Progress(u64),
    Deferred(X),
}

/// Collects a range's output into batches for the engine's thread, and hands its
/// parser back the events the engine has finished with.
struct BatchSink<X> {
    batch: Vec<Item<X>>,
    tx: SyncSender<Vec<Item<X>>>,
    /// Events the engine has looked at, for the parser to reuse.
    back: Receiver<Vec<Event>>,
    reusable: Vec<Event>,
    /// The engine stopped listening (it never does before the end; kept safe).
    closed: bool,
}

impl<X> BatchSink<X> {
    fn push(&mut self, item: Item<X>) {
        self.batch.push(item);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.batch.is_empty() || self.closed {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.closed = self.tx.send(batch).is_err();
    }

    /// An event the engine is done with, if one has come back.
    fn reusable(&mut self) -> Option<Event> {
        if self.reusable.is_empty() {
            if let Ok(events) = self.back.try_recv() {
                self.reusable = events;
            }
        }
        self.reusable.pop()
    }
}

impl<X> EventSink for BatchSink<X> {
    fn event(&mut self, event: Event) {
        self.push(Item::Event(event));
    }

    /// Takes the event, and leaves in its place one the engine is done with (its
    /// buffers are the parser's to reuse) when there is one.
    fn lend(&mut self, slot: &mut Option<Event>) {
        if let Some(event) = slot.take() {
            self.push(Item::Event(event));
            *slot = self.reusable();
        }
    }

    fn error(&mut self, error: InputError) {
        self.push(Item::Error(error));
    }

    fn progress(&mut self, bytes: u64) {
        // Progress comes once per read block: sent at once, so the bar moves while
        // a range with few events is parsed, not only when a batch fills up.
        self.push(Item::Progress(bytes));
        self.flush();
    }
}

impl<X> RangeSink<X> for BatchSink<X> {
    fn defer(&mut self, x: X) {
        self.push(Item::Deferred(x));
    }
}

/// Runs `parse(i, sink)` for each of `ranges` ranges on up to `workers` threads and
/// feeds what they produce to `engine`, range after range, in order.
pub fn feed_in_order<P>(ranges: usize, workers: usize, parse: P, engine: &mut dyn EventSink)
where
    P: Fn(usize, &mut dyn EventSink) + Sync,
{
    feed_in_order_with::<std::convert::Infallible, _, _>(
        ranges,
        workers,
        |i, sink| parse(i, sink),
        engine,
        |never, _| match never {},
    );
}

/// What the count of detected ranges is set to when the engine's thread has left.
const ENGINE_GONE: usize = usize::MAX;

/// Sets the count of detected ranges to [`ENGINE_GONE`] when dropped, and wakes
/// the workers waiting on it.
struct Release<'a>(&'a (Mutex<usize>, Condvar));

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let (count, wake) = self.0;
        *count.lock().unwrap_or_else(PoisonError::into_inner) = ENGINE_GONE;
        wake.notify_all();
    }
}

/// One range's two channels, as its worker takes them.
type RangeEnds<X> = (SyncSender<Vec<Item<X>>>, Receiver<Vec<Event>>);

/// [`feed_in_order`] for sources that defer part of their work to the engine's
/// thread: each deferred `X` is given to `finish`, with the engine, at its place in
/// file order among the events, so state that spans events (and so range edges)
/// evolves exactly as in a single read.
pub fn feed_in_order_with<X, P, F>(
    ranges: usize,
    workers: usize,
    parse: P,
    engine: &mut dyn EventSink,
    mut finish: F,
) where
    X: Send,
    P: Fn(usize, &mut dyn RangeSink<X>) + Sync,
    F: FnMut(X, &mut dyn EventSink),
{
    let workers = workers.clamp(1, ranges.max(1));
    // A batch ends at BATCH events or at the end of a read block (`progress`): at
    // most 64 batches per range keeps what a range holds ahead near 64 read blocks
    // when its events are few but large (hostile JSON Lines of MiB-long command
    // lines), instead of AHEAD_EVENTS / BATCH blocks.
    let per_range = (AHEAD_EVENTS / workers / BATCH).clamp(1, MAX_BATCHES_AHEAD);
    let mut receivers = Vec::with_capacity(ranges);
    let mut ends: Vec<Mutex<Option<RangeEnds<X>>>> = Vec::with_capacity(ranges);
    for _ in 0..ranges {
        let (tx, rx) = sync_channel(per_range);
        let (back_tx, back_rx) = sync_channel(RETURNED_BATCHES);
        receivers.push((rx, back_tx));
        ends.push(Mutex::new(Some((tx, back_rx))));
    }
    let next = AtomicUsize::new(0);
    // How many ranges the engine has wholly detected, and the wait for it.
    let detected = (Mutex::new(0usize), Condvar::new());
    let window = workers + 1;
    std::thread::scope(|scope| {
        // Should the engine's thread unwind, the workers waiting on it are let go.
        let _release = Release(&detected);
        let parse = &parse;
        for _ in 0..workers {
            let (next, ends, detected) = (&next, &ends, &detected);
            scope.spawn(move || {
                // Ranges are taken in order: the oldest range in flight always has a
                // worker (its index is below any window), so the engine, which waits
                // on it, never waits in vain.
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = ends.get(i) else { break };
                    let (count, wake) = detected;
                    let mut done = count.lock().unwrap_or_else(PoisonError::into_inner);
                    while i >= done.saturating_add(window) {
                        done = wake.wait(done).unwrap_or_else(PoisonError::into_inner);
                    }
                    if *done == ENGINE_GONE {
                        break;
                    }
                    drop(done);
                    let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                    let Some((tx, back)) = taken else { continue };
                    let mut sink = BatchSink {
                        batch: Vec::with_capacity(BATCH),
                        tx,
                        back,
                        reusable: Vec::new(),
                        closed: false,
                    };
                    parse(i, &mut sink);
                    sink.flush();
                }
            });
        }
        for (rx, back) in receivers {
            let mut done = Vec::with_capacity(BATCH);
            for batch in rx {
                for item in batch {
                    match item {
                        Item::Event(e) => {
                            let mut slot = Some(e);
                            engine.lend(&mut slot);
                            if let Some(e) = slot {
                                done.push(e);
                                if done.len() == BATCH {
                                    // A worker that does not take them back (its
                                    // source does not lend) leaves them to be freed.
                                    let _ = back.try_send(std::mem::replace(
                                        &mut done,
                                        Vec::with_capacity(BATCH),
                                    ));
                                }
                            }
                        }
                        Item::Error(e) => engine.error(e),
                        Item::Progress(b) => engine.progress(b),
                        Item::Deferred(x) => finish(x, engine),
                    }
                }
            }
            let (count, wake) = &detected;
            *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            wake.notify_all();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::CollectingSink;
    use std::sync::Arc;

    /// Ranges that finish in any order still arrive in range order.
    #[test]
    fn ranges_are_delivered_in_order_whatever_their_speed() {
        let mut sink = CollectingSink::default();
        feed_in_order(
            4,
            2,
            |i, s| {
                // The first range is the slowest.
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                for n in 0..1000u64 {
                    s.error(InputError::new(&Arc::from("x"), None, format!("{i}:{n}")));
                }
            },
            &mut sink,
        );
        let got: Vec<String> = sink.errors.iter().map(|e| e.message.clone()).collect();
        let want: Vec<String> = (0..4)
            .flat_map(|i| (0..1000).map(move |n| format!("{i}:{n}")))
            .collect();
        assert_eq!(got, want);
    }

    /// A slow engine: workers whose ranges fit their buffers wait for it instead
    /// of parsing the whole file ahead (memory bounded by the window, not the file).
    #[test]
    fn workers_stay_within_a_window_of_the_engine() {
        struct Slow<'a> {
            started: &'a AtomicUsize,
            workers: usize,
            seen: usize,
        }
        impl EventSink for Slow<'_> {
            fn event(&mut self, _: Event) {}
            fn error(&mut self, e: InputError) {
                let range: usize = e.message.split(':').next().unwrap().parse().unwrap();
                let started = self.started.load(Ordering::SeqCst);
                assert!(
                    started <= range + self.workers,
                    "range {started} started while range {range} was detected"
                );
                self.seen += 1;
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
        let started = AtomicUsize::new(0);
        let mut sink = Slow {
            started: &started,
            workers: 2,
            seen: 0,
        };
        feed_in_order(
            40,
            2,
            |i, s| {
                started.fetch_max(i, Ordering::SeqCst);
                for n in 0..5 {
                    s.error(InputError::new(&Arc::from("x"), None, format!("{i}:{n}")));
                }
            },
            &mut sink,
        );
        assert_eq!(sink.seen, 200);
    }

    /// An engine that panics does not leave workers waiting for it: the panic
    /// comes back to the caller, in bounded time.
    #[test]
    fn a_panicking_engine_lets_its_workers_go() {
        struct Panics;
        impl EventSink for Panics {
            fn event(&mut self, _: Event) {}
            fn error(&mut self, _: InputError) {
                panic!("engine failed");
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let run = std::panic::catch_unwind(|| {
                feed_in_order(
                    40,
                    2,
                    |i, s| {
                        for n in 0..600 {
                            s.error(InputError::new(&Arc::from("x"), None, format!("{i}:{n}")));
                        }
                    },
                    &mut Panics,
                );
            });
            let _ = tx.send(run.is_err());
        });
        let panicked = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("feed_in_order returned");
        assert!(panicked);
    }
}
