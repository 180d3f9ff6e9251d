//! `sighunt stream`: detection on a Kafka log bus, scaled out by consumer groups.
//!
//! Each instance consumes its share of the input topics' partitions (the group
//! rebalances them as instances come and go), feeds each message's lines to a
//! per-partition parser and detector set, and writes each finding as a JSON message
//! (the `--format jsonl` fields plus a stable `id`) to the output topic, keyed by host.
//!
//! Delivery is at least once: a partition's offset is committed only up to the
//! oldest message something still depends on (an event not yet complete, a finding
//! held for amending evidence or not yet acknowledged by the broker). After a crash
//! or a rebalance the next owner reads again from there; the findings it makes again
//! carry the same `id` (a hash of the partition, the offset of the event's first
//! message, the detection type and the launch), so consumers can drop duplicates.
//!
//! Broker outages are reported with backoff and waited out (librdkafka reconnects,
//! findings queue, nothing is committed meanwhile); a message that cannot be read
//! (unknown format, a record a parser rejects, one that crashes a parser) is logged
//! with its topic, partition and offset and skipped.

pub mod partition;
mod start;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::output::escape_control;
use sighunt_core::engine::EngineOptions;
use sighunt_core::engine::hunt::HuntStats;
use sighunt_core::finding::Finding;
use sighunt_core::input::InputFormat;
use sighunt_core::rules::Rules;
use start::{StartCheck, Verdict};

pub use partition::{Outcome, Outgoing, PartitionOptions, PartitionState};

/// Largest finding message; longer command lines are cut to fit (the broker's
/// default `message.max.bytes` is 1 MB).
const MAX_FINDING_BYTES: usize = 900_000;

/// How often each partition's commit mark is computed.
const MARK_INTERVAL: Duration = Duration::from_millis(100);

/// What `sighunt stream` is asked to do.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// `host:port[,host:port…]`.
    pub brokers: String,
    pub input_topics: Vec<String>,
    pub output_topic: String,
    pub group: String,
    /// A format forced for every input topic.
    pub input_format: Option<InputFormat>,
    /// Formats forced per topic (over `input_format`).
    pub topic_formats: HashMap<String, InputFormat>,
    pub engine: EngineOptions,
    pub partition: PartitionOptions,
    /// How often settled offsets are committed.
    pub commit_interval: Duration,
    /// The group's session timeout: how long a silent instance keeps its partitions.
    pub session_timeout: Duration,
    /// Exit with an error once no broker has answered for this long.
    pub broker_timeout: Duration,
    /// Stop once no message has arrived for this long (batch re-processing, benchmarks).
    pub stop_after_idle: Option<Duration>,
    /// Extra librdkafka properties for both clients (`key`, `value`).
    pub kafka_options: Vec<(String, String)>,
}

impl StreamOptions {
    fn forced_format(&self, topic: &str) -> Option<InputFormat> {
        self.topic_formats.get(topic).copied().or(self.input_format)
    }
}

/// Parses `--input-format` values: `FORMAT` (every topic) or `TOPIC=FORMAT`.
pub fn parse_topic_format(s: &str) -> Result<(Option<String>, InputFormat), String> {
    match s.rsplit_once('=') {
        Some((topic, format)) if !topic.is_empty() => {
            Ok((Some(topic.to_string()), format.parse()?))
        }
        _ => Ok((None, s.parse()?)),
    }
}

/// Counters for the final summary.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    pub messages: u64,
    pub poison: u64,
    pub findings_sent: u64,
    pub findings_acknowledged: u64,
    /// Findings made again from messages re-read after a rebalance or a restart
    /// that an earlier owner had delivered, and so not sent again.
    pub findings_not_resent: u64,
    pub hunt: HuntStats,
    /// Unix milliseconds of the first and last message consumed.
    pub first_message_ms: Option<u128>,
    pub last_message_ms: Option<u128>,
}

impl StreamStats {
    /// The summary line printed on stderr at exit.
    pub fn summary(&self) -> String {
        let rate = match (self.first_message_ms, self.last_message_ms) {
            (Some(a), Some(b)) if b > a => {
                format!(
                    ", {:.0} messages/s",
                    self.messages as f64 * 1000.0 / (b - a) as f64
                )
            }
            _ => String::new(),
        };
        format!(
            "sighunt: stream: {} messages ({} skipped), {} events, {} findings sent ({} acknowledged, {} suppressed, {} made again and not resent), {} input errors{rate}; first message at {} ms, last at {} ms",
            self.messages,
            self.poison,
            self.hunt.events,
            self.findings_sent,
            self.findings_acknowledged,
            self.hunt.suppressed,
            self.findings_not_resent,
            self.hunt.input_errors,
            self.first_message_ms.unwrap_or(0),
            self.last_message_ms.unwrap_or(0),
        )
    }
}

/// The stable id of a finding ([`Finding::id`]).
pub fn finding_id(f: &Finding) -> String {
    f.id()
}

/// The finding as a message: its JSON Lines object (`id` first). Command lines
/// too long for a message are cut (marked with `…[cut N bytes]`); the message keeps
/// the id of the whole finding.
pub fn finding_message(f: &Finding) -> Vec<u8> {
    let id = finding_id(f);
    let encode = |f: &Finding| {
        let json = serde_json::to_string(f).unwrap_or_else(|_| "{}".into());
        // The serializer writes `{"id":"…",` first: the id of a cut copy is replaced
        // with the original's (hex ids contain no comma).
        let rest = json.find(',').map_or("}", |i| &json[i..]);
        format!("{{\"id\":\"{id}\"{rest}").into_bytes()
    };
    let out = encode(f);
    if out.len() <= MAX_FINDING_BYTES {
        return out;
    }
    let mut cut = f.clone();
    let budget = MAX_FINDING_BYTES / 4;
    for field in [&mut cut.command_line, &mut cut.nohup_args] {
        if field.len() > budget {
            let mut end = budget;
            while !field.is_char_boundary(end) {
                end -= 1;
            }
            let removed = field.len() - end;
            field.truncate(end);
            field.push_str(&format!("…[cut {removed} bytes]"));
        }
    }
    encode(&cut)
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// Reporting, with backoff
// ---------------------------------------------------------------------------------

/// Prints broker trouble on stderr without flooding it: the first report at once,
/// then at doubling intervals (up to a minute) while it lasts, and one line when it
/// is over.
#[derive(Default)]
struct Trouble {
    since: Option<Instant>,
    next_report: Option<Instant>,
    interval: Duration,
    last: String,
    suppressed: u64,
}

impl Trouble {
    fn report(&mut self, what: &str) {
        let now = Instant::now();
        if self.since.is_none() {
            self.since = Some(now);
            self.interval = Duration::from_secs(1);
        }
        self.last = what.to_string();
        if self.next_report.is_none_or(|t| now >= t) {
            let more = match self.suppressed {
                0 => String::new(),
                n => format!(" ({n} similar reports suppressed)"),
            };
            eprintln!(
                "sighunt: stream: kafka: {}; retrying (next report in {} s){more}",
                escape_control(what),
                self.interval.as_secs()
            );
            self.suppressed = 0;
            self.next_report = Some(now + self.interval);
            self.interval = (self.interval * 2).min(Duration::from_secs(60));
        } else {
            self.suppressed += 1;
        }
    }

    fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            eprintln!(
                "sighunt: stream: kafka: working again after {:.1} s (last error: {})",
                since.elapsed().as_secs_f64(),
                escape_control(&self.last)
            );
            self.next_report = None;
            self.suppressed = 0;
        }
    }
}

/// Logs skipped messages and bad records with their position, at most 20 a second.
#[derive(Default)]
struct PoisonLog {
    window: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl PoisonLog {
    fn log(&mut self, line: String) {
        let now = Instant::now();
        if self
            .window
            .is_none_or(|w| now.duration_since(w) >= Duration::from_secs(1))
        {
            if self.suppressed > 0 {
                eprintln!(
                    "sighunt: stream: ({} more skipped messages or bad records not shown)",
                    self.suppressed
                );
                self.suppressed = 0;
            }
            self.window = Some(now);
            self.in_window = 0;
        }
        self.in_window += 1;
        if self.in_window <= 20 {
            eprintln!("sighunt: stream: {}", escape_control(&line));
        } else {
            self.suppressed += 1;
        }
    }
}

// ---------------------------------------------------------------------------------
// Kafka clients
// ---------------------------------------------------------------------------------

/// What the client callbacks (run inside `poll`) hand to the main loop.
#[derive(Default)]
struct Shared {
    errors: Mutex<Vec<String>>,
    rebalances: Mutex<Vec<RebalanceEvent>>,
    deliveries: Mutex<Vec<DeliveryOutcome>>,
    commit_failures: Mutex<Vec<(String, i32, String)>>,
    /// Each partition's latest watermark, committed when the partition is revoked
    /// (inside the rebalance, before another instance starts reading it).
    watermarks: Mutex<HashMap<(String, i32), Mark>>,
    /// librdkafka's debug log was asked for: print all of its log.
    debug: bool,
}

/// What is committed for a partition: the offset to read again from, and (as the
/// commit's metadata) the offset below which every finding was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub offset: i64,
    pub delivered: i64,
}

/// The commit metadata's prefix.
const DELIVERED_PREFIX: &str = "sighunt:delivered=";

impl Mark {
    fn metadata(&self) -> String {
        format!("{DELIVERED_PREFIX}{}", self.delivered)
    }

    /// The delivered offset a commit's metadata names (none from other writers).
    pub fn delivered_from_metadata(metadata: &str) -> Option<i64> {
        metadata
            .strip_prefix(DELIVERED_PREFIX)?
            .parse()
            .ok()
            .filter(|d: &i64| *d >= 0)
    }

    /// Adds this mark to a commit.
    fn add_to(&self, tpl: &mut TopicPartitionList, topic: &str, partition: i32) -> bool {
        let mut e = tpl.add_partition(topic, partition);
        if e.set_offset(Offset::Offset(self.offset)).is_err() {
            return false;
        }
        e.set_metadata(self.metadata());
        true
    }
}

enum RebalanceEvent {
    Assign(Vec<(String, i32)>),
    Revoke(Vec<(String, i32)>),
}

/// Which partition state a sent finding belongs to.
struct Delivery {
    /// Identifies the partition state (a revoked and reassigned partition gets a
    /// new one, and late acknowledgements for the old one are ignored).
    token: u64,
    floor_offset: i64,
    position_offset: i64,
}

enum DeliveryOutcome {
    Delivered(Delivery),
    Failed {
        delivery: Delivery,
        error: String,
        key: Option<Vec<u8>>,
        payload: Vec<u8>,
    },
}

struct Ctx(Arc<Shared>);

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        if self.0.debug {
            // `--kafka-option debug=…` asked for librdkafka's own log.
            eprintln!(
                "sighunt: stream: librdkafka: {fac}: {}",
                escape_control(message)
            );
            return;
        }
        if matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
        ) {
            if let Ok(mut e) = self.0.errors.lock() {
                e.push(format!("{fac}: {message}"));
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let Ok(mut e) = self.0.errors.lock() {
            e.push(format!("{error}: {reason}"));
        }
    }
}

impl Ctx {
    /// Commits what is settled of partitions being taken away, so that their next
    /// owner re-reads as little as possible.
    fn commit_revoked(&self, consumer: &BaseConsumer<Self>, parts: &[(String, i32)]) {
        let Ok(marks) = self.0.watermarks.lock() else {
            return;
        };
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            if let Some(mark) = marks.get(p) {
                mark.add_to(&mut tpl, &p.0, p.1);
            }
        }
        drop(marks);
        if tpl.count() > 0 {
            if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                if let Ok(mut v) = self.0.errors.lock() {
                    v.push(format!("commit at revocation failed: {e}"));
                }
            }
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let event = match rebalance {
            Rebalance::Assign(tpl) => RebalanceEvent::Assign(partitions_of(tpl)),
            Rebalance::Revoke(tpl) => {
                let parts = partitions_of(tpl);
                self.commit_revoked(consumer, &parts);
                RebalanceEvent::Revoke(parts)
            }
            Rebalance::Error(e) => {
                if let Ok(mut v) = self.0.errors.lock() {
                    v.push(format!("rebalance: {e}"));
                }
                return;
            }
        };
        if let Ok(mut v) = self.0.rebalances.lock() {
            v.push(event);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let failed: Vec<(String, i32, String)> = match result {
            Ok(()) => offsets
                .elements()
                .iter()
                .filter_map(|e| {
                    e.error()
                        .err()
                        .map(|err| (e.topic().to_string(), e.partition(), err.to_string()))
                })
                .collect(),
            Err(err) => offsets
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition(), err.to_string()))
                .collect(),
        };
        if !failed.is_empty() {
            if let Ok(mut v) = self.0.commit_failures.lock() {
                v.extend(failed);
            }
        }
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Box<Delivery>) {
        let outcome = match result {
            Ok(_) => DeliveryOutcome::Delivered(*delivery),
            Err((error, message)) => DeliveryOutcome::Failed {
                delivery: *delivery,
                error: error.to_string(),
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            },
        };
        if let Ok(mut v) = self.0.deliveries.lock() {
            v.push(outcome);
        }
    }
}

fn client_config(options: &StreamOptions) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &options.brokers)
        .set("client.id", "sighunt")
        .set("reconnect.backoff.ms", "200")
        .set("reconnect.backoff.max.ms", "10000")
        .set_log_level(if options.kafka_options.iter().any(|(k, _)| k == "debug") {
            RDKafkaLogLevel::Debug
        } else {
            RDKafkaLogLevel::Error
        });
    config
}

// ---------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------

/// What one consumer poll returned, owned (the message borrows the consumer).
enum Polled {
    Message {
        topic: String,
        partition: i32,
        offset: i64,
        payload: Option<Vec<u8>>,
    },
    Error(String),
    Nothing,
}

/// A finding to send again after a failed delivery.
struct Retry {
    at: Instant,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    delivery: Delivery,
}

struct Runner<'a> {
    options: &'a StreamOptions,
    rules: &'a Rules,
    consumer: BaseConsumer<Ctx>,
    producer: BaseProducer<Ctx>,
    shared: Arc<Shared>,
    states: HashMap<(Arc<str>, i32), PartitionState>,
    assigned: HashSet<(String, i32)>,
    next_token: u64,
    tokens: HashMap<u64, (Arc<str>, i32)>,
    /// Per assigned partition, the offset below which an earlier owner delivered
    /// every finding (from the committed metadata).
    delivered_before: HashMap<(String, i32), i64>,
    /// Per assigned partition not read yet, where its reading must begin: the
    /// offset committed when it was assigned.
    starts: HashMap<(String, i32), StartCheck>,
    retries: Vec<Retry>,
    trouble: Trouble,
    poison_log: PoisonLog,
    stats: StreamStats,
    last_commit: Instant,
    last_marks: Instant,
    /// Since when no broker is known to answer (from the start until the first
    /// answer, and from a client error until a probe gets one).
    unreachable_since: Option<Instant>,
    next_probe: Instant,
}

/// Runs until `stop` is set (SIGINT/SIGTERM), or until no message arrived for
/// `stop_after_idle`. Unreachable brokers are not an error: they are reported and
/// waited for. Returns the counters; an error only for a configuration librdkafka
/// refuses.
pub fn run(
    options: &StreamOptions,
    rules: &Rules,
    stop: &AtomicBool,
) -> anyhow::Result<StreamStats> {
    let shared = Arc::new(Shared {
        debug: options.kafka_options.iter().any(|(k, _)| k == "debug"),
        ..Shared::default()
    });
    let mut consumer_config = client_config(options);
    consumer_config
        .set("group.id", &options.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // Incremental rebalancing: instances keep reading the partitions they keep
        // while others move.
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set(
            "session.timeout.ms",
            options.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (options.session_timeout.as_millis() / 3)
                .max(100)
                .to_string(),
        );
    let mut producer_config = client_config(options);
    producer_config
        // Retried until delivered: a finding is never given up on.
        .set("message.timeout.ms", "0")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.max.bytes", "1000000");
    for (k, v) in &options.kafka_options {
        consumer_config.set(k, v);
        producer_config.set(k, v);
    }
    let consumer: BaseConsumer<Ctx> = consumer_config
        .create_with_context(Ctx(shared.clone()))
        .map_err(|e| anyhow::anyhow!("cannot create the Kafka consumer: {e}"))?;
    let producer: BaseProducer<Ctx> = producer_config
        .create_with_context(Ctx(shared.clone()))
        .map_err(|e| anyhow::anyhow!("cannot create the Kafka producer: {e}"))?;
    let topics: Vec<&str> = options.input_topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {}: {e}", topics.join(", ")))?;
    let mut runner = Runner {
        options,
        rules,
        consumer,
        producer,
        shared,
        states: HashMap::new(),
        assigned: HashSet::new(),
        next_token: 1,
        tokens: HashMap::new(),
        delivered_before: HashMap::new(),
        starts: HashMap::new(),
        retries: Vec::new(),
        trouble: Trouble::default(),
        poison_log: PoisonLog::default(),
        stats: StreamStats::default(),
        last_commit: Instant::now(),
        last_marks: Instant::now(),
        unreachable_since: Some(Instant::now()),
        next_probe: Instant::now(),
    };
    runner.run(stop)?;
    Ok(runner.stats)
}

impl Runner<'_> {
    fn run(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        let mut last_tick = Instant::now();
        let mut last_message = Instant::now();
        let mut got_any = false;
        while !stop.load(Ordering::SeqCst) {
            let polled = match self.consumer.poll(Duration::from_millis(50)) {
                Some(Ok(m)) => Polled::Message {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    offset: m.offset(),
                    payload: m.payload().map(<[u8]>::to_vec),
                },
                Some(Err(e)) => Polled::Error(e.to_string()),
                None => Polled::Nothing,
            };
            self.apply_rebalances()?;
            let idle = matches!(polled, Polled::Nothing);
            match polled {
                Polled::Message {
                    topic,
                    partition,
                    offset,
                    payload,
                } => {
                    last_message = Instant::now();
                    got_any = true;
                    self.trouble.recovered();
                    self.handle(&topic, partition, offset, payload.as_deref())?;
                }
                Polled::Error(e) => self.trouble.report(&e),
                Polled::Nothing => {}
            }
            let now = Instant::now();
            if now.duration_since(last_tick) >= Duration::from_millis(50) || idle {
                last_tick = now;
                self.tick(now)?;
            }
            if let Some(idle) = self.options.stop_after_idle {
                if got_any && now.duration_since(last_message) >= idle {
                    break;
                }
            }
        }
        self.shutdown()
    }

    fn apply_rebalances(&mut self) -> anyhow::Result<()> {
        let events = std::mem::take(
            &mut *self
                .shared
                .rebalances
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for event in events {
            match event {
                RebalanceEvent::Assign(parts) => {
                    let what = describe(&parts);
                    for (topic, partition) in &parts {
                        // A partition starts afresh at its committed offset: no
                        // state from an earlier assignment may mix in.
                        if let Some(state) =
                            self.states.remove(&(Arc::from(topic.as_str()), *partition))
                        {
                            self.absorb_stats(&state);
                        }
                        if let Ok(mut marks) = self.shared.watermarks.lock() {
                            marks.remove(&(topic.clone(), *partition));
                        }
                    }
                    self.tokens.retain(|_, k| self.states.contains_key(k));
                    self.read_delivered(&parts);
                    self.assigned.extend(parts);
                    let now: Vec<(String, i32)> = self.assigned.iter().cloned().collect();
                    eprintln!(
                        "sighunt: stream: assigned {what}; reading {}",
                        describe(&now)
                    );
                }
                RebalanceEvent::Revoke(parts) => {
                    let what = describe(&parts);
                    for (topic, partition) in &parts {
                        self.assigned.remove(&(topic.clone(), *partition));
                    }
                    let now: Vec<(String, i32)> = self.assigned.iter().cloned().collect();
                    eprintln!(
                        "sighunt: stream: revoked {what}; reading {}",
                        describe(&now)
                    );
                    if let Ok(mut marks) = self.shared.watermarks.lock() {
                        for p in &parts {
                            marks.remove(p);
                        }
                    }
                    for (topic, partition) in parts {
                        self.delivered_before.remove(&(topic.clone(), partition));
                        self.starts.remove(&(topic.clone(), partition));
                        // What was not committed is read again by the next owner.
                        let key = (Arc::from(topic.as_str()), partition);
                        if let Some(state) = self.states.remove(&key) {
                            self.absorb_stats(&state);
                        }
                    }
                    self.tokens.retain(|_, k| self.states.contains_key(k));
                }
            }
        }
        Ok(())
    }

    /// Reads, from the committed metadata of newly assigned partitions, below which
    /// offset their earlier owner delivered every finding. Without it (a first
    /// start, an unreachable coordinator) findings made again are sent again.
    fn read_delivered(&mut self, parts: &[(String, i32)]) {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition) in parts {
            tpl.add_partition(topic, *partition);
            self.delivered_before.remove(&(topic.clone(), *partition));
            self.starts.remove(&(topic.clone(), *partition));
        }
        let committed = match self
            .consumer
            .committed_offsets(tpl, Duration::from_secs(10))
        {
            Ok(c) => c,
            Err(e) => {
                self.trouble.report(&format!(
                    "cannot read the committed offsets of {}: {e}; findings made again will be sent again",
                    describe(parts)
                ));
                return;
            }
        };
        for e in committed.elements() {
            // The metadata is whatever the last committer wrote: not trusted to be
            // UTF-8 (the client library panics on that).
            let metadata = std::panic::catch_unwind(AssertUnwindSafe(|| e.metadata().to_string()))
                .unwrap_or_default();
            if let Offset::Offset(o) = e.offset() {
                eprintln!(
                    "sighunt: stream: {}/{}: committed offset {o}",
                    escape_control(e.topic()),
                    e.partition()
                );
                self.starts
                    .insert((e.topic().to_string(), e.partition()), StartCheck::new(o));
            }
            if let Some(d) = Mark::delivered_from_metadata(&metadata) {
                self.delivered_before
                    .insert((e.topic().to_string(), e.partition()), d);
            }
        }
    }

    fn absorb_stats(&mut self, state: &PartitionState) {
        self.stats.hunt.add(state.stats());
        self.stats.findings_not_resent += state.not_resent;
    }

    fn state(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> anyhow::Result<&mut PartitionState> {
        let key: (Arc<str>, i32) = (Arc::from(topic), partition);
        if !self.states.contains_key(&key) {
            eprintln!(
                "sighunt: stream: {}/{partition}: reading from offset {offset}",
                escape_control(topic)
            );
            let state = PartitionState::new(
                key.0.clone(),
                partition,
                self.options.forced_format(topic),
                self.rules,
                self.options.engine.clone(),
                self.options.partition.clone(),
            )?;
            let mut state = state;
            state.delivered_before = self
                .delivered_before
                .get(&(topic.to_string(), partition))
                .copied();
            let token = self.next_token;
            self.next_token += 1;
            self.tokens.insert(token, key.clone());
            self.states.insert(key.clone(), state);
        }
        Ok(self.states.get_mut(&key).expect("inserted above"))
    }

    /// Whether a message of an assigned partition is read: until its reading has
    /// begun, only from the committed offset on, seeking back if the broker
    /// answered from further on (see [`start`]).
    fn begins_here(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        if self.starts.is_empty() {
            // Every assigned partition has begun: no key built per message.
            return true;
        }
        let p = (topic.to_string(), partition);
        let Some(check) = self.starts.get_mut(&p) else {
            return true;
        };
        match check.message(offset) {
            Verdict::Start => {
                let committed = check.committed();
                self.starts.remove(&p);
                if offset > committed {
                    eprintln!(
                        "sighunt: stream: {}/{partition}: the broker serves nothing from the committed offset {committed} on before offset {offset}; reading from there (evidence in offsets {committed} to {} is missing)",
                        escape_control(topic),
                        offset - 1
                    );
                }
                true
            }
            Verdict::Skip => false,
            Verdict::SeekTo(target) => {
                eprintln!(
                    "sighunt: stream: {}/{partition}: the broker answered a fetch from the committed offset {} with offset {offset} (it skipped the rest of a record batch); reading again from offset {target}",
                    escape_control(topic),
                    check.committed()
                );
                if let Err(e) = self.consumer.seek(
                    topic,
                    partition,
                    Offset::Offset(target),
                    Duration::from_secs(5),
                ) {
                    eprintln!(
                        "sighunt: stream: seek of {}/{partition}: {}",
                        escape_control(topic),
                        escape_control(&e.to_string())
                    );
                }
                false
            }
        }
    }

    fn token_of(&self, topic: &Arc<str>, partition: i32) -> u64 {
        self.tokens
            .iter()
            .find(|(_, k)| k.0 == *topic && k.1 == partition)
            .map_or(0, |(t, _)| *t)
    }

    fn handle(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        payload: Option<&[u8]>,
    ) -> anyhow::Result<()> {
        if !self.assigned.contains(&(topic.to_string(), partition)) {
            // A message of a partition being revoked: its next owner reads it.
            return Ok(());
        }
        if !self.begins_here(topic, partition, offset) {
            return Ok(());
        }
        let now_ms = unix_ms();
        self.stats.first_message_ms.get_or_insert(now_ms);
        self.stats.last_message_ms = Some(now_ms);
        self.stats.messages += 1;
        let state = self.state(topic, partition, offset)?;
        let outcome = state.handle(offset, payload);
        let errors = state.take_errors();
        let name = state.name.clone();
        let ready = state.release_settled();
        self.send_all(&(Arc::from(topic), partition), ready);
        if let Outcome::Poison(reason) = &outcome {
            self.stats.poison += 1;
            self.poison_log
                .log(format!("{name} offset {offset}: message skipped: {reason}"));
        }
        for e in errors {
            self.poison_log.log(format!(
                "{name} offset {offset}: {}{}",
                e.location.map(|l| format!("({l}) ")).unwrap_or_default(),
                e.message
            ));
        }
        Ok(())
    }

    /// Periodic work: flushes, sends ready findings, handles acknowledgements,
    /// commits, reports trouble.
    fn tick(&mut self, now: Instant) -> anyhow::Result<()> {
        let keys: Vec<(Arc<str>, i32)> = self.states.keys().cloned().collect();
        for key in keys {
            let out = match self.states.get_mut(&key) {
                Some(s) => s.tick(now),
                None => continue,
            };
            self.send_all(&key, out);
        }
        self.service_producer(Duration::ZERO);
        self.resend_due(now);
        // Kept fresh for a revocation, which commits them from inside `poll` (a
        // mark a little old is only lower: safe). Computing one scans the
        // correlation state, hence not at every tick.
        if now.duration_since(self.last_marks) >= MARK_INTERVAL {
            self.last_marks = now;
            self.update_watermarks();
        }
        if now.duration_since(self.last_commit) >= self.options.commit_interval {
            self.last_commit = now;
            self.commit(CommitMode::Async);
        }
        let errors =
            std::mem::take(&mut *self.shared.errors.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(last) = errors.last() {
            self.trouble.report(last);
            self.unreachable_since.get_or_insert(now);
        }
        self.check_brokers(now)?;
        let failures = std::mem::take(
            &mut *self
                .shared
                .commit_failures
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for (topic, partition, error) in failures {
            self.trouble
                .report(&format!("commit of {topic}/{partition} failed: {error}"));
            // Ask again at the next commit.
            if let Some(s) = self.states.get_mut(&(Arc::from(topic.as_str()), partition)) {
                s.committed = None;
            }
        }
        Ok(())
    }

    /// While the brokers may be unreachable, asks one for metadata now and then;
    /// fails once none has answered for `--broker-timeout-secs`.
    fn check_brokers(&mut self, now: Instant) -> anyhow::Result<()> {
        let Some(since) = self.unreachable_since else {
            return Ok(());
        };
        if now < self.next_probe {
            return Ok(());
        }
        match self
            .consumer
            .fetch_metadata(None, Duration::from_millis(500))
        {
            Ok(_) => {
                self.unreachable_since = None;
                Ok(())
            }
            Err(e) => {
                let down = Instant::now().duration_since(since);
                if down >= self.options.broker_timeout {
                    anyhow::bail!(
                        "no Kafka broker of {} answered for {:.0} s (last error: {}); giving up (--broker-timeout-secs); offsets not committed are read again at the next start",
                        escape_control(&self.options.brokers),
                        down.as_secs_f64(),
                        escape_control(&e.to_string())
                    );
                }
                self.trouble.report(&format!("no broker answers: {e}"));
                self.next_probe = Instant::now() + Duration::from_secs(1);
                Ok(())
            }
        }
    }

    fn send_all(&mut self, key: &(Arc<str>, i32), out: Vec<Outgoing>) {
        if out.is_empty() {
            return;
        }
        let token = self.token_of(&key.0, key.1);
        for o in out {
            let payload = finding_message(&o.finding);
            let msg_key = (!o.finding.host.is_empty()).then(|| o.finding.host.clone().into_bytes());
            if let Some(s) = self.states.get_mut(key) {
                s.sent(o.floor_offset, o.position_offset);
            }
            self.stats.findings_sent += 1;
            self.send(
                msg_key,
                payload,
                Delivery {
                    token,
                    floor_offset: o.floor_offset,
                    position_offset: o.position_offset,
                },
            );
        }
    }

    /// Hands one finding to the producer, waiting (and reporting) while its queue is
    /// full.
    fn send(&mut self, key: Option<Vec<u8>>, payload: Vec<u8>, delivery: Delivery) {
        let mut opaque = Box::new(delivery);
        loop {
            let mut record =
                BaseRecord::with_opaque_to(&self.options.output_topic, opaque).payload(&payload);
            if let Some(k) = &key {
                record = record.key(k);
            }
            match self.producer.send::<Vec<u8>, Vec<u8>>(record) {
                Ok(()) => return,
                Err((e, record)) => {
                    opaque = record.delivery_opaque;
                    if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) {
                        self.trouble
                            .report("the producer queue is full (broker slow or unreachable)");
                    } else {
                        self.trouble.report(&format!("cannot queue a finding: {e}"));
                    }
                    self.service_producer(Duration::from_millis(100));
                }
            }
        }
    }

    /// Lets the producer deliver and reports what it acknowledged or failed.
    fn service_producer(&mut self, wait: Duration) {
        self.producer.poll(wait);
        let outcomes = std::mem::take(
            &mut *self
                .shared
                .deliveries
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for outcome in outcomes {
            match outcome {
                DeliveryOutcome::Delivered(d) => {
                    self.stats.findings_acknowledged += 1;
                    self.trouble.recovered();
                    if let Some(key) = self.tokens.get(&d.token) {
                        if let Some(s) = self.states.get_mut(key) {
                            s.acknowledged(d.floor_offset, d.position_offset);
                        }
                    }
                }
                DeliveryOutcome::Failed {
                    delivery,
                    error,
                    key,
                    payload,
                } => {
                    self.trouble.report(&format!(
                        "a finding was not delivered ({error}); sending it again"
                    ));
                    self.retries.push(Retry {
                        at: Instant::now() + Duration::from_secs(1),
                        key,
                        payload,
                        delivery,
                    });
                }
            }
        }
    }

    fn resend_due(&mut self, now: Instant) {
        if self.retries.iter().all(|r| r.at > now) {
            return;
        }
        let (due, later): (Vec<Retry>, Vec<Retry>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|r| r.at <= now);
        self.retries = later;
        for r in due {
            self.send(r.key, r.payload, r.delivery);
        }
    }

    /// Publishes each partition's watermark for the revocation callback.
    fn update_watermarks(&mut self) {
        let mut marks = self
            .shared
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for ((topic, partition), state) in &mut self.states {
            if let Some(mark) = state.mark() {
                marks.insert((topic.to_string(), *partition), mark);
            }
        }
    }

    /// Commits each partition's watermark where it moved.
    fn commit(&mut self, mode: CommitMode) {
        let mut tpl = TopicPartitionList::new();
        let mut any = false;
        let mut marks = self
            .shared
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for ((topic, partition), state) in &mut self.states {
            let Some(mark) = state.mark() else {
                continue;
            };
            marks.insert((topic.to_string(), *partition), mark);
            if state.committed == Some(mark) {
                continue;
            }
            if mark.add_to(&mut tpl, topic, *partition) {
                state.committed = Some(mark);
                any = true;
            }
        }
        drop(marks);
        if any {
            if let Err(e) = self.consumer.commit(&tpl, mode) {
                self.trouble.report(&format!("commit failed: {e}"));
                for state in self.states.values_mut() {
                    state.committed = None;
                }
            }
        }
    }

    /// Clean stop: held findings are released and delivered, settled offsets
    /// committed, the group left. Events still incomplete are read again by the next
    /// owner.
    fn shutdown(&mut self) -> anyhow::Result<()> {
        let keys: Vec<(Arc<str>, i32)> = self.states.keys().cloned().collect();
        for key in keys {
            let out = match self.states.get_mut(&key) {
                Some(s) => s.release_all(),
                None => continue,
            };
            self.send_all(&key, out);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.service_producer(Duration::from_millis(100));
            let now = Instant::now();
            self.resend_due(now);
            let waiting = self
                .states
                .values()
                .map(PartitionState::unacknowledged)
                .sum::<usize>()
                + self.retries.len();
            if waiting == 0 {
                break;
            }
            if now >= deadline {
                eprintln!(
                    "sighunt: stream: {waiting} findings not acknowledged after 30 s; their offsets stay uncommitted (they will be produced again)"
                );
                break;
            }
        }
        self.commit(CommitMode::Sync);
        let states: Vec<PartitionState> = self.states.drain().map(|(_, s)| s).collect();
        for s in &states {
            self.absorb_stats(s);
        }
        // Leave the group now (the revocation commits once more), so that the
        // partitions move to the other instances at once, not after the session
        // timeout.
        self.consumer.unsubscribe();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.assigned.is_empty() && Instant::now() < deadline {
            let _ = self.consumer.poll(Duration::from_millis(100));
            self.apply_rebalances()?;
        }
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// `sighunt stream`'s options.
#[derive(clap::Args, Debug)]
pub struct StreamArgs {
    /// Kafka bootstrap brokers, `HOST:PORT[,HOST:PORT…]`.
    #[arg(long, value_name = "HOST:PORT")]
    pub brokers: String,

    /// Topic of raw log lines or JSON events to read (repeatable). Producers must key
    /// each message by its host, so that one host's messages stay in one partition.
    #[arg(long = "input-topic", required = true, value_name = "TOPIC")]
    pub input_topics: Vec<String>,

    /// Topic the findings are written to (JSON, keyed by host).
    #[arg(long, value_name = "TOPIC")]
    pub output_topic: String,

    /// Consumer group: instances with the same group share the partitions.
    #[arg(long, value_name = "GROUP")]
    pub group: String,

    /// Read messages as this format instead of sniffing each one: `FORMAT` for every
    /// input topic, `TOPIC=FORMAT` for one (repeatable).
    #[arg(long = "input-format", value_name = "[TOPIC=]FORMAT", value_parser = parse_topic_format)]
    pub input_format: Vec<(Option<String>, InputFormat)>,

    /// Report only findings of at least this severity.
    #[arg(long, default_value = "informational", value_name = "SEVERITY")]
    pub min_severity: sighunt_core::finding::Severity,

    /// A rule file merged over the defaults and the configuration files (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<std::path::PathBuf>,

    /// Do not read /etc/sighunt/rules.toml or the user's configuration file.
    #[arg(long)]
    pub no_config: bool,

    /// How far (ms of log time) its host's log must move past a finding before it
    /// leaves, so that evidence amending it is read first. It also leaves after 10 s
    /// more, or when its partition has had no message for 3 s.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub hold_ms: u64,

    /// How often (ms) settled offsets are committed.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub commit_interval_ms: u64,

    /// Consumer group session timeout (ms): how soon the partitions of an instance
    /// that died move to the others.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub session_timeout_ms: u64,

    /// Exit with an error (status 2) once no broker has answered for this many
    /// seconds, at start or later; a supervisor restarts it, and it reads again from
    /// the committed offsets.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub broker_timeout_secs: f64,

    /// Exit (cleanly: findings delivered, offsets committed) once no message has
    /// arrived for this many seconds, e.g. to re-process a backlog.
    #[arg(long, value_name = "SECONDS")]
    pub stop_after_idle: Option<f64>,

    /// An extra librdkafka property for both clients (repeatable), e.g.
    /// `--kafka-option fetch.max.bytes=10485760`.
    #[arg(long = "kafka-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub kafka_options: Vec<(String, String)>,

    /// Do not print the summary line on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The stream's hold: `window_ms` of the host's log time, 10 s more of wall clock
/// at most.
pub fn log_time_hold(window_ms: u64) -> sighunt_core::engine::Hold {
    let window = Duration::from_millis(window_ms);
    sighunt_core::engine::Hold::LogTime {
        window: chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::seconds(2)),
        max_wall: window + Duration::from_secs(10),
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, not {s:?}"))
}

/// Runs `sighunt stream` from its command line.
pub fn run_cli(args: StreamArgs) -> anyhow::Result<std::process::ExitCode> {
    let rules = Rules::load(&sighunt_core::rules::LoadOptions {
        files: args.rules.clone(),
        config: !args.no_config,
    })?;
    sighunt_core::engine::validate_rules(&rules)?;
    let allowlist = sighunt_core::allowlist::AllowList::from_rules(&rules, chrono::Utc::now())?;
    for w in &allowlist.warnings {
        eprintln!("sighunt: warning: {}", escape_control(w));
    }
    let mut input_format = None;
    let mut topic_formats = HashMap::new();
    for (topic, format) in &args.input_format {
        match topic {
            Some(t) => {
                topic_formats.insert(t.clone(), *format);
            }
            None => input_format = Some(*format),
        }
    }
    let stop_after_idle = match args.stop_after_idle {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => anyhow::bail!("--stop-after-idle must be a positive number of seconds, not {s}"),
        None => None,
    };
    let broker_timeout = match args.broker_timeout_secs {
        s if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
        s => anyhow::bail!("--broker-timeout-secs must be a positive number of seconds, not {s}"),
    };
    let options = StreamOptions {
        brokers: args.brokers.clone(),
        input_topics: args.input_topics.clone(),
        output_topic: args.output_topic.clone(),
        group: args.group.clone(),
        input_format,
        topic_formats,
        engine: EngineOptions {
            min_severity: args.min_severity,
            allowlist,
            hold: log_time_hold(args.hold_ms),
            keep_suppressed: false,
        },
        partition: PartitionOptions::default(),
        commit_interval: Duration::from_millis(args.commit_interval_ms.max(10)),
        session_timeout: Duration::from_millis(args.session_timeout_ms),
        broker_timeout,
        stop_after_idle,
        kafka_options: args.kafka_options.clone(),
    };
    let stop = crate::signals::install_signal_handlers();
    let stats = run(&options, &rules, stop)?;
    if !args.quiet {
        eprintln!("{}", stats.summary());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn describe(parts: &[(String, i32)]) -> String {
    if parts.is_empty() {
        return "no partitions".into();
    }
    let mut v: Vec<String> = parts.iter().map(|(t, p)| format!("{t}/{p}")).collect();
    v.sort();
    v.join(", ")
}

#[cfg(test)]
mod tests;
