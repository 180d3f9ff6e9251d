use super::*;

use crate::rules::Rules;
use crate::sources::LineParser;

/// Real kernel records (examples/linux/audit-raw.log, scenario 04): `sh -c "nohup
/// x4.sh >/dev/null 2>&1 &"` and the nohup exec it leads to, 8 ms later.
pub(crate) const SH_C_THEN_NOHUP: &str = r#"type=SYSCALL msg=audit(1795841764.979:2419): arch=c000003e syscall=59 success=yes exit=0 a0=55c7864f5130 a1=55c7864f6d90 a2=55c7864f4440 a3=bed3d784bbd6f765 items=2 ppid=11801 pid=11843 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="sh" exe="/usr/bin/dash" key="sighunt_e2e"
type=BPRM_FCAPS msg=audit(1795841764.979:2419): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0
type=EXECVE msg=audit(1795841764.979:2419): argc=3 a0="sh" a1="-c" a2=6E6F687570202F746D702F73696768756E742D6532652E366C3155507A2F78342E7368203E2F6465762F6E756C6C20323E26312026
type=CWD msg=audit(1795841764.979:2419): cwd="/tmp/sighunt-e2e.6l1UPz"
type=PATH msg=audit(1795841764.979:2419): item=0 name="/usr/bin/sh" inode=247076 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795841764.979:2419): proctitle=7368002D63006E6F687570202F746D702F73696768756E742D6532652E366C3155507A2F78342E7368203E2F6465762F6E756C6C20323E26312026
type=SYSCALL msg=audit(1795841764.987:2420): arch=c000003e syscall=59 success=yes exit=0 a0=5584f9fa2c80 a1=5584f97ac998 a2=5584f9fa2b58 a3=0 items=2 ppid=11843 pid=11844 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="nohup" exe="/usr/bin/nohup" key="sighunt_e2e"
type=EXECVE msg=audit(1795841764.987:2420): argc=2 a0="nohup" a1="/tmp/sighunt-e2e.6l1UPz/x4.sh"
type=CWD msg=audit(1795841764.987:2420): cwd="/tmp/sighunt-e2e.6l1UPz"
type=PATH msg=audit(1795841764.987:2420): item=0 name="/usr/bin/nohup" inode=247586 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795841764.987:2420): proctitle=6E6F687570002F746D702F73696768756E742D6532652E366C3155507A2F78342E7368
"#;

/// A benign look-alike from the same capture: `grep nohup notes.txt`.
const GREP_NOHUP: &str = r#"type=SYSCALL msg=audit(1795841767.511:2459): arch=c000003e syscall=59 success=yes exit=0 a0=55c7864f08a0 a1=55c7864f4dc0 a2=55c7864f4440 a3=bed3d784bbd6f765 items=2 ppid=11801 pid=11886 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="grep" exe="/usr/bin/grep" key="sighunt_e2e"
type=BPRM_FCAPS msg=audit(1795841767.511:2459): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0
type=EXECVE msg=audit(1795841767.511:2459): argc=3 a0="grep" a1="nohup" a2="/tmp/sighunt-e2e.6l1UPz/notes.txt"
type=CWD msg=audit(1795841767.511:2459): cwd="/tmp/sighunt-e2e.6l1UPz"
type=PATH msg=audit(1795841767.511:2459): item=0 name="/usr/bin/grep" inode=247264 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PATH msg=audit(1795841767.511:2459): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=325843 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795841767.511:2459): proctitle=67726570006E6F687570002F746D702F73696768756E742D6532652E366C3155507A2F6E6F7465732E747874
"#;

pub(crate) fn engine(hold: Duration) -> Engine<'static> {
    Engine::new(
        &Rules::embedded(),
        EngineOptions {
            hold: Hold::Wall(hold),
            ..EngineOptions::default()
        },
        Box::new(|_| {}),
    )
    .unwrap()
}

fn feed(engine: &mut Engine, parser: &mut dyn LineParser, text: &str, first_line: u64) {
    for (i, line) in text.lines().enumerate() {
        parser.line(line.as_bytes(), first_line + i as u64, engine);
    }
}

#[test]
fn a_finding_waits_for_the_exec_that_amends_it() {
    let mut e = engine(Duration::from_secs(3600));
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let (sh_c, exec) = SH_C_THEN_NOHUP.split_at(
        SH_C_THEN_NOHUP
            .find("type=SYSCALL msg=audit(1795841764.987")
            .unwrap(),
    );
    feed(&mut e, &mut parser, sh_c, 1);
    // The event is complete at its PROCTITLE: a finding exists, held.
    assert_eq!(e.held(), 1);
    assert!(e.take_ready(Instant::now(), false).is_empty());
    feed(&mut e, &mut parser, exec, 7);
    // The nohup exec amended the held finding instead of adding a second one.
    assert_eq!(e.held(), 1);
    let ready = e.take_ready(Instant::now() + Duration::from_secs(3601), false);
    assert_eq!(ready.len(), 1, "{ready:?}");
    let f = &ready[0].finding;
    assert_eq!(f.nohup_target, "/tmp/sighunt-e2e.6l1UPz/x4.sh");
    assert_eq!(f.source.position, Position::Line(1));
    assert_eq!(ready[0].floor, 1);
    assert!(
        f.indicators.iter().any(|i| i == "temp_dir_payload"),
        "{:?}",
        f.indicators
    );
}

#[test]
fn released_at_once_the_exec_would_make_a_second_finding() {
    // What the hold prevents: with no hold the `sh -c` finding leaves before the
    // exec arrives, and the exec cannot amend it any more.
    let mut e = engine(Duration::ZERO);
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let mut out = Vec::new();
    for (i, line) in SH_C_THEN_NOHUP.lines().enumerate() {
        parser.line(line.as_bytes(), i as u64 + 1, &mut e);
        out.extend(e.take_ready(Instant::now(), false));
    }
    assert_eq!(out.len(), 2);
}

#[test]
fn a_log_time_hold_waits_for_the_host_log_not_the_clock() {
    let mut e = Engine::new(
        &Rules::embedded(),
        EngineOptions {
            hold: Hold::LogTime {
                window: chrono::TimeDelta::seconds(2),
                max_wall: Duration::from_secs(3600),
            },
            ..EngineOptions::default()
        },
        Box::new(|_| {}),
    )
    .unwrap();
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let (sh_c, _) = SH_C_THEN_NOHUP.split_at(
        SH_C_THEN_NOHUP
            .find("type=SYSCALL msg=audit(1795841764.987")
            .unwrap(),
    );
    feed(&mut e, &mut parser, sh_c, 1);
    // However long the reader stalls, the finding waits for the log to move on...
    assert!(
        e.take_ready(Instant::now() + Duration::from_secs(600), false)
            .is_empty()
    );
    // ...which it does once the host logs an event 2.5 s later (the grep).
    feed(&mut e, &mut parser, GREP_NOHUP, 7);
    assert_eq!(e.take_ready(Instant::now(), false).len(), 1);
}

#[test]
fn benign_look_alike_is_not_reported() {
    let mut e = engine(Duration::ZERO);
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    feed(&mut e, &mut parser, GREP_NOHUP, 1);
    parser.finish(&mut e);
    assert!(e.finish().is_empty());
    assert_eq!(e.stats.events, 1);
}

#[test]
fn held_findings_are_bounded() {
    let mut e = engine(Duration::from_secs(3600));
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let (sh_c, _) = SH_C_THEN_NOHUP.split_at(
        SH_C_THEN_NOHUP
            .find("type=SYSCALL msg=audit(1795841764.987")
            .unwrap(),
    );
    let mut released = 0;
    for i in 0..(MAX_HELD as u64 + 5) {
        // A distinct event and process each time (the same launch again would be
        // merged into the first finding).
        let text = sh_c
            .replace(":2419)", &format!(":{})", 10_000 + i))
            .replace("pid=11843", &format!("pid={}", 20_000 + i))
            .replace("ses=63", &format!("ses={}", 1_000 + i));
        feed(&mut e, &mut parser, &text, i * 10 + 1);
        released += e.take_ready(Instant::now(), false).len();
    }
    assert!(e.held() <= MAX_HELD);
    assert_eq!(released + e.held(), MAX_HELD + 5);
}

#[test]
fn the_embedded_rules_pass_every_check_and_only_they_skip_them() {
    let embedded = Rules::embedded();
    assert!(embedded.is_embedded());
    // What `validate_rules` no longer runs on them at start-up.
    embedded.validate(RULE_CHECKS).unwrap();
    // A user file, however small, is checked: a bad one fails.
    let mut bad = Rules::embedded();
    bad.add_text("bad.toml", "[staging]\nareas_typo = [\"/x/\"]\n")
        .unwrap();
    assert!(!bad.is_embedded());
    assert!(validate_rules(&bad).is_err(), "an invalid glob passed");
    // A table that is not the embedded rules is checked too.
    let table = Rules::embedded().table().clone();
    assert!(!Rules::from_table(table).unwrap().is_embedded());
}
