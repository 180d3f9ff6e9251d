#!/usr/bin/env bash
# syslog-scenarios.sh — record real syslog lines of cron, sudo and shell history.
#
# Usage:   sudo scripts/syslog-scenarios.sh OUTDIR
# Regenerate the committed examples:
#          sudo scripts/syslog-scenarios.sh examples/syslog
#
# What it does
#   1. Refuses to run unless it is root, nothing owns /dev/log (no other syslog
#      daemon) and no cron daemon runs: it starts its own. Takes a lock.
#   2. Starts a PRIVATE rsyslogd (`rsyslogd -n -f <tmp conf>`, no systemd involved) that
#      listens on /dev/log and writes the lines of sudo, cron and the history logger to
#      three files, one per header format: RSYSLOG_TraditionalFileFormat (RFC 3164
#      `Mmm dd hh:mm:ss`), RSYSLOG_FileFormat (rsyslog's default ISO timestamps) and
#      RSYSLOG_SyslogProtocol23Format (RFC 5424).
#   3. Runs the real daemons and programs, nothing simulated:
#      - cron (`cron -f`) with a job in /etc/cron.d that nohups a hidden /tmp payload
#        (waits for the next minute, at most ~75 s): the seed excludes cron's lines;
#      - sudo: `sudo nohup <hidden /tmp payload>`, `sudo sh -c "nohup … &"`, an
#        administrator's `sudo nohup /opt/…/backup.sh`, and look-alikes
#        (`sudo -u nobody /bin/echo nohup is a command`, `sudo id`);
#      - an interactive bash whose PROMPT_COMMAND logs each command with `logger`
#        (the common `user [pid]: command [status]` convention).
#      Payloads are copies of /bin/true: they exit at once.
#   4. Stops its cron and rsyslogd, removes its cron file, payloads and scratch files,
#      and writes OUTDIR/syslog-3164.log, syslog-iso.log, syslog-5424.log and
#      OUTDIR/scenarios.tsv (same columns as examples/linux/scenarios.tsv; expectation
#      `excluded` = a launch the seed's scheduler exclusion must hide).
#   On exit (normal, error or signal) a trap stops only the processes it started and
#   removes only the files it created.
#
# Exit status: 0 ok, 1 failure, 2 usage, 3 environment not suitable.

set -uo pipefail

readonly SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly ADMIN_DIR=/opt/sighunt-admin
readonly ADMIN_SCRIPT=$ADMIN_DIR/backup.sh
readonly CRON_WAIT=75

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
PROG=${0##*/}
export PATH=$SAFE_PATH LC_ALL=C

log()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
die()  { log "error: $*"; exit 1; }
refuse() { log "refusing to run: $*"; exit 3; }
usage() { echo "usage: $PROG OUTDIR" >&2; exit 2; }

[[ $# -eq 1 ]] || usage
[[ $1 == -h || $1 == --help ]] && { sed -n '2,32p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0; }
OUTDIR=$1

# --- prerequisites ----------------------------------------------------------------------
[[ $(id -u) == 0 ]] || refuse "must run as root (sudo, cron and /dev/log)"
for tool in rsyslogd cron sudo logger bash flock mktemp; do
    command -v "$tool" >/dev/null 2>&1 ||
        refuse "'$tool' not found on PATH (apt-get install -y rsyslog cron sudo)"
done
running() {   # $1 = exact process name
    local f c
    for f in /proc/[0-9]*/comm; do
        read -r c <"$f" 2>/dev/null || continue
        [[ $c == "$1" ]] && return 0
    done
    return 1
}
for daemon in rsyslogd syslog-ng syslogd systemd-journal; do
    running "$daemon" && refuse "a syslog daemon ($daemon) is running; this script needs /dev/log for its own rsyslogd"
done
[[ -e /dev/log ]] && refuse "/dev/log exists (another syslog daemon's socket?); remove it if it is stale"
for daemon in cron crond; do
    running "$daemon" && refuse "a cron daemon ($daemon) is running; this script starts its own"
done

LOCKFILE=/run/lock/sighunt-syslog-scenarios.lock
[[ -d /run/lock ]] || LOCKFILE=/tmp/.sighunt-syslog-scenarios.lock
exec 9>"$LOCKFILE" || die "cannot open lock $LOCKFILE"
flock -n 9 || refuse "another $PROG is running (lock $LOCKFILE)"

# --- cleanup, always ------------------------------------------------------------------------
WD='' HID='' RDIR='' CRONFILE='' RSYSLOG_PID='' CRON_PID='' ADMIN_CREATED_DIR=0 ADMIN_CREATED_FILE=0

stop_pid() {   # $1 = pid we started; TERM, then KILL after 5 s
    local pid=$1 deadline
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_pid "$CRON_PID"
    [[ -n $CRONFILE ]] && rm -f -- "$CRONFILE"
    stop_pid "$RSYSLOG_PID"
    # Our rsyslogd created the socket; remove it if it left it behind.
    [[ -n $RSYSLOG_PID && -S /dev/log ]] && rm -f /dev/log
    [[ -n $WD && -d $WD ]] && rm -rf -- "$WD"
    [[ -n $HID && -d $HID ]] && rm -rf -- "$HID"
    [[ -n $RDIR && -d $RDIR ]] && rm -rf -- "$RDIR"
    ((ADMIN_CREATED_FILE)) && rm -f -- "$ADMIN_SCRIPT"
    ((ADMIN_CREATED_DIR)) && rmdir -- "$ADMIN_DIR" 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- scratch files --------------------------------------------------------------------------
mkdir -p -- "$OUTDIR" || die "cannot create $OUTDIR"
OUTDIR=$(cd -- "$OUTDIR" && pwd) || die "bad OUTDIR"
WD=$(mktemp -d /tmp/sighunt-syslog.XXXXXX) || die "mktemp"
HID=$(mktemp -d /tmp/.sighunt-cache-XXXXXX) || die "mktemp"
RDIR=$(mktemp -d /tmp/sighunt-rsyslog.XXXXXX) || die "mktemp"
chmod 755 "$WD" "$HID"
for name in agent update sync helper; do
    cp -L -- "$(type -P true)" "$HID/$name" && chmod 755 "$HID/$name" || die "cannot copy payload"
done
if [[ ! -d $ADMIN_DIR ]]; then
    mkdir -p -- "$ADMIN_DIR" && ADMIN_CREATED_DIR=1
fi
if [[ ! -e $ADMIN_SCRIPT ]]; then
    printf '#!/bin/sh\n# sighunt e2e: stand-in for a nightly backup\nexit 0\n' >"$ADMIN_SCRIPT" &&
        chmod 755 "$ADMIN_SCRIPT" && ADMIN_CREATED_FILE=1
else
    log "note: $ADMIN_SCRIPT already exists and is used as is (not removed afterwards)"
fi

# --- private rsyslogd ---------------------------------------------------------------------
# Only the programs of the scenarios are written: other processes on this machine may
# log while we own /dev/log.
cat >"$RDIR/rsyslog.conf" <<EOF
global(workDirectory="$RDIR")
module(load="imuxsock" SysSock.Name="/dev/log")
if \$programname == ["sudo", "CRON", "cron", "root", "sighunt-e2e"] then {
    action(type="omfile" file="$RDIR/syslog-3164.log" template="RSYSLOG_TraditionalFileFormat")
    action(type="omfile" file="$RDIR/syslog-iso.log" template="RSYSLOG_FileFormat")
    action(type="omfile" file="$RDIR/syslog-5424.log" template="RSYSLOG_SyslogProtocol23Format")
}
EOF
rsyslogd -N1 -f "$RDIR/rsyslog.conf" >"$RDIR/check.out" 2>&1 || die "rsyslog config invalid: $(cat "$RDIR/check.out")"
rsyslogd -n -f "$RDIR/rsyslog.conf" -i "$RDIR/rsyslogd.pid" >"$RDIR/rsyslogd.out" 2>&1 9>&- &
RSYSLOG_PID=$!
deadline=$((SECONDS + 10))
until [[ -S /dev/log ]]; do
    kill -0 "$RSYSLOG_PID" 2>/dev/null || die "rsyslogd exited: $(cat "$RDIR/rsyslogd.out")"
    ((SECONDS < deadline)) || die "rsyslogd did not create /dev/log within 10 s"
    sleep 0.1
done
log "private rsyslogd (pid $RSYSLOG_PID) writes to $RDIR"

# --- cron: a job that nohups a hidden payload ----------------------------------------------
CRONFILE=/etc/cron.d/sighunt-e2e-$$
printf 'SHELL=/bin/sh\nPATH=%s\n* * * * * root nohup %s >/dev/null 2>&1 &\n' \
    "$SAFE_PATH" "$HID/agent" >"$CRONFILE" && chmod 644 "$CRONFILE" || die "cannot write $CRONFILE"
cron -f >"$RDIR/cron.out" 2>&1 9>&- &
CRON_PID=$!
log "cron (pid $CRON_PID) started with $CRONFILE; its job runs at the next minute"

# --- sudo ----------------------------------------------------------------------------------
(
    cd "$WD" || exit 1
    sudo nohup "$HID/update" >/dev/null 2>&1 &
    wait
    sudo sh -c "nohup $HID/sync >/dev/null 2>&1 &"
    sudo nohup "$ADMIN_SCRIPT" >/dev/null 2>&1
    sudo -u nobody /bin/echo nohup is a command >/dev/null
    sudo /usr/bin/id >/dev/null
) 9>&- || die "sudo scenarios failed"

# --- an interactive shell logging its history ----------------------------------------------
(
    cd "$WD" || exit 1
    HISTFILE=/dev/null bash --norc --noprofile -i >/dev/null 2>&1 <<EOF
PROMPT_COMMAND='logger -p local6.debug "\$(whoami) [\$\$]: \$(history 1 | sed "s/^[ ]*[0-9]\\+[ ]*//" ) [\$?]"'
nohup $HID/helper >/dev/null 2>&1 &
echo nohup is a command
exit
EOF
) 9>&- || die "history scenario failed"

# --- wait for cron's job ---------------------------------------------------------------------
deadline=$((SECONDS + CRON_WAIT))
until grep -q ') CMD (nohup ' "$RDIR/syslog-3164.log" 2>/dev/null; do
    ((SECONDS < deadline)) || die "cron did not run its job within $CRON_WAIT s: $(cat "$RDIR/cron.out")"
    sleep 1
done
logger -t sighunt-e2e "scenarios done"
sleep 1
stop_pid "$CRON_PID"
CRON_PID=
rm -f -- "$CRONFILE"
CRONFILE=
stop_pid "$RSYSLOG_PID"
[[ -S /dev/log ]] && rm -f /dev/log
RSYSLOG_PID=

for f in syslog-3164 syslog-iso syslog-5424; do
    [[ -s $RDIR/$f.log ]] || die "rsyslogd wrote no $f.log"
    cp -- "$RDIR/$f.log" "$OUTDIR/.$f.log.tmp" && chmod 644 "$OUTDIR/.$f.log.tmp" &&
        mv -f -- "$OUTDIR/.$f.log.tmp" "$OUTDIR/$f.log" || die "cannot write $OUTDIR/$f.log"
done

t=$OUTDIR/.scenarios.tsv.tmp
{
    printf '%s\t%s\t%s\t%s\t%s\n' \
        c1 malicious "cron job: nohup $HID/agent >/dev/null 2>&1 & (the seed excludes cron; a hidden temp payload is reported with scheduler_launch)" "$HID/agent" hidden_path,temp_dir_payload,scheduler_launch \
        s1 malicious "sudo nohup $HID/update (hidden /tmp payload)" "$HID/update" hidden_path,temp_dir_payload \
        s2 malicious "sudo sh -c \"nohup $HID/sync >/dev/null 2>&1 &\"" "$HID/sync" hidden_path,temp_dir_payload,background_exec,output_discarded \
        s3 admin "sudo nohup $ADMIN_SCRIPT (at most low severity)" "$ADMIN_SCRIPT" - \
        s4 benign "sudo -u nobody /bin/echo nohup is a command" - - \
        s5 benign "sudo /usr/bin/id" - - \
        h1 malicious "history (PROMPT_COMMAND + logger): nohup $HID/helper >/dev/null 2>&1 &" "$HID/helper" hidden_path,temp_dir_payload,background_exec,output_discarded \
        h2 benign "history (PROMPT_COMMAND + logger): echo nohup is a command" - -
} >"$t" && chmod 644 "$t" && mv -f -- "$t" "$OUTDIR/scenarios.tsv" || die "cannot write scenarios.tsv"

log "lines recorded: $(wc -l <"$OUTDIR/syslog-3164.log") per file"
grep -E 'CMD|COMMAND=|\]: ' "$OUTDIR/syslog-3164.log" | sed 's/^/    /' >&2
log "done: $OUTDIR/syslog-3164.log $OUTDIR/syslog-iso.log $OUTDIR/syslog-5424.log $OUTDIR/scenarios.tsv"
