//! Metamorphic tests of the PowerShell detector: every case of `winevents::cases`
//! (and the seed's test 4) is rewritten in ways PowerShell reads identically —
//! each form of error suppression, each obfuscation (ticks, case, concatenation,
//! `-f`, `-join`, `[char]` arrays, `.Replace()`, en/em dashes), delivered as Sysmon 1
//! (`-Command` and `-EncodedCommand`), Security 4688, cmd.exe with carets, two
//! layers of `-EncodedCommand`, 4104 whole and in three parts, 4103 and 800, in
//! XML and the JSON shapes — and the verdict must not change: a malicious variant
//! is found with the case's indicators, a benign one is not found. Removing the
//! suppression from a malicious case must remove the finding (the control that
//! shows the variants are judged on their suppression).

mod winevents;

use std::collections::BTreeMap;

use winevents::{CASES, DELIVERIES, Delivery, Origin, SHAPES, Shape, deliver, hunt_text};

/// Statement forms of error suppression (each valid PowerShell, checked by
/// scripts/ci-powershell-grammar.sh), put before the case's script.
const STATEMENT_FORMS: &[&str] = &[
    "Get-Item 'x' -ErrorAction 'SilentlyContinue'",
    "Get-Item 'x' -ea 0",
    "Get-Item 'x' -EA:Ignore",
    "Get-Item 'x' -ErrorA 4",
    "Get-Item 'x' -erroraction:silentlycontinue",
    "Get-Item 'x' -ErrorAction ([Management.Automation.ActionPreference]::Ignore)",
    "$p = @{ Path = 'x'; ErrorAction = 'SilentlyContinue' }; Get-Item @p",
    "$e = 'SilentlyContinue'; Get-Item 'x' -ErrorAction $e",
    "$ErrorActionPreference = 'SilentlyContinue'",
    "$global:ErrorActionPreference = 0",
    "${ErrorActionPreference} = 'Ignore'",
    "$ErrorActionPreference = [Management.Automation.ActionPreference]::SilentlyContinue",
    "Set-Variable -Name 'ErrorActionPreference' -Value 'SilentlyContinue' -Scope 'Global'",
    "sv ErrorActionPreference 0",
    "New-Variable -Name 'ErrorActionPreference' -Value 'Ignore' -Force",
    "$PSDefaultParameterValues['*:ErrorAction'] = 'SilentlyContinue'",
    "$PSDefaultParameterValues = @{ '*:ErrorAction' = 'Ignore' }",
];

/// Parameter forms put in place of a case's own `-ErrorAction '…'`.
const PARAMETER_FORMS: &[&str] = &[
    " -ea 0",
    " -EA 'Ignore'",
    " -ErrorA:SilentlyContinue",
    " -ErrorAct 4",
    " \u{2013}ErrorAction 'SilentlyContinue'",
    " -ErrorAction:([Management.Automation.ActionPreference]'Ignore')",
];

/// The suppression each case is written with.
const CASE_SUPPRESSIONS: &[&str] = &[
    "$ErrorActionPreference = 'SilentlyContinue'; ",
    "$ErrorActionPreference = 'Ignore'; ",
    " -ErrorAction 'SilentlyContinue'",
    " -ErrorAction 'Ignore'",
];

/// A script with the case's suppression removed.
fn strip_suppression(script: &str) -> String {
    CASE_SUPPRESSIONS
        .iter()
        .fold(script.to_string(), |s, sup| s.replace(sup, ""))
}

/// Rewrites the text outside string literals with `code`, and each single-quoted
/// literal (quotes included, of at least two characters) with `literal`.
fn rewrite(
    script: &str,
    mut code: impl FnMut(&str) -> String,
    mut literal: impl FnMut(&str) -> String,
) -> String {
    let chars: Vec<char> = script.chars().collect();
    let mut out = String::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                out.push_str(&code(&plain));
                plain.clear();
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                let inner: String = chars[i + 1..j.min(chars.len())].iter().collect();
                if inner.chars().count() >= 2 {
                    out.push_str(&literal(&inner));
                } else {
                    out.push('\'');
                    out.push_str(&inner);
                    out.push('\'');
                }
                i = j + 1;
            }
            '"' => {
                out.push_str(&code(&plain));
                plain.clear();
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '`' {
                        j += 1;
                    }
                    j += 1;
                }
                let s: String = chars[i..(j + 1).min(chars.len())].iter().collect();
                out.push_str(&s);
                i = j + 1;
            }
            c => {
                plain.push(c);
                i += 1;
            }
        }
    }
    out.push_str(&code(&plain));
    out
}

fn split(s: &str) -> (String, String) {
    let cut = s.char_indices().nth(1).map_or(s.len(), |(i, _)| i);
    (s[..cut].to_string(), s[cut..].to_string())
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// PowerShell's operators: a tick inside one is invalid, and the grammar used to
/// check the variants (tree-sitter-powershell) does not accept typographic dashes
/// in them, although PowerShell does.
const OPERATORS: &[&str] = &[
    "-eq",
    "-ne",
    "-gt",
    "-ge",
    "-lt",
    "-le",
    "-like",
    "-notlike",
    "-match",
    "-notmatch",
    "-contains",
    "-notcontains",
    "-in",
    "-notin",
    "-replace",
    "-join",
    "-split",
    "-f",
    "-and",
    "-or",
    "-not",
    "-is",
    "-isnot",
    "-as",
    "-band",
    "-bor",
];

fn is_operator(word: &str) -> bool {
    OPERATORS.contains(&word.to_ascii_lowercase().as_str())
}

/// Backticks inside command and parameter names (before a letter that is no
/// escape sequence): ``Inv`oke-WebRequest``, ``-Er`rorAction``.
fn ticks(code: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "if", "else", "elseif", "exit", "foreach", "in", "return", "function",
    ];
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if word_char(chars[i]) && (i == 0 || !word_char(chars[i - 1])) {
            let mut j = i;
            while j < chars.len() && word_char(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let before = if i == 0 { ' ' } else { chars[i - 1] };
            let starts =
                word.starts_with('-') || word.starts_with(|c: char| c.is_ascii_alphabetic());
            let placed = " (;|{".contains(before);
            // Not an operator, and not a hashtable key (`Name=`).
            let key = chars.get(j) == Some(&'=');
            let third = word.chars().nth(2);
            let escape = third.is_none_or(|c| {
                !c.is_ascii_alphabetic() || "0abefnrtuvx".contains(c.to_ascii_lowercase())
            });
            if starts
                && placed
                && !escape
                && !key
                && !is_operator(&word)
                && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
            {
                out.extend(word.chars().take(2));
                out.push('`');
                out.extend(word.chars().skip(2));
            } else {
                out.push_str(&word);
            }
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Obfuscations of a script, each read by PowerShell as the original.
fn obfuscations(script: &str) -> Vec<(&'static str, String)> {
    let same = |s: &str| s.to_string();
    let same_literal = |s: &str| quoted(s);
    vec![
        ("ticks", rewrite(script, ticks, same_literal)),
        (
            "case",
            rewrite(
                script,
                |code| {
                    code.chars()
                        .enumerate()
                        .map(|(k, c)| {
                            if k % 2 == 0 {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            }
                        })
                        .collect()
                },
                same_literal,
            ),
        ),
        (
            "concatenation",
            rewrite(script, same, |s| {
                let (a, b) = split(s);
                format!("({}+{})", quoted(&a), quoted(&b))
            }),
        ),
        (
            "format",
            rewrite(script, same, |s| {
                let (a, b) = split(s);
                format!("('{{1}}{{0}}' -f {},{})", quoted(&b), quoted(&a))
            }),
        ),
        (
            "join",
            rewrite(script, same, |s| {
                let (a, b) = split(s);
                format!("(-join ({},{}))", quoted(&a), quoted(&b))
            }),
        ),
        (
            "char-array",
            rewrite(script, same, |s| {
                let codes: Vec<String> = s.chars().map(|c| (c as u32).to_string()).collect();
                format!("(-join [char[]]({}))", codes.join(","))
            }),
        ),
        (
            "replace",
            rewrite(script, same, |s| {
                let (a, b) = split(s);
                format!("({}.Replace('~',''))", quoted(&format!("{a}~{b}")))
            }),
        ),
        (
            "dashes",
            rewrite(
                script,
                |code| {
                    let mut out = String::new();
                    let chars: Vec<char> = code.chars().collect();
                    for (k, &c) in chars.iter().enumerate() {
                        let word: String = chars[k..]
                            .iter()
                            .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
                            .collect();
                        let param = c == '-'
                            && k > 0
                            && chars[k - 1] == ' '
                            && chars.get(k + 1).is_some_and(|n| n.is_ascii_alphabetic())
                            && !is_operator(&word);
                        out.push(match (param, k % 2) {
                            (true, 0) => '\u{2013}',
                            (true, _) => '\u{2014}',
                            _ => c,
                        });
                    }
                    out
                },
                same_literal,
            ),
        ),
    ]
}

/// One variant: what was changed, the script, how it is delivered, and the verdict
/// expected.
struct Variant {
    case: &'static str,
    how: String,
    script: String,
    delivery: Delivery,
    malicious: bool,
    indicators: &'static [&'static str],
}

fn variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for case in CASES {
        let mut push = |how: String, script: String, delivery: Delivery, malicious: bool| {
            // Two layers of -EncodedCommand are an exec cradle by rule: not a
            // benign administration variant.
            if !case.malicious && delivery == Delivery::DoubleEncoded {
                return;
            }
            out.push(Variant {
                case: case.id,
                how,
                script,
                delivery,
                malicious,
                indicators: if malicious { case.indicators } else { &[] },
            });
        };
        for &d in DELIVERIES {
            push(
                "as written".into(),
                case.script.to_string(),
                d,
                case.malicious,
            );
        }
        let stripped = strip_suppression(case.script);
        // The control: without its suppression a case is never found.
        push(
            "suppression removed".into(),
            stripped.clone(),
            Delivery::SysmonEncoded,
            false,
        );
        push(
            "suppression removed".into(),
            stripped.clone(),
            Delivery::ScriptBlock,
            false,
        );
        for (k, form) in STATEMENT_FORMS.iter().enumerate() {
            let script = format!("{form}\n{stripped}");
            let d = [
                Delivery::SysmonEncoded,
                Delivery::ScriptBlock,
                Delivery::CmdCarets,
            ][k % 3];
            push(
                format!("statement form {form:?}"),
                script,
                d,
                case.malicious,
            );
        }
        for own in CASE_SUPPRESSIONS.iter().filter(|s| s.starts_with(' ')) {
            if !case.script.contains(own) {
                continue;
            }
            for (k, form) in PARAMETER_FORMS.iter().enumerate() {
                let script = case.script.replace(own, form);
                let d = [
                    Delivery::SysmonEncoded,
                    Delivery::ScriptBlockParts,
                    Delivery::Security4688,
                ][k % 3];
                push(
                    format!("parameter form {form:?}"),
                    script,
                    d,
                    case.malicious,
                );
            }
        }
        for (name, script) in obfuscations(case.script) {
            for &d in DELIVERIES {
                push(
                    format!("obfuscation {name}"),
                    script.clone(),
                    d,
                    case.malicious,
                );
            }
        }
    }
    out
}

#[test]
fn verdicts_survive_every_variant_in_every_shape() {
    let all = variants();
    // Each variant gets its own host; the shapes take turns, so every delivery and
    // every transform is read in XML and in each JSON shape.
    let mut files: BTreeMap<usize, Vec<sighunt_core::sources::windows::WinEvent>> = BTreeMap::new();
    for (k, v) in all.iter().enumerate() {
        let origin = Origin {
            host: format!("{}-V{k:05}", v.case),
            seq: k as u32,
        };
        files
            .entry(k % SHAPES.len())
            .or_default()
            .extend(deliver(&origin, &v.script, v.delivery));
    }
    let mut found: BTreeMap<String, Vec<sighunt_core::finding::Finding>> = BTreeMap::new();
    for (shape_index, events) in &files {
        let shape: Shape = SHAPES[*shape_index];
        for f in hunt_text(&winevents::render(events, shape), shape.extension()) {
            found.entry(f.host.clone()).or_default().push(f);
        }
    }
    let mut wrong = Vec::new();
    let (mut malicious, mut found_malicious, mut benign, mut raised_benign) = (0, 0, 0, 0);
    for (k, v) in all.iter().enumerate() {
        let host = format!("{}-V{k:05}", v.case);
        let shape = SHAPES[k % SHAPES.len()];
        let findings = found.get(&host).map(Vec::as_slice).unwrap_or(&[]);
        if v.malicious {
            malicious += 1;
            let ok = findings.iter().any(|f| {
                v.indicators
                    .iter()
                    .all(|i| f.indicators.iter().any(|g| g == i))
            });
            if ok {
                found_malicious += 1;
            } else {
                wrong.push(format!(
                    "MISSED {host} {} via {:?} in {shape:?}: want {:?}, got {:?}\n  {}",
                    v.how,
                    v.delivery,
                    v.indicators,
                    findings.iter().map(|f| &f.indicators).collect::<Vec<_>>(),
                    v.script
                ));
            }
        } else {
            benign += 1;
            if !findings.is_empty() {
                raised_benign += 1;
                wrong.push(format!(
                    "RAISED {host} {} via {:?} in {shape:?}: {:?}\n  {}",
                    v.how,
                    v.delivery,
                    findings.iter().map(|f| &f.indicators).collect::<Vec<_>>(),
                    v.script
                ));
            }
        }
    }
    eprintln!(
        "metamorphic: {found_malicious}/{malicious} malicious variants found, {raised_benign}/{benign} benign variants raised"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        malicious > 1000 && benign > 500,
        "too few variants: {malicious} {benign}"
    );
}

#[test]
fn obfuscations_change_the_text_but_not_its_meaning() {
    // The transforms really change what a regular expression would see: each
    // changes most cases.
    let mut changed: BTreeMap<&str, usize> = BTreeMap::new();
    for case in CASES {
        for (name, script) in obfuscations(case.script) {
            if script != case.script {
                *changed.entry(name).or_default() += 1;
            }
        }
    }
    assert_eq!(changed.len(), 8, "{changed:?}");
    assert!(
        changed.values().all(|&n| n * 2 > CASES.len()),
        "{changed:?}"
    );
}

/// Every form and variant above is valid PowerShell, as a real grammar
/// (tree-sitter-powershell, pinned in scripts/ci-powershell-grammar.sh) reads it.
/// Skipped with a message when the grammar is not installed, unless CI=true.
#[test]
fn every_accepted_form_is_valid_powershell() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var("SIGHUNT_PWSH_GRAMMAR_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/pwsh-grammar"));
    if !venv.join("bin/python").exists() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "the PowerShell grammar is not installed and CI=true: run scripts/ci-powershell-grammar.sh install"
        );
        eprintln!(
            "SKIP: no PowerShell grammar at {} (scripts/ci-powershell-grammar.sh install)",
            venv.display()
        );
        return;
    }
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/fixtures/powershell/suppression-forms.json"))
            .unwrap(),
    )
    .unwrap();
    let mut scripts: Vec<String> = ["parameter", "preference", "not_suppression"]
        .iter()
        .flat_map(|k| {
            fixture[*k]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
        })
        .collect();
    scripts.extend(STATEMENT_FORMS.iter().map(|s| s.to_string()));
    let mut seen = std::collections::BTreeSet::new();
    for v in variants() {
        if seen.insert(v.script.clone()) {
            scripts.push(v.script);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scripts.json");
    std::fs::write(&file, serde_json::to_string(&scripts).unwrap()).unwrap();
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/ci-powershell-grammar.sh"))
        .arg("check")
        .arg(&file)
        .env("SIGHUNT_PWSH_GRAMMAR_VENV", &venv)
        .output()
        .expect("run the grammar check");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", text.lines().last().unwrap_or(""));
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
