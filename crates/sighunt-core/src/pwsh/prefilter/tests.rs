//! The prefilter against the analysis it stands in for (the oracle): whatever
//! `analyze` finds suppressed or depth-limited, `may_suppress` lets through, on the
//! fixture's forms, on metamorphic variants of them (case, backticks, dashes,
//! concatenation, `-f`, char codes, `iex`, `&`, script blocks, setters, splats) and
//! on random token soup; and it does reject ordinary code.

use super::super::analyze;
use super::*;

/// The implication the detector relies on.
fn check(text: &str) -> bool {
    let a = analyze(text, 4);
    let fires = a.suppression.any() || a.depth_limited;
    assert!(
        !fires || may_suppress(text),
        "prefilter rejects a text the analysis flags: {text:?}"
    );
    fires
}

fn forms() -> Vec<String> {
    static FORMS: &str =
        include_str!("../../../../../tests/fixtures/powershell/suppression-forms.json");
    let v: serde_json::Value = serde_json::from_str(FORMS).expect("valid fixture");
    ["parameter", "preference", "not_suppression"]
        .iter()
        .flat_map(|k| v[k].as_array().expect("a list").clone())
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// `text` as single-quoted PowerShell string content.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `[char]` codes joined: no letter of `text` is left in the code.
fn char_codes(text: &str) -> String {
    let codes: Vec<String> = text.chars().map(|c| (c as u32).to_string()).collect();
    format!("(([char[]]({})) -join '')", codes.join(","))
}

/// Split in two halves concatenated.
fn concat(text: &str) -> String {
    let mid = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(text.chars().count() / 2)
        .unwrap_or(0);
    format!("({}+{})", quoted(&text[..mid]), quoted(&text[mid..]))
}

/// A backtick before every other letter outside quotes (escapes the lexer undoes;
/// `` `a ``, `` `b `` … are left alone as they are escapes of their own).
fn backticks(text: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for (k, c) in text.chars().enumerate() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        if quote.is_none()
            && k % 2 == 1
            && c.is_ascii_alphabetic()
            && !"abefnrtv0".contains(c.to_ascii_lowercase())
        {
            out.push('`');
        }
        out.push(c);
    }
    out
}

fn variants(f: &str) -> Vec<String> {
    let mut alt_case = String::new();
    for (k, c) in f.chars().enumerate() {
        if k % 2 == 0 {
            alt_case.extend(c.to_uppercase());
        } else {
            alt_case.extend(c.to_lowercase());
        }
    }
    vec![
        f.to_string(),
        f.to_uppercase(),
        f.to_lowercase(),
        alt_case,
        backticks(f),
        f.replace(" -", " \u{2013}"),
        f.replace('\'', "\u{2019}"),
        format!("iex {}", quoted(f)),
        format!("Invoke-Expression {}", concat(f)),
        format!("iex {}", char_codes(f)),
        format!("& ('ie'+'x') {}", char_codes(f)),
        format!(". ('{{1}}{{0}}' -f 'x','ie') {}", quoted(f)),
        format!("&$shellid[1]$shellid[13]'x' {}", quoted(f)),
        format!("$c = {}; iex $c", concat(f)),
        format!("{} | iex", char_codes(f)),
        format!("[ScriptBlock]::Create({}).Invoke()", char_codes(f)),
        format!("[Script Block]::Create({}).Invoke()", quoted(f)),
        format!(
            "$ExecutionContext.InvokeCommand.InvokeScript({})",
            concat(f)
        ),
        format!(
            "$ExecutionContext.InvokeCommand.NewScriptBlock({})",
            concat(f)
        ),
        format!("icm -ScriptBlock {}", char_codes(f)),
        format!("powershell -Command {}", quoted(f)),
        format!("\"$({f})\""),
        format!("function x {{ {f} }}"),
        format!("if ($true) {{ {f} }} else {{ }}"),
    ]
}

#[test]
fn every_form_and_variant_passes_when_the_analysis_fires() {
    let mut fired = 0;
    let mut total = 0;
    for f in forms() {
        for v in variants(&f) {
            total += 1;
            fired += usize::from(check(&v));
        }
    }
    // Most variants are real suppression (so the implication is tested, not
    // vacuous); the look-alikes are not.
    assert!(total > 1500, "{total}");
    assert!(fired > 900, "{fired} of {total}");
}

#[test]
fn computed_names_reach_the_checks_only_through_a_sink() {
    for text in [
        "Set-Variable -Name ('Error'+'ActionPreference') -Value 0",
        "sv ('E'+'rrorActionPreference') 0",
        "New-Variable -Name ('{1}{0}' -f 'ActionPreference','Error') -Value 'Ignore' -Force",
        "Set-Item ('variable:'+'ErrorAction'+'Preference') 0",
        "$PSDefaultParameterValues.Add(('*:Error'+'Action'), 'Ignore')",
        "$d = @{}; $d.Add(('*:E'+'A'), 0)",
        "$PSDefaultParameterValues[('*:'+'ea')] = 0",
        "$p = @{ea = 0}; Get-Item x @p",
        "$p = @{'ErrorAction' = 'Ignore'}; Get-Item x @p",
        "gci -e`a 0",
        "Get-Item x \u{2013}ea 0",
        "${Error`ActionPreference} = 0",
        "$global:ErrorActionPreference = 4",
        "& (\"{0}{1}\" -f 's','v') ('Error'+'ActionPreference') 0",
        ". ([string]::Join('', [char[]](115,118))) ('Error'+'ActionPreference') 0",
        "iex ([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('JABFAHIAcgBvAHIAQQBjAHQAaQBvAG4AUAByAGUAZgBlAHIAZQBuAGMAZQAgAD0AIAAwAA==')))",
    ] {
        check(text);
        assert!(may_suppress(text), "{text}");
    }
    // Deeper than the limit.
    let mut code = "Get-Item x -ea 0".to_string();
    for _ in 0..6 {
        code = format!("iex {}", quoted(&code));
    }
    assert!(analyze(&code, 4).depth_limited);
    check(&code);
}

#[test]
fn ordinary_code_is_rejected() {
    for text in [
        "Get-ChildItem C:\\Windows -Recurse | Where-Object { $_.Length -gt 100 } | Sort-Object Length",
        "function Get-Thing { param([string]$Name) $result = Get-Item -Path $Name; return $result }",
        "$list = New-Object System.Collections.ArrayList\n$null = $list.Count\nWrite-Output $list",
        "Import-Module PSReadLine\nSet-PSReadLineOption -EditMode Emacs",
        "$x = 'a', 'b' -join ','; $y = $x.Length + 1",
        "$ErrorView = 'CategoryView'; $WarningPreference = 'SilentlyContinue'",
        "Get-Service -Name wuauserv -ComputerName srv1 | Select-Object Status",
        "$Version = $PSVersionTable.PSVersion.Major; Write-Verbose \"v$Version\"",
    ] {
        assert!(!check(text), "{text}");
        assert!(!may_suppress(text), "{text}");
    }
}

#[test]
fn random_token_soup_keeps_the_implication() {
    const PIECES: &[&str] = &[
        "iex",
        "sv",
        "si",
        "nv",
        "Set-Variable",
        "icm",
        "ErrorAction",
        "ErrorActionPreference",
        "ea",
        "-ea",
        "-Error",
        "A",
        "Preference",
        "$",
        "@",
        "@{",
        "}",
        "(",
        ")",
        "'",
        "\"",
        "+",
        "-f",
        "-join",
        "[char]",
        "101",
        "97",
        "0",
        "4",
        "Ignore",
        "SilentlyContinue",
        " ",
        " ",
        "\n",
        ";",
        "`",
        "&",
        ".",
        "::",
        "=",
        ",",
        "[ScriptBlock]",
        "Create",
        "Add",
        "x",
        "$PSDefaultParameterValues",
        "*:",
        "[",
        "]",
        "|",
        "\u{2013}",
        "\u{2019}",
        "powershell",
        "-c",
        "{0}{1}",
        "{1}{0}",
        "Get-Item",
        "$x",
        "$e",
        "InvokeScript",
    ];
    // A fixed linear congruential sequence: the same soup on every run.
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    // Statement-shaped soup: a command or an assignment, then arguments.
    const HEADS: &[&str] = &[
        "Get-Item x ",
        "gci ",
        "$ErrorActionPreference = ",
        "$global:ErrorActionPreference=",
        "sv ",
        "Set-Variable ",
        "iex ",
        "& ",
        ". ",
        "$PSDefaultParameterValues['*:ea'] = ",
        "$x = ",
        "icm -ScriptBlock ",
        "[ScriptBlock]::Create(",
        "$h = @{ea = ",
    ];
    const ARGS: &[&str] = &[
        "-ea ",
        "-ErrorAction ",
        "-ErrorA:",
        "\u{2013}ea ",
        "0 ",
        "4 ",
        "'Ignore' ",
        "'SilentlyContinue' ",
        "('Silently'+'Continue') ",
        "ErrorActionPreference ",
        "('Error'+'ActionPreference') ",
        "('ie'+'x') ",
        "'gci -ea 0' ",
        "$x ",
        "@h ",
        ") ",
        "} ",
        "[char]48 ",
        "; ",
        "\n",
        "`",
        "-f ",
        "'{0}' ",
    ];
    let mut fired = 0;
    for _ in 0..10_000 {
        let len = 1 + next(24);
        let text: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
        fired += usize::from(check(&text));
        let mut text = String::new();
        for _ in 0..1 + next(3) {
            text.push_str(HEADS[next(HEADS.len())]);
            for _ in 0..next(5) {
                text.push_str(ARGS[next(ARGS.len())]);
            }
            text.push('\n');
        }
        fired += usize::from(check(&text));
    }
    assert!(fired > 500, "{fired}");
}
