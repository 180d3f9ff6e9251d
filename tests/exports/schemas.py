#!/usr/bin/env python3
"""`--format ecs|ocsf|timesketch` checked against the published schemas, pinned.

* ECS 8.11: the field definitions Elastic publishes (`ecs_flat`, from the npm
  package @elastic/ecs 8.11.5) become a JSON Schema: every field written must be an
  ECS field of the right type (arrays where ECS normalizes to arrays), with an
  allowed value where ECS lists them (`event.kind`, `event.category`,
  `event.type`), and nothing that is not ECS.
* OCSF 1.5.0: the Detection Finding class (2004) from the schema export of
  schema.ocsf.io, as the ocsf-json-schema package ships it, embedded with every
  object it refers to (strict: no attribute OCSF does not define).
* Timesketch: its documented import requirements: `message`, `datetime` (ISO 8601)
  and `timestamp_desc` in every event.

Usage: schemas.py SIGHUNT ECS_FLAT_JSON INPUT...   (exit 1 on any violation)
"""

import json
import subprocess
import sys
from datetime import datetime

import jsonschema
from ocsf_json_schema import OcsfJsonSchema, OcsfJsonSchemaEmbedded, get_ocsf_schema

OCSF_VERSION = "1.5.0"

STRING = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text", "ip", "version"}
INTEGER = {"long", "integer", "short", "byte", "unsigned_long"}
NUMBER = {"float", "double", "scaled_float", "half_float"}


def ecs_json_schema(flat):
    """A JSON Schema (no extra fields allowed) from ECS's flat field definitions."""
    root = {"type": "object", "properties": {}, "additionalProperties": False}
    for name, f in flat.items():
        t = f["type"]
        if t in STRING:
            leaf = {"type": "string"}
        elif t in INTEGER:
            leaf = {"type": "integer"}
        elif t in NUMBER:
            leaf = {"type": "number"}
        elif t == "boolean":
            leaf = {"type": "boolean"}
        elif t == "date":
            leaf = {"type": "string", "format": "date-time"}
        else:
            leaf = {"type": "object"}
        if f.get("allowed_values"):
            leaf["enum"] = [v["name"] for v in f["allowed_values"]]
        if "array" in f.get("normalize", []):
            leaf = {"anyOf": [leaf, {"type": "array", "items": leaf}]}
        node = root
        parts = name.split(".")
        for p in parts[:-1]:
            node = node["properties"].setdefault(
                p, {"type": "object", "properties": {}, "additionalProperties": False}
            )
            if "properties" not in node:  # a field that is also an object's name
                node.update({"properties": {}, "additionalProperties": False})
        node["properties"].setdefault(parts[-1], leaf)
        if f.get("required"):
            node.setdefault("required", []).append(parts[-1])
    return root


TIMESKETCH = {
    "type": "object",
    "required": ["message", "datetime", "timestamp_desc"],
    "properties": {
        "message": {"type": "string", "minLength": 1},
        "datetime": {"type": "string", "format": "date-time"},
        "timestamp_desc": {"type": "string", "minLength": 1},
    },
}


def documents(sighunt, fmt, inputs):
    out = subprocess.run(
        [sighunt, "hunt", "--no-config", "-f", fmt, *inputs], capture_output=True, text=True
    )
    if out.returncode not in (0, 1):
        sys.exit(f"sighunt hunt -f {fmt} failed: {out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line]


def validate(name, schema, docs, negative=False):
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(lambda s: isinstance(s, str) and _iso(s))
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    errors = 0
    for i, doc in enumerate(docs):
        for e in validator.iter_errors(doc):
            errors += 1
            if errors <= 10:
                label = "rejected, as it must be:" if negative else "FAIL"
                print(f"{label} {name} document {i}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    print(f"{name}: {len(docs)} documents, {errors} schema violations")
    return errors


def _iso(s):
    try:
        datetime.fromisoformat(s.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def main():
    sighunt, ecs_flat, *inputs = sys.argv[1:]
    flat = json.load(open(ecs_flat))
    ocsf = OcsfJsonSchemaEmbedded(OcsfJsonSchema(get_ocsf_schema(version=OCSF_VERSION)))
    ocsf_schema = ocsf.get_class_schema("detection_finding")
    failures = 0
    for fmt, schema in (
        ("ecs", ecs_json_schema(flat)),
        ("ocsf", ocsf_schema),
        ("timesketch", TIMESKETCH),
    ):
        docs = documents(sighunt, fmt, inputs)
        if not docs:
            print(f"FAIL {fmt}: no documents")
            failures += 1
        failures += validate(fmt, schema, docs)
    # Negative controls: documents the schemas must reject.
    bad_ecs = documents(sighunt, "ecs", inputs)[:1]
    bad_ocsf = documents(sighunt, "ocsf", inputs)[:1]
    if bad_ecs and bad_ocsf:
        bad_ecs[0]["event"]["kind"] = "finding"
        bad_ecs[0]["sighunt_extra"] = 1
        bad_ocsf[0]["finding_info"].pop("uid")
        bad_ocsf[0]["sighunt_extra"] = 1
        for name, schema, bad in (
            ("ecs negative control", ecs_json_schema(flat), bad_ecs),
            ("ocsf negative control", ocsf_schema, bad_ocsf),
        ):
            if validate(name, schema, bad, negative=True) == 0:
                print(f"FAIL {name}: the schema accepts a broken document")
                failures += 1
    print(f"schemas: {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
