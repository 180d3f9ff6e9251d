use super::*;

use std::os::unix::fs::PermissionsExt;

#[test]
fn configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin.toml");
    fs::write(
        &path,
        "output = \"/var/log/sighunt/findings.jsonl\"\nmin_severity = \"medium\"\nhold_ms = 250\nrules = [\"/etc/sighunt/site.toml\"]\n",
    )
    .unwrap();
    let c = PluginConfig::load(&path, true).unwrap();
    assert_eq!(c.output.as_deref(), Some("/var/log/sighunt/findings.jsonl"));
    assert_eq!(c.min_severity.as_deref(), Some("medium"));
    assert_eq!(c.hold_ms, Some(250));
    assert_eq!(c.rules, [PathBuf::from("/etc/sighunt/site.toml")]);

    // A typo is an error, not silently ignored.
    fs::write(&path, "outptu = \"stdout\"\n").unwrap();
    assert!(
        PluginConfig::load(&path, true)
            .unwrap_err()
            .contains("outptu")
    );
    // The default file may be absent; a named one may not.
    let missing = dir.path().join("none.toml");
    assert!(PluginConfig::load(&missing, false).is_ok());
    assert!(PluginConfig::load(&missing, true).is_err());
}

#[test]
fn facilities_and_priorities() {
    assert_eq!(
        "authpriv".parse::<Facility>(),
        Ok(Facility(libc::LOG_AUTHPRIV))
    );
    assert_eq!(
        "LOG_LOCAL3".parse::<Facility>(),
        Ok(Facility(libc::LOG_LOCAL3))
    );
    assert!("kern".parse::<Facility>().is_err());
    assert_eq!(syslog_priority(Severity::Critical), libc::LOG_CRIT);
    assert_eq!(syslog_priority(Severity::Low), libc::LOG_NOTICE);
}

#[test]
fn the_output_file_is_private_and_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sighunt").join("findings.csv");
    let mut w = Writer::open(&Destination::File(path.clone())).unwrap();
    assert!(w.is_empty());
    let f = sighunt_core::finding::Finding {
        time: None,
        host: "web1".into(),
        platform: sighunt_core::event::Platform::Unix,
        detection_type: sighunt_core::finding::DetectionType::Nohup,
        exec_cmd: "nohup".into(),
        nohup_target: "/tmp/x".into(),
        nohup_args: String::new(),
        command_line: "nohup /tmp/x".into(),
        suspicion_score: 40,
        severity: Severity::Medium,
        indicators: vec!["temp_dir_payload".into()],
        pid: Some(1),
        ppid: None,
        user: None,
        source: sighunt_core::event::Provenance {
            path: Arc::from("audit-dispatcher"),
            position: sighunt_core::event::Position::Line(3),
            format: "auditd",
        },
        related: Vec::new(),
    };
    w.write(std::slice::from_ref(&f), OutputFormat::Csv, true)
        .unwrap();
    drop(w);
    // Reopened (a restart, a SIGHUP): appended, no second header.
    let mut w = Writer::open(&Destination::File(path.clone())).unwrap();
    assert!(!w.is_empty());
    w.write(&[f], OutputFormat::Csv, false).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("time,host,"));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o640);
    assert_eq!(mode(path.parent().unwrap()), 0o750);
}
