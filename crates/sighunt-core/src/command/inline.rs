//! The program text an interpreter runs from its command line: `python3 -c CODE`,
//! `perl -le CODE -e MORE`, `ruby -e CODE`, `node --eval=CODE`, `php -r CODE`.
//! Read by the signal-masking detector (what the code masks) and by the command
//! walker (what the code runs, `command::interpreter`).

/// An interpreter whose inline code sighunt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Perl,
    Ruby,
    Node,
    Php,
}

impl Lang {
    /// The language of a program named `prog` with the usual names (a version
    /// suffix accepted: `python3.11`, `php8.2`), for readers without rule data.
    pub fn of_program(prog: &str) -> Option<Lang> {
        let stem = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        PROGRAMS
            .iter()
            .find(|(name, _)| *name == stem)
            .map(|&(_, lang)| lang)
    }
}

/// The usual names of the interpreters, without a version suffix: one list, which
/// [`Lang::of_program`] reads and a name filter is built from
/// (`command::Launchers`).
pub(crate) const PROGRAMS: [(&str, Lang); 12] = [
    ("python", Lang::Python),
    ("pypy", Lang::Python),
    ("ipython", Lang::Python),
    ("perl", Lang::Perl),
    ("ruby", Lang::Ruby),
    ("jruby", Lang::Ruby),
    ("truffleruby", Lang::Ruby),
    ("node", Lang::Node),
    ("nodejs", Lang::Node),
    ("bun", Lang::Node),
    ("php", Lang::Php),
    ("php-cli", Lang::Php),
];

/// The program text an interpreter runs from its command line (`python3 -c CODE`,
/// `perl -le CODE -e MORE`, `ruby -e CODE`, `node --eval=CODE`, `php -r CODE`), or `None` when it
/// runs a script file or a module.
pub fn inline_code(lang: Lang, words: &[String]) -> Option<String> {
    match lang {
        Lang::Python => python_code(words),
        Lang::Perl => switch_code(words, b"eE", b"MmIixdDC0"),
        Lang::Ruby => switch_code(words, b"e", b"rICEKWxTF0"),
        Lang::Node => node_code(words),
        Lang::Php => php_code(words),
    }
}

fn python_code(words: &[String]) -> Option<String> {
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        if w == "--" || w == "-" || !w.starts_with('-') || w.starts_with("--") {
            // A script, stdin, or a long option we do not model: no inline code.
            if w.starts_with("--") && w != "--" {
                continue;
            }
            return None;
        }
        let flags = &w[1..];
        for (i, c) in flags.char_indices() {
            match c {
                'c' => {
                    let rest = &flags[i + 1..];
                    return if rest.is_empty() {
                        it.next().cloned()
                    } else {
                        Some(rest.to_string())
                    };
                }
                'm' => return None,
                'W' | 'X' => {
                    if flags[i + 1..].is_empty() {
                        it.next();
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    None
}

/// Perl and Ruby: every `-e CODE` (joined by newlines); `with_arg` switches take the
/// rest of their word as an argument (`-MPOSIX`, `-rsocket`).
fn switch_code(words: &[String], eval: &[u8], with_arg: &[u8]) -> Option<String> {
    let mut code: Vec<String> = Vec::new();
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        if w == "--" || !w.starts_with('-') || w == "-" {
            break;
        }
        if w.starts_with("--") {
            i += 1;
            continue;
        }
        for (j, c) in w.char_indices().skip(1) {
            let b = c as u32;
            if b < 128 && eval.contains(&(b as u8)) {
                let rest = &w[j + 1..];
                if rest.is_empty() {
                    i += 1;
                    if let Some(next) = words.get(i) {
                        code.push(next.clone());
                    }
                } else {
                    code.push(rest.to_string());
                }
                break;
            }
            if b < 128 && with_arg.contains(&(b as u8)) {
                break;
            }
        }
        i += 1;
    }
    (!code.is_empty()).then(|| code.join("\n"))
}

fn node_code(words: &[String]) -> Option<String> {
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        if let Some(rest) = w
            .strip_prefix("--eval=")
            .or_else(|| w.strip_prefix("--print="))
        {
            return Some(rest.to_string());
        }
        if matches!(
            w.as_str(),
            "-e" | "--eval" | "-p" | "--print" | "-pe" | "-ep"
        ) {
            return it.next().cloned();
        }
        if !w.starts_with('-') {
            return None;
        }
    }
    None
}

/// PHP: the code of `-r` (and of `-B`/`-R`/`-E`, which run per input line), after
/// options that take a value (`-d memory_limit=1G`, `-c php.ini`); a script file
/// or `-f FILE` has no inline code.
fn php_code(words: &[String]) -> Option<String> {
    let mut code: Vec<String> = Vec::new();
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        let Some(flag) = w.strip_prefix('-').filter(|f| !f.is_empty()) else {
            break; // a script, or `-` for stdin
        };
        if flag.starts_with('-') {
            if flag == "-" {
                break;
            }
            continue; // `--ini`, `--define` … (long options we do not model)
        }
        let (switch, attached) = flag.split_at(flag.chars().next().map_or(0, char::len_utf8));
        let mut value = || {
            if attached.is_empty() {
                it.next().cloned()
            } else {
                Some(attached.to_string())
            }
        };
        match switch {
            "r" | "B" | "R" | "E" => code.extend(value()),
            "f" => return None,
            "d" | "c" | "z" | "t" => {
                value();
            }
            _ => {}
        }
    }
    (!code.is_empty()).then(|| code.join("\n"))
}
