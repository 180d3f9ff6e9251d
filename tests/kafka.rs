//! `sighunt stream` against a real Kafka-protocol broker (`tansu`, on loopback).
//!
//! A mixed log stream (real kernel audit records of the T1564.011 scenarios from
//! several hosts, raw and enriched, one record per message; benign syslog and
//! Windows JSON events from the corpus when it is present; a few poison messages)
//! is produced, keyed by host, to a 4-partition topic while two `sighunt stream`
//! instances of one consumer group read it. One instance is killed (SIGKILL)
//! mid-stream; the other takes its partitions over. Every finding a plain hunt of
//! each host's log makes must arrive on the output topic, none lost; duplicates
//! (from re-processing after the kill) carry the same `id`; nothing else arrives.
//!
//! The broker: `SIGHUNT_KAFKA_BROKERS=host:port` if set (CI may start one, see
//! `scripts/ci-kafka.sh`), else a `tansu` found on PATH is started on a free port.
//! Without either the test is skipped, or fails under `SIGHUNT_REQUIRE_KAFKA_TESTS=1`.

#![cfg(feature = "kafka")]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::future::Future;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use common::{brief, str_field};

const REQUIRE: &str = "SIGHUNT_REQUIRE_KAFKA_TESTS";
const PARTITIONS: i32 = 4;

// ---------------------------------------------------------------------------------
// The broker
// ---------------------------------------------------------------------------------

struct Broker {
    address: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The broker to test against, or why there is none.
fn broker(dir: &Path) -> Result<Broker, String> {
    let log = dir.join("broker.log");
    if let Ok(address) = std::env::var("SIGHUNT_KAFKA_BROKERS") {
        return Ok(Broker {
            address,
            child: None,
            log,
        });
    }
    let tansu = common::which("tansu")
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            let p = PathBuf::from(home).join(".cargo/bin/tansu");
            p.exists().then_some(p)
        })
        .ok_or("`tansu` not found on PATH (scripts/ci-kafka.sh installs it: cargo install tansu --features dynostore)")?;
    let port = free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let out = File::create(&log).map_err(|e| e.to_string())?;
    let child = Command::new(tansu)
        .args(["broker", "--storage-engine", "memory://tansu/"])
        .args(["--listener-url", &url, "--advertised-listener-url", &url])
        // Group membership changes (evictions, new leaders) for the failure report.
        .env("RUST_LOG", "warn,tansu_broker::coordinator=info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .spawn()
        .map_err(|e| format!("cannot start tansu: {e}"))?;
    let broker = Broker {
        address: format!("127.0.0.1:{port}"),
        child: Some(child),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "tansu did not listen on {port}: {}",
                read(&broker.log)
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(broker)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// The broker's last log lines about one consumer group.
fn group_log(broker: &Broker, group: &str) -> String {
    let log = read(&broker.log);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(group)).collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Runs a future to completion on this thread (the admin client's futures are
/// completed by its own thread).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park_timeout(Duration::from_millis(100));
    }
}

fn config(broker: &Broker) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &broker.address);
    c
}

fn create_topics(broker: &Broker, topics: &[(&str, i32)]) {
    let admin: AdminClient<DefaultClientContext> = config(broker).create().expect("admin client");
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, n)| NewTopic::new(name, *n, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let results = block_on(admin.create_topics(&new, &options)).expect("create topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}\n{}", read(&broker.log)));
    }
}

// ---------------------------------------------------------------------------------
// The log stream and what a hunt finds in it
// ---------------------------------------------------------------------------------

/// One message to produce: its key (the host) and its text.
struct Msg {
    key: String,
    text: Vec<u8>,
}

/// Per-host logs: `examples/linux` captures with `node=HOST ` prefixed (auditd's
/// `name_format`), plus the corpus' benign syslog and Windows JSON when present.
fn host_logs() -> Vec<(String, Vec<Vec<u8>>)> {
    let root = common::manifest_dir();
    let raw = fs::read(root.join("examples/linux/audit-raw.log")).unwrap();
    let enriched = fs::read(root.join("examples/linux/audit-enriched.log")).unwrap();
    let mut hosts = Vec::new();
    for i in 1..=6 {
        let host = format!("web{i}.example");
        let log = if i % 2 == 1 { &raw } else { &enriched };
        // Each record names its host as auditd's `name_format` writes it (the
        // enriched capture's own `node=vm` is replaced).
        let lines = log
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let record = l.strip_prefix(b"node=vm ").unwrap_or(l);
                [format!("node={host} ").as_bytes(), record].concat()
            })
            .collect();
        hosts.push((host, lines));
    }
    let corpus = root.join("../shared/corpus");
    let syslog = corpus.join("syslog/logpai_loghub_Linux_2k.log");
    let winlogbeat = corpus.join("windows/wagga40_Zircolite_winlogbeat_sysmon_sample.json");
    if syslog.exists() && winlogbeat.exists() {
        let lines: Vec<Vec<u8>> = fs::read(&syslog)
            .unwrap()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .take(600)
            .map(<[u8]>::to_vec)
            .collect();
        hosts.push(("combo".to_string(), lines));
        let events: Vec<Vec<u8>> = fs::read(&winlogbeat)
            .unwrap()
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"{"))
            .map(<[u8]>::to_vec)
            .collect();
        hosts.push(("win-sysmon".to_string(), events));
    } else if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the corpus (../shared/corpus) is missing under CI=true");
    } else {
        eprintln!("note: ../shared/corpus is absent; the stream has audit records only");
    }
    hosts
}

/// The messages in production order: hosts interleaved line by line (as a topic
/// shared by many hosts sees them), poison messages among them.
fn interleave(hosts: &[(String, Vec<Vec<u8>>)]) -> Vec<Msg> {
    let mut out = Vec::new();
    let longest = hosts.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (host, lines) in hosts {
            if let Some(l) = lines.get(i) {
                out.push(Msg {
                    key: host.clone(),
                    text: l.clone(),
                });
            }
        }
        if i == 100 || i == 300 {
            out.push(Msg {
                key: "web1.example".into(),
                text: b"\x00\x01\x02\xff\xfe not a log line \x7f".to_vec(),
            });
        }
    }
    out
}

/// What identifies a finding whatever input position it was read from.
fn key(v: &Value) -> String {
    let f = |k: &str| str_field(v, k).unwrap_or("").to_string();
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        f("host"),
        f("detection_type"),
        f("time"),
        f("exec_cmd"),
        f("nohup_target"),
        f("nohup_args"),
        f("command_line")
    )
}

/// A plain hunt of each host's log, by key.
fn expected(dir: &Path, hosts: &[(String, Vec<Vec<u8>>)]) -> BTreeMap<String, Value> {
    let mut paths = Vec::new();
    for (host, lines) in hosts {
        let p = dir.join(format!("{host}.log"));
        fs::write(&p, lines.join(&b"\n"[..])).unwrap();
        paths.push(p);
    }
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "hunt".as_ref(),
        "--no-config".as_ref(),
        "-f".as_ref(),
        "jsonl".as_ref(),
    ];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let out = common::run_sighunt(args);
    assert!(out.success(), "{}", out.describe());
    common::parse_jsonl(&out.stdout)
        .unwrap()
        .into_iter()
        .map(|v| (key(&v), v))
        .collect()
}

// ---------------------------------------------------------------------------------
// The instances
// ---------------------------------------------------------------------------------

struct Instance {
    child: Child,
    stderr: PathBuf,
}

impl Instance {
    fn start(
        name: &'static str,
        dir: &Path,
        broker: &Broker,
        input: &str,
        output: &str,
        group: &str,
    ) -> Instance {
        let stderr = dir.join(format!("{name}.stderr"));
        let child = Command::new(common::sighunt_bin())
            .args(["stream", "--no-config", "--brokers", &broker.address])
            .args([
                "--input-topic",
                input,
                "--output-topic",
                output,
                "--group",
                group,
            ])
            .args([
                "--session-timeout-ms",
                "6000",
                "--commit-interval-ms",
                "200",
                "--broker-timeout-secs",
                "10",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("start sighunt stream");
        Instance { child, stderr }
    }

    fn log(&self) -> String {
        read(&self.stderr)
    }

    /// The partitions it reads now (from its last assignment change).
    fn assigned(&self) -> Option<String> {
        let log = self.log();
        let last = log.lines().rev().find(|l| l.contains("; reading "))?;
        last.split("; reading ").nth(1).map(str::to_string)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads every message of `topic` (from the beginning, until quiet).
fn read_topic(broker: &Broker, topic: &str, quiet: Duration) -> Vec<(Option<String>, Vec<u8>)> {
    let consumer: BaseConsumer = config(broker)
        .set(
            "group.id",
            format!("sighunt-test-reader-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                out.push((
                    m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    m.payload().unwrap_or_default().to_vec(),
                ));
                last = Instant::now();
            }
            Some(Err(e)) => eprintln!("reader: {e}"),
            None => {}
        }
    }
    out
}

/// One round of the kill loop: where the members are killed, and what arrived.
struct Round {
    kills: Vec<usize>,
    messages_out: usize,
    distinct: usize,
    /// Members started after the kills because a partition had no living owner.
    rejoins: usize,
    /// Times a member read a partition again from further back because the broker
    /// answered from past the committed offset (tansu serves the next record batch).
    seeks_back: usize,
}

/// How long the living may read fewer than all partitions after the last kill
/// before the group is taken to have orphaned one (over three session timeouts of
/// 6 s: a dead member is evicted and its partitions reassigned well within it).
const ORPHANED_AFTER: Duration = Duration::from_secs(25);

/// Starts an instance and waits until the group gives it partitions.
fn join(name: &'static str, dir: &Path, broker: &Broker, t: &Topics) -> Instance {
    let i = Instance::start(name, dir, broker, &t.input, &t.output, &t.group);
    let deadline = Instant::now() + Duration::from_secs(60);
    while i.assigned().is_none_or(|p| p == "no partitions") {
        assert!(
            Instant::now() < deadline,
            "{name} got no partitions:\n{}\n--- broker ---\n{}",
            i.log(),
            read(&broker.log)
        );
        thread::sleep(Duration::from_millis(100));
    }
    i
}

struct Topics {
    input: String,
    output: String,
    group: String,
}

/// Produces `messages` over about four seconds, keyed by host; `sent` counts them.
fn produce(
    broker: &Broker,
    input: &str,
    messages: Vec<Msg>,
    sent: Arc<AtomicUsize>,
) -> thread::JoinHandle<()> {
    let producer: BaseProducer = config(broker)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let input = input.to_string();
    thread::spawn(move || {
        let per_tick = messages.len().div_ceil(100);
        for chunk in messages.chunks(per_tick) {
            for m in chunk {
                while let Err((e, _)) =
                    producer.send(BaseRecord::to(&input).key(&m.key).payload(&m.text))
                {
                    eprintln!("producer: {e}; retrying");
                    producer.poll(Duration::from_millis(100));
                }
            }
            producer.poll(Duration::ZERO);
            sent.fetch_add(chunk.len(), Ordering::SeqCst);
            thread::sleep(Duration::from_millis(40));
        }
        producer
            .flush(Duration::from_secs(60))
            .expect("all messages delivered");
    })
}

/// One round: `lead` joins first (tansu cannot replace a group leader that dies,
/// see below), two members join; while the stream is produced, the member that
/// joined earliest among the living is killed (SIGKILL) each time production
/// passes a kill point, and a new member joins in its place (its assignment moves
/// partitions again). Then the survivors catch up and stop cleanly. Returns what
/// arrived, checked against the hunt.
fn kill_round(
    round: usize,
    dir: &Path,
    broker: &Broker,
    hosts: &[(String, Vec<Vec<u8>>)],
    want: &BTreeMap<String, Value>,
    kill_points: &[f64],
) -> Round {
    let run = std::process::id();
    let t = Topics {
        input: format!("logs-{run}-{round}"),
        output: format!("findings-{run}-{round}"),
        group: format!("sighunt-{run}-{round}"),
    };
    create_topics(broker, &[(&t.input, PARTITIONS), (&t.output, PARTITIONS)]);
    let messages = interleave(hosts);
    let total = messages.len();
    const NAMES: [&str; 6] = ["m1", "m2", "m3", "m4", "m5", "m6"];
    let lead = join("lead", dir, broker, &t);
    let mut members: Vec<Instance> = vec![join(NAMES[0], dir, broker, &t)];
    members.push(Instance::start(
        NAMES[1], dir, broker, &t.input, &t.output, &t.group,
    ));
    let mut dead: Vec<Instance> = Vec::new();

    let sent = Arc::new(AtomicUsize::new(0));
    let producer = produce(broker, &t.input, messages, sent.clone());
    let mut kills = Vec::new();
    for (next_name, &point) in (2..).zip(kill_points) {
        let at = (total as f64 * point) as usize;
        while sent.load(Ordering::SeqCst) < at.min(total) {
            thread::sleep(Duration::from_millis(5));
        }
        let mut victim = members.remove(0);
        victim.child.kill().unwrap();
        victim.child.wait().unwrap();
        kills.push(sent.load(Ordering::SeqCst));
        dead.push(victim);
        members.push(Instance::start(
            NAMES[next_name % NAMES.len()],
            dir,
            broker,
            &t.input,
            &t.output,
            &t.group,
        ));
    }
    producer.join().unwrap();

    // The living take every partition over (a dead member's after the session
    // timeout) and catch up, re-reading what the dead had not committed.
    let logs = |lead: &Instance, members: &[Instance], dead: &[Instance]| {
        let mut out = format!("--- lead ---\n{}", lead.log());
        for (i, m) in members.iter().chain(dead).enumerate() {
            out.push_str(&format!("--- instance {i} ---\n{}", m.log()));
        }
        out
    };
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut rejoins = 0;
    let mut partial_since: Option<Instant> = None;
    loop {
        let reading: usize = std::iter::once(&lead)
            .chain(&members)
            .filter_map(Instance::assigned)
            .filter(|p| p != "no partitions")
            .map(|p| p.split(", ").count())
            .sum();
        // tansu 0.6.0 can orphan a partition: a member evicted (session timeout)
        // while the group is forming keeps the partitions the leader's SyncGroup
        // then gives it, since the forming group's `sync` does not check that the
        // assignments name current members and the eviction did not advance the
        // generation (tansu-broker/src/coordinator/group/administrator.rs,
        // `Inner<O, Forming>::missed_heartbeat` and `sync`). No rebalance follows,
        // as the owner is no longer a member. A member joining makes the group
        // rebalance, as an operator restarting an instance would; the partition is
        // then assigned and read from its committed offset, so the test still
        // shows that nothing is lost. The consumer's own bookkeeping is not
        // excused by this: a partition librdkafka still counts as owned by a
        // living instance stays with it through the rebalance.
        if reading < PARTITIONS as usize {
            let since = *partial_since.get_or_insert_with(Instant::now);
            if since.elapsed() > ORPHANED_AFTER && rejoins < 2 {
                rejoins += 1;
                eprintln!(
                    "round {round}: the living read {reading} of {PARTITIONS} partitions {} s after the last kill; a member joins so that the group rebalances",
                    ORPHANED_AFTER.as_secs()
                );
                members.push(Instance::start(
                    NAMES[(kill_points.len() + 1 + rejoins) % NAMES.len()],
                    dir,
                    broker,
                    &t.input,
                    &t.output,
                    &t.group,
                ));
                partial_since = None;
            }
        } else {
            partial_since = None;
        }
        let got = read_topic(broker, &t.output, Duration::from_secs(2));
        let found: BTreeSet<String> = got
            .iter()
            .filter_map(|(_, p)| serde_json::from_slice::<Value>(p).ok())
            .map(|v| key(&v))
            .collect();
        if reading == PARTITIONS as usize && want.keys().all(|k| found.contains(k)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "round {round} (kills after {kills:?} of {total} messages): {} of {} findings after 150 s; the living read {reading} partitions\n{}--- broker, this group ---\n{}",
            want.keys().filter(|k| found.contains(*k)).count(),
            want.len(),
            logs(&lead, &members, &dead),
            group_log(broker, &t.group)
        );
    }
    // A clean stop: findings delivered, offsets committed, the group left.
    for i in std::iter::once(&lead).chain(&members) {
        unsafe { libc::kill(i.child.id() as i32, libc::SIGTERM) };
    }
    let mut lead = lead;
    for i in std::iter::once(&mut lead).chain(&mut members) {
        let status = i.child.wait().unwrap();
        assert!(status.success(), "round {round}: {status}\n{}", i.log());
    }

    let got = read_topic(broker, &t.output, Duration::from_secs(3));
    let mut by_id: HashMap<String, Vec<Value>> = HashMap::new();
    for (k, payload) in &got {
        let v: Value = serde_json::from_slice(payload).unwrap_or_else(|e| panic!("not JSON: {e}"));
        let id = str_field(&v, "id").expect("an id").to_string();
        assert_eq!(
            k.as_deref(),
            str_field(&v, "host"),
            "keyed by host: {}",
            brief(&v)
        );
        let path = v["source"]["path"].as_str().unwrap_or("");
        assert!(
            path.starts_with(&format!("kafka:{}/", t.input)),
            "{}",
            brief(&v)
        );
        assert!(v["source"]["record"].as_u64().is_some(), "{}", brief(&v));
        by_id.entry(id).or_default().push(v);
    }
    // Copies of one id are the same finding, to the last field.
    for (id, copies) in &by_id {
        for c in copies {
            assert_eq!(
                c,
                &copies[0],
                "round {round}: id {id} names two different findings\n{}",
                logs(&lead, &members, &dead)
            );
        }
    }
    // Deduplicated by id: exactly the hunt's findings, each once, with the hunt's
    // severity and indicators.
    let mut seen: BTreeMap<String, &Value> = BTreeMap::new();
    for copies in by_id.values() {
        let k = key(&copies[0]);
        assert!(
            seen.insert(k.clone(), &copies[0]).is_none(),
            "round {round}: one finding under several ids: {k}"
        );
    }
    let lost: Vec<&String> = want.keys().filter(|k| !seen.contains_key(*k)).collect();
    assert!(lost.is_empty(), "round {round}: findings lost: {lost:#?}");
    let extra: Vec<String> = seen
        .iter()
        .filter(|(k, _)| !want.contains_key(*k))
        .map(|(_, v)| brief(v))
        .collect();
    assert!(
        extra.is_empty(),
        "round {round}: findings no hunt makes: {extra:#?}\n{}",
        logs(&lead, &members, &dead)
    );
    for (k, v) in &seen {
        let h = &want[k];
        assert_eq!(
            (&v["severity"], &v["indicators"]),
            (&h["severity"], &h["indicators"]),
            "round {round}: {k}"
        );
    }
    // Poison messages are logged with their offset and skipped.
    let all_logs = logs(&lead, &members, &dead);
    assert!(
        all_logs
            .lines()
            .any(|l| l.contains("message skipped: format not recognised") && l.contains(" offset ")),
        "round {round}: poison messages not reported"
    );
    // Every partition taken over was read from its committed offset, whatever the
    // broker answered first (tansu answers a fetch from inside a record batch with
    // the next batch): each instance logs the committed offset it was assigned at
    // and the offset it then read first.
    for i in std::iter::once(&lead).chain(&members).chain(&dead) {
        let late = reads_past_committed(&i.log());
        assert!(
            late.is_empty(),
            "round {round}: partitions read from past their committed offset: {late:?}\n{all_logs}"
        );
    }
    Round {
        kills,
        messages_out: got.len(),
        distinct: by_id.len(),
        rejoins,
        seeks_back: all_logs.matches("; reading again from offset ").count(),
    }
}

/// The partitions of one instance's log whose reading began at an offset other
/// than the committed offset it was assigned at, as (partition, committed, first).
fn reads_past_committed(log: &str) -> Vec<(String, i64, i64)> {
    let mut committed: HashMap<String, i64> = HashMap::new();
    let mut late = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("sighunt: stream: ") else {
            continue;
        };
        let Some((partition, what)) = rest.split_once(": ") else {
            continue;
        };
        let number = |prefix: &str| {
            what.strip_prefix(prefix)
                .and_then(|n| n.parse::<i64>().ok())
        };
        if let Some(o) = number("committed offset ") {
            committed.insert(partition.to_string(), o);
        } else if let Some(first) = number("reading from offset ") {
            if let Some(c) = committed.remove(partition) {
                if first != c {
                    late.push((partition.to_string(), c, first));
                }
            }
        }
    }
    late
}

#[test]
fn a_read_begun_past_the_committed_offset_is_found_in_a_log() {
    let log = "sighunt: stream: in/0: committed offset 24\n\
               sighunt: stream: in/1: committed offset 7\n\
               sighunt: stream: in/0: the broker answered … reading again from offset 0\n\
               sighunt: stream: in/0: reading from offset 24\n\
               sighunt: stream: in/1: reading from offset 9\n\
               sighunt: stream: in/2: reading from offset 3\n";
    assert_eq!(reads_past_committed(log), vec![("in/1".to_string(), 7, 9)]);
    assert!(reads_past_committed(&log.replace("offset 9", "offset 7")).is_empty());
}

/// The fault-injection test: rounds of kills at different points of the stream,
/// several consumer processes each, SIGKILL without warning. Every finding of a
/// plain hunt of each host's log arrives; deduplicated by `id`, the output is
/// exactly the hunt's findings; copies of one id are identical. Then the broker
/// dies under a running instance: it exits with an error, in bounded time.
#[test]
fn members_killed_at_many_points_lose_no_finding_and_ids_match_the_hunt() {
    const TEST: &str = "members_killed_at_many_points_lose_no_finding_and_ids_match_the_hunt";
    let dir = tempfile::tempdir().unwrap();
    let mut broker = match broker(dir.path()) {
        Ok(b) => b,
        Err(reason) => {
            common::skip(TEST, &reason, REQUIRE);
            return;
        }
    };
    let hosts = host_logs();
    let want = expected(dir.path(), &hosts);
    assert!(
        want.len() >= 40,
        "the stream carries the scenarios of six hosts: {}",
        want.len()
    );
    let total = interleave(&hosts).len();
    // Kill points, as fractions of the stream produced; two kills a round (the
    // oldest living member each time, a new one joining in its place).
    let rounds: &[&[f64]] = &[
        &[0.02, 0.5],
        &[0.1, 0.6],
        &[0.2, 0.7],
        &[0.3, 0.8],
        &[0.4, 0.9],
        &[0.55, 1.0],
    ];
    let mut report = Vec::new();
    for (round, points) in rounds.iter().enumerate() {
        let r = kill_round(round, dir.path(), &broker, &hosts, &want, points);
        report.push(format!(
            "round {round}: killed after {:?} of {total} messages; {} findings expected, {} messages out, {} distinct ids, {} duplicates{}{}",
            r.kills,
            want.len(),
            r.messages_out,
            r.distinct,
            r.messages_out - r.distinct,
            match r.rejoins {
                0 => String::new(),
                n => format!("; {n} member(s) joined to reassign an orphaned partition"),
            },
            match r.seeks_back {
                0 => String::new(),
                n => format!("; {n} read(s) sought back to the committed offset"),
            }
        ));
        eprintln!("{}", report.last().unwrap());
    }
    eprintln!("{}", report.join("\n"));

    // The broker dies under a running instance: a clear error, exit status 2,
    // within the timeout it was given (plus the time to notice).
    if broker.child.is_none() {
        return; // a shared broker is not ours to stop
    }
    let t = Topics {
        input: format!("logs-{}-down", std::process::id()),
        output: format!("findings-{}-down", std::process::id()),
        group: format!("sighunt-{}-down", std::process::id()),
    };
    create_topics(&broker, &[(&t.input, PARTITIONS), (&t.output, PARTITIONS)]);
    let mut i = join("down", dir.path(), &broker, &t);
    if let Some(c) = &mut broker.child {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let killed = Instant::now();
    let status = loop {
        if let Some(s) = i.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "still running 60 s after the broker died:\n{}",
            i.log()
        );
        thread::sleep(Duration::from_millis(100));
    };
    let log = i.log();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("answered for"), "{log}");
    eprintln!(
        "broker killed: the instance exited after {:.1} s",
        killed.elapsed().as_secs_f64()
    );
}

#[test]
fn an_unreachable_broker_is_reported_then_an_error_in_bounded_time() {
    // Nothing listens on the port: the instance reports the outage with backoff,
    // keeps trying, and after --broker-timeout-secs exits with status 2 and says why.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let stderr = dir.path().join("stderr");
    let started = Instant::now();
    let mut child = Command::new(common::sighunt_bin())
        .args([
            "stream",
            "--no-config",
            "--brokers",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--input-topic",
            "logs",
            "--output-topic",
            "findings",
            "--group",
            "g",
            "--broker-timeout-secs",
            "4",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still running after 60 s: {}",
            read(&stderr)
        );
        thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    let mut log = String::new();
    File::open(&stderr)
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(
        elapsed >= Duration::from_secs(4),
        "gave up before its timeout: {elapsed:?}"
    );
    let error = log
        .lines()
        .find(|l| l.starts_with("sighunt: error:"))
        .unwrap_or_else(|| panic!("no error line:\n{log}"));
    assert!(
        error.contains(&format!("127.0.0.1:{port}")) && error.contains("answered for"),
        "{error}"
    );
    // Reported with backoff, not once per retry.
    let reports = log.lines().filter(|l| l.contains("retrying")).count();
    assert!(
        (1..=4).contains(&reports),
        "{reports} reports in a few seconds:\n{log}"
    );
}
