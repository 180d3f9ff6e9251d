//! PowerShell as PowerShell reads it: the host's own switches, -EncodedCommand,
//! nested encodings, cmd.exe carets, backtick escapes, and the forms of error
//! suppression. Pure functions on text; the detector decides what they mean.

use std::io::Read;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use regex::Regex;

use crate::command::split_command_line;
pub use crate::pwsh::Suppression;

/// How deep encodings inside decoded text are followed.
pub const MAX_DECODE_DEPTH: usize = 4;
/// Most decoded text kept from one piece of evidence.
const MAX_DECODED_BYTES: usize = 8 * 1024 * 1024;
/// Most nested payloads decoded from one piece of evidence.
const MAX_DECODED_ITEMS: usize = 64;

/// The file name of a Windows or Unix path.
pub fn basename(path: &str) -> &str {
    // Read for every process start: a path with nothing to trim at its ends (an
    // ASCII graphic byte other than `"` there: no whitespace, no quote) skips the
    // trimming and the pattern machinery of `rsplit`.
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_graphic() && b != b'"');
    let bytes = path.as_bytes();
    if plain(bytes.first()) && plain(bytes.last()) {
        return match bytes.iter().rposition(|&b| b == b'/' || b == b'\\') {
            Some(i) => &path[i + 1..],
            None => path,
        };
    }
    let path = path.trim().trim_matches('"');
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// What a PowerShell host's command line asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostArgs {
    /// The script text: -Command's arguments joined by spaces (or the first
    /// unrecognised argument and the rest, for Windows PowerShell), or the decoded
    /// -EncodedCommand.
    pub script: Option<String>,
    /// The -EncodedCommand argument as given, when it decoded.
    pub encoded: Option<String>,
    /// The -File script path.
    pub file: Option<String>,
    /// -WindowStyle Hidden (or 1).
    pub hidden: bool,
    /// -ExecutionPolicy Bypass or Unrestricted.
    pub policy_bypass: bool,
}

impl HostArgs {
    /// The context indicators the switches fire.
    pub fn context(&self) -> Vec<&'static str> {
        let mut fired = Vec::new();
        if self.hidden {
            fired.push("hidden_window");
        }
        if self.policy_bypass {
            fired.push("execution_policy_bypass");
        }
        if self.encoded.is_some() {
            fired.push("encoded_command");
        }
        fired
    }
}

/// The switch name of `arg` (lowercase) when it is a switch: PowerShell accepts
/// `-`, `--`, the en dash, em dash and horizontal bar, and on Windows `/`, as its
/// prefix.
fn switch_key(arg: &str, windows: bool) -> Option<String> {
    let rest = arg
        .strip_prefix("--")
        .or_else(|| arg.strip_prefix(['-', '\u{2013}', '\u{2014}', '\u{2015}']))
        .or_else(|| if windows { arg.strip_prefix('/') } else { None })?;
    if rest.is_empty() || !rest.starts_with(|c: char| c.is_alphabetic() || c == '?') {
        return None;
    }
    Some(rest.to_lowercase())
}

/// `key` names switch `full` when it is a prefix of it at least as long as `min`.
fn matches(key: &str, full: &str, min: &str) -> bool {
    key.len() >= min.len() && full.starts_with(key)
}

/// Parses a PowerShell host's arguments (after the program name) the way the host
/// does (`CommandLineParameterParser`): switch prefixes and dashes, the minimum
/// abbreviations, `-ec`/`-ea`/`-ep` aliases. `-ea` here is -EncodedArguments, not
/// -ErrorAction. `pwsh` selects PowerShell 7's rule that a bare first argument is a
/// script file; Windows PowerShell runs it as a command. `windows` allows `/` as a
/// switch prefix (on Unix it starts a path).
pub fn parse_host_args(args: &[String], pwsh: bool, windows: bool) -> HostArgs {
    let mut out = HostArgs::default();
    let mut i = 0;
    let mut commands: Vec<String> = Vec::new();
    while i < args.len() {
        let arg = &args[i];
        let next = args.get(i + 1);
        let Some(key) = switch_key(arg, windows) else {
            if pwsh {
                out.file = Some(arg.clone());
            } else {
                commands.push(args[i..].join(" "));
            }
            break;
        };
        let k = key.as_str();
        if matches(k, "encodedcommand", "e") || k == "ec" {
            if let Some(b64) = next {
                if let Some(text) = decode_encoded_command(b64) {
                    out.encoded = Some(b64.clone());
                    commands.push(text);
                }
            }
            i += 2;
        } else if matches(k, "encodedarguments", "encodeda") || k == "ea" {
            i += 2;
        } else if matches(k, "executionpolicy", "ex") || k == "ep" {
            out.policy_bypass |= next.is_some_and(|v| {
                let v = v.trim_matches(['"', '\'']);
                v.eq_ignore_ascii_case("bypass") || v.eq_ignore_ascii_case("unrestricted")
            });
            i += 2;
        } else if matches(k, "windowstyle", "w") {
            out.hidden |= next.is_some_and(|v| {
                let v = v.trim_matches(['"', '\'']);
                v.eq_ignore_ascii_case("hidden") || v.trim() == "1"
            });
            i += 2;
        } else if k == "cwa" || matches(k, "commandwithargs", "commandw") {
            commands.push(args[(i + 1).min(args.len())..].join(" "));
            break;
        } else if matches(k, "configurationname", "config")
            || matches(k, "custompipename", "cus")
            || matches(k, "settingsfile", "settings")
            || matches(k, "workingdirectory", "wo")
            || k == "wd"
            || matches(k, "inputformat", "inp")
            || k == "if"
            || matches(k, "outputformat", "o")
            || k == "of"
            || matches(k, "psconsolefile", "psc")
            || matches(k, "version", "v")
        {
            i += 2;
        } else if matches(k, "command", "c") {
            let rest = &args[(i + 1).min(args.len())..];
            // `-Command -` reads the script from standard input.
            if !(rest.len() == 1 && rest[0] == "-") {
                commands.push(rest.join(" "));
            }
            break;
        } else if matches(k, "file", "f") {
            out.file = next.cloned();
            break;
        } else if matches(k, "noprofile", "nop")
            || matches(k, "noninteractive", "noni")
            || matches(k, "nologo", "nol")
            || matches(k, "noexit", "noe")
            || matches(k, "noprofileloadtime", "noprofilel")
            || matches(k, "interactive", "i")
            || matches(k, "login", "l")
            || k == "sta"
            || k == "mta"
            || matches(k, "help", "h")
            || k == "?"
            || matches(k, "servermode", "s")
            || matches(k, "namedpipeservermode", "namedpipes")
            || matches(k, "sshservermode", "sshs")
            || matches(k, "socketservermode", "so")
        {
            i += 1;
        } else {
            // An unknown switch: Windows PowerShell runs it and the rest as a command.
            commands.push(args[i..].join(" "));
            break;
        }
    }
    if !commands.is_empty() {
        out.script = Some(commands.join("\n"));
    }
    out
}

/// Decodes an -EncodedCommand argument: base64 of UTF-16LE text.
pub fn decode_encoded_command(arg: &str) -> Option<String> {
    let bytes = decode_base64(arg)?;
    if bytes.len() < 2 {
        return None;
    }
    let text = utf16le(&bytes);
    printable(&text).then_some(text)
}

/// Lenient base64: surrounding quotes and whitespace ignored, padding optional.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\''))
        .collect();
    let cleaned = cleaned.trim_end_matches('=');
    if cleaned.is_empty() {
        return None;
    }
    STANDARD_NO_PAD.decode(cleaned).ok()
}

fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Text rather than binary that happened to decode: almost no control characters,
/// replacement characters, noncharacters or private-use code points, and mostly
/// ASCII (scripts are, whatever language their comments are in).
fn printable(text: &str) -> bool {
    let mut total = 0;
    let mut bad = 0;
    let mut ascii = 0;
    for c in text.chars() {
        total += 1;
        if c.is_ascii() {
            ascii += 1;
        }
        let odd = (c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
            || matches!(
                c,
                '\u{FFFD}' | '\u{FFFE}' | '\u{FFFF}' | '\u{E000}'..='\u{F8FF}'
            );
        if odd {
            bad += 1;
        }
    }
    total > 0 && bad * 10 <= total && ascii * 2 >= total
}

/// A base64 payload as text: gzip (and, when `deflate`, raw deflate) unpacked,
/// UTF-16LE recognised by its zero bytes, else UTF-8. `None` when it is binary.
fn decode_payload(b64: &str, deflate: bool) -> Option<String> {
    let mut bytes = decode_base64(b64)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        bytes = inflate(flate2::read::GzDecoder::new(&bytes[..]))?;
    } else if deflate {
        if let Some(b) = inflate(flate2::read::DeflateDecoder::new(&bytes[..])) {
            bytes = b;
        }
    }
    let zeros = bytes.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    let text = if bytes.len() >= 2 && zeros * 2 >= bytes.len() / 2 {
        utf16le(&bytes)
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    printable(&text).then_some(text)
}

fn inflate(reader: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(MAX_DECODED_BYTES as u64)
        .read_to_end(&mut out)
        .ok()?;
    (!out.is_empty()).then_some(out)
}

static NESTED_ENC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[\s'"(,;])(?:--|[-/\u{2013}\u{2014}\u{2015}])(?:e|en|enc|enco|encod|encode|encoded|encodedc[a-z]*|ec)['"]?(?:\s*,\s*|\s+)['"]?([A-Za-z0-9+/]{16,}={0,2})"#,
    )
    .expect("valid regex")
});
static FROM_BASE64: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)frombase64string\s*\(\s*['"]([A-Za-z0-9+/=\s]{16,})['"]"#)
        .expect("valid regex")
});

/// Whether `text` holds something [`nested_decodes_to`] would decode (a nested
/// -EncodedCommand argument or a `FromBase64String('…')` literal); when it does
/// not, that returns nothing and no depth limit.
pub fn may_hold_payload(text: &str) -> bool {
    NESTED_ENC.is_match(text) || FROM_BASE64.is_match(text)
}

/// Payloads encoded inside `text` and inside what they decode to: nested
/// -EncodedCommand arguments and `FromBase64String('…')` literals (gzip and deflate
/// streams unpacked), depth-first, bounded in depth, count and size.
pub fn nested_decodes(text: &str) -> Vec<String> {
    nested_decodes_to(text, MAX_DECODE_DEPTH).0
}

/// [`nested_decodes`] `max_depth` layers deep; also says whether a layer deeper
/// than that was there and left unread.
pub fn nested_decodes_to(text: &str, max_depth: usize) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut budget = MAX_DECODED_BYTES;
    let mut limited = false;
    collect_nested(text, 1, max_depth, &mut out, &mut budget, &mut limited);
    (out, limited)
}

fn collect_nested(
    text: &str,
    depth: usize,
    max_depth: usize,
    out: &mut Vec<String>,
    budget: &mut usize,
    limited: &mut bool,
) {
    let deflate = text.to_ascii_lowercase().contains("deflatestream");
    let mut found = NESTED_ENC
        .captures_iter(text)
        .filter_map(|c| decode_encoded_command(&c[1]))
        .chain(
            FROM_BASE64
                .captures_iter(text)
                .filter_map(|c| decode_payload(&c[1], deflate)),
        )
        .peekable();
    if depth > max_depth {
        // Something is encoded here, one layer past the limit: say so.
        if found.peek().is_some() {
            *limited = true;
        }
        return;
    }
    for decoded in found {
        if out.len() >= MAX_DECODED_ITEMS || decoded.len() > *budget {
            return;
        }
        *budget -= decoded.len();
        out.push(decoded.clone());
        collect_nested(&decoded, depth + 1, max_depth, out, budget, limited);
    }
}

/// cmd.exe's caret escapes removed: outside double quotes `^x` is `x` (and a
/// trailing `^` disappears); inside quotes carets are literal.
pub fn strip_carets(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    let mut quoted = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '^' if !quoted => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// PowerShell hosts started from inside another command line (`cmd /c powershell …`,
/// `mshta … powershell.exe -enc …`): for each, the host's name as written and the
/// arguments after it.
pub fn find_embedded_hosts(cmd: &str, hosts: &Regex) -> Vec<(String, Vec<String>)> {
    hosts
        .captures_iter(cmd)
        .filter_map(|c| {
            let name = c.get(1)?;
            let rest = &cmd[c.get(0)?.end()..];
            // Split as a command line whose program name is already consumed.
            let mut args = split_command_line(&format!("x {rest}"));
            args.remove(0);
            Some((name.as_str().to_string(), args))
        })
        .collect()
}

/// The regex that finds a host named in `names` inside another command line.
pub fn embedded_host_regex(names: &[String]) -> Result<Regex, regex::Error> {
    let alternatives: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
    Regex::new(&format!(
        r#"(?i)(?:^|[\s"'\\/&|(;,=])({})["']*(?:\s|$)"#,
        alternatives.join("|")
    ))
}

/// Normalises PowerShell text for matching, as the engine would read it: dashes
/// (en, em, horizontal bar) and typographic quotes mapped to ASCII, comments
/// removed, backtick escapes resolved (outside single-quoted strings), adjacent
/// string literals joined (`'Err'+'orAction'`), lower case, line ends as `;`,
/// whitespace collapsed to one space.
pub fn normalize(text: &str) -> String {
    #[derive(PartialEq, Clone, Copy)]
    enum S {
        Code,
        Single,
        Double,
        HereSingle,
        HereDouble,
        LineComment,
        BlockComment,
    }
    let chars: Vec<char> = text
        .chars()
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' | '\u{2015}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' => '"',
            c => c,
        })
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut state = S::Code;
    let mut token_start = true;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while i < chars.len() {
        let c = chars[i];
        match state {
            S::Code => {
                if c == '<' && at(i + 1) == Some('#') {
                    state = S::BlockComment;
                    i += 2;
                    continue;
                }
                if c == '#' && token_start {
                    state = S::LineComment;
                    i += 1;
                    continue;
                }
                if c == '@'
                    && matches!(at(i + 1), Some('\'' | '"'))
                    && matches!(at(i + 2), Some('\r' | '\n'))
                {
                    state = if at(i + 1) == Some('\'') {
                        S::HereSingle
                    } else {
                        S::HereDouble
                    };
                    out.push('@');
                    out.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                if c == '`' {
                    match at(i + 1) {
                        Some('\n') => out.push(' '),
                        Some('\r') => {
                            out.push(' ');
                            if at(i + 2) == Some('\n') {
                                i += 1;
                            }
                        }
                        Some(n) => out.push(n),
                        None => {}
                    }
                    i += 2;
                    token_start = false;
                    continue;
                }
                match c {
                    '\'' => state = S::Single,
                    '"' => state = S::Double,
                    _ => {}
                }
                out.push(c);
                token_start = c.is_whitespace() || ";|({}&,=".contains(c);
            }
            S::Single | S::HereSingle => {
                out.push(c);
                if state == S::Single && c == '\'' {
                    if at(i + 1) == Some('\'') {
                        out.push('\'');
                        i += 1;
                    } else {
                        state = S::Code;
                        token_start = false;
                    }
                } else if state == S::HereSingle
                    && c == '\n'
                    && at(i + 1) == Some('\'')
                    && at(i + 2) == Some('@')
                {
                    out.push_str("'@");
                    i += 2;
                    state = S::Code;
                }
            }
            S::Double | S::HereDouble => {
                if c == '`' {
                    if let Some(n) = at(i + 1) {
                        out.push(match n {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            '0' | 'a' | 'b' | 'f' | 'v' | 'e' => ' ',
                            other => other,
                        });
                    }
                    i += 2;
                    continue;
                }
                out.push(c);
                if state == S::Double && c == '"' {
                    if at(i + 1) == Some('"') {
                        out.push('"');
                        i += 1;
                    } else {
                        state = S::Code;
                        token_start = false;
                    }
                } else if state == S::HereDouble
                    && c == '\n'
                    && at(i + 1) == Some('"')
                    && at(i + 2) == Some('@')
                {
                    out.push_str("\"@");
                    i += 2;
                    state = S::Code;
                }
            }
            S::LineComment => {
                if c == '\n' {
                    out.push('\n');
                    state = S::Code;
                    token_start = true;
                }
            }
            S::BlockComment => {
                if c == '#' && at(i + 1) == Some('>') {
                    out.push(' ');
                    state = S::Code;
                    token_start = true;
                    i += 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    static CONCAT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"['"]\s*\+\s*['"]"#).expect("valid regex"));
    let lower = out.to_lowercase();
    let joined = CONCAT.replace_all(&lower, "");
    let mut result = String::with_capacity(joined.len());
    let mut space = false;
    for c in joined.chars() {
        let c = if c == '\n' || c == '\r' { ';' } else { c };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !result.is_empty() {
            result.push(' ');
        }
        space = false;
        result.push(c);
    }
    result
}

/// Error suppression in PowerShell text, read on its tokens (see
/// [`crate::pwsh::analyze()`]); kept for callers that only need this answer.
pub fn suppression(text: &str) -> Suppression {
    crate::pwsh::analyze(text, MAX_DECODE_DEPTH).suppression
}

/// A 4103 payload (`CommandInvocation(X): "X"`, `ParameterBinding(X): name="N";
/// value="V"` lines) as the commands it ran: `X -N 'V' …`, one per line. Commands in
/// `inert` (whose values are data) are left out.
pub fn commands_from_4103(payload: &str, inert: &[String]) -> String {
    let mut starts = entries_4103(payload);
    starts.push((payload.len(), payload.len(), false, ""));
    let mut lines: Vec<String> = Vec::new();
    let mut current: Option<(&str, String)> = None; // (command, line)
    let push_binding = |line: &mut String, name: &str, value: &str| {
        line.push_str(" -");
        line.push_str(name);
        line.push_str(" '");
        for (k, part) in value.split('\'').enumerate() {
            if k > 0 {
                line.push_str("''");
            }
            line.push_str(part);
        }
        line.push('\'');
    };
    for w in starts.windows(2) {
        let (start, body_start, is_binding, command) = w[0];
        let body = &payload[body_start..w[1].0];
        let is_invocation = !is_binding && payload[start..].starts_with("CommandInvocation");
        if is_invocation {
            if let Some((_, line)) = current.take() {
                lines.push(line);
            }
            current = Some((command, command.to_string()));
        } else if is_binding {
            let (Some(name), Some(value)) = (binding_field(body, "name"), binding_value(body))
            else {
                continue;
            };
            match current.as_mut() {
                Some((cmd, line)) if *cmd == command => push_binding(line, name, value),
                _ => {
                    if let Some((_, line)) = current.take() {
                        lines.push(line);
                    }
                    let mut line = command.to_string();
                    push_binding(&mut line, name, value);
                    current = Some((command, line));
                }
            }
        }
    }
    if let Some((_, line)) = current.take() {
        lines.push(line);
    }
    let mut out = String::new();
    let mut first = true;
    for line in &lines {
        let cmd = line.split(' ').next().unwrap_or("");
        if inert.iter().any(|i| i.eq_ignore_ascii_case(cmd)) {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        out.push_str(line);
    }
    out
}

/// The entries of a 4103 payload, as the regex
/// `(?m)^(CommandInvocation|ParameterBinding|NonTerminatingError|TerminatingError)\(([^)]*)\):`
/// finds them (leftmost, not overlapping): start, end, whether a binding, and the
/// command in the parentheses. Read by hand: the regex's captures were most of the
/// cost of a 4103 event.
fn entries_4103(payload: &str) -> Vec<(usize, usize, bool, &str)> {
    const KINDS: [&str; 4] = [
        "CommandInvocation",
        "ParameterBinding",
        "NonTerminatingError",
        "TerminatingError",
    ];
    let bytes = payload.as_bytes();
    let mut out = Vec::new();
    let mut line = 0;
    loop {
        let found = KINDS.iter().find_map(|kind| {
            let open = line + kind.len();
            if !bytes[line..].starts_with(kind.as_bytes()) || bytes.get(open) != Some(&b'(') {
                return None;
            }
            let close = open + 1 + memchr::memchr(b')', &bytes[open + 1..])?;
            (bytes.get(close + 1) == Some(&b':')).then(|| {
                (
                    line,
                    close + 2,
                    *kind == "ParameterBinding",
                    &payload[open + 1..close],
                )
            })
        });
        // The next line start at or after where this search may resume.
        let resume = match found {
            Some(entry) => {
                out.push(entry);
                entry.1
            }
            None => line + 1,
        };
        let Some(k) = bytes.get(resume.saturating_sub(1)..).and_then(|rest| {
            // A line starts right after a line feed (and the entry's end is a
            // ':', never a line feed).
            memchr::memchr(b'\n', rest)
        }) else {
            break;
        };
        line = resume.saturating_sub(1) + k + 1;
        if line > bytes.len() {
            break;
        }
    }
    out
}

/// `name="N"` of a binding.
fn binding_field<'a>(body: &'a str, field: &str) -> Option<&'a str> {
    let at = find_from(body, 0, field, b"=\"")?;
    let start = at + field.len() + 2;
    let end = memchr::memchr(b'"', &body.as_bytes()[start..])? + start;
    Some(&body[start..end])
}

/// The first `head` immediately followed by `tail` in `hay`, from `from`.
fn find_from(hay: &str, mut from: usize, head: &str, tail: &[u8]) -> Option<usize> {
    let bytes = hay.as_bytes();
    let first = *head.as_bytes().first()?;
    while let Some(k) = memchr::memchr(first, &bytes[from..]) {
        let at = from + k;
        let rest = &bytes[at..];
        if rest.starts_with(head.as_bytes()) && rest[head.len()..].starts_with(tail) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `value="V"` of a binding: everything up to the last quote (values are not
/// escaped and may hold quotes and line breaks).
fn binding_value(body: &str) -> Option<&str> {
    let start = find_from(body, 0, "value", b"=\"")? + "value=\"".len();
    let end = memchr::memrchr(b'"', body.as_bytes())?;
    (end >= start).then(|| &body[start..end])
}

/// A command line reduced for comparison with another log's copy of it (800's
/// HostApplication against Sysmon's CommandLine): quotes dropped, case folded,
/// whitespace collapsed.
pub fn command_line_key(cmd: &str) -> String {
    let mut joined = String::with_capacity(cmd.len());
    for word in cmd
        .split(|c: char| c.is_whitespace() || c == '"')
        .filter(|s| !s.is_empty())
    {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    if joined.is_ascii() {
        joined.make_ascii_lowercase();
        joined
    } else {
        joined.to_lowercase()
    }
}

#[cfg(test)]
mod tests;
