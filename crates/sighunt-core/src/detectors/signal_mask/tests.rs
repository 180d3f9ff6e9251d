//! The signal_mask detector's decisions, both sides: every interpreter form is found
//! with the signals it masks, and the look-alikes (resetting, real handlers, naming a
//! signal, data that mentions one) are not.

use std::sync::Arc;

use super::*;

fn exec(argv: &[&str]) -> ProcessStart {
    exec_at(argv, 100, 1)
}

fn exec_at(argv: &[&str], pid: u32, ppid: u32) -> ProcessStart {
    ProcessStart::test_exec(argv, pid, ppid)
}

fn run(events: Vec<ProcessStart>) -> Vec<Finding> {
    let mut d = SignalMaskDetector::new(&Rules::embedded()).unwrap();
    let mut out = Findings::default();
    for p in events {
        d.observe(&Event::Process(p), &mut out);
    }
    out.drain()
}

fn one(argv: &[&str]) -> Finding {
    let mut f = run(vec![exec(argv)]);
    assert_eq!(f.len(), 1, "{argv:?} → {f:?}");
    f.remove(0)
}

/// The `ignores_sig*` indicators of a finding, in rule order.
fn masked(f: &Finding) -> Vec<&str> {
    f.indicators
        .iter()
        .map(String::as_str)
        .filter(|i| i.starts_with("ignores_sig"))
        .collect()
}

fn none(argv: &[&str]) {
    let f = run(vec![exec(argv)]);
    assert!(f.is_empty(), "{argv:?} must not be reported: {f:?}");
}

#[test]
fn signal_names_and_numbers() {
    assert_eq!(signal_number("TERM"), Some(15));
    assert_eq!(signal_number("sigterm"), Some(15));
    assert_eq!(signal_number("SIGCLD"), Some(17));
    assert_eq!(signal_number("EXIT"), None);
    assert_eq!(signal_number("SIG"), None);
    assert_eq!(signal_name(1), Some("HUP"));
    assert_eq!(signal_name(0), None);
    assert_eq!(indicator_name(13).as_deref(), Some("ignores_sigpipe"));
}

#[test]
fn seed_test_3_python_sig_ign() {
    let f = one(&[
        "python3",
        "-c",
        "import signal,time; signal.signal(signal.SIGHUP, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1)",
    ]);
    assert_eq!(f.detection_type, DetectionType::SignalMask);
    assert_eq!(f.exec_cmd, "python3");
    assert_eq!(masked(&f), ["ignores_sighup", "ignores_sigterm"]);
    assert!(f.severity >= Severity::Medium, "{:?}", f.severity);
    assert_eq!((f.pid, f.ppid), (Some(100), Some(1)));
    assert_eq!(f.nohup_target, "");
}

#[test]
fn python_forms() {
    let cases: &[(&[&str], &[&str])] = &[
        // SIG_IGN by number, signals by number.
        (
            &[
                "python3",
                "-c",
                "import signal; signal.signal(15, 1); signal.signal(2, 1)",
            ],
            &["ignores_sigint", "ignores_sigterm"],
        ),
        (
            &[
                "python3",
                "-c",
                "from signal import *; signal(SIGINT, SIG_IGN)",
            ],
            &["ignores_sigint"],
        ),
        (
            &[
                "python",
                "-u",
                "-c",
                "import signal as s; s.signal(s.SIGQUIT, s.SIG_IGN)",
            ],
            &["ignores_sigquit"],
        ),
        (
            &[
                "python3.11",
                "-Bc",
                "import signal; signal.signal(signal.Signals.SIGTERM, signal.Handlers.SIG_IGN)",
            ],
            &["ignores_sigterm"],
        ),
        (
            &[
                "python3",
                "-c",
                "import signal; signal.signal(signal.SIGTERM, lambda s, f: None)",
            ],
            &["ignores_sigterm"],
        ),
        (
            &[
                "python3",
                "-c",
                "import signal\nfor s in (signal.SIGHUP, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)",
            ],
            &["ignores_sighup", "ignores_sigint"],
        ),
        (
            &[
                "python3",
                "-c",
                "import signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})",
            ],
            &["ignores_sigint", "ignores_sigterm"],
        ),
        (
            &[
                "python3",
                "-W",
                "ignore",
                "-c",
                "import signal;signal.signal(signal.SIGHUP,signal.SIG_IGN)",
            ],
            &["ignores_sighup"],
        ),
    ];
    for (argv, want) in cases {
        let f = one(argv);
        assert_eq!(masked(&f), *want, "{argv:?}");
    }
}

#[test]
fn python_ctypes_and_unresolved_loops() {
    let f = one(&[
        "python3",
        "-c",
        "import ctypes; libc = ctypes.CDLL(None); libc.signal(15, 1); libc.signal(1, 1)",
    ]);
    assert_eq!(masked(&f), ["ignores_sighup", "ignores_sigterm"]);
    assert!(f.indicators.iter().any(|i| i == "libc_signal_call"));
    let f = one(&[
        "python3",
        "-c",
        "import ctypes; ctypes.CDLL('libc.so.6').signal(2, 1)",
    ]);
    assert_eq!(masked(&f), ["ignores_sigint"]);
    assert!(f.indicators.iter().any(|i| i == "libc_signal_call"));
    let f = one(&[
        "python3",
        "-c",
        "import ctypes\nclass SA(ctypes.Structure): _fields_=[('sa_handler', ctypes.c_void_p), ('pad', ctypes.c_byte*144)]\nsa=SA(); sa.sa_handler=1\nlibc=ctypes.CDLL(None); libc.sigaction(15, ctypes.byref(sa), None)",
    ]);
    assert_eq!(masked(&f), ["ignores_sigterm"]);
    let f = one(&[
        "python3",
        "-c",
        "import signal\nfor i in range(1, 32):\n    try: signal.signal(i, signal.SIG_IGN)\n    except Exception: pass",
    ]);
    assert!(
        f.indicators
            .iter()
            .any(|i| i == "ignores_unresolved_signals"),
        "{:?}",
        f.indicators
    );
}

#[test]
fn python_getattr_and_function_aliases() {
    for code in [
        "import signal; getattr(signal,'signal')(signal.SIGHUP, signal.SIG_IGN)",
        "import signal; getattr(signal, \"signal\")(getattr(signal, 'SIGHUP'), getattr(signal, 'SIG_IGN'))",
        "import signal; s=signal.signal; s(signal.SIGHUP, signal.SIG_IGN)",
        "import signal as g; f = g.signal\nf(g.SIGHUP, g.SIG_IGN)",
        "from signal import signal as on, SIGHUP, SIG_IGN; on(SIGHUP, SIG_IGN)",
        "from signal import SIGHUP, SIG_IGN, signal as on; on(SIGHUP, SIG_IGN)",
    ] {
        let m = python(code);
        assert_eq!(m.signals, BTreeSet::from([1]), "{code}");
    }
    // A bound name called with a real handler, or a name bound to something else,
    // masks nothing.
    for code in [
        "import signal; s=signal.signal; s(signal.SIGHUP, on_hup)",
        "import signal; s=signal.getsignal; s(signal.SIGHUP)",
        "import signal; print(getattr(signal, 'SIG_IGN'))",
        "s = str; s(1)",
    ] {
        let m = python(code);
        assert!(m.signals.is_empty() && !m.unresolved, "{code}: {m:?}");
    }
}

#[test]
fn python_look_alikes() {
    // Scenario 11b of examples/linux: naming a signal is not masking it.
    none(&["python3", "-c", "import signal; print(signal.SIGHUP)"]);
    none(&[
        "python3",
        "-c",
        "import signal; signal.signal(signal.SIGINT, signal.SIG_DFL)",
    ]);
    none(&[
        "python3",
        "-c",
        "import signal,sys; signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))",
    ]);
    none(&[
        "python3",
        "-c",
        "import signal; print(signal.getsignal(signal.SIGTERM) == signal.SIG_IGN)",
    ]);
    none(&[
        "python3",
        "/tmp/uses_sig_ign.py",
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    ]);
    none(&[
        "python3",
        "-m",
        "signal",
        "-c",
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    ]);
    none(&[
        "grep",
        "-r",
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
        "/src",
    ]);
    none(&[
        "echo",
        "python3 -c 'import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)'",
    ]);
}

#[test]
fn perl_posix_sigaction() {
    let m = perl("POSIX::sigaction(SIGTERM, POSIX::SigAction->new(\"IGNORE\")); sleep 60");
    assert_eq!(m.signals.into_iter().collect::<Vec<_>>(), [15]);
}

#[test]
fn perl_forms() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "perl",
                "-MPOSIX",
                "-e",
                "POSIX::sigaction(SIGTERM, POSIX::SigAction->new(\"IGNORE\")); sleep 60",
            ],
            &["ignores_sigterm"],
        ),
        (
            &[
                "perl",
                "-MPOSIX",
                "-e",
                "my $a = POSIX::SigAction->new(SIG_IGN); sigaction(&POSIX::SIGHUP, $a); sigaction(SIGINT, $a); exec '/tmp/.x'",
            ],
            &["ignores_sighup", "ignores_sigint"],
        ),
        (
            &["perl", "-e", "$SIG{TERM}=\"IGNORE\"; sleep 1"],
            &["ignores_sigterm"],
        ),
        (
            &[
                "perl",
                "-e",
                "$SIG{HUP} = 'IGNORE'; $SIG{'INT'} = 'IGNORE'; sleep 60",
            ],
            &["ignores_sighup", "ignores_sigint"],
        ),
        (
            &["perl", "-le", "local $SIG{QUIT} = 'IGNORE'; print 1"],
            &["ignores_sigquit"],
        ),
        (
            &["perl", "-e", "$SIG{HUP} = $SIG{TERM} = 'IGNORE'; 1 while 1"],
            &["ignores_sighup", "ignores_sigterm"],
        ),
        (
            &[
                "perl",
                "-e",
                "@SIG{qw(HUP INT TERM)} = ('IGNORE') x 3; sleep 9",
            ],
            &["ignores_sighup", "ignores_sigint", "ignores_sigterm"],
        ),
        (
            &[
                "perl",
                "-e",
                "$SIG{$_} = 'IGNORE' for qw(HUP TERM); sleep 9",
            ],
            &["ignores_sighup", "ignores_sigterm"],
        ),
        (
            &["perl", "-MPOSIX", "-e", "$SIG{INT} = sub {}; sleep 9"],
            &["ignores_sigint"],
        ),
        (
            &["perl", "-e", "$SIG{PIPE}=IGNORE; print 1"],
            &["ignores_sigpipe"],
        ),
    ];
    for (argv, want) in cases {
        let f = one(argv);
        assert_eq!(masked(&f), *want, "{argv:?}");
        assert_eq!(f.exec_cmd, "perl");
    }
    none(&[
        "perl",
        "-e",
        "$SIG{ALRM} = sub { die \"timeout\\n\" }; alarm 5",
    ]);
    none(&["perl", "-e", "$SIG{TERM} = 'DEFAULT'"]);
    none(&["perl", "-e", "print 1 if $SIG{TERM} eq 'IGNORE'"]);
    none(&["perl", "-e", "print \"IGNORE SIGTERM\\n\""]);
    none(&["perl", "/usr/share/script.pl", "-e", "$SIG{TERM}='IGNORE'"]);
}

#[test]
fn ruby_forms() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["ruby", "-e", "trap(\"HUP\", \"IGNORE\"); sleep 9"],
            &["ignores_sighup"],
        ),
        (
            &["ruby", "-e", "Signal.trap('TERM', 'SIG_IGN'); sleep"],
            &["ignores_sigterm"],
        ),
        (
            &["ruby", "-e", "Signal.trap(:INT, \"\"); sleep"],
            &["ignores_sigint"],
        ),
        (
            &["ruby", "-e", "trap 'SIGQUIT', 'IGNORE'; sleep"],
            &["ignores_sigquit"],
        ),
        (
            &["ruby", "-e", "trap(15, nil); sleep"],
            &["ignores_sigterm"],
        ),
        (
            &["ruby", "-e", "trap(\"TERM\") {}; sleep"],
            &["ignores_sigterm"],
        ),
        (
            &[
                "ruby",
                "-rsocket",
                "-e",
                "%w(HUP INT).each { |s| trap(s, 'IGNORE') }; sleep",
            ],
            &["ignores_sighup", "ignores_sigint"],
        ),
    ];
    for (argv, want) in cases {
        let f = one(argv);
        assert_eq!(masked(&f), *want, "{argv:?}");
    }
    none(&["ruby", "-e", "trap('TERM') { puts 'bye'; exit }; sleep"]);
    none(&["ruby", "-e", "trap('EXIT') { }; puts 1"]);
    none(&["ruby", "-e", "trap('INT', 'DEFAULT')"]);
    none(&["ruby", "-e", "puts Signal.list['TERM']"]);
}

#[test]
fn shell_trap_forms() {
    let cases: &[(&[&str], &[&str])] = &[
        // Scenario 12b of examples/linux.
        (
            &["bash", "-c", "trap '' HUP INT TERM; sleep 1"],
            &["ignores_sighup", "ignores_sigint", "ignores_sigterm"],
        ),
        (
            &["sh", "-c", "trap \"\" 1 2 15; exec ./worker"],
            &["ignores_sighup", "ignores_sigint", "ignores_sigterm"],
        ),
        (
            &["bash", "-c", "trap -- '' SIGTERM; ./x"],
            &["ignores_sigterm"],
        ),
        (&["dash", "-c", "trap : HUP; ./x"], &["ignores_sighup"]),
        (
            &["bash", "-c", "trap '' term quit; ./x"],
            &["ignores_sigquit", "ignores_sigterm"],
        ),
    ];
    for (argv, want) in cases {
        let f = one(argv);
        assert_eq!(masked(&f), *want, "{argv:?}");
        assert_eq!(f.exec_cmd, argv[0]);
    }
    // Resetting, listing, real handlers (T1546.005), and text that only mentions trap.
    none(&["bash", "-c", "trap - HUP INT TERM; ./x"]);
    none(&["bash", "-c", "trap 'cleanup' EXIT; ./x"]);
    none(&["bash", "-c", "trap 'rm -f /tmp/lock; exit 1' INT TERM; ./x"]);
    none(&["bash", "-c", "trap '' EXIT; ./x"]);
    none(&["bash", "-c", "trap -p TERM"]);
    none(&["sh", "-c", "trap 1 2 15"]);
    none(&["sh", "-c", "trap TERM"]);
    none(&["sh", "-c", "echo \"trap '' HUP\""]);
    none(&["man", "trap"]);
}

#[test]
fn node_forms() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "node",
                "-e",
                "process.on('SIGHUP', () => {}); setInterval(() => {}, 1000)",
            ],
            &["ignores_sighup"],
        ),
        (
            &[
                "nodejs",
                "--eval",
                "process.on(\"SIGTERM\", function () {}); setInterval(()=>{}, 1e3)",
            ],
            &["ignores_sigterm"],
        ),
        (
            &["node", "--eval=process.once('SIGINT', _ => null)"],
            &["ignores_sigint"],
        ),
        (
            &[
                "node",
                "-e",
                "['SIGHUP','SIGTERM'].forEach(s => process.on(s, () => {}))",
            ],
            &["ignores_sighup", "ignores_sigterm"],
        ),
    ];
    for (argv, want) in cases {
        let f = one(argv);
        assert_eq!(masked(&f), *want, "{argv:?}");
    }
    none(&["node", "-e", "process.on('SIGTERM', () => server.close())"]);
    none(&["node", "-e", "process.on('exit', () => {})"]);
    none(&[
        "node",
        "/srv/app.js",
        "-e",
        "process.on('SIGTERM', () => {})",
    ]);
}

#[test]
fn php_forms() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "php",
                "-r",
                "pcntl_signal(SIGTERM, SIG_IGN); pcntl_signal(SIGHUP, SIG_IGN); sleep(99);",
            ],
            &["ignores_sighup", "ignores_sigterm"],
        ),
        (
            &[
                "php8.2",
                "-d",
                "memory_limit=-1",
                "-r",
                "\\pcntl_signal(\\SIGINT, \\SIG_IGN);",
            ],
            &["ignores_sigint"],
        ),
        (
            &[
                "php",
                "-r",
                "pcntl_signal(1, function () {}); pcntl_signal(15, fn() => null, false);",
            ],
            &["ignores_sighup", "ignores_sigterm"],
        ),
        (
            &[
                "php",
                "-r",
                "foreach ([SIGHUP, SIGTERM, SIGINT] as $s) { pcntl_signal($s, SIG_IGN); } passthru('/tmp/.x');",
            ],
            &["ignores_sighup", "ignores_sigint", "ignores_sigterm"],
        ),
        (
            &[
                "php",
                "-r",
                "pcntl_sigprocmask(SIG_BLOCK, [SIGTERM, SIGHUP]); system('/dev/shm/k');",
            ],
            &["ignores_sighup", "ignores_sigterm"],
        ),
    ];
    for (argv, want) in cases {
        let f = one(argv);
        assert_eq!(masked(&f), *want, "{argv:?}");
    }
    // What the masked PHP runs next is judged like Python's or Perl's.
    let f = one(&[
        "php",
        "-r",
        "pcntl_signal(SIGTERM, SIG_IGN); passthru(\"/var/tmp/.php-fpm\");",
    ]);
    assert!(
        f.indicators.iter().any(|i| i == "temp_dir_payload"),
        "{f:?}"
    );
    // A handler that does something, the default action, unblocking, a script file,
    // and code that only names the function.
    none(&[
        "php",
        "-r",
        "pcntl_signal(SIGTERM, function () { exit(0); });",
    ]);
    none(&["php", "-r", "pcntl_signal(SIGTERM, SIG_DFL);"]);
    none(&["php", "-r", "pcntl_sigprocmask(SIG_UNBLOCK, [SIGTERM]);"]);
    none(&[
        "php",
        "-f",
        "/srv/app.php",
        "--",
        "-r",
        "pcntl_signal(SIGTERM, SIG_IGN);",
    ]);
    none(&[
        "php",
        "/srv/worker.php",
        "-r",
        "pcntl_signal(SIGTERM, SIG_IGN);",
    ]);
    none(&["php", "-r", "echo function_exists('pcntl_signal');"]);
}

#[test]
fn scoring_table() {
    // (argv, score, severity): TERM or INT weigh more than HUP alone; PIPE or CHLD
    // alone stay low; TERM is at least medium; many signals at once add weight.
    let trap = |sigs: &str| {
        vec![
            "sh".to_string(),
            "-c".to_string(),
            format!("trap '' {sigs}; ./run"),
        ]
    };
    let table: &[(&str, i64, Severity)] = &[
        ("HUP", 1, Severity::Low),
        ("INT", 2, Severity::Low),
        ("QUIT", 1, Severity::Low),
        ("PIPE", 0, Severity::Low),
        ("CHLD", 0, Severity::Low),
        ("PIPE CHLD", 0, Severity::Low),
        ("TERM", 3, Severity::Medium),
        ("HUP TERM", 4, Severity::Medium),
        ("HUP INT", 3, Severity::Medium),
        ("HUP INT TERM", 6, Severity::High),
        // BPFDoor's seven: HUP INT QUIT PIPE CHLD TTIN TTOU.
        ("HUP INT QUIT PIPE CHLD TTIN TTOU", 6, Severity::High),
        ("HUP INT QUIT TERM", 9, Severity::High),
    ];
    for (sigs, score, severity) in table {
        let argv = trap(sigs);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let f = one(&argv);
        assert_eq!(
            (f.suspicion_score, f.severity),
            (*score, *severity),
            "trap '' {sigs}: {:?}",
            f.indicators
        );
    }
    let hup = one(&["sh", "-c", "trap '' HUP; ./run"]).suspicion_score;
    let int = one(&["sh", "-c", "trap '' INT; ./run"]).suspicion_score;
    let term = one(&["sh", "-c", "trap '' TERM; ./run"]).suspicion_score;
    assert!(int > hup && term > hup);
    let bpf = one(&[
        "sh",
        "-c",
        "trap '' HUP INT QUIT PIPE CHLD TTIN TTOU; ./run",
    ]);
    assert!(bpf.indicators.iter().any(|i| i == "many_signals"));
    assert_eq!(masked(&bpf).len(), 7);
}

#[test]
fn found_behind_wrappers_nohup_and_in_command_text() {
    let f = one(&[
        "nohup",
        "python3",
        "-c",
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    ]);
    assert!(f.indicators.iter().any(|i| i == "with_nohup"));
    assert_eq!(f.exec_cmd, "python3");
    let f = one(&[
        "sudo",
        "-u",
        "www-data",
        "env",
        "X=1",
        "perl",
        "-e",
        "$SIG{TERM}='IGNORE'; exec '/dev/shm/.k'",
    ]);
    assert_eq!(masked(&f), ["ignores_sigterm"]);
    assert!(
        f.indicators.iter().any(|i| i == "temp_dir_payload"),
        "{:?}",
        f.indicators
    );
    let f = one(&[
        "sh",
        "-c",
        "python3 -c 'import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)' &",
    ]);
    assert_eq!(masked(&f), ["ignores_sighup"]);
    // A temp path the code only writes to is no payload.
    let f = one(&[
        "python3",
        "-c",
        "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN); open('/tmp/log', 'w')",
    ]);
    assert!(!f.indicators.iter().any(|i| i == "temp_dir_payload"));

    // Command text (sudo COMMAND=, history): the trap and what runs after it.
    let mut p = exec(&[]);
    p.origin = ProcessOrigin::CommandText;
    p.command_line = "trap '' HUP INT TERM; /tmp/.x/payload >/dev/null 2>&1 &".into();
    let f = run(vec![p]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].exec_cmd, "trap");
    assert!(f[0].indicators.iter().any(|i| i == "temp_dir_payload"));

    // An interpreter renamed in argv[0] (`exec -a`): the image tells the language.
    let mut p = exec(&[
        "[kworker/0:1]",
        "-c",
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    ]);
    p.exe = Some("/usr/bin/python3.11".into());
    let f = run(vec![p]);
    assert_eq!(f.len(), 1);
    assert_eq!(masked(&f[0]), ["ignores_sigterm"]);
}

#[test]
fn the_nohup_exec_and_the_interpreter_exec_are_one_finding() {
    let code = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(9)";
    let f = run(vec![
        exec_at(&["nohup", "python3", "-c", code], 10, 1),
        exec_at(&["python3", "-c", code], 10, 1),
    ]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].indicators.iter().any(|i| i == "with_nohup"));
    // The same code run again by an unrelated process is another finding.
    let f = run(vec![
        exec_at(&["python3", "-c", code], 10, 1),
        exec_at(&["python3", "-c", code], 20, 2),
    ]);
    assert_eq!(f.len(), 2);
}

#[test]
fn hostile_input_does_not_panic() {
    for code in [
        "signal.signal(",
        "signal.signal(signal.SIGTERM,",
        "signal.signal((((((((",
        "$SIG{",
        "$SIG{TERM} =",
        "trap(",
        "process.on('SIGTERM', ",
        "\u{1f600}signal.signal(1, 1)\u{1f600}",
        "'\\",
    ] {
        for prog in ["python3", "perl", "ruby", "node"] {
            let _ = run(vec![exec(&[prog, "-e", code]), exec(&[prog, "-c", code])]);
        }
    }
    let long = format!(
        "import signal; {}signal.signal(15, 1)",
        "x=1;".repeat(100_000)
    );
    let f = run(vec![exec(&["python3", "-c", &long])]);
    assert!(
        f.is_empty(),
        "masking past the analysis limit is not seen (bounded work)"
    );
}

/// `examples/linux/audit-{raw,enriched}.log`, recorded by `scripts/audit-scenarios.sh`
/// on a real kernel: scenarios 03 (the seed's test 3), 12a (Perl) and 12b (`trap ''`)
/// are found, the benign 11b (`print(signal.SIGHUP)`) and every nohup scenario are not.
#[test]
fn kernel_recorded_scenarios() {
    kernel_recorded(include_bytes!(
        "../../../../../examples/linux/audit-raw.log"
    ));
    kernel_recorded(include_bytes!(
        "../../../../../examples/linux/audit-enriched.log"
    ));
}

fn kernel_recorded(log: &[u8]) {
    use crate::input::InputError;
    use crate::sources::{EventSink, LineParser, auditd::AuditParser};

    struct Sink(SignalMaskDetector, Findings);
    impl EventSink for Sink {
        fn event(&mut self, event: Event) {
            self.0.observe(&event, &mut self.1);
        }
        fn error(&mut self, _: InputError) {}
    }
    let mut parser = AuditParser::new(Arc::from("audit.log"));
    let mut sink = Sink(
        SignalMaskDetector::new(&Rules::embedded()).unwrap(),
        Findings::default(),
    );
    for (i, line) in log.split(|&b| b == b'\n').enumerate() {
        parser.line(line, i as u64 + 1, &mut sink);
    }
    parser.finish(&mut sink);
    let findings = sink.1.drain();
    let by = |needle: &str| -> Vec<&Finding> {
        findings
            .iter()
            .filter(|f| f.command_line.contains(needle))
            .collect()
    };

    let seed = by("signal.SIGTERM, signal.SIG_IGN");
    assert_eq!(seed.len(), 1, "{findings:#?}");
    assert_eq!(masked(seed[0]), ["ignores_sighup", "ignores_sigterm"]);
    assert_eq!(seed[0].exec_cmd, "python3");
    assert!(seed[0].severity >= Severity::Medium);
    assert!(seed[0].time.is_some() && seed[0].pid.is_some());

    let perl = by("$SIG{TERM}");
    assert_eq!(perl.len(), 1);
    assert_eq!(masked(perl[0]), ["ignores_sigterm"]);
    assert_eq!(perl[0].exec_cmd, "perl");

    let trap = by("HUP INT TERM; sleep 1");
    assert_eq!(trap.len(), 1);
    assert_eq!(
        masked(trap[0]),
        ["ignores_sighup", "ignores_sigint", "ignores_sigterm"]
    );
    assert_eq!(trap[0].exec_cmd, "bash");
    assert!(trap[0].severity >= Severity::High);

    assert!(by("print(signal.SIGHUP)").is_empty());

    // Issue #14 (k19-k22): one idiom per language, each one finding.
    for (needle, signals) in [
        ("POSIX::SigAction", &["ignores_sigterm"][..]),
        ("from signal import", &["ignores_sighup", "ignores_sigterm"]),
        (
            "process.on(\"SIGINT\"",
            &["ignores_sigint", "ignores_sigterm"],
        ),
        ("1 15; exec", &["ignores_sighup", "ignores_sigterm"]),
    ] {
        let f = by(needle);
        assert_eq!(f.len(), 1, "{needle}: {findings:#?}");
        assert_eq!(masked(f[0]), signals, "{needle}");
        assert!(f[0].severity >= Severity::Medium, "{needle}");
    }
    // Their look-alikes (a14-a16): a reset, a real handler, a handler that exits.
    for needle in ["signal.SIG_DFL", "trap 'rm -f", "console.log"] {
        assert!(by(needle).is_empty(), "{needle}");
    }
    assert_eq!(
        findings.len(),
        7,
        "only the seven signal scenarios: {findings:#?}"
    );
}

/// The hand-written path-literal scanner finds what the regex it replaced found:
/// every string over an alphabet of quotes, slashes, spaces (ASCII and Unicode) and
/// letters up to length 5, plus runs at the 4,096-character limit.
#[test]
fn quoted_paths_agree_with_the_regex_they_replace() {
    let oracle = regex::Regex::new(r#"["'](/[^"'\s]{1,4096})["']"#).unwrap();
    let expected = |code: &str| -> Vec<String> {
        oracle
            .captures_iter(code)
            .map(|c| c[1].to_string())
            .take(64)
            .collect()
    };
    let alphabet = ['"', '\'', '/', ' ', 'a', '\u{2003}', 'é'];
    let mut cases: Vec<String> = vec![String::new()];
    let mut frontier = vec![String::new()];
    for _ in 0..5 {
        let mut next = Vec::new();
        for s in &frontier {
            for &c in &alphabet {
                let mut t = s.clone();
                t.push(c);
                next.push(t);
            }
        }
        cases.extend(next.iter().cloned());
        frontier = next;
    }
    for n in [4095, 4096, 4097] {
        cases.push(format!("os.execv('/{}', [])", "x".repeat(n)));
        cases.push(format!("'/{}' \"/tmp/y\"", "é".repeat(n)));
    }
    cases.push("'/a' ".repeat(80));
    for case in &cases {
        assert_eq!(quoted_paths(case), expected(case), "{case:?}");
    }
}

/// Each pattern is compiled on first use, in the form the text needs (a
/// compile failure there would stop a hunt): every one compiles in both forms.
#[test]
fn every_inline_code_pattern_compiles_for_ascii_and_other_text() {
    let all: [&TextRegex; 27] = [
        &SIG_NAME,
        &INTEGER,
        &IDENT,
        &PY_CALL,
        &PY_ALIAS,
        &PY_NOOP_LAMBDA,
        &PY_SIG_IGN,
        &PY_SA_IGNORE,
        &PY_GETATTR,
        &PY_FUNC_ALIAS,
        &PERL_SIG,
        &PERL_SLICE,
        &PERL_IGNORE_VALUE,
        &PERL_SIGPROCMASK,
        &WORD,
        &PERL_SIGACTION_IGNORE,
        &PERL_SIGACTION_CALL,
        &RUBY_TRAP,
        &RUBY_ARG,
        &RUBY_IGNORE,
        &RUBY_EMPTY_BLOCK,
        &NODE_ON,
        &NODE_NOOP,
        &PHP_SIGNAL,
        &PHP_SIGPROCMASK,
        &PHP_NOOP,
        &EXECS,
    ];
    for pattern in all {
        // Either form is built here, or the test panics naming the pattern.
        let _ = pattern.on("trap '' HUP").is_match("trap '' HUP");
        let _ = pattern.on("trap 'é' HUP").is_match("trap 'é' HUP");
    }
}
