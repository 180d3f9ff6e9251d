//! Windows command lines split into arguments as the C runtime splits them.

/// Splits a Windows command line into arguments the way the Microsoft C runtime
/// (and so powershell.exe) does: whitespace separates; `"` toggles quoting; `2n`
/// backslashes before a quote are `n` backslashes and the quote toggles, `2n+1` are
/// `n` backslashes and a literal quote; other backslashes are literal; `""` inside
/// quotes is a literal quote. The program name (first argument) ends at the first
/// whitespace, or at its closing quote, without escapes.
pub fn split_command_line(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let (first, mut rest) = program(cmd.trim_start());
    if first.is_empty() && rest.is_empty() {
        return args;
    }
    args.push(first);
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (arg, after) = argument(rest);
        args.push(arg);
        rest = after;
    }
    args
}

/// The program name of a Windows command line: the first argument of
/// [`split_command_line`] (empty when it has none), without splitting the rest.
pub fn command_line_program(cmd: &str) -> String {
    program(cmd.trim_start()).0
}

/// argv[0] of `s` (which starts with no whitespace) and what follows it.
fn program(s: &str) -> (String, &str) {
    let Some(quoted) = s.strip_prefix('"') else {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        return (s[..end].to_string(), &s[end..]);
    };
    let (inside, after) = match quoted.find('"') {
        Some(i) => (&quoted[..i], &quoted[i + 1..]),
        None => (quoted, ""),
    };
    // Anything glued to the closing quote still belongs to argv[0].
    let glued = after.find(char::is_whitespace).unwrap_or(after.len());
    let mut first = String::with_capacity(inside.len() + glued);
    first.push_str(inside);
    first.push_str(&after[..glued]);
    (first, &after[glued..])
}

/// One argument after argv[0] (`s` starts with no whitespace) and what follows it:
/// runs of plain characters are copied whole, escapes and quotes one by one.
fn argument(s: &str) -> (String, &str) {
    let bytes = s.as_bytes();
    let mut arg = String::new();
    let mut quoted = false;
    let mut at = 0;
    // Start of the plain run not yet copied.
    let mut plain = 0;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'\\' => {
                arg.push_str(&s[plain..at]);
                let start = at;
                while bytes.get(at) == Some(&b'\\') {
                    at += 1;
                }
                let n = at - start;
                if bytes.get(at) == Some(&b'"') {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        at += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                plain = at;
            }
            b'"' => {
                arg.push_str(&s[plain..at]);
                at += 1;
                if quoted && bytes.get(at) == Some(&b'"') {
                    arg.push('"');
                    at += 1;
                } else {
                    quoted = !quoted;
                }
                plain = at;
            }
            b if b.is_ascii() => {
                if !quoted && char::from(b).is_whitespace() {
                    break;
                }
                at += 1;
            }
            _ => {
                // `at` is on a character boundary: only whole characters are passed.
                let Some(c) = s[at..].chars().next() else {
                    break;
                };
                if !quoted && c.is_whitespace() {
                    break;
                }
                at += c.len_utf8();
            }
        }
    }
    arg.push_str(&s[plain..at]);
    (arg, &s[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_the_c_runtime() {
        let s = |c: &str| split_command_line(c);
        assert_eq!(s(r#""a b c" d e"#), ["a b c", "d", "e"]);
        assert_eq!(s(r#"x "ab\"c" "\\" d"#), ["x", r#"ab"c"#, r"\", "d"]);
        assert_eq!(s(r#"x a\\\b d"e f"g h"#), ["x", r"a\\\b", "de fg", "h"]);
        assert_eq!(s(r#"x a\\\"b c d"#), ["x", r#"a\"b"#, "c", "d"]);
        assert_eq!(s(r#"x a\\\\"b c" d e"#), ["x", r"a\\b c", "d", "e"]);
        assert_eq!(s(r#"x "a""b" c"#), ["x", r#"a"b"#, "c"]);
        // The program name takes no escapes: a trailing backslash stays.
        assert_eq!(
            s(r#""C:\Program Files\PowerShell\7\pwsh.exe" -c "iwr x""#),
            [r"C:\Program Files\PowerShell\7\pwsh.exe", "-c", "iwr x"]
        );
        assert_eq!(s(r"C:\x\ -a"), [r"C:\x\", "-a"]);
        assert!(s("   ").is_empty());
    }
    /// The character-by-character splitter this module had before it copied plain
    /// runs whole: the reference the faster one is held to.
    fn split_reference(cmd: &str) -> Vec<String> {
        let mut args = Vec::new();
        let mut chars = cmd.trim_start().chars().peekable();
        // argv[0]
        let mut first = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                first.push(c);
            }
            // Anything glued to the closing quote still belongs to argv[0].
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                first.push(c);
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                first.push(c);
                chars.next();
            }
        }
        if first.is_empty() && chars.peek().is_none() {
            return args;
        }
        args.push(first);
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_none() {
                break;
            }
            let mut arg = String::new();
            let mut quoted = false;
            while let Some(&c) = chars.peek() {
                match c {
                    '\\' => {
                        let mut n = 0;
                        while chars.peek() == Some(&'\\') {
                            chars.next();
                            n += 1;
                        }
                        if chars.peek() == Some(&'"') {
                            arg.extend(std::iter::repeat_n('\\', n / 2));
                            if n % 2 == 1 {
                                arg.push('"');
                                chars.next();
                            }
                        } else {
                            arg.extend(std::iter::repeat_n('\\', n));
                        }
                    }
                    '"' => {
                        chars.next();
                        if quoted && chars.peek() == Some(&'"') {
                            arg.push('"');
                            chars.next();
                        } else {
                            quoted = !quoted;
                        }
                    }
                    c if c.is_whitespace() && !quoted => break,
                    c => {
                        arg.push(c);
                        chars.next();
                    }
                }
            }
            args.push(arg);
        }
        args
    }

    #[test]
    fn the_splitter_agrees_with_the_character_by_character_reference() {
        // Random lines over the characters that matter: quotes, backslashes, ASCII
        // and Unicode whitespace (NBSP, ideographic space), multi-byte letters.
        const ALPHABET: &[&str] = &[
            "a", "b", "\\", "\"", " ", "\t", "\u{a0}", "\u{3000}", "é", "日", "-c", "\r\n",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let line: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let want = split_reference(&line);
            assert_eq!(split_command_line(&line), want, "{line:?}");
            assert_eq!(
                command_line_program(&line),
                want.first().cloned().unwrap_or_default(),
                "{line:?}"
            );
        }
    }
}
