#!/usr/bin/env python3
"""The differential test: sighunt and its exported Sigma rules, on the same events.

The events sighunt reads from the inputs (the `sigma_events` example of
sighunt-core: each event under its Sigma log sources, with Sigma's field names)
are loaded into SQLite, one table per log source. Every exported Sigma rule,
correlation rules included, is converted with pySigma's SQLite backend and run
over its log source's table. The matches are compared, per event, with the
findings of `sighunt hunt` on the same inputs:

* a finding of medium or worse must be matched by a rule, unless its reason is one
  Sigma cannot express, judged per finding: it is below medium without the
  indicators only other events show ("sequence only": correlated indicators, the
  evidence sighunt cites from other events in `related`, a copy of nohup made
  earlier), it needed -EncodedCommand decoding, or its payload is a relative path
  whose directory a `cd` in the same text sets ("relative path");
* every match must be a sighunt finding (of any severity), unless it is a
  documented, deliberate difference: the same launch sighunt merged into one
  finding (its target, and the same process, its child, or two seconds), or the
  same PowerShell script sighunt reports once (its first words, in order).

Anything else is a mismatch: the test prints it and fails.

Usage: differential.py SIGHUNT EVENTS_BIN RULES_DIR TABLE_OUT INPUT...
"""

import collections
from datetime import datetime
import json
import re
import sqlite3
import subprocess
import os
import sys
import tomllib
from pathlib import Path

from sigma.backends.sqlite import sqliteBackend
from sigma.backends.sqlite.runtime import execute_plan
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule

REPO = Path(__file__).resolve().parents[2]

# Indicators only a sequence of events (or the process tree) shows.
CORRELATED = {
    "payload_made_executable",
    "net_listener",
    "init_script_parent",
    "relaunched",
    "web_service_parent",
}
SEVERITY = ["informational", "low", "medium", "high", "critical"]


# The rule-data section of each detection type.
SECTION = {
    "nohup_interrupt_ignore": "nohup",
    "signal_mask": "signal_mask",
    "ps_error_suppression": "powershell",
}


def indicator_rules():
    """(detection type, indicator) → (weight, min_severity index), and the medium
    threshold, from the rule data."""
    medium = 3
    rules = {}
    for f in sorted((REPO / "rules").glob("*.toml")):
        data = tomllib.loads(f.read_text())
        medium = data.get("severity", {}).get("medium", medium)
        for dtype, section in SECTION.items():
            for ind in data.get(section, {}).get("indicators", []):
                rules[(dtype, ind["name"])] = (
                    ind.get("weight", 0),
                    SEVERITY.index(ind.get("min_severity", "informational")),
                )
    return rules, medium


def medium_without(f, rules, medium, left_out):
    """Whether the finding is still medium or worse without the indicators in
    `left_out` (score from the rest, or a min_severity of medium among them)."""
    rest = [rules.get((f["detection_type"], i), (0, 0)) for i in f["indicators"] if i not in left_out]
    return sum(w for w, _ in rest) >= medium or any(s >= 2 for _, s in rest)


def sequence_indicators(f, events_by_path):
    """The finding's indicators that only other events show: the correlated ones,
    those whose evidence sighunt cites from another event (`related`), and a renamed
    nohup that is a copy made earlier (`cp /usr/bin/nohup X`, then `X …`)."""
    seq = set(CORRELATED) | {
        r["indicator"]
        for r in f.get("related", [])
        if (r["source"]["path"], position(r)) != (f["source"]["path"], position(f))
    }
    exe = f.get("exec_cmd") or ""
    if "nohup_renamed" in f["indicators"] and exe.startswith("/") and not exe.endswith("/nohup"):
        line = f["source"].get("line", 0)
        for ev in events_by_path.get(f["source"]["path"], []):
            text = ev["fields"].get("CommandLine", "")
            at = int(ev["position"].split()[-1]) if ev["position"].startswith("line ") else 0
            if at < line and "nohup" in text and exe in text and not text.startswith(exe):
                seq.add("nohup_renamed")
                break
    return seq


def table_name(ev):
    kind = ev.get("category") or ev.get("service")
    return f'{ev["product"]}_{kind}'


def rule_table(rule):
    ls = rule.logsource
    return f"{ls.product}_{ls.category or ls.service}"


def load_events(events_bin, inputs):
    out = subprocess.run(
        [events_bin, *inputs], check=True, capture_output=True, text=True
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line]


def build_db(events):
    db = sqlite3.connect(":memory:")
    db.create_function(
        "REGEXP",
        2,
        lambda pattern, value: value is not None
        and re.search(pattern, value) is not None,
        deterministic=True,
    )
    by_table = collections.defaultdict(list)
    for i, ev in enumerate(events):
        by_table[table_name(ev)].append((i, ev))
    for table, rows in by_table.items():
        columns = sorted({k for _, ev in rows for k in ev["fields"]})
        cols = ", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in columns)
        db.execute(
            f'CREATE TABLE "{table}" (event INTEGER, timestamp TEXT, {cols})'
        )
        for i, ev in rows:
            values = [i, ev.get("time")] + [ev["fields"].get(c) for c in columns]
            marks = ", ".join("?" * len(values))
            db.execute(f'INSERT INTO "{table}" VALUES ({marks})', values)
    return db


def run_rules(db, rules_dir, events):
    """(event index → set of rule names), and rules that could not run."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    collection = SigmaCollection.load_ruleset([rules_dir])
    collection.resolve_rule_references()
    matches = collections.defaultdict(set)
    per_rule = collections.Counter()
    errors = []
    for rule in collection.rules:
        if isinstance(rule, SigmaCorrelationRule):
            continue
        table = rule_table(rule)
        if table not in tables:
            per_rule[rule.name] += 0
            continue
        backend = sqliteBackend(table=table)
        for query in backend.convert_rule(rule):
            query = query.replace("SELECT *", "SELECT event", 1)
            for _ in range(20):
                try:
                    rows = db.execute(query).fetchall()
                    break
                except sqlite3.OperationalError as e:
                    # A field no event of this log source has: an empty column.
                    missing = re.match(r"no such column: (\w+)", str(e))
                    if not missing:
                        errors.append(f"{rule.name}: {e}: {query[:300]}")
                        rows = []
                        break
                    db.execute(
                        f'ALTER TABLE "{table}" ADD COLUMN "{missing[1]}" TEXT COLLATE NOCASE'
                    )
            per_rule[rule.name] += 0
            for (event,) in rows:
                matches[event].add(rule.name)
                per_rule[rule.name] += 1
    for rule in collection.rules:
        if not isinstance(rule, SigmaCorrelationRule):
            continue
        (table,) = {rule_table(r.rule) for r in rule.rules}
        if table not in tables:
            continue
        # The correlation converted with its base rules, as one collection.
        sub = SigmaCollection([r.rule for r in rule.rules] + [rule])
        sub.resolve_rule_references()
        backend = sqliteBackend(table=table, event_id_field="event")
        backend.convert(sub)
        corr = next(r for r in sub.rules if isinstance(r, SigmaCorrelationRule))
        alerts, _ = execute_plan(db, backend._correlation_plans[id(corr)])
        per_rule[rule.name] += 0
        for alert in alerts:
            per_rule[rule.name] += 1
            # sighunt reports the sequence on the nohup launch, whichever end of it
            # that is (chmod then nohup: the last event; nohup then a listener: the
            # first); without one, on the last event.
            evidence = sorted(alert["evidence"], key=lambda e: e["event"]["timestamp"] or "")
            launches = [e for e in evidence if (e["event"].get("a0") or "").endswith("nohup")]
            reported = (launches or evidence)[-1]
            matches[reported["event"]["event"]].add(rule.name)
    return matches, per_rule, errors


def same_launch(f, ev):
    """The event is the launch the finding `f` reports, seen again: the same process
    (`exec -a`, busybox's applet) or its child (the shell string's nohup), or, where
    a launcher forks away (setsid, start-stop-daemon --background, `&` under a
    subshell: the parent is then init), an event within two seconds of it."""
    pid = ev["fields"].get("ProcessId") or ev["fields"].get("pid")
    ppid = ev["fields"].get("ParentProcessId") or ev["fields"].get("ppid")
    if f.get("pid") is not None and str(f["pid"]) in (pid, ppid):
        return True
    try:
        t_f = datetime.fromisoformat(f["time"].replace("Z", "+00:00"))
        t_e = datetime.fromisoformat(ev["time"].replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return False
    return abs((t_f - t_e).total_seconds()) <= 2


def words(text):
    """The words of a script, quotes and punctuation dropped, lower case: 4104, 4103
    and 800 write one script with different quoting and framing."""
    return re.findall(r"[a-z0-9$_.:\\-]+", text.lower())


def same_script(f, ev):
    """The event carries the script of the PowerShell finding `f`, or the finding
    the event's: the first words (up to twelve) of one appear in order in the other
    (a 4104 block in the decoded command line of its launch, an 800 pipeline in its
    4104 block; 800's HostApplication framing left out)."""
    finding = words(f.get("nohup_args") or f["command_line"])
    event = [
        words(text.split("\tHostApplication=")[0])
        for k in ("ScriptBlockText", "Payload", "Data", "CommandLine")
        if (text := ev["fields"].get(k))
    ]

    def within(needle, hay):
        return bool(needle) and f" {' '.join(needle[:12])} " in f" {' '.join(hay)} "

    return any(within(finding, e) or within(e, finding) for e in event)


def hunt(sighunt, inputs):
    out = subprocess.run(
        [sighunt, "hunt", "--no-config", "-f", "jsonl", *inputs],
        capture_output=True,
        text=True,
    )
    if out.returncode not in (0, 1):
        sys.exit(f"sighunt hunt failed: {out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def position(f):
    s = f["source"]
    if "line" in s:
        return f"line {s['line']}"
    if "record" in s:
        return f"record {s['record']}"
    return ""


def main():
    sighunt, events_bin, rules_dir, table_out, *inputs = sys.argv[1:]
    rules_data, medium = indicator_rules()
    events = load_events(events_bin, inputs)
    events_by_path = collections.defaultdict(list)
    for ev in events:
        events_by_path[ev["path"]].append(ev)
    db = build_db(events)
    matches, per_rule, errors = run_rules(db, rules_dir, events)
    findings = hunt(sighunt, inputs)

    by_place = collections.defaultdict(list)
    for i, ev in enumerate(events):
        by_place[(ev["path"], ev["position"])].append(i)
    finding_places = collections.defaultdict(list)
    for f in findings:
        finding_places[(f["source"]["path"], position(f))].append(f)

    rows = collections.OrderedDict()
    mismatches = []

    def row(path):
        return rows.setdefault(
            path,
            collections.Counter(),
        )

    # Every finding: matched, or a reason Sigma cannot express it.
    for f in findings:
        place = (f["source"]["path"], position(f))
        r = row(place[0])
        r["findings"] += 1
        rules = set().union(*(matches.get(i, set()) for i in by_place.get(place, [])))
        if rules:
            r["matched"] += 1
            # Precision: a nohup rule is level medium; it must not fire where sighunt
            # sees no more than a lead (`nohup bash backup.sh`).
            if SEVERITY.index(f["severity"]) < 2 and any(
                n.startswith("sighunt_nohup_") for n in rules
            ):
                mismatches.append(
                    f"{place}: {sorted(rules)} fire on {f['command_line'][:120]!r}, "
                    f"which sighunt rates {f['severity']}"
                )
            family = f["rule_id"].split("_")[1]
            if not any(n.split("_")[1] in (family, "corr") for n in rules):
                mismatches.append(f"{place}: matched by {sorted(rules)}, finding's rule is {f['rule_id']}")
            continue
        seq = sequence_indicators(f, events_by_path)
        raw = " ".join(
            events[i]["fields"].get(k, "")
            for i in by_place.get(place, [])
            for k in ("CommandLine", "ScriptBlockText", "Payload", "Data")
        )
        # A relative payload path whose working directory the text itself sets
        # (`cd /tmp; nohup ./x &`): sighunt follows the `cd`, Sigma sees no
        # directory (where the log has one, CurrentDirectory, it is not this case).
        target = f.get("nohup_target") or ""
        relative = (
            f["detection_type"] == "nohup_interrupt_ignore"
            and "/" in target
            and not target.startswith("/")
            and not any("CurrentDirectory" in events[i]["fields"] for i in by_place.get(place, []))
        )
        if SEVERITY.index(f["severity"]) < 2:
            r["lead"] += 1
        elif not medium_without(f, rules_data, medium, seq):
            r["correlation"] += 1
        elif "[decoded]" in f["command_line"] or (
            "encoded_command" in f["indicators"] and f["command_line"] not in raw
        ):
            r["decoding"] += 1
        elif relative and not medium_without(f, rules_data, medium, seq | {"temp_dir_payload", "hidden_path"}):
            r["relative"] += 1
        else:
            r["unexplained"] += 1
            mismatches.append(
                f"{place}: {f['severity']} finding {f['detection_type']} {f['indicators']} "
                f"{f['command_line'][:160]!r} matched by no rule"
            )

    # Every match: a finding, or a documented difference.
    ps_findings = [f for f in findings if f["detection_type"] == "ps_error_suppression"]
    for event, rules in sorted(matches.items()):
        ev = events[event]
        place = (ev["path"], ev["position"])
        if finding_places.get(place):
            continue
        r = row(place[0])
        # PowerShell: sighunt reports the same script once per host within its dedupe
        # window (4104, 4103 and 800 of one pipeline), on the first event.
        if any(n.startswith("sighunt_ps_") for n in rules) and any(
            f["source"]["path"] == ev["path"] and same_script(f, ev) for f in ps_findings
        ):
            r["sigma_dedupe"] += 1
            continue
        # nohup: sighunt reports a launch once, on the wrapper or shell string that
        # announced it (`sh -c 'nohup x &'`, `busybox nohup x`), and merges the exec of
        # nohup itself into that finding.
        text = " ".join(ev["fields"].get(k, "") for k in ("CommandLine", "a1", "a2"))
        if any(n.startswith("sighunt_nohup_") for n in rules) and any(
            f["source"]["path"] == ev["path"]
            and f["nohup_target"]
            and f["nohup_target"] in text
            and same_launch(f, ev)
            for f in findings
        ):
            r["sigma_merged"] += 1
            continue
        r["sigma_only"] += 1
        fields = {k: v[:160] for k, v in ev["fields"].items() if k in ("CommandLine", "a0", "a1", "a2", "ScriptBlockText", "Payload", "Data", "syscall")}
        mismatches.append(f"{place}: {sorted(rules)} matched {fields}, no sighunt finding there")

    header = (
        "| input | findings | matched | below medium | sequence only | decoding | relative path | "
        "unexplained | matches merged into a finding | PowerShell dedupe | unexplained |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    lines = []
    total = collections.Counter()
    for path, r in rows.items():
        total.update(r)
        lines.append(
            f"| {path.replace('/work/shared/', 'shared/')} | {r['findings']} | {r['matched']} | {r['lead']} | "
            f"{r['correlation']} | {r['decoding']} | {r['relative']} | {r['unexplained']} | {r['sigma_merged']} | {r['sigma_dedupe']} | {r['sigma_only']} |"
        )
    lines.append(
        f"| **all** | {total['findings']} | {total['matched']} | {total['lead']} | {total['correlation']} | "
        f"{total['decoding']} | {total['relative']} | {total['unexplained']} | {total['sigma_merged']} | {total['sigma_dedupe']} | {total['sigma_only']} |"
    )
    table = header + "\n".join(lines) + "\n"
    rule_lines = "\n".join(f"| {n} | {c} |" for n, c in sorted(per_rule.items()))
    table += "\n| Sigma rule | events (correlations: alerts) matched |\n| --- | ---: |\n" + rule_lines + "\n"
    Path(table_out).write_text(table)
    print(table)
    for e in errors:
        print("ERROR", e)
    for m in mismatches:
        print("MISMATCH", m)
    print(
        f"differential: {len(events)} events, {total['findings']} findings, "
        f"{total['matched']} matched, {len(mismatches)} mismatches, {len(errors)} errors"
    )
    # A ratchet while the rules catch up with the engine: the mismatches known when the
    # detectors outgrew the rules (docs/exports.md) may stay, never grow.
    known = int(os.environ.get("SIGHUNT_DIFFERENTIAL_KNOWN_MISMATCHES", "0"))
    if len(mismatches) > known:
        print(f"differential: {len(mismatches)} mismatches, more than the {known} known")
    sys.exit(1 if len(mismatches) > known or errors else 0)


if __name__ == "__main__":
    main()
