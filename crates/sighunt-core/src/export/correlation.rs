//! Sigma correlation rules (the v2 specification's temporal correlation) for the
//! two sequences sighunt's correlation detector scores: a payload made executable
//! and then started with nohup (`payload_made_executable`), and a nohup'd program
//! then listening on a socket (`net_listener`). Each comes with the base rules it
//! refers to by name, on auditd records, where the shared value is logged: the
//! payload path (chmod's `a2`, nohup's `a1`) and the process id (nohup execs its
//! target in the same process).

use super::Model;
use super::sigma::{Rule, q, yaml_head};

/// The base rules and the correlation rules, as `(file name, YAML)`.
pub(crate) fn rules(model: &Model) -> Vec<(String, String)> {
    let Some((prepare, follow)) = model.windows else {
        return Vec::new();
    };
    let base = [
        Rule {
            name: "sighunt_chmod_executable_linux_auditd".into(),
            file: "lnx_auditd_sighunt_chmod_executable.yml".into(),
            title: "File Made Executable - Auditd".into(),
            description: "chmod gives a file execute permission (+x or an octal mode with an execute\nbit): the first step of the chmod-then-nohup correlation (T1564.011), not an\nalert on its own.".into(),
            logsource: vec![("product", "linux"), ("service", "auditd")],
            items: vec![
                (
                    "selection_chmod".into(),
                    vec!["type: 'EXECVE'".into(), "a0|endswith: 'chmod'".into()],
                ),
                (
                    "selection_mode".into(),
                    vec![
                        "- a1|contains: '+x'".into(),
                        "- a1:".into(),
                        "      - 700".into(),
                        "      - 711".into(),
                        "      - 750".into(),
                        "      - 755".into(),
                        "      - 775".into(),
                        "      - 777".into(),
                    ],
                ),
            ],
            condition: "all of selection_*".into(),
            falsepositives: vec!["Software installation and build scripts".into()],
            level: "informational",
        },
        Rule {
            name: "sighunt_nohup_launch_linux_auditd".into(),
            file: "lnx_auditd_sighunt_nohup_launch.yml".into(),
            title: "Nohup Launch - Auditd".into(),
            description: "Any program started through nohup (T1564.011): a step of the correlation rules,\nnot an alert on its own (administrators use nohup every day).".into(),
            logsource: vec![("product", "linux"), ("service", "auditd")],
            items: vec![(
                "selection".into(),
                vec!["type: 'EXECVE'".into(), "a0|endswith: 'nohup'".into()],
            )],
            condition: "selection".into(),
            falsepositives: vec!["Administrators running long jobs".into()],
            level: "informational",
        },
        Rule {
            name: "sighunt_socket_listen_linux_auditd".into(),
            file: "lnx_auditd_sighunt_socket_listen.yml".into(),
            title: "Process Listening on a Socket - Auditd".into(),
            description: "A bind or listen system call (audit rules on bind/listen): the second step of\nthe nohup-then-listener correlation (T1564.011), not an alert on its own.".into(),
            logsource: vec![("product", "linux"), ("service", "auditd")],
            items: vec![(
                "selection".into(),
                vec![
                    "type: 'SYSCALL'".into(),
                    "syscall:".into(),
                    "    - 'bind'".into(),
                    "    - 'listen'".into(),
                ],
            )],
            condition: "selection".into(),
            falsepositives: vec!["Every server".into()],
            level: "informational",
        },
    ];
    let mut out: Vec<(String, String)> = base.iter().map(|r| (r.file.clone(), r.yaml())).collect();
    out.push((
        "correlation_sighunt_chmod_then_nohup.yml".into(),
        correlation(
            "temporal_ordered",
            "sighunt_corr_chmod_then_nohup",
            "Payload Made Executable Then Started With Nohup",
            &format!("A file is made executable and, within {}, started through nohup on the same path\n(T1564.011): a dropper's sequence. sighunt's payload_made_executable indicator,\nwhich also counts `install` and downloads to the path, and relative paths.", duration(prepare)),
            &["sighunt_chmod_executable_linux_auditd", "sighunt_nohup_launch_linux_auditd"],
            &[("payload", &[("sighunt_chmod_executable_linux_auditd", "a2"), ("sighunt_nohup_launch_linux_auditd", "a1")])],
            "payload",
            prepare,
        ),
    ));
    out.push((
        "correlation_sighunt_nohup_then_listener.yml".into(),
        // Unordered: nohup's exec and the socket call can share a millisecond, and
        // the same process id already tells which came first.
        correlation(
            "temporal",
            "sighunt_corr_nohup_then_listener",
            "Program Started With Nohup Then Listening on a Socket",
            &format!("A program started through nohup binds or listens on a socket within {} (same\nprocess id: nohup execs its target): a listener kept alive after logout\n(T1564.011). sighunt's net_listener indicator, which also follows the\nprogram's children.", duration(follow)),
            &["sighunt_nohup_launch_linux_auditd", "sighunt_socket_listen_linux_auditd"],
            &[],
            "pid",
            follow,
        ),
    ));
    out
}

/// A Sigma timespan: the largest unit that divides the seconds.
fn duration(secs: i64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{}s", s.max(1)),
    }
}

/// One temporal correlation rule (`kind`: `temporal_ordered` or `temporal`).
#[allow(clippy::too_many_arguments)]
fn correlation(
    kind: &str,
    name: &str,
    title: &str,
    description: &str,
    rules: &[&str],
    aliases: &[(&str, &[(&str, &str)])],
    group_by: &str,
    window_secs: i64,
) -> String {
    let mut y = yaml_head(name, title, description);
    y.push_str(&format!("correlation:\n    type: {kind}\n    rules:\n"));
    for r in rules {
        y.push_str(&format!("        - {r}\n"));
    }
    y.push_str(&format!("    group-by:\n        - {group_by}\n"));
    if !aliases.is_empty() {
        y.push_str("    aliases:\n");
        for (alias, by_rule) in aliases {
            y.push_str(&format!("        {alias}:\n"));
            for (rule, field) in *by_rule {
                y.push_str(&format!("            {rule}: {field}\n"));
            }
        }
    }
    y.push_str(&format!("    timespan: {}\n", duration(window_secs)));
    y.push_str(&format!(
        "falsepositives:\n    - {}\n",
        q("Installers that unpack and start a daemon with nohup")
    ));
    y.push_str("level: high\n");
    y
}
