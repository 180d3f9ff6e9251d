use super::*;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use sighunt_core::event::Position;
use sighunt_core::finding::{DetectionType, Finding, Severity};

/// Real kernel records (examples/linux/audit-raw.log, scenario 04: `sh -c "nohup
/// x4.sh >/dev/null 2>&1 &"` and the nohup exec it leads to), as a host with
/// `name_format = HOSTNAME` sends them: one record per message, `node=` first.
const SH_C_THEN_NOHUP: &str = r#"node=web1 type=SYSCALL msg=audit(1795841764.979:2419): arch=c000003e syscall=59 success=yes exit=0 a0=55c7864f5130 a1=55c7864f6d90 a2=55c7864f4440 a3=bed3d784bbd6f765 items=2 ppid=11801 pid=11843 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="sh" exe="/usr/bin/dash" key="sighunt_e2e"
node=web1 type=BPRM_FCAPS msg=audit(1795841764.979:2419): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0
node=web1 type=EXECVE msg=audit(1795841764.979:2419): argc=3 a0="sh" a1="-c" a2=6E6F687570202F746D702F73696768756E742D6532652E366C3155507A2F78342E7368203E2F6465762F6E756C6C20323E26312026
node=web1 type=CWD msg=audit(1795841764.979:2419): cwd="/tmp/sighunt-e2e.6l1UPz"
node=web1 type=PATH msg=audit(1795841764.979:2419): item=0 name="/usr/bin/sh" inode=247076 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
node=web1 type=PROCTITLE msg=audit(1795841764.979:2419): proctitle=7368002D63006E6F687570202F746D702F73696768756E742D6532652E366C3155507A2F78342E7368203E2F6465762F6E756C6C20323E26312026
node=web1 type=SYSCALL msg=audit(1795841764.987:2420): arch=c000003e syscall=59 success=yes exit=0 a0=5584f9fa2c80 a1=5584f97ac998 a2=5584f9fa2b58 a3=0 items=2 ppid=11843 pid=11844 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="nohup" exe="/usr/bin/nohup" key="sighunt_e2e"
node=web1 type=EXECVE msg=audit(1795841764.987:2420): argc=2 a0="nohup" a1="/tmp/sighunt-e2e.6l1UPz/x4.sh"
node=web1 type=CWD msg=audit(1795841764.987:2420): cwd="/tmp/sighunt-e2e.6l1UPz"
node=web1 type=PATH msg=audit(1795841764.987:2420): item=0 name="/usr/bin/nohup" inode=247586 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
node=web1 type=PROCTITLE msg=audit(1795841764.987:2420): proctitle=6E6F687570002F746D702F73696768756E742D6532652E366C3155507A2F78342E7368"#;

/// `grep nohup notes.txt` from the same capture (a benign look-alike), its time
/// moved 25 s later so that the log has clearly moved on.
const LATER_GREP: &str = r#"node=web1 type=SYSCALL msg=audit(1795841790.511:2459): arch=c000003e syscall=59 success=yes exit=0 a0=55c7864f08a0 a1=55c7864f4dc0 a2=55c7864f4440 a3=bed3d784bbd6f765 items=2 ppid=11801 pid=11886 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="grep" exe="/usr/bin/grep" key="sighunt_e2e"
node=web1 type=EXECVE msg=audit(1795841790.511:2459): argc=3 a0="grep" a1="nohup" a2="/tmp/sighunt-e2e.6l1UPz/notes.txt"
node=web1 type=CWD msg=audit(1795841790.511:2459): cwd="/tmp/sighunt-e2e.6l1UPz"
node=web1 type=PROCTITLE msg=audit(1795841790.511:2459): proctitle=67726570006E6F687570002F746D702F73696768756E742D6532652E366C3155507A2F6E6F7465732E747874"#;

fn state(partition: i32, forced: Option<InputFormat>) -> PartitionState {
    PartitionState::new(
        Arc::from("audit"),
        partition,
        forced,
        &Rules::embedded(),
        EngineOptions {
            hold: log_time_hold(2000),
            ..EngineOptions::default()
        },
        PartitionOptions::default(),
    )
    .unwrap()
}

/// Feeds each line as one message from `first_offset` on; returns the next offset.
fn feed(s: &mut PartitionState, text: &str, first_offset: i64) -> i64 {
    let mut offset = first_offset;
    for line in text.lines() {
        assert_eq!(s.handle(offset, Some(line.as_bytes())), Outcome::Processed);
        offset += 1;
    }
    offset
}

/// Releases every finding whose hold has passed (the partition gone quiet).
fn release(s: &mut PartitionState) -> Vec<Outgoing> {
    s.tick(Instant::now() + Duration::from_secs(5))
}

#[test]
fn a_finding_names_its_partition_offset_and_host() {
    let mut s = state(3, None);
    feed(&mut s, SH_C_THEN_NOHUP, 100);
    assert!(
        s.tick(Instant::now()).is_empty(),
        "held for amending evidence"
    );
    let out = release(&mut s);
    assert_eq!(out.len(), 1, "the exec is merged into the sh -c finding");
    let o = &out[0];
    assert_eq!(o.finding.detection_type, DetectionType::Nohup);
    assert_eq!(o.finding.host, "web1");
    assert_eq!(o.finding.nohup_target, "/tmp/sighunt-e2e.6l1UPz/x4.sh");
    assert!(o.finding.severity >= Severity::Medium, "{:?}", o.finding);
    assert_eq!(&*o.finding.source.path, "kafka:audit/3");
    assert_eq!(o.finding.source.position, Position::Record(100));
    assert_eq!(o.floor_offset, 100);
}

#[test]
fn the_watermark_waits_for_events_held_findings_acknowledgements_and_evidence() {
    let mut s = state(0, None);
    assert_eq!(s.watermark(), None);
    let lines: Vec<&str> = SH_C_THEN_NOHUP.lines().collect();
    // SYSCALL, BPRM_FCAPS, EXECVE of the sh -c: the event is not complete.
    feed(&mut s, &lines[..3].join("\n"), 0);
    assert_eq!(s.watermark(), Some(0));
    assert_eq!(s.delivered_through(), Some(0));
    // Complete, and a finding is held: still 0.
    let next = feed(&mut s, &lines[3..].join("\n"), 3);
    assert_eq!(s.watermark(), Some(0));
    let out = release(&mut s);
    assert_eq!(out.len(), 1);
    s.sent(out[0].floor_offset, out[0].position_offset);
    assert_eq!(s.watermark(), Some(0), "sent, not acknowledged");
    assert_eq!(s.delivered_through(), Some(0));
    s.acknowledged(out[0].floor_offset, out[0].position_offset);
    assert_eq!(s.unacknowledged(), 0);
    // Acknowledged: delivered, but the process table still keeps the sh -c and the
    // nohup (a later launch's parents), so a restart must read them again.
    assert_eq!(s.delivered_through(), Some(next));
    assert_eq!(s.watermark(), Some(0));
    // 25 s later, a benign event: the processes are still kept (an hour).
    let end = feed(&mut s, LATER_GREP, next);
    assert!(release(&mut s).is_empty(), "grep nohup is not a finding");
    assert_eq!(s.delivered_through(), Some(end));
    assert_eq!(s.watermark(), Some(0));
    // Two days later the process table and the launches (kept a day for
    // `relaunched`) have forgotten them: only the new exec is kept.
    let much_later = LATER_GREP.replace("1795841790.511:2459", "1795941790.511:2460");
    let last = feed(&mut s, &much_later, end);
    release(&mut s);
    assert_eq!(s.delivered_through(), Some(last));
    assert_eq!(s.watermark(), Some(end), "the latest exec is kept");
}

#[test]
fn poison_is_skipped_and_does_not_hold_the_watermark() {
    let mut s = state(0, None);
    let garbage = b"\x00\x01\x02\xff\xfe binary junk";
    match s.handle(0, Some(garbage)) {
        Outcome::Poison(reason) => assert!(reason.contains("not recognised"), "{reason}"),
        other => panic!("expected poison, got {other:?}"),
    }
    assert_eq!(s.handle(1, None), Outcome::Empty, "a tombstone");
    let next = feed(&mut s, LATER_GREP, 2);
    release(&mut s);
    assert_eq!(s.delivered_through(), Some(next));
    assert_eq!(
        s.watermark(),
        Some(2),
        "the grep exec is kept, not the poison"
    );
    assert_eq!(s.poison, 1);
    assert_eq!(s.stats().events, 1);
}

#[test]
fn a_forced_format_applies_to_every_message() {
    let mut s = state(0, Some(InputFormat::Auditd));
    // Sniffing would not know a lone CWD record without its header: forced, it is
    // read (and, alone, makes no event).
    assert_eq!(
        s.handle(
            0,
            Some(b"type=CWD msg=audit(1795841764.979:2419): cwd=\"/tmp\"")
        ),
        Outcome::Processed
    );
    let mut t = state(0, Some(InputFormat::Syslog));
    assert_eq!(t.handle(0, Some(b"just some text")), Outcome::Processed);
}

#[test]
fn messages_delivered_again_are_not_read_twice() {
    let mut s = state(0, None);
    let lines: Vec<&str> = SH_C_THEN_NOHUP.lines().collect();
    feed(&mut s, &lines[..6].join("\n"), 0);
    // The same records again (a re-delivery after a seek): ignored.
    for (i, l) in lines[..6].iter().enumerate() {
        assert_eq!(s.handle(i as i64, Some(l.as_bytes())), Outcome::Empty);
    }
    assert_eq!(s.stats().events, 1);
}

#[test]
fn several_lines_in_one_message_are_all_read() {
    // A shipper batching the whole event into one message.
    let mut s = state(1, None);
    assert_eq!(
        s.handle(7, Some(SH_C_THEN_NOHUP.as_bytes())),
        Outcome::Processed
    );
    let out = release(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].finding.source.position, Position::Record(7));
    assert_eq!(s.stats().events, 2);
}

#[test]
fn reprocessing_the_same_messages_gives_the_same_ids() {
    let ids = |from: i64| {
        let mut s = state(2, None);
        let mut offset = from;
        for (i, line) in SH_C_THEN_NOHUP.lines().enumerate() {
            if (i as i64) < from {
                continue;
            }
            s.handle(offset, Some(line.as_bytes()));
            offset += 1;
        }
        release(&mut s)
            .iter()
            .map(|o| finding_id(&o.finding))
            .collect::<Vec<_>>()
    };
    let first = ids(0);
    assert_eq!(first.len(), 1);
    assert_eq!(first, ids(0));
    assert_eq!(first[0].len(), 32);
    // Restarting past the sh -c leaves the exec alone: another launch record,
    // another id (the watermark keeps restarts before the chain, see above).
    let later = ids(6);
    assert_eq!(later.len(), 1);
    assert_ne!(later, first);
}

#[test]
fn the_message_is_the_jsonl_object_with_an_id_first() {
    let mut s = state(0, None);
    feed(&mut s, SH_C_THEN_NOHUP, 0);
    let out = release(&mut s);
    let msg = finding_message(&out[0].finding);
    assert!(msg.starts_with(b"{\"id\":\""));
    let v: serde_json::Value = serde_json::from_slice(&msg).unwrap();
    let plain: serde_json::Value = serde_json::to_value(&out[0].finding).unwrap();
    for (k, val) in plain.as_object().unwrap() {
        assert_eq!(&v[k], val, "field {k}");
    }
    assert_eq!(v["id"], finding_id(&out[0].finding));
    assert_eq!(v["source"]["record"], 0);
    assert_eq!(v["source"]["path"], "kafka:audit/0");

    // Too long for a message: the command line is cut, the rest kept.
    let mut big = out[0].finding.clone();
    big.command_line = "A".repeat(2_000_000);
    let msg = finding_message(&big);
    assert!(msg.len() <= MAX_FINDING_BYTES + 100);
    let v: serde_json::Value = serde_json::from_slice(&msg).unwrap();
    assert!(v["command_line"].as_str().unwrap().ends_with("bytes]"));
    assert_eq!(v["id"], finding_id(&big));
}

#[test]
fn topic_formats_parse() {
    assert_eq!(
        parse_topic_format("auditd").unwrap(),
        (None, InputFormat::Auditd)
    );
    assert_eq!(
        parse_topic_format("win-events=json").unwrap(),
        (Some("win-events".to_string()), InputFormat::Json)
    );
    assert!(parse_topic_format("t=nope").is_err());
    assert!(parse_key_value("fetch.max.bytes=1").is_ok());
    assert!(parse_key_value("=1").is_err());
}

#[test]
fn lines_name_their_message() {
    for (offset, index) in [
        (0, 1),
        (7, 3),
        (123_456_789, partition::MAX_LINES_PER_MESSAGE),
    ] {
        assert_eq!(
            partition::offset_of(partition::line_of(offset, index)),
            offset
        );
    }
    let mut s = state(0, Some(InputFormat::Auditd));
    s.handle(42, Some(b"type=SYSCALL msg=audit(garbage): x=1"));
    let errors = s.take_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].location.as_deref(), Some("offset 42, line 1"));
}

#[test]
fn commit_metadata_names_the_delivered_offset() {
    let m = Mark {
        offset: 3,
        delivered: 17,
    };
    assert_eq!(Mark::delivered_from_metadata(&m.metadata()), Some(17));
    assert_eq!(Mark::delivered_from_metadata(""), None);
    assert_eq!(Mark::delivered_from_metadata("sighunt:delivered=-4"), None);
    assert_eq!(Mark::delivered_from_metadata("other client's"), None);
}

/// The scenario captures of `examples/linux` as three hosts send them to one
/// partition: one record per message, hosts interleaved, `node=` first.
fn three_hosts() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/linux");
    let raw = std::fs::read_to_string(root.join("audit-raw.log")).unwrap();
    let enriched = std::fs::read_to_string(root.join("audit-enriched.log")).unwrap();
    let hosts: Vec<Vec<String>> = [("web1", &raw), ("web2", &enriched), ("web3", &raw)]
        .iter()
        .map(|(host, log)| {
            log.lines()
                .filter(|l| !l.is_empty())
                .map(|l| format!("node={host} {}", l.strip_prefix("node=vm ").unwrap_or(l)))
                .collect()
        })
        .collect();
    let longest = hosts.iter().map(Vec::len).max().unwrap();
    (0..longest)
        .flat_map(|i| hosts.iter().filter_map(move |h| h.get(i).cloned()))
        .collect()
}

fn state_with(rules: &Rules) -> PartitionState {
    PartitionState::new(
        Arc::from("audit"),
        0,
        None,
        rules,
        EngineOptions {
            hold: log_time_hold(2000),
            ..EngineOptions::default()
        },
        PartitionOptions::default(),
    )
    .unwrap()
}

/// Feeds messages `from..to` (offset = index), delivering what is released after
/// each one at once (sent and acknowledged), as the stream does; the marks are
/// taken every few messages, as the stream's ticks do.
fn consume(s: &mut PartitionState, messages: &[String], from: usize, to: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate().take(to).skip(from) {
        if i % 4 == 0 {
            s.mark();
        }
        s.handle(i as i64, Some(m.as_bytes()));
        for o in s.release_settled() {
            s.sent(o.floor_offset, o.position_offset);
            s.acknowledged(o.floor_offset, o.position_offset);
            out.push(o.finding);
        }
    }
    out
}

/// The end of the stream: pending events completed, held findings released.
fn drain(s: &mut PartitionState) -> Vec<Finding> {
    release(s).into_iter().map(|o| o.finding).collect()
}

/// Each exec event's (node, serial) → offsets of its records.
fn exec_events(messages: &[String]) -> Vec<Vec<usize>> {
    let mut events: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut execs = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        let node = m.split(' ').next().unwrap_or("").to_string();
        let Some(serial) = m
            .split("msg=audit(")
            .nth(1)
            .and_then(|r| r.split(')').next())
        else {
            continue;
        };
        let key = (node, serial.to_string());
        if m.contains(" type=EXECVE ") {
            execs.insert(key.clone());
        }
        events.entry(key).or_default().push(i);
    }
    events
        .into_iter()
        .filter(|(k, _)| execs.contains(k))
        .map(|(_, v)| v)
        .collect()
}

/// An instance killed after any message, its partition taken over from the last
/// commit: the findings delivered before the kill and those its successor sends
/// are, by id, exactly those of an uninterrupted run, every copy alike; the commit
/// never falls inside an exec event. With the default correlation windows (an
/// hour: the commit stays at the partition's first exec) and with windows of a few
/// seconds (the commit moves on, and evidence ages out, within the capture).
/// Kill points: after every this many messages.
const KILL_STEP: usize = 53;

#[test]
fn a_kill_after_any_message_loses_nothing_and_changes_nothing() {
    let messages = three_hosts();
    let n = messages.len();
    let events = exec_events(&messages);
    assert!(events.len() > 50, "{} exec events", events.len());
    let mut short = Rules::embedded();
    short
        .add_text(
            "short-windows",
            "[correlation]\nprocess_ttl_secs = 3\nprepare_window_secs = 3\nfollow_window_secs = 3\nrelaunch_window_secs = 3\n",
        )
        .unwrap();
    for (rules, name) in [(Rules::embedded(), "default"), (short, "short windows")] {
        let full = {
            let mut s = state_with(&rules);
            let mut f = consume(&mut s, &messages, 0, n);
            f.extend(drain(&mut s));
            f
        };
        let by_id: BTreeMap<String, String> = full
            .iter()
            .map(|f| (f.id(), serde_json::to_string(f).unwrap()))
            .collect();
        assert_eq!(by_id.len(), full.len(), "{name}: one id per finding");
        assert!(full.len() >= 20, "{name}: {} findings", full.len());
        let mut furthest = 0;
        let mut duplicates = 0;
        for kill in (1..n).step_by(KILL_STEP) {
            // The last commit was made a few messages before the kill.
            for lag in [0, 6] {
                let commit_at = kill.saturating_sub(lag).max(1);
                let mut a = state_with(&rules);
                let mut seen = consume(&mut a, &messages, 0, commit_at);
                let mark = a.mark().unwrap();
                seen.extend(consume(&mut a, &messages, commit_at, kill));
                let w = mark.offset as usize;
                furthest = furthest.max(w);
                for records in &events {
                    let (first, last) = (records[0], *records.last().unwrap());
                    assert!(
                        !(first < w && w <= last),
                        "{name}: commit at {w} inside the event of records {records:?}"
                    );
                }
                let mut b = state_with(&rules);
                b.delivered_before = Some(mark.delivered);
                let before = seen.len();
                seen.extend(consume(&mut b, &messages, w, n));
                seen.extend(drain(&mut b));
                let mut got: BTreeMap<String, String> = BTreeMap::new();
                for f in &seen {
                    let json = serde_json::to_string(f).unwrap();
                    let id = f.id();
                    let Some(want) = by_id.get(&id) else {
                        panic!(
                            "{name}: kill at {kill}, commit at {w}: a finding no full run makes: {json}"
                        );
                    };
                    assert_eq!(&json, want, "{name}: kill at {kill}: copies differ");
                    got.insert(id, json);
                }
                let lost: Vec<&String> = by_id.keys().filter(|k| !got.contains_key(*k)).collect();
                assert!(
                    lost.is_empty(),
                    "{name}: kill at {kill}, commit at {w} (delivered {}): lost {lost:?}",
                    mark.delivered
                );
                duplicates += seen.len() - got.len();
                assert!(
                    seen.len() - got.len() <= before,
                    "{name}: only what was delivered after the commit is sent twice"
                );
            }
        }
        if name == "short windows" {
            assert!(
                furthest > n / 2,
                "{name}: the commit stayed below {furthest}"
            );
        }
        eprintln!(
            "{name}: {} findings, {} kill points, commits up to offset {furthest} of {n}, {duplicates} duplicates",
            full.len(),
            2 * n.div_ceil(KILL_STEP)
        );
    }
}
