//! Commands an interpreter's inline code runs.
//!
//! `python3 -c 'import os; os.system("nohup /tmp/.a &")'`,
//! `perl -e 'system("nohup /dev/shm/.b &")'`, `ruby -e '`nohup …`'` and
//! `php -r 'shell_exec("nohup …");'` start a shell (or a program) that no word of
//! the command line names. A process log shows those as their own execs; a line of
//! text (sudo `COMMAND=`, cron, history, a 4688-style command line) is all some logs
//! keep. So the string literals the code hands to the language's process calls are
//! read: a string a shell runs as shell text, a list of strings as an argv.
//!
//! Only literals are read: a command built from variables or f-string fields is
//! unknown here (the process log has what ran).

use std::sync::LazyLock;

use regex::Regex;

use super::inline::Lang;

/// Most commands read from one piece of code.
const MAX_RUNS: usize = 16;
/// Most process calls looked at in one piece of code (each reads its arguments).
const MAX_CALLS: usize = 64;
/// Most bytes of code read.
const MAX_CODE_BYTES: usize = 256 * 1024;
/// Most words of one argv list.
const MAX_LIST: usize = 256;

/// A command inline code runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRun {
    /// Shell text, run by `sh -c` (`os.system`, Perl `system "…"`, backticks).
    Shell(String),
    /// An argv, run without a shell (`subprocess.Popen([...])`, `exec('nohup', …)`).
    Argv(Vec<String>),
}

/// How a call's arguments become a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    /// One string is shell text; several strings (or a list) are an argv.
    ShellOrArgv,
    /// A string is shell text only with `shell=True` / `shell: true`; otherwise a
    /// string is a program and a list an argv.
    ArgvUnlessShell,
    /// Always shell text (`os.popen`, `subprocess.getoutput`, Node `exec`).
    Shell,
    /// `os.execv(path, [argv0, …])` / `os.execl(path, argv0, …)`: the path runs,
    /// with the rest of the argv after argv0.
    PathThenArgv,
    /// `pcntl_exec(path, [args…])`: the path, then its arguments (no argv0).
    PathThenArgs,
}

/// One language's process calls: a regex whose group 1 is the call name, ending
/// where the arguments start, and how each name's arguments read.
struct Calls {
    call: &'static LazyLock<Regex>,
    kind: fn(&str) -> CallKind,
    /// Shell-text literals outside calls (backticks, `qx{…}`, `%x(…)`).
    backticks: bool,
    qx: bool,
}

static PY_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:(?:os|subprocess|pty|commands)\s*\.\s*)?(system|popen|Popen|run|call|check_call|check_output|getoutput|getstatusoutput|execv|execvp|execve|execvpe|execl|execlp|execle|execlpe|spawn)\s*\(",
    )
    .unwrap()
});
static PY_MODULE_ALIAS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bimport\s+(?:os|subprocess|pty)\s+as\s+([A-Za-z_]\w*)").unwrap()
});
static PERL_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(system|exec)\b\s*\(?").unwrap());
static RUBY_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:Kernel|Process|IO|Open3)\s*\.\s*)?(system|exec|spawn|popen|popen2|popen2e|popen3|capture2|capture2e|capture3)\b\s*\(?")
        .unwrap()
});
static PHP_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(").unwrap()
});
static NODE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(exec|execSync|spawn|spawnSync|execFile|execFileSync)\s*\(").unwrap()
});

fn python_kind(name: &str) -> CallKind {
    match name {
        "system" | "popen" | "getoutput" | "getstatusoutput" => CallKind::Shell,
        n if n.starts_with("exec") => CallKind::PathThenArgv,
        _ => CallKind::ArgvUnlessShell,
    }
}

fn perl_ruby_kind(_: &str) -> CallKind {
    CallKind::ShellOrArgv
}

fn php_kind(name: &str) -> CallKind {
    if name.eq_ignore_ascii_case("pcntl_exec") {
        CallKind::PathThenArgs
    } else {
        CallKind::ShellOrArgv
    }
}

fn node_kind(name: &str) -> CallKind {
    match name {
        "exec" | "execSync" => CallKind::Shell,
        _ => CallKind::ArgvUnlessShell,
    }
}

fn calls(lang: Lang) -> Calls {
    match lang {
        Lang::Python => Calls {
            call: &PY_CALL,
            kind: python_kind,
            backticks: false,
            qx: false,
        },
        Lang::Perl => Calls {
            call: &PERL_CALL,
            kind: perl_ruby_kind,
            backticks: true,
            qx: true,
        },
        Lang::Ruby => Calls {
            call: &RUBY_CALL,
            kind: perl_ruby_kind,
            backticks: true,
            qx: true,
        },
        Lang::Php => Calls {
            call: &PHP_CALL,
            kind: php_kind,
            backticks: true,
            qx: false,
        },
        Lang::Node => Calls {
            call: &NODE_CALL,
            kind: node_kind,
            backticks: false,
            qx: false,
        },
    }
}

/// The commands `code` (inline code of `lang`) runs, in code order.
pub fn code_runs(lang: Lang, code: &str) -> Vec<CodeRun> {
    let mut out = Vec::new();
    let mut end = code.len().min(MAX_CODE_BYTES);
    while !code.is_char_boundary(end) {
        end -= 1;
    }
    let code = &code[..end];
    let c = calls(lang);
    let strings = literal_spans(code, lang);
    let in_string = |at: usize| {
        let k = strings.partition_point(|&(start, _)| start <= at);
        k > 0 && at < strings[k - 1].1
    };
    for m in c
        .call
        .captures_iter(code)
        .filter(|m| !in_string(m.get(0).unwrap().start()))
        .take(MAX_CALLS)
    {
        if out.len() >= MAX_RUNS {
            return out;
        }
        let whole = m.get(0).unwrap();
        // `x.system(…)`, `$o->exec(…)`, `Cls::exec(…)`: a method of some other object
        // (the module prefixes the regexes know are part of the match). Node's
        // calls are methods of `child_process` under any name.
        let before = code[..whole.start()].trim_end();
        if lang != Lang::Node && before.ends_with(['.', '>', '$', ':']) {
            // `import subprocess as sp; sp.run(…)`: an alias of a module is the module.
            let object = before.trim_end_matches('.').trim_end();
            let name_start = object
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let object = &object[name_start..];
            let aliased = lang == Lang::Python
                && before.ends_with('.')
                && !object.is_empty()
                && PY_MODULE_ALIAS.captures_iter(code).any(|a| &a[1] == object);
            if !aliased {
                continue;
            }
        }
        let name = &m[1];
        let parenthesised = whole.as_str().ends_with('(');
        let args = arguments(&code[whole.end()..], lang, parenthesised);
        if let Some(run) = command_of((c.kind)(name), &args) {
            out.push(run);
        }
    }
    if c.backticks {
        for text in delimited(code, '`', '`') {
            if out.len() >= MAX_RUNS {
                break;
            }
            out.push(CodeRun::Shell(text));
        }
    }
    if c.qx {
        for text in quote_operator(code) {
            if out.len() >= MAX_RUNS {
                break;
            }
            out.push(CodeRun::Shell(text));
        }
    }
    out
}

/// An argument as far as a literal reader can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Str(String),
    List(Vec<String>),
    /// `shell=True`, `shell: true`.
    ShellTrue,
    Other,
}

fn command_of(kind: CallKind, args: &[Arg]) -> Option<CodeRun> {
    let shell_true = args.contains(&Arg::ShellTrue);
    let strings: Option<Vec<String>> = args
        .iter()
        .filter(|a| **a != Arg::ShellTrue)
        .map(|a| match a {
            Arg::Str(s) => Some(vec![s.clone()]),
            Arg::List(l) => Some(l.clone()),
            _ => None,
        })
        .try_fold(Vec::new(), |mut acc, v| {
            acc.extend(v?);
            Some(acc)
        });
    let first = args.first()?;
    match kind {
        CallKind::Shell => match first {
            Arg::Str(s) => Some(CodeRun::Shell(s.clone())),
            _ => None,
        },
        CallKind::ShellOrArgv => match (first, args.len()) {
            (Arg::Str(s), 1) => Some(CodeRun::Shell(s.clone())),
            (Arg::List(l), _) if !l.is_empty() => Some(CodeRun::Argv(l.clone())),
            (Arg::Str(_), _) => strings.filter(|s| !s.is_empty()).map(CodeRun::Argv),
            _ => None,
        },
        CallKind::ArgvUnlessShell => match first {
            Arg::Str(s) if shell_true => Some(CodeRun::Shell(s.clone())),
            Arg::List(l) if shell_true => Some(CodeRun::Shell(l.join(" "))),
            Arg::Str(s) => {
                // Node's spawn('nohup', ['/tmp/x']): the program, then its arguments.
                let mut argv = vec![s.clone()];
                if let Some(Arg::List(l)) = args.get(1) {
                    argv.extend(l.iter().cloned());
                }
                Some(CodeRun::Argv(argv))
            }
            Arg::List(l) if !l.is_empty() => Some(CodeRun::Argv(l.clone())),
            _ => None,
        },
        CallKind::PathThenArgs => {
            let Arg::Str(path) = first else { return None };
            let mut argv = vec![path.clone()];
            if let Some(Arg::List(l)) = args.get(1) {
                argv.extend(l.iter().cloned());
            }
            Some(CodeRun::Argv(argv))
        }
        CallKind::PathThenArgv => {
            let Arg::Str(path) = first else { return None };
            let mut argv = vec![path.clone()];
            match args.get(1) {
                // execv(path, [argv0, …])
                Some(Arg::List(l)) => argv.extend(l.iter().skip(1).cloned()),
                // execl(path, argv0, a1, …)
                Some(Arg::Str(_)) => argv.extend(strings?.into_iter().skip(2)),
                _ => {}
            }
            Some(CodeRun::Argv(argv))
        }
    }
}

/// The arguments of a call whose `(` (or, for Perl and Ruby, the space) ends just
/// before `s`, up to the closing paren (or the end of the statement).
fn arguments(s: &str, lang: Lang, parenthesised: bool) -> Vec<Arg> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || out.len() > MAX_LIST {
            return out;
        }
        match b[i] {
            b')' if parenthesised => return out,
            b';' | b'\n' | b'}' if !parenthesised => return out,
            _ => {}
        }
        let (arg, next) = argument(s, i, lang);
        out.push(arg);
        i = next;
        // Skip to the comma that ends this argument, at depth 0.
        let mut depth = 0i32;
        while i < b.len() {
            match b[i] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth > 0 => depth -= 1,
                b')' | b']' | b'}' => return out,
                b';' | b'\n' if !parenthesised && depth == 0 => return out,
                b',' if depth == 0 => {
                    i += 1;
                    break;
                }
                b'\'' | b'"' | b'`' => match literal(s, i, lang) {
                    Some((_, end)) => {
                        i = end;
                        continue;
                    }
                    None => return out,
                },
                _ => {}
            }
            i += 1;
        }
        if i >= b.len() {
            return out;
        }
    }
}

/// One argument starting at `i`, and where it ends.
fn argument(s: &str, i: usize, lang: Lang) -> (Arg, usize) {
    let rest = &s[i..];
    if let Some((text, end)) = literal(s, i, lang) {
        return (Arg::Str(text), end);
    }
    if rest.starts_with('[') || (lang == Lang::Perl && rest.starts_with('(')) {
        let close = if rest.starts_with('[') { b']' } else { b')' };
        let b = s.as_bytes();
        let mut j = i + 1;
        let mut items = Vec::new();
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b',') {
                j += 1;
            }
            if j >= b.len() {
                return (Arg::Other, j);
            }
            if b[j] == close {
                return (Arg::List(items), j + 1);
            }
            match literal(s, j, lang) {
                Some((text, end)) if items.len() < MAX_LIST => {
                    items.push(text);
                    j = end;
                }
                _ => return (Arg::Other, j),
            }
        }
    }
    let compact: String = rest
        .chars()
        .take(16)
        .filter(|c| !c.is_whitespace())
        .collect();
    if compact.starts_with("shell=True") || compact.starts_with("{shell:true") {
        return (Arg::ShellTrue, i + 1);
    }
    (Arg::Other, i)
}

/// A string literal at `i`: its value and the index after it. Escapes are decoded
/// in double-quoted strings (`\"`, `\\`, `\n`, `\t`, `\xHH`); single-quoted ones
/// keep everything but `\'` and `\\`. Python's `r`/`b`/`u` prefixes are read;
/// f-strings and template literals with fields are not literals.
fn literal(s: &str, i: usize, lang: Lang) -> Option<(String, usize)> {
    let b = s.as_bytes();
    let mut j = i;
    let mut raw = false;
    if lang == Lang::Python {
        while j < b.len() && j - i < 2 && matches!(b[j], b'r' | b'R' | b'b' | b'B' | b'u' | b'U') {
            raw |= matches!(b[j], b'r' | b'R');
            j += 1;
        }
    }
    let q = *b.get(j)?;
    if !(matches!(q, b'\'' | b'"') || (q == b'`' && lang == Lang::Node)) {
        return None;
    }
    let triple = lang == Lang::Python && s[j..].starts_with(&format!("{0}{0}{0}", q as char));
    let open = if triple { 3 } else { 1 };
    let mut k = j + open;
    let mut value = String::new();
    let single = q == b'\'' && lang != Lang::Python && lang != Lang::Node;
    while k < b.len() {
        let c = b[k];
        if c == q && (!triple || s[k..].starts_with(&s[j..j + 3])) {
            if q == b'`' && value.contains("${") {
                return None;
            }
            return Some((value, k + open));
        }
        if c == b'\\' && k + 1 < b.len() {
            let n = b[k + 1];
            if raw || (single && n != q && n != b'\\') {
                value.push('\\');
                k += 1;
                continue;
            }
            let (decoded, used) = match n {
                b'n' => ('\n', 2),
                b't' => ('\t', 2),
                b'x' => match s
                    .get(k + 2..k + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) if v.is_ascii() => (v as char, 4),
                    _ => ('\\', 1),
                },
                _ => match s[k + 1..].chars().next() {
                    Some(ch) => {
                        value.push(ch);
                        k += 1 + ch.len_utf8();
                        continue;
                    }
                    None => ('\\', 1),
                },
            };
            value.push(decoded);
            k += used;
            continue;
        }
        let ch = s[k..].chars().next()?;
        value.push(ch);
        k += ch.len_utf8();
    }
    None
}

/// Where the string literals of `code` are (start, end), in order: a call
/// written inside a string is data (`print("os.system('…')")`).
fn literal_spans(code: &str, lang: Lang) -> Vec<(usize, usize)> {
    let b = code.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'\'' | b'"') || (b[i] == b'`' && lang == Lang::Node) {
            match literal(code, i, lang) {
                Some((_, end)) => {
                    spans.push((i, end));
                    i = end;
                    continue;
                }
                // A template literal with fields is no literal value, but still text.
                None if b[i] == b'`' => match code[i + 1..].find('`') {
                    Some(k) => {
                        spans.push((i, i + k + 2));
                        i += k + 2;
                        continue;
                    }
                    None => {
                        spans.push((i, b.len()));
                        break;
                    }
                },
                // An unclosed quote: the rest is its text.
                None => {
                    spans.push((i, b.len()));
                    break;
                }
            }
        }
        i += 1;
    }
    spans
}

/// Texts between `open` and `close` (backticks), outside other string literals.
fn delimited(code: &str, open: char, close: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in code.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        match (start, quote) {
            (Some(s), _) if c == close => {
                out.push(code[s..i].to_string());
                start = None;
            }
            (Some(_), _) => {}
            (None, Some(q)) if c == q => quote = None,
            (None, Some(_)) => {}
            (None, None) if c == open => start = Some(i + c.len_utf8()),
            (None, None) if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        if out.len() >= MAX_RUNS {
            break;
        }
    }
    out
}

static QX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:\bqx\s*|%x)([^\w\s])").unwrap());

/// Perl `qx{…}` / `qx(…)` / `qx/…/` and Ruby `%x(…)`: their text.
fn quote_operator(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in QX.captures_iter(code) {
        let open = m[1].chars().next().unwrap_or('(');
        let close = match open {
            '(' => ')',
            '{' => '}',
            '[' => ']',
            '<' => '>',
            c => c,
        };
        let rest = &code[m.get(0).unwrap().end()..];
        if let Some(end) = rest.find(close) {
            out.push(rest[..end].to_string());
        }
        if out.len() >= MAX_RUNS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(s: &str) -> CodeRun {
        CodeRun::Shell(s.to_string())
    }

    fn argv(a: &[&str]) -> CodeRun {
        CodeRun::Argv(a.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn python_process_calls() {
        use Lang::Python as P;
        for (code, want) in [
            (
                r#"import os; os.system("nohup /tmp/.a >/dev/null 2>&1 &")"#,
                vec![sh("nohup /tmp/.a >/dev/null 2>&1 &")],
            ),
            (
                r#"import os;os.popen('nohup /tmp/.a &').read()"#,
                vec![sh("nohup /tmp/.a &")],
            ),
            (
                r#"import subprocess; subprocess.Popen(["nohup", "/tmp/.a"])"#,
                vec![argv(&["nohup", "/tmp/.a"])],
            ),
            (
                r#"import subprocess as s; s.run("nohup /tmp/.a &", shell=True)"#,
                vec![sh("nohup /tmp/.a &")],
            ),
            (
                r#"from subprocess import Popen; Popen(['nohup','/dev/shm/k'], stdout=-3)"#,
                vec![argv(&["nohup", "/dev/shm/k"])],
            ),
            (
                r#"import subprocess; subprocess.call("/tmp/x")"#,
                vec![argv(&["/tmp/x"])],
            ),
            (
                r#"import os; os.execv("/usr/bin/nohup", ["nohup", "/tmp/.a"])"#,
                vec![argv(&["/usr/bin/nohup", "/tmp/.a"])],
            ),
            (
                r#"import os; os.execlp("nohup", "nohup", "/tmp/.a")"#,
                vec![argv(&["nohup", "/tmp/.a"])],
            ),
            (
                r#"import os; os.system("echo \"nohup\" \x2ftmp")"#,
                vec![sh("echo \"nohup\" /tmp")],
            ),
            (
                r#"import pty; pty.spawn(["/bin/sh", "-c", "nohup /tmp/.a"])"#,
                vec![argv(&["/bin/sh", "-c", "nohup /tmp/.a"])],
            ),
        ] {
            assert_eq!(code_runs(P, code), want, "{code}");
        }
        // Data, variables and f-string fields run nothing known here.
        for code in [
            r#"print("os.system('nohup /tmp/x')")"#,
            r#"import os; os.system(cmd)"#,
            r#"import subprocess; subprocess.run(args)"#,
            r#"x = "nohup /tmp/.a"; print(x)"#,
            r#"import os; os.system(f"nohup {p} &")"#,
        ] {
            let runs = code_runs(P, code);
            assert!(
                runs.iter()
                    .all(|r| !matches!(r, CodeRun::Shell(s) if s.starts_with("nohup"))),
                "{code}: {runs:?}"
            );
        }
    }

    #[test]
    fn perl_ruby_php_node_process_calls() {
        for (lang, code, want) in [
            (
                Lang::Perl,
                r#"system("nohup /dev/shm/.b &")"#,
                vec![sh("nohup /dev/shm/.b &")],
            ),
            (
                Lang::Perl,
                r#"system 'nohup', '/tmp/.b'; print 1"#,
                vec![argv(&["nohup", "/tmp/.b"])],
            ),
            (
                Lang::Perl,
                r#"exec "nohup /tmp/.b""#,
                vec![sh("nohup /tmp/.b")],
            ),
            (
                Lang::Perl,
                r#"my $o = `nohup /tmp/.b &`;"#,
                vec![sh("nohup /tmp/.b &")],
            ),
            (
                Lang::Perl,
                r#"qx{nohup /tmp/.b &}"#,
                vec![sh("nohup /tmp/.b &")],
            ),
            (
                Lang::Ruby,
                r#"system("nohup", "/tmp/.r")"#,
                vec![argv(&["nohup", "/tmp/.r"])],
            ),
            (
                Lang::Ruby,
                r#"Process.spawn("nohup /tmp/.r &")"#,
                vec![sh("nohup /tmp/.r &")],
            ),
            (
                Lang::Ruby,
                r#"%x(nohup /tmp/.r &)"#,
                vec![sh("nohup /tmp/.r &")],
            ),
            (
                Lang::Php,
                r#"shell_exec("nohup /var/tmp/.p > /dev/null 2>&1 &");"#,
                vec![sh("nohup /var/tmp/.p > /dev/null 2>&1 &")],
            ),
            (
                Lang::Php,
                r#"pcntl_exec('/usr/bin/nohup', ['/tmp/.p']);"#,
                vec![argv(&["/usr/bin/nohup", "/tmp/.p"])],
            ),
            (
                Lang::Node,
                r#"require('child_process').exec('nohup /tmp/.n &')"#,
                vec![sh("nohup /tmp/.n &")],
            ),
            (
                Lang::Node,
                r#"require("child_process").spawn("nohup", ["/tmp/.n"], {detached: true})"#,
                vec![argv(&["nohup", "/tmp/.n"])],
            ),
        ] {
            assert_eq!(code_runs(lang, code), want, "{lang:?} {code}");
        }
        // Methods of other objects and data.
        assert_eq!(
            code_runs(Lang::Perl, r#"$obj->system("nohup /tmp/x")"#),
            vec![]
        );
        assert_eq!(
            code_runs(Lang::Php, r#"echo "system('nohup /tmp/x')";"#),
            vec![]
        );
        assert_eq!(code_runs(Lang::Node, r#"db.exec(`nohup ${x}`)"#), vec![]);
    }

    #[test]
    fn hostile_code_does_not_panic() {
        for code in [
            "os.system(",
            "os.system(\"",
            "os.system(\"\\",
            "os.system('\\x",
            "os.system([",
            "system 'a',",
            "qx{",
            "`",
            "os.execv(\"/x\", [\"a\", 1])",
            "Popen([\"é\\xff\"])",
            "subprocess.run(\"x\", shell = True",
            "exec('\u{1F600}')",
        ] {
            for lang in [Lang::Python, Lang::Perl, Lang::Ruby, Lang::Php, Lang::Node] {
                let _ = code_runs(lang, code);
            }
        }
        // Random code from the tokens the reader looks at (the same 20,000 texts
        // on every run).
        const TOKENS: [&str; 24] = [
            "os.system(",
            "subprocess.Popen(",
            "os.execv(",
            "system ",
            "exec(",
            "`",
            "qx{",
            "%x(",
            "\"",
            "'",
            "\\",
            "\\x4",
            "[",
            "]",
            "(",
            ")",
            "{",
            "}",
            ",",
            ";",
            "shell=True",
            "nohup /tmp/x",
            "\u{e9}",
            "\n",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x5eed);
        for _ in 0..20_000 {
            let mut code = String::new();
            for _ in 0..rng.below(24) {
                code.push_str(TOKENS[rng.below(TOKENS.len())]);
            }
            for lang in [Lang::Python, Lang::Perl, Lang::Ruby, Lang::Php, Lang::Node] {
                assert!(code_runs(lang, &code).len() <= MAX_RUNS * 3, "{code}");
            }
        }
        let long = format!("os.system({})", "[".repeat(100_000));
        assert!(code_runs(Lang::Python, &long).is_empty());
    }
}
