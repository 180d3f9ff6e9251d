//! One large file read as parallel ranges, detected as one stream: each range is
//! parsed on a thread of its own, and its events are fed to a single engine in file
//! order, so correlation state crosses range edges and `-j1` and `-jN` give the same
//! findings.
//!
//! Parsing is the cost (detection is a few per cent of it): ranges after the first
//! parse ahead into bounded buffers while the engine consumes the range before
//! them. The buffers hold at most [`AHEAD_EVENTS`] events in all, so memory stays
//! bounded whatever the file size; on a file with more events than that, a range
//! waits for the engine once its buffer is full.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::event::Event;
use crate::input::InputError;
use crate::sources::{EventSink, RangeSink};

/// Events parsed ahead, in all ranges together.
pub const AHEAD_EVENTS: usize = 256 * 1024;
/// Events handed over at once (one channel message).
const BATCH: usize = 256;

/// Most batches one range may have waiting for the engine.
const MAX_BATCHES_AHEAD: usize = 64;

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

/// Collects a range's output into batches for the engine's thread.
struct BatchSink<X> {
    batch: Vec<Item<X>>,
    tx: SyncSender<Vec<Item<X>>>,
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
}

impl<X> EventSink for BatchSink<X> {
    fn event(&mut self, event: Event) {
        self.push(Item::Event(event));
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

/// Runs `parse(i, sink)` for each of `ranges` ranges on threads of their own and
/// feeds what they produce to `engine`, range after range, in order.
pub fn feed_in_order<P>(ranges: usize, parse: P, engine: &mut dyn EventSink)
where
    P: Fn(usize, &mut dyn EventSink) + Sync,
{
    feed_in_order_with::<std::convert::Infallible, _, _>(
        ranges,
        |i, sink| parse(i, sink),
        engine,
        |never, _| match never {},
    );
}

/// [`feed_in_order`] for sources that defer part of their work to the engine's
/// thread: each deferred `X` is given to `finish`, with the engine, at its place in
/// file order among the events, so state that spans events (and so range edges)
/// evolves exactly as in a single read.
pub fn feed_in_order_with<X, P, F>(
    ranges: usize,
    parse: P,
    engine: &mut dyn EventSink,
    mut finish: F,
) where
    X: Send,
    P: Fn(usize, &mut dyn RangeSink<X>) + Sync,
    F: FnMut(X, &mut dyn EventSink),
{
    // A batch ends at BATCH events or at the end of a read block (`progress`): at
    // most 64 batches per range keeps what a range holds ahead near 64 read blocks
    // when its events are few but large (hostile JSON Lines of MiB-long command
    // lines), instead of AHEAD_EVENTS / BATCH blocks.
    let per_range = (AHEAD_EVENTS / ranges.max(1) / BATCH).clamp(1, MAX_BATCHES_AHEAD);
    std::thread::scope(|scope| {
        let parse = Arc::new(&parse);
        let receivers: Vec<Receiver<Vec<Item<X>>>> = (0..ranges)
            .map(|i| {
                let (tx, rx) = sync_channel(per_range);
                let parse = parse.clone();
                scope.spawn(move || {
                    let mut sink = BatchSink {
                        batch: Vec::with_capacity(BATCH),
                        tx,
                        closed: false,
                    };
                    parse(i, &mut sink);
                    sink.flush();
                });
                rx
            })
            .collect();
        for rx in receivers {
            for batch in rx {
                for item in batch {
                    match item {
                        Item::Event(e) => engine.event(e),
                        Item::Error(e) => engine.error(e),
                        Item::Progress(b) => engine.progress(b),
                        Item::Deferred(x) => finish(x, engine),
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::CollectingSink;

    /// Ranges that finish in any order still arrive in range order.
    #[test]
    fn ranges_are_delivered_in_order_whatever_their_speed() {
        let mut sink = CollectingSink::default();
        feed_in_order(
            4,
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
}
