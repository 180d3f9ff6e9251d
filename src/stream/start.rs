//! Where a newly assigned partition's reading begins: at its committed offset, the
//! watermark from which reading again rebuilds every finding's evidence.
//!
//! A Kafka broker answers a fetch from an offset inside a record batch with that
//! whole batch, and the client drops the records before the offset. Some brokers do
//! not: tansu 0.6.0 answers with the first batch that *starts* at or after the
//! offset, so the records from the committed offset to the end of its batch never
//! arrive (seen in the stream's fault-injection test: committed 2, first message 69;
//! committed 24, first message 46). Reading from there loses the evidence in them
//! (a `chmod +x` before a `nohup`), and a finding made again differs from its first
//! copy. So the first message after an assignment is checked: past the committed
//! offset, the reader seeks further back, skips what lies before the committed
//! offset, and starts there; on a broker that serves batches as Kafka does, the
//! first message is the committed one and nothing changes.

/// How far before the committed offset the first seek goes; each further seek goes
/// this many times further.
const FIRST_STEP: i64 = 512;
const STEP_GROWTH: i64 = 8;
/// Seeks before reading starts wherever the broker serves from (a log whose start
/// was deleted past the committed offset, a broker that never serves it).
const MAX_SEEKS: u32 = 4;

/// What to do with a message of a partition whose reading has not begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Reading begins with this message.
    Start,
    /// Before the committed offset: read again only to reach it, dropped.
    Skip,
    /// The broker skipped past the committed offset: drop this message and seek to
    /// this offset.
    SeekTo(i64),
}

/// The start of one assigned partition's reading, until its first message is read.
#[derive(Debug)]
pub(super) struct StartCheck {
    committed: i64,
    /// How far before `committed` the next seek goes.
    step: i64,
    seeks: u32,
    /// A message before the committed offset arrived: the broker serves from there
    /// on, and the first message at or past it starts reading (past it when the
    /// committed offset holds no message: a compacted record, a transaction marker).
    reached: bool,
    /// The last seek went to offset 0: there is nothing earlier to ask for.
    sought_to_start: bool,
}

impl StartCheck {
    pub(super) fn new(committed: i64) -> Self {
        StartCheck {
            committed: committed.max(0),
            step: FIRST_STEP,
            seeks: 0,
            reached: false,
            sought_to_start: false,
        }
    }

    pub(super) fn committed(&self) -> i64 {
        self.committed
    }

    /// The fate of the next message of the partition, at `offset`.
    pub(super) fn message(&mut self, offset: i64) -> Verdict {
        if offset < self.committed {
            self.reached = true;
            return Verdict::Skip;
        }
        if offset == self.committed
            || self.reached
            || self.sought_to_start
            || self.seeks >= MAX_SEEKS
        {
            return Verdict::Start;
        }
        let target = self.committed.saturating_sub(self.step).max(0);
        self.sought_to_start = target == 0;
        self.seeks += 1;
        self.step = self.step.saturating_mul(STEP_GROWTH);
        Verdict::SeekTo(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_that_serves_the_committed_offset_starts_there() {
        let mut c = StartCheck::new(40);
        assert_eq!(c.message(40), Verdict::Start);
    }

    #[test]
    fn a_broker_that_serves_the_next_batch_is_asked_again_from_further_back() {
        // Batches of 23 messages: committed 24 (inside the batch 23..=45), the
        // broker answers with 46.
        let mut c = StartCheck::new(24);
        assert_eq!(c.message(46), Verdict::SeekTo(0));
        for offset in 0..24 {
            assert_eq!(c.message(offset), Verdict::Skip, "{offset}");
        }
        assert_eq!(c.message(24), Verdict::Start);
    }

    #[test]
    fn each_seek_goes_further_back_and_their_number_is_bounded() {
        let committed = 100_000;
        let mut c = StartCheck::new(committed);
        let mut targets = Vec::new();
        loop {
            match c.message(committed + 7) {
                Verdict::SeekTo(t) => targets.push(t),
                Verdict::Start => break,
                Verdict::Skip => panic!("past the committed offset is never skipped"),
            }
        }
        assert_eq!(targets, [99_488, 95_904, 67_232, 0]);
    }

    #[test]
    fn a_committed_offset_without_a_message_starts_at_the_next_one() {
        // A transaction marker at 30: after the seek, 29 then 31 arrive.
        let mut c = StartCheck::new(30);
        assert_eq!(c.message(31), Verdict::SeekTo(0));
        assert_eq!(c.message(29), Verdict::Skip);
        assert_eq!(c.message(31), Verdict::Start);
    }

    #[test]
    fn a_log_deleted_past_the_committed_offset_starts_where_it_begins() {
        // Retention deleted everything below 5000: each seek is answered from 5000.
        let mut c = StartCheck::new(300);
        assert_eq!(c.message(5000), Verdict::SeekTo(0));
        assert_eq!(c.message(5000), Verdict::Start);
    }
}
