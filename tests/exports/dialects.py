#!/usr/bin/env python3
"""The exports in the engines' own dialects, checked by the engines' own code.

* Every `|re` value of every exported Sigma rule is parsed by Lucene's RegExp (as
  Elasticsearch runs it), RE2 (Kusto, Sentinel, Go) and Python's re, and the three
  must agree, on every sample value (the field values of the events sighunt reads),
  on whether it matches: Lucene matches whole values, the others search.
* Every rule converted to EQL parses with the `eql` package (with the `/` escape
  of the stock backend corrected).
* Every KQL query, sighunt's own (`rules export --format kql`) and every rule
  converted by pySigma's Kusto backend, passes Microsoft's Kusto parser against the
  documented table schemas (Defender XDR's DeviceProcessEvents for process
  creation on Windows, Linux and macOS, Sentinel's Event table for PowerShell's
  logs, as pySigma's Kusto pipelines ship them).
* Sumo Logic CSE: the stock backend double-escapes regular expressions (`.` and
  `\\` are escaped again); the conversion is done with the corrected escaping and
  every regex must come out as itself, `/` escaped once.

Usage: dialects.py RULES_DIR NATIVE_KQL_DIR EVENTS_JSONL LUCENE_JAR KUSTO_NODE_DIR CACHE
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import eql
import re2
import yaml
from sigma.backends.elasticsearch import EqlBackend, LuceneBackend
from sigma.backends.kusto import KustoBackend
from sigma.backends.sumologic import SumoLogicCSEBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.pipelines.azuremonitor.tables import AZURE_MONITOR_TABLES
from sigma.pipelines.microsoftxdr import microsoft_xdr_pipeline
from sigma.pipelines.microsoftxdr.tables import MICROSOFT_XDR_TABLES
from sigma.processing.pipeline import ProcessingPipeline

HERE = Path(__file__).resolve().parent
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL", msg)


def rule_regexes(rules_dir):
    """(rule file, field, regex) of every `|re` value."""
    out = []
    for f in sorted(Path(rules_dir).glob("*.yml")):
        doc = yaml.safe_load(f.read_text())
        for item in (doc.get("detection") or {}).values():
            for mapping in item if isinstance(item, list) else [item]:
                if not isinstance(mapping, dict):
                    continue
                for key, value in mapping.items():
                    if "|re" in key:
                        for v in value if isinstance(value, list) else [value]:
                            out.append((f.name, key.split("|")[0], str(v)))
    return out


def check_regexes(rules_dir, events_path, lucene_jar):
    regexes = rule_regexes(rules_dir)
    fields = {field for _, field, _ in regexes}
    samples = set()
    for line in open(events_path):
        ev = json.loads(line)
        for k, v in ev["fields"].items():
            if k in fields and len(v) < 4096:
                samples.add(v)
    samples = sorted(samples)
    items = "".join(f"R {r.encode().hex()}\n" for _, _, r in regexes)
    items += "".join(f"S {s.encode().hex()}\n" for s in samples)
    out = subprocess.run(
        ["java", "-cp", lucene_jar, str(HERE / "LuceneRegex.java")],
        input=items, capture_output=True, text=True, check=True,
    ).stdout
    lucene = {}
    for line in out.splitlines():
        kind, i, rest = line.split(" ", 2)
        if kind == "ERR":
            fail(f"Lucene rejects {regexes[int(i)][0]} {regexes[int(i)][2]!r}: {rest}")
        else:
            lucene.setdefault(int(i), set()).add(int(rest))
    agreed = 0
    for i, (rule, field, r) in enumerate(regexes):
        try:
            compiled_re2 = re2.compile(r)
        except Exception as e:  # re2.error
            fail(f"RE2 rejects {rule} {r!r}: {e}")
            continue
        compiled_py = re.compile(r)
        for j, s in enumerate(samples):
            in_lucene = j in lucene.get(i, set())
            in_re2 = compiled_re2.search(s) is not None
            in_py = compiled_py.search(s) is not None
            if not in_lucene == in_re2 == in_py:
                fail(
                    f"{rule} {field} {r!r} on {s[:100]!r}: Lucene {in_lucene}, RE2 {in_re2}, Python {in_py}"
                )
            else:
                agreed += 1
    print(f"regexes: {len(regexes)} patterns x {len(samples)} values, {agreed} agree")


def detection_rules(rules_dir):
    collection = SigmaCollection.load_ruleset([rules_dir])
    return [r for r in collection.rules if not isinstance(r, SigmaCorrelationRule)]


class CorrectedEql(EqlBackend):
    """Elasticsearch EQL with `/` left alone in regex strings: the stock backend
    writes it as `\\/`, an escape EQL's string grammar rejects (the backslash is
    still escaped, and `"` never occurs in the exported patterns)."""

    re_escape = ()


def check_eql(rules_dir):
    n = 0
    stock_broken = 0
    for rule in detection_rules(rules_dir):
        for q in EqlBackend().convert_rule(rule):
            try:
                with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
                    eql.parse_query(q)
            except eql.EqlError:
                stock_broken += 1
        for q in CorrectedEql().convert_rule(rule):
            try:
                # The backend writes Elasticsearch's EQL (`:`, `like~`, `regex~`).
                with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
                    eql.parse_query(q)
                n += 1
            except eql.EqlError as e:
                fail(f"EQL of {rule.name} does not parse: {str(e).splitlines()[0]}: {q[:200]}")
    print(f"eql: {n} queries parse ({stock_broken} only with the corrected regex escaping)")


def check_kql(rules_dir, native_dir, node_dir):
    tables = {
        "DeviceProcessEvents": {
            c: v["data_type"] for c, v in MICROSOFT_XDR_TABLES["DeviceProcessEvents"].items()
        },
        "Event": {c: v["data_type"] for c, v in AZURE_MONITOR_TABLES["Event"].items()},
    }
    queries = []
    for f in sorted(Path(native_dir).glob("*.kql")):
        queries.append({"name": f"native {f.name}", "query": f.read_text()})
    ps_pipeline = ProcessingPipeline.from_yaml((HERE / "kusto_ps_event.yml").read_text())
    for rule in detection_rules(rules_dir):
        ls = rule.logsource
        if ls.category == "process_creation":
            targets = [("Defender XDR", microsoft_xdr_pipeline())]
        elif ls.category in ("ps_script", "ps_module", "ps_classic_script"):
            targets = [("Sentinel Event", ps_pipeline)]
        else:
            continue  # auditd: no Defender or Sentinel table has its EXECVE fields
        for label, pipeline in targets:
            for q in KustoBackend(processing_pipeline=pipeline).convert_rule(rule):
                if label == "Sentinel Event" and not re.match(r"Event\s*\|", q):
                    # The backend leaves the table to a pipeline of its own kind.
                    q = f"Event\n| where {q}"
                queries.append({"name": f"{rule.name} ({label})", "query": q})
    out = subprocess.run(
        ["node", str(HERE / "kusto_check.js")],
        input=json.dumps({"tables": tables, "queries": queries}),
        capture_output=True, text=True, check=True,
        env={"NODE_PATH": str(Path(node_dir) / "node_modules"), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    ).stdout
    ok = 0
    for result in json.loads(out):
        if result["errors"]:
            fail(f"KQL {result['name']}: {result['errors'][:3]}")
        else:
            ok += 1
    print(f"kql: {ok} of {len(queries)} queries pass the Kusto parser with the table schemas")


class CorrectedSumoCSE(SumoLogicCSEBackend):
    """Sumo Logic CSE with regexes escaped once: only the `/` delimiter."""

    re_escape = ("/",)
    re_escape_escape_char = False


def cse_expressions(outputs):
    """The `expression` texts of the CSE rule JSON the backend writes."""
    found = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expression" and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    for out in outputs:
        try:
            walk(json.loads(out))
        except (TypeError, ValueError):
            found.append(str(out))
    return " ".join(found)


def check_sumo(rules_dir):
    checked = 0
    for rule in detection_rules(rules_dir):
        stock = cse_expressions(SumoLogicCSEBackend().convert_rule(rule))
        fixed = cse_expressions(CorrectedSumoCSE().convert_rule(rule))
        for item in _re_items(rule):
            want = f"matches /{item.replace('/', chr(92) + '/')}/"
            if want not in fixed:
                fail(f"Sumo CSE of {rule.name}: {want!r} not in {fixed[:300]!r}")
            else:
                checked += 1
            if want in stock and ("." in item or "\\" in item):
                print(f"note: the stock Sumo CSE backend escapes {rule.name}'s regex right now")
    print(f"sumo: {checked} regexes carried with their intended escaping")


# (a piece of a native regex, a text it must match once unescaped): a doubled
# escape would look for a backslash that is not there, or miss one that is.
PROBES = [
    ("currentversion", r"reg add hkcu\software\microsoft\windows\currentversion\run /v x"),
    ("net\\.webclient", "(new-object net.webclient).downloadstring('http://x')"),
    ("Process Command Line", 'Process Command Line:  "C:\\x\\powershell.exe" -ea 0'),
    ("a0=", 'type=EXECVE msg=audit(1.2:3): argc=2 a0="nohup" a1="/tmp/x"'),
    ("(?<t2>", "sudo: bob : USER=root ; COMMAND=/usr/bin/nohup /tmp/x"),
]


def check_native_sumo(native_dir):
    """sighunt's own Sumo queries: each `matches /…/` literal, with the `/` escape
    undone, and each `parse regex "…"` string, with the string's escapes undone,
    must be the regex intended: it compiles (RE2, which reads Sumo's syntax for
    these), and no escape is left doubled."""
    n = 0
    for f in sorted(Path(native_dir).glob("*.sumo")):
        text = f.read_text()
        regexes = [m.replace("\\/", "/") for m in re.findall(r"matches /((?:[^/\\]|\\.)*)/", text)]
        for m in re.findall(r'parse regex field=_raw "((?:[^"\\]|\\.)*)"', text):
            regexes.append(re.sub(r"\\(.)", r"\1", m))
        for r in regexes:
            try:
                re2.compile(r)
                n += 1
            except Exception as e:  # re2.error
                fail(f"native Sumo {f.name}: {r!r} does not compile: {e}")
            # Escaped once means it still finds what it is for.
            for marker, sample in PROBES:
                if marker in r and re2.search(r, sample) is None:
                    fail(f"native Sumo {f.name}: {r!r} does not match {sample!r}")
    print(f"native sumo: {n} regexes carried with their intended escaping")


def _re_items(rule):
    from sigma.types import SigmaRegularExpression

    out = []

    def walk(d):
        for item in getattr(d, "detection_items", []):
            if hasattr(item, "detection_items"):
                walk(item)
            else:
                for v in item.value:
                    if isinstance(v, SigmaRegularExpression):
                        out.append(str(v.regexp))

    for det in rule.detection.detections.values():
        walk(det)
    return out


def check_lucene_conversion(rules_dir):
    """The Lucene conversion carries each regex as written (only `/` escaped)."""
    n = 0
    for rule in detection_rules(rules_dir):
        q = " ".join(LuceneBackend().convert_rule(rule))
        for r in _re_items(rule):
            if f"/{r.replace('/', chr(92) + '/')}/" not in q:
                fail(f"Lucene conversion of {rule.name} alters {r!r}")
            else:
                n += 1
    print(f"lucene: {n} regexes carried verbatim into the Elasticsearch query")


def main():
    rules_dir, native_dir, events, lucene_jar, node_dir, cache = sys.argv[1:]
    sys.path.insert(0, str(HERE))
    from run_sigma import offline

    offline(cache)
    check_regexes(rules_dir, events, lucene_jar)
    check_lucene_conversion(rules_dir)
    check_eql(rules_dir)
    check_kql(rules_dir, native_dir, node_dir)
    check_sumo(rules_dir)
    check_native_sumo(native_dir)
    print(f"dialects: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
