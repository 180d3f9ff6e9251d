//! Windows command lines split into arguments as the C runtime splits them.

/// Splits a Windows command line into arguments the way the Microsoft C runtime
/// (and so powershell.exe) does: whitespace separates; `"` toggles quoting; `2n`
/// backslashes before a quote are `n` backslashes and the quote toggles, `2n+1` are
/// `n` backslashes and a literal quote; other backslashes are literal; `""` inside
/// quotes is a literal quote. The program name (first argument) ends at the first
/// whitespace, or at its closing quote, without escapes.
pub fn split_command_line(cmd: &str) -> Vec<String> {
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
}
