//! Terminal multiplexers and remote shells that run a command handed to them:
//! `screen -dmS s CMD…`, `screen -S s -X stuff 'CMD\n'`, `tmux new -d 'CMD'`,
//! `tmux send-keys 'CMD' Enter`, `ssh host 'CMD'`. Each gives the command it runs
//! as argv, `sh -c STRING` where the program hands a string to a shell (tmux's
//! one-word shell-command, the keys typed into a session, the remote command).
//!
//! Option syntax follows the programs' manuals (screen 4.9, tmux 3.4, OpenSSH 9):
//! short options cluster (`-dmS name`), and an option that takes a value takes the
//! rest of its word or, last in its cluster, the next word.

/// The words after the options of `words[1..]`: the index of the first operand.
/// `with_arg` lists the short option letters that take a value; `--` ends options.
fn operands(words: &[String], with_arg: &[u8]) -> usize {
    options(words, with_arg).0
}

/// Short option letters seen, as a set of ASCII bytes.
#[derive(Default, Clone, Copy)]
struct Flags(u128);

impl Flags {
    fn has(self, c: u8) -> bool {
        c < 128 && self.0 & (1 << c) != 0
    }
}

/// [`operands`], and the short options seen before the operands (long options
/// and `-ls`-style words count as their letters, which no caller reads alone).
fn options(words: &[String], with_arg: &[u8]) -> (usize, Flags) {
    let mut seen = Flags::default();
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_bytes();
        if w == b"--" {
            return (i + 1, seen);
        }
        if w.len() < 2 || w[0] != b'-' {
            return (i, seen);
        }
        i += 1;
        let value_at = w[1..].iter().position(|c| with_arg.contains(c));
        let letters = &w[1..value_at.map_or(w.len(), |at| at + 2)];
        if w[1] != b'-' {
            for &c in letters.iter().filter(|c| c.is_ascii()) {
                seen.0 |= 1 << c;
            }
        }
        // The value is the rest of the word, or the next word.
        if value_at.is_some_and(|at| at + 2 == w.len()) {
            i += 1;
        }
    }
    (i, seen)
}

/// `sh -c TEXT`: how a program hands a string to a shell.
fn shell(text: String) -> Vec<String> {
    vec!["sh".to_string(), "-c".to_string(), text]
}

/// `screen [options] [CMD [ARGS]]` runs CMD in a new window; with `-X` the rest
/// is a screen command for a running session: `stuff TEXT` types TEXT into its
/// shell, `exec CMD…` and `screen CMD…` run CMD.
pub(super) fn screen(words: &[String]) -> Option<Vec<String>> {
    // -X sends a command; -c, -e, -h, -p, -S, -s, -t, -T (and -Logfile's last
    // letter) take a value.
    let (i, flags) = options(words, b"cehpsStT");
    let rest = words.get(i..).filter(|r| !r.is_empty())?;
    if !flags.has(b'X') {
        // Reattaching (`-r`, `-R`, `-x`), detaching (`-d` without `-m`) and
        // listing name a session, not a command.
        let session = flags.has(b'r')
            || flags.has(b'R')
            || flags.has(b'x')
            || ((flags.has(b'd') || flags.has(b'D')) && !flags.has(b'm'))
            || words[1..i]
                .iter()
                .any(|w| matches!(w.as_str(), "-ls" | "-list" | "-wipe"));
        return (!session).then(|| rest.to_vec());
    }
    match rest[0].as_str() {
        "stuff" => {
            let typed = rest.get(1)?;
            Some(shell(typed_lines(typed)))
        }
        "exec" => {
            // `exec [[fdpat] CMD…]`: a leading pattern of `.`, `!`, `|`, `:` routes
            // the window's file descriptors.
            let mut cmd = &rest[1..];
            if cmd.first().is_some_and(|p| {
                !p.is_empty() && p.bytes().all(|c| matches!(c, b'.' | b'!' | b'|' | b':'))
            }) {
                cmd = &cmd[1..];
            }
            (!cmd.is_empty()).then(|| cmd.to_vec())
        }
        "screen" => {
            let mut again = vec!["screen".to_string()];
            again.extend_from_slice(&rest[1..]);
            screen(&again)
        }
        _ => None,
    }
}

/// What `screen -X stuff` types: its `\n`, `\r` and `^M` escapes end lines.
fn typed_lines(typed: &str) -> String {
    typed
        .replace("\\n", "\n")
        .replace("\\r", "\n")
        .replace("^M", "\n")
        .replace("^J", "\n")
        .replace('\r', "\n")
}

/// `tmux [options] COMMAND [flags] …`, commands separated by a `;` word: the
/// first command of the line that runs something. `-c STRING` runs STRING with
/// the shell, as a login shell would.
pub(super) fn tmux(words: &[String]) -> Option<Vec<String>> {
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "-c" {
            return words.get(i + 1).map(|s| shell(s.clone()));
        }
        if w == "--" {
            i += 1;
            break;
        }
        if !w.starts_with('-') || w.len() < 2 {
            break;
        }
        i += 1;
        if let Some(at) = w[1..].find(['f', 'L', 'S', 'T']) {
            if at + 2 == w.len() {
                i += 1;
            }
        }
    }
    words[i.min(words.len())..]
        .split(|w| w == ";" || w == "\\;")
        .find_map(tmux_command)
}

/// One tmux command and what it runs.
fn tmux_command(cmd: &[String]) -> Option<Vec<String>> {
    let name = cmd.first()?.as_str();
    // The options that take a value, per command that runs a shell-command.
    let with_arg: &[u8] = match name {
        "new-session" | "new" => b"cefFnstxy",
        "new-window" | "neww" => b"ceFnt",
        "split-window" | "splitw" => b"celpFt",
        "respawn-pane" | "respawnp" | "respawn-window" | "respawnw" => b"cet",
        "run-shell" | "run" => b"cdt",
        "send-keys" | "send" => b"cNt",
        _ => return None,
    };
    let mut argv = vec!["tmux".to_string()];
    argv.extend_from_slice(&cmd[1..]);
    let i = operands(&argv, with_arg);
    let rest = argv.get(i..).filter(|r| !r.is_empty())?;
    if matches!(name, "send-keys" | "send") {
        return Some(shell(rest.iter().map(|k| key_text(k)).collect()));
    }
    // One word is a shell-command string; several are the program and its
    // arguments (tmux 3.0 and later exec them without a shell).
    if rest.len() == 1 || matches!(name, "run-shell" | "run") {
        return Some(shell(rest.join(" ")));
    }
    Some(rest.to_vec())
}

/// What `tmux send-keys` types for one argument: key names for the keys that
/// end or space a command line, other words as their text.
fn key_text(key: &str) -> &str {
    match key {
        "Enter" | "C-m" | "C-j" | "KPEnter" => "\n",
        "Space" => " ",
        "Tab" => "\t",
        _ => key,
    }
}

/// `ssh [options] DESTINATION [COMMAND …]`: the command words, joined by spaces,
/// are run by the remote user's shell.
pub(super) fn ssh(words: &[String]) -> Option<Vec<String>> {
    let i = operands(words, b"BbcDEeFIiJLlmOoPpQRSWw");
    // words[i] is the destination.
    let command = words.get(i + 1..).filter(|c| !c.is_empty())?;
    Some(shell(command.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        crate::shell::split_words(s)
    }

    fn run(f: fn(&[String]) -> Option<Vec<String>>, s: &str) -> Option<Vec<String>> {
        f(&w(s))
    }

    #[test]
    fn screen_forms() {
        assert_eq!(
            run(screen, "screen -dmS s nohup /tmp/x"),
            Some(w("nohup /tmp/x"))
        );
        assert_eq!(
            run(screen, "screen -d -m -S s -L nohup ./x"),
            Some(w("nohup ./x"))
        );
        assert_eq!(
            run(screen, "screen -Logfile /tmp/l -dm ./x"),
            Some(w("./x"))
        );
        assert_eq!(
            run(screen, r"screen -S s -X stuff 'nohup /tmp/x &\n'"),
            Some(shell("nohup /tmp/x &\n".into()))
        );
        assert_eq!(
            run(screen, "screen -S s -X exec .!. nohup /tmp/x"),
            Some(w("nohup /tmp/x"))
        );
        assert_eq!(
            run(screen, "screen -S s -X screen -t w nohup /tmp/x"),
            Some(w("nohup /tmp/x"))
        );
        // Attaching, listing, quitting run nothing.
        for s in ["screen -r s", "screen -ls", "screen -S s -X quit", "screen"] {
            assert_eq!(run(screen, s), None, "{s}");
        }
    }

    #[test]
    fn tmux_forms() {
        assert_eq!(
            run(tmux, "tmux new -d 'nohup /tmp/x &'"),
            Some(shell("nohup /tmp/x &".into()))
        );
        assert_eq!(
            run(tmux, "tmux -L sock new-session -d -s s -n w nohup /tmp/x"),
            Some(w("nohup /tmp/x"))
        );
        assert_eq!(
            run(tmux, "tmux send-keys -t s 'nohup /tmp/x &' Enter"),
            Some(shell("nohup /tmp/x &\n".into()))
        );
        assert_eq!(
            run(tmux, "tmux run-shell -b 'nohup /tmp/x'"),
            Some(shell("nohup /tmp/x".into()))
        );
        assert_eq!(
            run(tmux, "tmux ls ; new-window -d 'nohup /tmp/x'"),
            Some(shell("nohup /tmp/x".into()))
        );
        assert_eq!(
            run(tmux, "tmux -c 'nohup /tmp/x'"),
            Some(shell("nohup /tmp/x".into()))
        );
        for s in [
            "tmux attach -t s",
            "tmux ls",
            "tmux new -s work",
            "tmux kill-server",
        ] {
            assert_eq!(run(tmux, s), None, "{s}");
        }
    }

    #[test]
    fn ssh_forms() {
        assert_eq!(
            run(
                ssh,
                "ssh -p 2222 -i key -oStrictHostKeyChecking=no u@h 'nohup /tmp/x &'"
            ),
            Some(shell("nohup /tmp/x &".into()))
        );
        assert_eq!(
            run(ssh, "ssh -fNT -L 8080:localhost:80 h"),
            None,
            "a tunnel runs no command"
        );
        assert_eq!(
            run(ssh, "ssh -l root h nohup ./x"),
            Some(shell("nohup ./x".into()))
        );
        assert_eq!(run(ssh, "ssh h"), None);
    }

    #[test]
    fn hostile_words_never_panic() {
        let mut rng = crate::test_rng::XorShift::new(7);
        let pieces = [
            "-", "--", "-X", "-dmS", "-c", "stuff", "exec", "screen", "new", "send", ";", "\\;",
            "Enter", "x", "-t", "-L", "-oX", "-p", "'a b'", "^M",
        ];
        for _ in 0..5_000 {
            let n = rng.below(8);
            let mut words = vec!["p".to_string()];
            for _ in 0..n {
                words.push(pieces[rng.below(pieces.len())].to_string());
            }
            let _ = screen(&words);
            let _ = tmux(&words);
            let _ = ssh(&words);
        }
    }
}
