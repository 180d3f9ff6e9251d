#!/usr/bin/env python3
"""Writes SIZE bytes of raw auditd text to stdout, for bench/memory.sh.

The stream looks like a busy fleet's audit log: exec events (SYSCALL, EXECVE, CWD,
PATH, PROCTITLE, EOE) of ever-new pids spread over HOSTS hosts, so that sighunt's
per-host process table fills and has to evict; and, every SEQ_EVERY events, the
seed's two sequences (chmod +x then nohup of a /tmp payload; nohup nc then bind and
listen) with a fresh payload name, so that correlation state is created and
findings are made all along. Deterministic: the same arguments give the same bytes.

usage: gen_audit.py SIZE_BYTES [HOSTS] [SEQ_EVERY]
"""
import sys

size = int(sys.argv[1])
hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 256
seq_every = int(sys.argv[3]) if len(sys.argv) > 3 else 2000

out = sys.stdout.buffer
HEX = bytes.hex

def ev(node, ts, serial, pid, ppid, argv, cwd, exe, comm):
    stamp = f"audit({ts // 1000}.{ts % 1000:03d}:{serial})"
    args = " ".join(f'a{i}="{a}"' for i, a in enumerate(argv))
    title = HEX("\0".join(argv).encode()[:128]).upper()
    return (
        f'node={node} type=SYSCALL msg={stamp}: arch=c000003e syscall=59 success=yes exit=0 '
        f'a0=55c7a702bf30 a1=55c7a702bd70 a2=55c7a702b5f0 a3=4b9ab65bad458ebc items=2 '
        f'ppid={ppid} pid={pid} auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 '
        f'egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=7 comm="{comm}" exe="{exe}" key="exec"\n'
        f'node={node} type=EXECVE msg={stamp}: argc={len(argv)} {args}\n'
        f'node={node} type=CWD msg={stamp}: cwd="{cwd}"\n'
        f'node={node} type=PATH msg={stamp}: item=0 name="{exe}" inode=247586 dev=fe:00 '
        f'mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 '
        f'cap_fver=0 cap_frootid=0\n'
        f'node={node} type=PROCTITLE msg={stamp}: proctitle={title}\n'
        f'node={node} type=EOE msg={stamp}: \n'
    )

def net(node, ts, serial, pid, ppid, call):
    stamp = f"audit({ts // 1000}.{ts % 1000:03d}:{serial})"
    lines = (
        f'node={node} type=SYSCALL msg={stamp}: arch=c000003e syscall={call} success=yes exit=0 '
        f'a0=3 a1=5639002fd2d0 a2=10 a3=7ffe8d212d10 items=0 ppid={ppid} pid={pid} auid=1000 '
        f'uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 '
        f'tty=pts0 ses=7 comm="nc" exe="/usr/bin/nc.openbsd" key="net"\n'
    )
    if call == 49:
        lines += f'node={node} type=SOCKADDR msg={stamp}: saddr=0200386C7F0000010000000000000000\n'
    return lines + f'node={node} type=EOE msg={stamp}: \n'

BENIGN = [
    (["ls", "-la", "/var/log"], "/usr/bin/ls"),
    (["grep", "-r", "error", "/var/log/app"], "/usr/bin/grep"),
    (["python3", "/opt/app/manage.py", "runjob", "--queue", "default"], "/usr/bin/python3.11"),
    (["sh", "-c", "cd /srv && git pull --ff-only"], "/usr/bin/dash"),
    (["curl", "-s", "http://127.0.0.1:8080/health"], "/usr/bin/curl"),
]

written = 0
serial = 1
ts = 1_795_000_000_000
pid = 1000
n = 0
batch = []
batch_bytes = 0
while written < size:
    node = f"host{n % hosts:03d}"
    if n % seq_every == 0:
        k = n // seq_every
        payload = f"/tmp/.cache-{k}/upd"
        parts = [
            ev(node, ts, serial, pid, 900, ["chmod", "+x", payload], "/root", "/usr/bin/chmod", "chmod"),
            ev(node, ts + 1, serial + 1, pid + 1, 900, ["nohup", payload], "/root", "/usr/bin/nohup", "nohup"),
            ev(node, ts + 2, serial + 2, pid + 2, 900, ["nohup", "nc", "-lvp", str(10000 + k % 50000)], "/root", "/usr/bin/nohup", "nohup"),
            net(node, ts + 3, serial + 3, pid + 2, 900, 49),
            net(node, ts + 3, serial + 4, pid + 2, 900, 50),
        ]
        serial += 5
        pid += 3
    else:
        argv, exe = BENIGN[n % len(BENIGN)]
        parts = [ev(node, ts, serial, pid, pid - 1, argv, "/srv/app", exe, argv[0][:15])]
        serial += 1
        pid += 1
    if pid > 4_000_000:
        pid = 1000
    ts += 3
    n += 1
    for p in parts:
        b = p.encode()
        batch.append(b)
        batch_bytes += len(b)
    if batch_bytes >= 1 << 20:
        out.write(b"".join(batch))
        written += batch_bytes
        batch, batch_bytes = [], 0
if batch:
    out.write(b"".join(batch))
out.flush()
