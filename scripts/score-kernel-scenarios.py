#!/usr/bin/env python3
"""Score sighunt and the seed query on a kernel audit log of scripts/audit-scenarios.sh.

Usage: score-kernel-scenarios.py SCENARIOS.TSV AUDIT.LOG SIGHUNT.JSONL SEED.JSONL [--markdown]

Findings are attributed to scenarios by their line in the log: each scenario begins
with a marker exec (`/bin/true sighunt-scenario=ID`). A malicious scenario is found
when sighunt reports it at medium or above (nohup_interrupt_ignore for `malicious`,
signal_mask for `masking`); a benign one (`admin`, `benign`, `quiet`) is a false
positive when anything in it is reported above low. The seed query has no severity
(every finding is its rule's "high"): it finds a scenario when it reports anything
in it, and a benign one is a false positive when it reports anything in it.
"""
import json
import re
import sys

RANK = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def marker_lines(log):
    """(line number, scenario id) of each marker's EXECVE record, in order."""
    out = []
    with open(log, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.decode("latin-1")
            if "type=EXECVE" in line and "sighunt-scenario=" in line:
                m = re.search(r'sighunt-scenario=([0-9a-z]+)"', line)
                if m:
                    out.append((n, m.group(1)))
    return out


def scenario_of(line, markers):
    sid = None
    for n, s in markers:
        if n <= line:
            sid = s
        else:
            break
    return sid


def main():
    tsv, log, found, seed = sys.argv[1:5]
    markdown = "--markdown" in sys.argv
    rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
    markers = marker_lines(log)
    if not markers:
        sys.exit("no scenario markers in the log (made by an older audit-scenarios.sh?)")
    by = {}
    for name, path in (("sighunt", found), ("seed", seed)):
        for l in open(path):
            f = json.loads(l)
            sid = scenario_of(f["source"]["line"], markers)
            by.setdefault((name, sid), []).append(f)
    table = []
    for c in rows:
        sid, exp, desc = c[0], c[1], c[2]
        if exp == "signal":
            exp = "masking"
        if exp == "excluded":
            continue
        # `begin 12` covers 12a and 12b: their findings are the marker's.
        known = {m for _, m in markers}
        key = sid if sid in known else sid.rstrip("abcdefgh")
        mine = by.get(("sighunt", key), [])
        theirs = by.get(("seed", key), [])
        worst = max((f["severity"] for f in mine), key=RANK.get, default="-")
        if exp in ("malicious", "masking"):
            kind = "nohup_interrupt_ignore" if exp == "malicious" else "signal_mask"
            ok = any(f["detection_type"] == kind and RANK[f["severity"]] >= 2 for f in mine)
            seed_ok = bool(theirs)
        else:
            ok = all(RANK[f["severity"]] <= 1 for f in mine)
            seed_ok = not theirs
        inds = sorted({i for f in mine for i in f["indicators"]})
        table.append((sid, exp, desc, worst, ",".join(inds), ok, len(theirs), seed_ok))
    mal = [t for t in table if t[1] in ("malicious", "masking")]
    ben = [t for t in table if t[1] not in ("malicious", "masking")]
    if markdown:
        print("| id | expected | scenario | sighunt | indicators | seed findings |")
        print("| --- | --- | --- | --- | --- | --- |")
        for sid, exp, desc, worst, inds, ok, n_seed, seed_ok in table:
            mark = "" if ok else " ✗"
            desc = desc.replace("|", "\\|")
            print(f"| {sid} | {exp} | {desc} | {worst}{mark} | {inds} | {n_seed} |")
        print()
    else:
        for t in table:
            print("\t".join(str(x) for x in t))
    print(f"sighunt: {sum(t[5] for t in mal)}/{len(mal)} malicious found (≥ medium), "
          f"{sum(not t[5] for t in ben)}/{len(ben)} benign raised above low")
    print(f"seed query: {sum(t[7] for t in mal)}/{len(mal)} malicious reported, "
          f"{sum(not t[7] for t in ben)}/{len(ben)} benign reported")


if __name__ == "__main__":
    main()
