//! Shell functions a text defines, run where it calls them.
//!
//! `bg() { nohup "$@" >/dev/null 2>&1 & }; bg /tmp/.x/miner` runs
//! `nohup /tmp/.x/miner` in the background: the payload is an argument of the
//! call, and the body only says `"$@"`. A function's body is therefore read where
//! it is called, once per call, with the call's arguments as its positional
//! parameters (`$@`, `$*`, `$1` … `${N}`, `$#`), the call's `&` and redirections
//! applying to it. A body no command calls is read where it is written, as a
//! command the text holds.

use super::expand::parameter;
use crate::shell::{Function, Redirect, SimpleCommand};

/// Most calls inside calls followed (`f() { g "$1"; }; g() { nohup "$1" & }`;
/// also what stops `f() { f; }`).
pub const MAX_NESTING: u32 = 4;

/// The calls of one text's functions.
#[derive(Debug, Default)]
pub struct Calls {
    /// Per command: the function it calls, if any.
    callee: Vec<Option<usize>>,
    /// Per command: it is in the body of a function some command calls, so it
    /// runs at the calls instead.
    deferred: Vec<bool>,
    /// The bodies of the functions called, by function.
    bodies: Vec<Vec<SimpleCommand>>,
    /// The definitions, in text order.
    functions: Vec<Function>,
}

impl Calls {
    /// Finds, in `cmds`, the calls of `functions`. A call is a command whose
    /// program word is a function's name, outside that function's own body (the
    /// shell runs it whether the definition comes first in the text or in a
    /// function that runs later); the last definition of a name counts.
    pub fn new(functions: Vec<Function>, cmds: &[SimpleCommand]) -> Calls {
        if functions.is_empty() {
            return Calls::default();
        }
        let mut callee = vec![None; cmds.len()];
        let mut called = vec![false; functions.len()];
        for (j, cmd) in cmds.iter().enumerate() {
            let Some(f) = cmd.words.first().and_then(|p| last_named(&functions, p)) else {
                continue;
            };
            if !functions[f].body.contains(&j) {
                callee[j] = Some(f);
                called[f] = true;
            }
        }
        let mut deferred = vec![false; cmds.len()];
        let mut bodies = vec![Vec::new(); functions.len()];
        for (f, function) in functions.iter().enumerate() {
            if !called[f] {
                continue;
            }
            for d in &mut deferred[function.body.clone()] {
                *d = true;
            }
            bodies[f] = cmds[function.body.clone()].to_vec();
        }
        Calls {
            callee,
            deferred,
            bodies,
            functions,
        }
    }

    /// Whether command `i` runs only where its function is called.
    pub fn is_deferred(&self, i: usize) -> bool {
        self.deferred.get(i).copied().unwrap_or(false)
    }

    /// The function command `i` calls, if any.
    pub fn callee(&self, i: usize) -> Option<usize> {
        self.callee.get(i).copied().flatten()
    }

    /// The function (by index) a body command calls, found by its program word.
    pub fn callee_by_name(&self, program: &str) -> Option<usize> {
        last_named(&self.functions, program).filter(|&f| !self.bodies[f].is_empty())
    }

    /// The commands of function `f`'s body as `call` runs them.
    pub fn bound(&self, f: usize, call: &SimpleCommand) -> Vec<SimpleCommand> {
        let args = call.words.get(1..).unwrap_or(&[]);
        self.bodies[f]
            .iter()
            .map(|cmd| bind(cmd, args, call))
            .collect()
    }
}

/// The last definition of `name` (the one the shell runs).
fn last_named(functions: &[Function], name: &str) -> Option<usize> {
    functions.iter().rposition(|f| f.name == name)
}

/// `cmd` (a command of a function's body) as a call with `args` runs it.
fn bind(cmd: &SimpleCommand, args: &[String], call: &SimpleCommand) -> SimpleCommand {
    let mut words = Vec::with_capacity(cmd.words.len() + args.len());
    for w in &cmd.words {
        match w.as_str() {
            "$@" | "${@}" | "$*" | "${*}" => words.extend(args.iter().cloned()),
            _ if !w.contains('$') => words.push(w.clone()),
            _ => {
                let bound = substitute(w, args);
                // An unset `$3` on its own is no word at all.
                if !(bound.is_empty() && is_positional(w)) {
                    words.push(bound);
                }
            }
        }
    }
    let mut redirects: Vec<Redirect> = call.redirects.clone();
    redirects.extend(cmd.redirects.iter().map(|r| Redirect {
        target: if r.target.contains('$') {
            substitute(&r.target, args)
        } else {
            r.target.clone()
        },
        ..r.clone()
    }));
    SimpleCommand {
        assignments: cmd.assignments.clone(),
        words,
        redirects,
        background: cmd.background || call.background,
        in_pipeline: cmd.in_pipeline || call.in_pipeline,
        depth: cmd.depth,
        pipeline: cmd.pipeline,
        stage: cmd.stage,
        group_stage: cmd.group_stage,
    }
}

/// Whether `word` is one positional parameter and nothing else (`$2`, `${12}`).
fn is_positional(word: &str) -> bool {
    parameter(word)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n != "0")
}

/// `word` with `$1` … `$9`, `${N}`, `$@`, `$*` and `$#` replaced by what `args`
/// gives them; other expansions (`$0`, `$HOME`, `${X:-y}`) as written.
fn substitute(word: &str, args: &[String]) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let bytes = after.as_bytes();
        let (value, used): (Option<String>, usize) = match bytes.first() {
            Some(b'@' | b'*') => (Some(args.join(" ")), 1),
            Some(b'#') => (Some(args.len().to_string()), 1),
            Some(d @ b'1'..=b'9') => (Some(arg(args, usize::from(d - b'0'))), 1),
            Some(b'{') => match after[1..].find('}') {
                Some(close) => {
                    let inner = &after[1..1 + close];
                    let value = match inner {
                        "@" | "*" => Some(args.join(" ")),
                        "#" => Some(args.len().to_string()),
                        n if !n.is_empty() && n != "0" && n.bytes().all(|b| b.is_ascii_digit()) => {
                            Some(n.parse().map(|i| arg(args, i)).unwrap_or_default())
                        }
                        _ => None,
                    };
                    (value, close + 2)
                }
                None => (None, 0),
            },
            _ => (None, 0),
        };
        match value {
            Some(v) => {
                out.push_str(&v);
                rest = &after[used..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Positional parameter `i` (1-based), empty when the call gave fewer.
fn arg(args: &[String], i: usize) -> String {
    args.get(i - 1).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::parse_script;

    fn bound_words(text: &str) -> Vec<Vec<String>> {
        let s = parse_script(text);
        let calls = Calls::new(s.functions.clone(), &s.commands);
        let mut out = Vec::new();
        for (i, cmd) in s.commands.iter().enumerate() {
            if calls.is_deferred(i) {
                continue;
            }
            match calls.callee(i) {
                Some(f) => out.extend(calls.bound(f, cmd).into_iter().map(|c| c.words)),
                None => out.push(cmd.words.clone()),
            }
        }
        out
    }

    #[test]
    fn a_body_runs_at_each_call_with_the_calls_arguments() {
        assert_eq!(
            bound_words(
                r#"bg() { nohup "$@" >/dev/null 2>&1 & }; bg /tmp/.x/miner -o pool; bg /dev/shm/k"#
            ),
            [
                vec!["nohup", "/tmp/.x/miner", "-o", "pool"],
                vec!["nohup", "/dev/shm/k"]
            ]
        );
        assert_eq!(
            bound_words(r#"function run { nohup "$1" "${2}" --n=$# x$*y & }; run /tmp/a b"#),
            [vec!["nohup", "/tmp/a", "b", "--n=2", "x/tmp/a by"]]
        );
        // An unset positional parameter alone is no word; $0 and other variables stay.
        assert_eq!(
            bound_words(r#"f() { nohup $1 $2 $0 $HOME ${X:-y}; }; f /tmp/a"#),
            [vec!["nohup", "/tmp/a", "$0", "$HOME", "${X:-y}"]]
        );
        // Uncalled: read where it is written, positional words as written.
        assert_eq!(
            bound_words(r#"f() { nohup "$@" & }; echo done"#),
            [vec!["nohup", "$@"], vec!["echo", "done"]]
        );
    }

    #[test]
    fn the_calls_background_and_redirections_apply_to_the_body() {
        let s = parse_script("f() { nohup \"$1\" >\"$2\"; }; f /tmp/a /tmp/log 2>&1 &");
        let calls = Calls::new(s.functions.clone(), &s.commands);
        let call = s.commands.iter().position(|c| c.words[0] == "f").unwrap();
        let body = calls.bound(calls.callee(call).unwrap(), &s.commands[call]);
        assert!(body[0].background);
        let targets: Vec<&str> = body[0]
            .redirects
            .iter()
            .map(|r| r.target.as_str())
            .collect();
        assert_eq!(targets, ["1", "/tmp/log"]);
        assert_eq!(body[0].words, ["nohup", "/tmp/a"]);
    }

    #[test]
    fn a_call_inside_its_own_body_is_not_a_call() {
        let s = parse_script("f() { f; nohup x; }");
        let calls = Calls::new(s.functions.clone(), &s.commands);
        assert!((0..s.commands.len()).all(|i| !calls.is_deferred(i) && calls.callee(i).is_none()));
    }

    #[test]
    fn hostile_texts_do_not_panic() {
        let mut rng = crate::test_rng::XorShift::new(0x5eed_f00d);
        let pieces = [
            "f",
            "()",
            "{",
            "}",
            ";",
            "$@",
            "$1",
            "${",
            "${9",
            "}",
            "${99999999999999999999}",
            "$",
            " ",
            "function",
            "nohup",
            "\"",
            "&",
            "(",
            ")",
            "$#",
            "${#}",
            "${*}",
            "\n",
        ];
        for _ in 0..5_000 {
            let n = rng.below(24);
            let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
            let _ = bound_words(&text);
        }
    }
}
