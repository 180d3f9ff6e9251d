//! cmd.exe's command-line rules, so a program started through cmd.exe is seen as
//! cmd.exe starts it (`cmd /?`, and the parser phases documented at
//! <https://stackoverflow.com/a/4095133>):
//!
//! 1. `/C` or `/K` (or `/R`): the rest of the line is the command. When it starts
//!    with a quote, the first and the last quote are removed unless exactly two
//!    quotes enclose the name of an executable with white space in it.
//! 2. `%VAR%` is expanded (`%COMSPEC%`, `%SystemRoot%`, … with their default
//!    values; `%VAR:~s,n%` substrings and `%VAR:a=b%` replacement); unknown
//!    variables stay as written, as they do on a command line.
//! 3. Outside double quotes a caret escapes the next character and disappears;
//!    `&`, `&&`, `||` and `|` separate commands; `(`…`)` groups them; a leading `@`
//!    is dropped. Inside quotes all of these are literal.
//! 4. `call X`, `start [options] X`, `for /f … in ('X') do Y`, and `cmd /c X` run
//!    the command X (and Y).
//!
//! Bounded: at most [`MAX_COMMANDS`] commands, [`MAX_NESTING`] levels of cmd.exe
//! inside cmd.exe.

/// Most commands returned from one command line.
pub const MAX_COMMANDS: usize = 64;
/// Deepest `cmd /c` inside `cmd /c` followed.
pub const MAX_NESTING: usize = 4;

/// The file name of `path`, lower case, `.exe` removed.
fn program_key(path: &str) -> String {
    let p = path.trim().trim_matches('"');
    let base = p.rsplit(['\\', '/']).next().unwrap_or(p).to_lowercase();
    base.strip_suffix(".exe")
        .map(str::to_string)
        .unwrap_or(base)
}

/// Whether `program` (a path or name) is cmd.exe.
pub fn is_cmd(program: &str) -> bool {
    program_key(program) == "cmd"
}

/// The commands a cmd.exe command line runs (`cmd.exe /c …`), each as a Windows
/// command line with cmd.exe's escapes removed, nested cmd.exe's followed. A line
/// that is not a cmd.exe invocation yields nothing.
pub fn commands(command_line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let expanded = expand_vars(command_line);
    let program = first_word(&expanded);
    if !is_cmd(&program) {
        return out;
    }
    collect_cmd(&expanded, 0, &mut out);
    out
}

/// `command` run by cmd.exe: its `/c` string's commands, recursively.
fn collect_cmd(command: &str, depth: usize, out: &mut Vec<String>) {
    if depth >= MAX_NESTING {
        return;
    }
    let Some(body) = after_run_switch(command) else {
        return;
    };
    let body = strip_outer_quotes(body);
    for c in split_commands(&expand_vars(&body)) {
        run(&c, depth, out);
    }
}

/// One command of a cmd.exe line: what it runs.
fn run(command: &str, depth: usize, out: &mut Vec<String>) {
    if out.len() >= MAX_COMMANDS {
        return;
    }
    let command = command.trim().trim_start_matches('@').trim();
    if command.is_empty() {
        return;
    }
    let first = first_word(command);
    let key = program_key(&first);
    let rest = command[first.len().min(command.len())..].trim_start();
    match key.as_str() {
        "call" => run(rest, depth, out),
        "start" => run(skip_start_options(rest), depth, out),
        "for" => {
            for inner in for_commands(rest) {
                for c in split_commands(&inner) {
                    run(&c, depth, out);
                }
            }
        }
        "cmd" => {
            out.push(command.to_string());
            collect_cmd(command, depth + 1, out);
        }
        _ => out.push(command.to_string()),
    }
}

/// The first word of a command line (a quoted path kept whole, quotes included).
fn first_word(s: &str) -> String {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('"') {
        return match rest.find('"') {
            Some(end) => s[..end + 2].to_string(),
            None => s.to_string(),
        };
    }
    // cmd.exe ends a program name at white space and at its separators; `cmd/c`
    // and `cmd.exe/c` run cmd.exe with `/c`.
    let end = s
        .find(|c: char| c.is_whitespace() || matches!(c, '&' | '|' | '(' | ')' | ',' | ';' | '='))
        .unwrap_or(s.len());
    let word = &s[..end];
    let lower = word.to_ascii_lowercase();
    for prog in ["cmd.exe", "cmd"] {
        if lower.ends_with(&format!("{prog}/c"))
            || lower.ends_with(&format!("{prog}/k"))
            || lower.ends_with(&format!("{prog}/r"))
        {
            return word[..word.len() - 2].to_string();
        }
    }
    word.to_string()
}

/// The text after cmd.exe's `/C`, `/K` or `/R` switch (other switches before it,
/// glued or not, are skipped).
fn after_run_switch(command: &str) -> Option<&str> {
    let first = first_word(command);
    let mut rest = &command[first.len()..];
    loop {
        rest = rest.trim_start();
        let lower = rest.get(..2)?.to_ascii_lowercase();
        if !lower.starts_with('/') {
            return None;
        }
        if matches!(lower.as_str(), "/c" | "/k" | "/r") {
            return Some(&rest[2..]);
        }
        // Another switch (/q, /d, /a, /u, /s, /e:on, /v:off, /t:fg): skip it.
        let end = rest[1..]
            .find(|c: char| c == '/' || c.is_whitespace())
            .map_or(rest.len(), |e| e + 1);
        rest = &rest[end..];
    }
}

/// `cmd /?`'s quote rule for the `/C` string.
fn strip_outer_quotes(body: &str) -> String {
    let body = body.trim_start();
    if !body.starts_with('"') {
        return body.to_string();
    }
    let quotes = body.matches('"').count();
    if quotes == 2 {
        let inner = &body[1..body.rfind('"').unwrap_or(body.len())];
        let special = inner.contains(['&', '<', '>', '(', ')', '@', '^', '|']);
        let lower = inner.to_ascii_lowercase();
        let executable = [".exe", ".com", ".bat", ".cmd"]
            .iter()
            .any(|e| lower.ends_with(e));
        if !special && inner.contains(char::is_whitespace) && executable {
            return body.to_string();
        }
    }
    let mut s = body[1..].to_string();
    if let Some(last) = s.rfind('"') {
        s.remove(last);
    }
    s
}

/// Default values of the variables used to hide program names.
fn env_default(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "comspec" => r"C:\WINDOWS\system32\cmd.exe",
        "systemroot" | "windir" => r"C:\WINDOWS",
        "systemdrive" => "C:",
        "programdata" | "allusersprofile" => r"C:\ProgramData",
        "public" => r"C:\Users\Public",
        "programfiles" => r"C:\Program Files",
        "psmodulepath" => {
            r"C:\Program Files\WindowsPowerShell\Modules;C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules"
        }
        _ => return None,
    })
}

/// `%VAR%`, `%VAR:~s,n%` and `%VAR:a=b%` expanded where VAR has a known default.
pub fn expand_vars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let spec = &after[..end];
        match expand_one(spec) {
            Some(v) => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            None => {
                // Not a known variable: the `%` is literal; the second one may
                // start the next reference.
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn expand_one(spec: &str) -> Option<String> {
    let (name, op) = match spec.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (spec, None),
    };
    let value = env_default(name)?;
    let Some(op) = op else {
        return Some(value.to_string());
    };
    if let Some(range) = op.strip_prefix('~') {
        let chars: Vec<char> = value.chars().collect();
        let len = chars.len() as i64;
        let mut parts = range.split(',');
        let start: i64 = parts.next()?.trim().parse().ok()?;
        let start = if start < 0 {
            len.saturating_add(start).max(0)
        } else {
            start.min(len)
        };
        let end = match parts.next() {
            Some(n) => {
                let n: i64 = n.trim().parse().ok()?;
                if n < 0 {
                    len.saturating_add(n).max(start)
                } else {
                    start.saturating_add(n).min(len)
                }
            }
            None => len,
        };
        return Some(
            chars[start as usize..end.max(start) as usize]
                .iter()
                .collect(),
        );
    }
    let (from, to) = op.split_once('=')?;
    if from.is_empty() {
        return None;
    }
    // Case-insensitive replacement, as cmd.exe does it.
    let lower = value.to_ascii_lowercase();
    let from_lower = from.to_ascii_lowercase();
    let mut result = String::new();
    let mut i = 0;
    while let Some(k) = lower[i..].find(&from_lower) {
        result.push_str(&value[i..i + k]);
        result.push_str(to);
        i += k + from.len();
    }
    result.push_str(&value[i..]);
    Some(result)
}

/// Splits a cmd.exe line into its commands at `&`, `&&`, `||`, `|` outside quotes,
/// carets removed outside quotes, group parentheses dropped.
pub fn split_commands(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    let mut paren = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '^' if !quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '&' | '|' if !quoted => {
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            '(' if !quoted && cur.trim().is_empty() => paren += 1,
            ')' if !quoted && paren > 0 => {
                paren -= 1;
                out.push(std::mem::take(&mut cur));
            }
            _ => cur.push(c),
        }
        if out.len() >= MAX_COMMANDS {
            break;
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// `start`'s own options skipped: a quoted title, `/b`, `/min`, `/wait`, `/d path` …
fn skip_start_options(s: &str) -> &str {
    let mut rest = s.trim_start();
    if rest.starts_with('"') {
        if let Some(end) = rest[1..].find('"') {
            rest = rest[end + 2..].trim_start();
        }
    }
    while rest.starts_with('/') {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let opt = rest[..end].to_ascii_lowercase();
        rest = rest[end..].trim_start();
        if opt == "/d" {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = rest[end..].trim_start();
        }
    }
    rest
}

/// The commands of a `for` loop: the `('command')` set of `for /f` and the body
/// after `do`.
fn for_commands(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = s.to_ascii_lowercase();
    if let Some(open) = lower.find(" in (") {
        let set = &s[open + 5..];
        let set = set.trim_start();
        if let Some(q) = set.chars().next().filter(|c| *c == '\'' || *c == '`') {
            if let Some(end) = set[1..].find(q) {
                out.push(set[1..end + 1].to_string());
            }
        }
    }
    if let Some(k) = lower.rfind(" do ") {
        out.push(s[k + 4..].to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_after_c_are_stripped_by_cmds_rule() {
        assert_eq!(
            commands(r#"cmd.exe /c "powershell -c "Get-Item x -ea 0"""#),
            vec![r#"powershell -c "Get-Item x -ea 0""#]
        );
        // Two quotes around an executable path with a space: kept.
        assert_eq!(
            commands(r#"cmd /c "C:\Program Files\App\app.exe""#),
            vec![r#""C:\Program Files\App\app.exe""#]
        );
        assert_eq!(commands("cmd /c whoami"), vec!["whoami"]);
        assert!(commands("notepad.exe /c x").is_empty());
    }

    #[test]
    fn carets_escape_outside_quotes_only_after_stripping() {
        assert_eq!(
            commands(r#"cmd /c p^o^w^e^r^s^h^e^l^l -c "a^b""#),
            vec![r#"powershell -c "a^b""#]
        );
        // The outer quotes go first; the carets inside them then escape.
        assert_eq!(
            commands(r#"C:\Windows\System32\cmd.exe /Q /c "p^owe^rshell -nop -c iex""#),
            vec!["powershell -nop -c iex"]
        );
        assert_eq!(commands("cmd /c echo a^&b"), vec!["echo a&b"]);
    }

    #[test]
    fn separators_call_start_for_and_nesting() {
        assert_eq!(
            commands(
                "cmd /c whoami & call powershell -c x && start /b /min pwsh -c y || (net user)"
            ),
            vec!["whoami", "powershell -c x", "pwsh -c y", "net user"]
        );
        assert_eq!(
            commands(r#"cmd /c for /f "tokens=*" %i in ('powershell -c Get-Date') do @echo %i"#),
            vec!["powershell -c Get-Date", "echo %i"]
        );
        assert_eq!(
            commands(r#"cmd /c cmd /c "powershell -c x""#),
            vec![r#"cmd /c "powershell -c x""#, "powershell -c x"]
        );
    }

    #[test]
    fn comspec_and_substrings_expand() {
        assert_eq!(
            commands("%COMSPEC% /c powershell -c x"),
            vec!["powershell -c x"]
        );
        assert_eq!(expand_vars("%comspec:~-7,3%"), "cmd");
        assert_eq!(expand_vars("%SystemRoot:WINDOWS=x%"), r"C:\x");
        assert_eq!(expand_vars("100% sure %UNKNOWN%"), "100% sure %UNKNOWN%");
        assert_eq!(commands("cmd/c whoami"), vec!["whoami"]);
    }

    #[test]
    fn hostile_lines_terminate() {
        for s in [
            "cmd /c",
            "cmd /c \"",
            "cmd /c ^",
            "cmd /c %",
            "cmd /c %COMSPEC:~x%",
            "cmd /c (((",
            "cmd /c for /f in (' do",
            "cmd /c start \"",
            &"cmd /c cmd /c ".repeat(50),
        ] {
            let _ = commands(s);
        }
        assert!(commands(&"cmd /c a&".repeat(1000)).len() <= MAX_COMMANDS);
    }
}
