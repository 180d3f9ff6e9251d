//! Real Python and Perl as the oracle for signal masking in inline code: each code
//! masks (or not), then sends SIGHUP to its own process and writes a mark if it is
//! still alive. The same `-c`/`-e` command in a sudo `COMMAND=` line must be a
//! signal_mask finding exactly when the interpreter survived its hang-up.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{hunt_sudo_command, shell_quote, str_field, which};

/// Python codes; each is followed by a SIGHUP to itself and the mark `{O}`.
const PYTHON: &[&str] = &[
    // Survive the hang-up.
    "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)",
    "import signal as s; s.signal(s.SIGHUP, s.SIG_IGN)",
    "from signal import *; signal(SIGHUP, SIG_IGN)",
    "import signal; signal.signal(1, 1)",
    "import signal; getattr(signal, 'signal')(signal.SIGHUP, signal.SIG_IGN)",
    "import signal; s = signal.signal; s(signal.SIGHUP, signal.SIG_IGN)",
    "from signal import signal as on, SIGHUP, SIG_IGN; on(SIGHUP, SIG_IGN)",
    "import signal; signal.signal(signal.SIGHUP, lambda *a: None)",
    "import signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})",
    // Die of it.
    "import signal; signal.signal(signal.SIGHUP, signal.SIG_DFL)",
    "import signal; print(signal.SIG_IGN, signal.SIGHUP)",
    "import signal, os; s = signal.signal; s(signal.SIGHUP, lambda *a: os._exit(3))",
    "import signal; signal.getsignal(signal.SIGHUP)",
];

/// Perl codes, the same way.
const PERL: &[&str] = &[
    "$SIG{HUP} = 'IGNORE';",
    "$SIG{'HUP'} = \"IGNORE\";",
    "local $SIG{HUP} = q(IGNORE);",
    "@SIG{qw(HUP INT)} = ('IGNORE') x 2;",
    "$SIG{HUP} = sub {};",
    "use POSIX; sigaction(SIGHUP, POSIX::SigAction->new('IGNORE'));",
    "$SIG{HUP} = 'DEFAULT';",
    "print \"IGNORE HUP\\n\";",
    "$SIG{HUP} = sub { exit 3 };",
];

/// Runs `argv` (the code last) and hunts the same command in a sudo line: `None`
/// when the interpreter survived its SIGHUP exactly when sighunt reports masking.
fn check(dir: &Path, argv: &[&str], code: &str, mark: &Path) -> Option<String> {
    let _ = fs::remove_file(mark);
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let survived = fs::read_to_string(mark).is_ok_and(|m| m.contains("survived"));
    let quoted: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
    let findings = hunt_sudo_command(dir, "/root", &quoted.join(" "));
    let masks = findings
        .iter()
        .any(|f| str_field(f, "detection_type") == Some("signal_mask"));
    (survived != masks)
        .then(|| format!("{code}: survived SIGHUP: {survived} ({status}), sighunt: {masks}"))
}

#[test]
fn findings_agree_with_what_python_and_perl_survive() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("mark");
    let m = mark.to_str().unwrap().to_string();
    let mut disagree = Vec::new();
    let mut ran = 0;
    if let Some(python) = which("python3") {
        for code in PYTHON {
            // One line: a sudo log line holds no newline.
            let full = format!(
                "{code}; import os as _o, signal as _s, time as _t; \
                 _o.kill(_o.getpid(), _s.SIGHUP); _t.sleep(0.05); \
                 open({m:?}, 'a').write('survived')"
            );
            let py = python.to_str().unwrap();
            disagree.extend(check(dir.path(), &[py, "-c", &full], code, &mark));
            ran += 1;
        }
    }
    if let Some(perl) = which("perl") {
        for code in PERL {
            let full = format!(
                "{code} kill 'HUP', $$; select(undef, undef, undef, 0.05); \
                 open(my $f, '>>', '{m}'); print $f 'survived';"
            );
            let pl = perl.to_str().unwrap();
            disagree.extend(check(dir.path(), &[pl, "-e", &full], code, &mark));
            ran += 1;
        }
    }
    if ran == 0 {
        assert!(std::env::var_os("CI").is_none(), "CI has python3 and perl");
        eprintln!("SKIP: neither python3 nor perl");
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
