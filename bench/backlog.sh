#!/usr/bin/env bash
# How acceptance and restart cost grow with the outgoing queue (performance issue, "how cost
# grows"): SMTP acceptance with N deferred mails already queued (target: at least 0.9x the
# empty-queue figure) and a restart with that backlog (target: within 30 s).
#
#   smtp-source --SMTP--> Postino "empty"   (127.0.0.1:P1) --SMTP--> smtp-sink (S1)
#   smtp-source --SMTP--> Postino "backlog" (127.0.0.1:P2) --SMTP--> smtp-sink (S2)
#                                   mail to @deferred.test --SMTP--> smtp-sink -r RCPT (451 to every RCPT)
#
# What it does, in order:
#  1. installs Debian's postfix package when smtp-source/smtp-sink are missing, and builds
#     Postino (mvn -B -q install -DskipTests) only when the packaged bin/postino is missing;
#  2. starts two private copies of the packaged Postino side by side on free loopback ports,
#     configured like bench/side_by_side.sh's (organisation "bench" owning bench.test, limits
#     checked but never reached, tracking on, an active RSA-2048 DKIM key, dns.check=false,
#     POSTINO_SMARTHOST = its own sink, bin/postino's default JVM options), plus a smarthost route
#     "deferred" (organisations.xml <routes>, <override domain="deferred.test">) to a sink that
#     answers every RCPT with 451, and RemoteDelivery's delayTime of the outgoing queue set to
#     "37 * 1 day" so that no deferred mail is retried during the run (the shipped first retry is
#     after 1 minute);
#  3. checks both relay one message to their sink and that a message to @deferred.test is
#     deferred (postino_messages_total{event="deferred",organisation="bench"} on /metrics,
#     outgoing.bench on /mailQueues);
#  4. fills the backlog instance: --backlog N messages of --fill-size octets to
#     rcpt@deferred.test (smtp-source, --fill-sessions sessions, several messages per connection),
#     and waits until every one is deferred (N deferrals counted, the spool queues empty,
#     outgoing.bench holding N). Reports the rate at which they were accepted and deferred, the
#     spool's size on disk and the live heap of both JVMs after a full GC (jcmd);
#  5. restarts both instances, each on its own data directory: SIGTERM, wait for the exit, start
#     again; measures the stop, the time to the first "220" banner and to the "Postino started"
#     log line, and checks the backlog is still queued (outgoing.bench). Both are restarted so
#     that the rounds compare two JVMs equally fresh (the fill would otherwise have warmed the
#     backlog instance's JIT and grown its heap: it measured faster than the empty one);
#  6. a warm-up round on each (discarded), then --rounds interleaved rounds (harness/compare.sh,
#     order rotated every round) of harness/run-relay-bench.sh on both: smtp-source, 20 sessions,
#     4,000 x 5 KiB, 1 recipient, a new connection per message (side_by_side.sh's default), then
#     --latency-count messages at concurrency 1. Prints medians [min-max] and the ratios
#     backlog/empty (harness/summarize.py); the backlog must still be queued after them;
#  7. prints a summary (PASS/FAIL against 0.9x and 30 s), stops everything it started by PID and
#     removes its files. Loopback only; every wait is bounded.
#
# Usage: bench/backlog.sh [options]          (as root only to install the postfix package)
#   --backlog N         deferred mails to queue before measuring (default 100000)
#   --fill-size BYTES   size of each backlog message (default 1024)
#   --fill-sessions S   SMTP sessions of the fill (default 20; at most 50 per client address)
#   --fill-timeout S    bound of the fill, until every mail is deferred, seconds (default 1800)
#   --rounds N          measured rounds on each instance after the warm-up (default 3)
#   --count N           messages per throughput phase (default 4000)
#   --concurrency C     SMTP sessions of the measured load (default 20)
#   --size BYTES        body size of the measured load (default 5120)
#   --latency-count L   messages of the concurrency-1 latency phase (default 200)
#   --timeout S         bound of each phase of a measured run, seconds (default 300)
#   --no-dkim           no DKIM key: mail leaves unsigned
#   --no-warmup         skip the warm-up round
#   --jfr               a JFR recording of each JVM run (dumped at exit) kept beside the log:
#                       <log>-<instance>-<start>.jfr
#   --log FILE          also write everything printed to FILE (default
#                       bench/results/backlog-<UTC time>.txt); raw JSON lines go beside it (.jsonl)
#   --keep              keep the private installations, data and logs (path printed at the end)
# Environment: POSTINO_DIST to benchmark another unpacked distribution directory; POSTINO_JAVA_OPTS
# to run the JVMs with other options (default: bin/postino's).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
H=$BENCH/harness
DIST=${POSTINO_DIST:-$REPO/distribution/target/postino-0.1.0-SNAPSHOT/postino-0.1.0-SNAPSHOT}

BACKLOG=100000 FILL_SIZE=1024 FILL_SESSIONS=20 FILL_TIMEOUT=1800
ROUNDS=3 COUNT=4000 CONC=20 SIZE=5120 LAT_N=200 TIMEOUT=300
DKIM=1 WARMUP=1 JFR=0 LOG= KEEP=0
RESTART_TARGET=30 RATIO_TARGET=0.9
ARGS=("$@")
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
int() { [[ $2 =~ ^[0-9]+$ && $2 -ge ${3:-1} ]] || { echo "$1 needs a whole number >= ${3:-1}, not '$2'" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --backlog) int "$1" "${2:-}"; BACKLOG=$2; shift 2;;
    --fill-size) int "$1" "${2:-}" 100; FILL_SIZE=$2; shift 2;;
    --fill-sessions) int "$1" "${2:-}"; FILL_SESSIONS=$2; shift 2;;
    --fill-timeout) int "$1" "${2:-}" 10; FILL_TIMEOUT=$2; shift 2;;
    --rounds) int "$1" "${2:-}"; ROUNDS=$2; shift 2;;
    --count) int "$1" "${2:-}"; COUNT=$2; shift 2;;
    --concurrency) int "$1" "${2:-}"; CONC=$2; shift 2;;
    --size) int "$1" "${2:-}"; SIZE=$2; shift 2;;
    --latency-count) int "$1" "${2:-}" 0; LAT_N=$2; shift 2;;
    --timeout) int "$1" "${2:-}" 10; TIMEOUT=$2; shift 2;;
    --no-dkim) DKIM=0; shift;;
    --no-warmup) WARMUP=0; shift;;
    --jfr) JFR=1; shift;;
    --log) LOG=${2:?--log needs a file}; shift 2;;
    --keep) KEEP=1; shift;;
    -h|--help) usage;;
    *) echo "unknown option $1" >&2; usage;;
  esac
done
[[ $ROUNDS -le 50 ]] || { echo "--rounds must be 1..50" >&2; exit 2; }
[[ $FILL_SESSIONS -le 45 ]] || { echo "--fill-sessions must be 1..45 (Postino allows 50 connections per address)" >&2; exit 2; }

# ---- everything printed also goes to the log file ------------------------------------------
if [[ -z ${BLG_LOGGING:-} ]]; then
  [[ -n $LOG ]] || LOG=$BENCH/results/backlog-$(date -u +%Y%m%d-%H%M%S).txt
  mkdir -p "$(dirname "$LOG")"
  LOG=$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG")
  set +e
  BLG_LOGGING=1 BLG_LOG=$LOG "$BASH" "${BASH_SOURCE[0]}" "${ARGS[@]}" 2>&1 | tee -i "$LOG"
  rc=${PIPESTATUS[0]}
  echo "output written to $LOG" >&2
  exit "$rc"
fi
LOG=$BLG_LOG
JSONL=${LOG%.txt}.jsonl
[[ $JSONL != "$LOG" ]] || JSONL=$LOG.jsonl

for t in python3 curl flock timeout setsid; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done
# (every process started below gets 9>&-: a leftover child must not hold the lock)
exec 9>/tmp/postino-backlog.lock
flock -n 9 || { echo "another backlog.sh is running (lock /tmp/postino-backlog.lock)" >&2; exit 1; }

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
now() { date +%s.%N; }
since() { python3 -c "import sys,time;print(round(time.time()-float(sys.argv[1]),${2:-1}))" "$1"; }

# ---- 1. what it needs ------------------------------------------------------------------------
command -v smtp-source >/dev/null || export PATH=$PATH:/usr/sbin
if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
  [[ $EUID -eq 0 ]] || { echo "smtp-source/smtp-sink missing: run as root to install Debian's postfix package" >&2; exit 2; }
  say "installing Debian's postfix package (No configuration)"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y postfix; then
    timeout 600 apt-get update
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y postfix
  fi
fi
command -v java >/dev/null || [[ -n ${JAVA_HOME:-} ]] || { echo "no java: install Java 17" >&2; exit 2; }
if [[ ! -x $DIST/bin/postino ]]; then
  say "no packaged Postino at $DIST: building (mvn -B -q install -DskipTests)"
  (cd "$REPO" && timeout 3600 mvn -B -q install -DskipTests)
  [[ -x $DIST/bin/postino ]] || { echo "the build did not produce $DIST/bin/postino" >&2; exit 1; }
fi
SINK_USER=(); [[ $EUID -eq 0 ]] && SINK_USER=(-u nobody)

WORK=$(mktemp -d /var/tmp/postino-backlog.XXXXXX)
chmod 755 "$WORK"
export TMPDIR=$WORK    # the harness' scratch directories too: nothing else may clean them up
INSTANCES=(empty backlog)
declare -A PID HOME_OF DATA SMTP SUB SMTPS WA SINK TOKEN STARTS
DEF_SINK_PID= PROBE_SINK=
stop_pid() { # pid what: SIGTERM, up to 60 s, then SIGKILL
  local p=$1
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then echo "$2 $p still alive after 60 s: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$? n
  set +e
  trap '' PIPE INT TERM
  [[ -n $PROBE_SINK ]] && stop_pid "$PROBE_SINK" "probe sink"
  for n in "${INSTANCES[@]}"; do
    if [[ -n ${PID[$n]:-} ]] && kill -0 "${PID[$n]}" 2>/dev/null; then
      say "stopping Postino $n (pid ${PID[$n]})"
      stop_pid "${PID[$n]}" "Postino $n"
    fi
  done
  [[ -n $DEF_SINK_PID ]] && stop_pid "$DEF_SINK_PID" "deferring sink"
  if [[ $KEEP == 1 ]]; then
    echo "kept: $WORK (Postino installations, data, logs)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r DEF_PORT PORTS < <(python3 - <<'PY'
import socket
socks = []
for _ in range(11):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
p = [str(s.getsockname()[1]) for s in socks]
print(p[0], ",".join(p[1:]))
PY
)
IFS=, read -r SMTP[empty] SUB[empty] SMTPS[empty] WA[empty] SINK[empty] \
              SMTP[backlog] SUB[backlog] SMTPS[backlog] WA[backlog] SINK[backlog] <<<"$PORTS"

# ---- what is measured -------------------------------------------------------------------------
say "backlog: acceptance and restart of Postino with $BACKLOG deferred mails queued, against an empty queue"
echo "command     : bench/backlog.sh ${ARGS[*]}"
echo "backlog     : $BACKLOG x $FILL_SIZE B to rcpt@deferred.test (smtp-source, $FILL_SESSIONS sessions, several messages per connection), every RCPT answered 451 by a sink, no retry during the run (delayTime 37 * 1 day)"
echo "workload    : smtp-source, $CONC sessions, $COUNT x $SIZE B, 1 rcpt, a new connection per message; latency $LAT_N msgs at c=1; warm-up $([[ $WARMUP == 1 ]] && echo 1 round, discarded || echo none); $ROUNDS interleaved rounds on each"
echo "postino     : $DIST (server jar built $(date -u -r "$DIST"/lib/postino-server-*.jar +%FT%TZ 2>/dev/null || echo '?'))"
echo "repository  : $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') ($(git -C "$REPO" status --porcelain 2>/dev/null | wc -l) paths changed in the work tree)"
echo "postino conf: organisation bench (bench.test), route deferred.test -> 127.0.0.1:$DEF_PORT, limits never reached, tracking on, DKIM $([[ $DKIM == 1 ]] && echo 'RSA 2048 active' || echo off), dns.check=false, JAVA_OPTS=${POSTINO_JAVA_OPTS:-the defaults of bin/postino}"
echo "java        : $("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -1)"
echo "machine     : $(nproc) CPUs, $(free -m | awk '/^Mem/ {print $2}') MiB, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${INSTANCES[@]}"; do
  echo "ports $n$( [[ $n == empty ]] && echo '  ' ): smtp ${SMTP[$n]} -> sink ${SINK[$n]} (webadmin ${WA[$n]})"
done

# ---- 2. the deferring sink and two Postino instances -------------------------------------------
smtp-sink "${SINK_USER[@]}" -r RCPT -b "451 4.3.0 Deferred by bench/backlog.sh" "127.0.0.1:$DEF_PORT" 256 \
  >"$WORK/deferring-sink.log" 2>&1 </dev/null 9>&- &
DEF_SINK_PID=$!
for _ in $(seq 1 50); do port_open 127.0.0.1 "$DEF_PORT" && break; sleep 0.1; done
port_open 127.0.0.1 "$DEF_PORT" || { echo "the deferring sink did not start: $(cat "$WORK/deferring-sink.log")"; exit 1; }

configure() { # name
  local n=$1 home=$WORK/$1/postino
  HOME_OF[$n]=$home DATA[$n]=$WORK/$1/data STARTS[$n]=0
  mkdir -p "$WORK/$n" "${DATA[$n]}"
  cp -a "$DIST" "$home"
  cat >"$home/conf/organisations.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by bench/backlog.sh: the sender of smtp-source, limits checked on every message but
     never reached; mail to deferred.test goes to a sink that answers every RCPT with 451 -->
<organisations xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
               xsi:noNamespaceSchemaLocation="organisations.xsd">
    <limits>
        <user per="minute" messages="1000000" recipients="10000000"/>
        <user per="day" messages="100000000" recipients="1000000000"/>
        <client per="minute" messages="1000000" recipients="10000000"/>
        <client per="day" messages="100000000" recipients="1000000000"/>
        <organisation per="hour" messages="100000000" recipients="1000000000"/>
        <quota recipients="1000000000"/>
    </limits>
    <destinations>
        <destination domain="*" connections="20"/>
    </destinations>
    <routes>
        <route name="deferred" kind="smarthost" host="127.0.0.1" port="$DEF_PORT" tls="none"/>
    </routes>
    <organisation id="bench" name="Benchmark">
        <domain>bench.test</domain>
        <routing>
            <override domain="deferred.test" route="deferred"/>
        </routing>
    </organisation>
</organisations>
XML
  sed -i 's/^dns\.check=.*/dns.check=false/' "$home/conf/recipients.properties"
  grep -qx 'dns.check=false' "$home/conf/recipients.properties" || echo 'dns.check=false' >>"$home/conf/recipients.properties"
  # The outgoing queue's RemoteDelivery (the one with <outgoing>outgoing</outgoing>): no retry
  # within the run, the same number of attempts.
  python3 - "$home/conf/mailetcontainer.xml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
rx = re.compile(r"(<outgoing>outgoing</outgoing>.*?<delayTime>)[^<]*(</delayTime>)", re.S)
text, n = rx.subn(r"\g<1>37 * 1 day\g<2>", text, count=1)
assert n == 1, "no delayTime after <outgoing>outgoing</outgoing> in " + path
open(path, "w").write(text)
PY
}

start() { # name: starts the JVM, sets PID; prints nothing
  local n=$1 k jopts
  k=$(( ${STARTS[$n]} + 1 )); STARTS[$n]=$k
  jopts=${POSTINO_JAVA_OPTS:-}
  local extra=${POSTINO_JAVA_EXTRA_OPTS:-}
  # added to bin/postino's defaults (JAVA_OPTS would replace them)
  [[ $JFR == 1 ]] && extra="$extra -XX:StartFlightRecording=filename=${LOG%.txt}-$n-$k.jfr,dumponexit=true,settings=profile"
  T_LAUNCH=$(now)
  env POSTINO_BIND=127.0.0.1 POSTINO_SMTP_PORT="${SMTP[$n]}" POSTINO_SUBMISSION_PORT="${SUB[$n]}" \
      POSTINO_SMTPS_PORT="${SMTPS[$n]}" POSTINO_WEBADMIN_PORT="${WA[$n]}" POSTINO_DATA_DIR="${DATA[$n]}" \
      POSTINO_SMARTHOST="127.0.0.1:${SINK[$n]}" POSTINO_HOSTNAME=postino.bench POSTINO_AUTOCONFIG_PORT=off JAVA_OPTS="$jopts" POSTINO_JAVA_EXTRA_OPTS="$extra" \
      setsid "${HOME_OF[$n]}/bin/postino" >"$WORK/$n/console-$k.log" 2>&1 </dev/null 9>&- &
  PID[$n]=$!          # bin/postino execs java: this is the JVM
  echo "${PID[$n]}" >"$WORK/$n/postino.pid"
}

wait_up() { # name limit_s: after start(); prints "banner_s started_s" (seconds from launch) or fails
  local n=$1 r
  r=$(python3 - "$WORK/$n/console-${STARTS[$n]}.log" "${SMTP[$n]}" "${PID[$n]}" "$T_LAUNCH" "$2" <<'PY'
import os, socket, sys, time
log, port, pid, t0, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
banner = started = None
while time.time() - t0 < limit:
    if banner is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.settimeout(10)
                greeting = s.recv(512)
                t = time.time()
                if greeting.startswith(b"220"):
                    banner = t - t0
                s.sendall(b"QUIT\r\n")
        except OSError:
            pass
    if started is None:
        try:
            with open(log, "rb") as f:
                if b"Postino started" in f.read():
                    started = time.time() - t0
        except OSError:
            pass
    if banner is not None and started is not None:
        break
    try:
        os.kill(pid, 0)
    except OSError:
        break
    time.sleep(0.05)
print("%s %s" % ("-" if banner is None else "%.2f" % banner, "-" if started is None else "%.2f" % started))
PY
)
  echo "$r"
  [[ $r != *-* ]]
}

up() { # name: start and wait, with the operator token
  local n=$1 r
  start "$n"
  if ! r=$(wait_up "$n" 180); then
    echo "Postino $n did not start within 180 s ($r); console:"; tail -40 "$WORK/$n/console-${STARTS[$n]}.log"; exit 1
  fi
  TOKEN[$n]=$(tr -d ' \n' <"${DATA[$n]}/webadmin/operator.token")
  UP_TIMES=$r
}

wa() { # name method path: WebAdmin request, bounded, fails on an HTTP error
  curl -sS -f -m 60 -X "$2" -H "Authorization: Bearer ${TOKEN[$1]}" "http://127.0.0.1:${WA[$1]}$3"
}

state() { # name: prints JSON {"queues": {name: size}, "total": N, "deferred": N} (WebAdmin)
  python3 - "${WA[$1]}" "${TOKEN[$1]}" <<'PY'
import json, re, sys, urllib.parse, urllib.request
port, token = sys.argv[1], sys.argv[2]
def get(path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()
names = json.loads(get("/mailQueues"))
sizes = {n: json.loads(get("/mailQueues/" + urllib.parse.quote(n, safe="")))["size"] for n in names}
deferred = 0
for line in get("/metrics").splitlines():
    m = re.match(r'postino_messages_total\{event="deferred",organisation="bench",?\}\s+([0-9.eE+]+)', line)
    if m:
        deferred = int(float(m.group(1)))
print(json.dumps({"queues": {k: v for k, v in sorted(sizes.items()) if v}, "total": sum(sizes.values()),
                  "outgoing": sizes.get("outgoing.bench", 0), "deferred": deferred}))
PY
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

declare -A FIRST_UP
for n in "${INSTANCES[@]}"; do
  configure "$n"
  say "starting Postino $n"
  up "$n"
  FIRST_UP[$n]=$UP_TIMES
  echo "postino $n: pid ${PID[$n]}, first 220 / 'Postino started' after ${UP_TIMES/ / s \/ } s (empty data directory)"
  wa "$n" GET /organisations/bench >/dev/null || { echo "organisation bench not loaded in $n"; exit 1; }
  if [[ $DKIM == 1 ]]; then
    wa "$n" POST "/dkim/domains/bench.test/keys?algorithm=rsa&bits=2048&selector=bench" >/dev/null
    wa "$n" POST /dkim/domains/bench.test/keys/bench/activate >/dev/null
  fi
done

# ---- 3. probes: relayed to the sink, deferred by the deferring sink ------------------------------
probe() { # name
  local n=$1 dir=$WORK/$1/probe f=
  mkdir -p "$dir"; chmod 777 "$dir"
  smtp-sink "${SINK_USER[@]}" -d "$dir/%M." "127.0.0.1:${SINK[$n]}" 100 >"$dir.sink.log" 2>&1 9>&- &
  PROBE_SINK=$!
  for _ in $(seq 1 50); do port_open 127.0.0.1 "${SINK[$n]}" && break; sleep 0.1; done
  timeout 30 smtp-source -m 1 -l "$SIZE" -f sender@bench.test -t rcpt@dest.test \
    -M bench-client.localdomain "127.0.0.1:${SMTP[$n]}" || { echo "probe: $n refused the message"; return 1; }
  for _ in $(seq 1 600); do
    f=$(find "$dir" -type f | head -1); [[ -n $f ]] && break; sleep 0.1
  done
  sleep 0.5
  stop_pid "$PROBE_SINK" "probe sink"; PROBE_SINK=
  [[ -n $f ]] || { echo "probe: nothing reached $n's sink within 60 s"; return 1; }
  if [[ $DKIM == 1 ]]; then
    grep -q 'd=bench.test' "$f" || { echo "probe: $n's message is not DKIM-signed by bench.test"; return 1; }
  fi
  rm -rf "$dir"
  echo "probe       : $n relayed one message to its sink$([[ $DKIM == 1 ]] && echo ', DKIM-signed d=bench.test')"
}
for n in "${INSTANCES[@]}"; do probe "$n"; done

wait_deferred() { # name count limit_s: until count deferrals, spool empty, outgoing.bench == count; prints the state
  local n=$1 want=$2 end=$(( $(date +%s) + $3 )) s d t o last=0
  while :; do
    s=$(state "$n") || s='{"total":-1,"outgoing":-1,"deferred":-1}'
    d=$(field "$s" deferred); t=$(field "$s" total); o=$(field "$s" outgoing)
    if [[ $d -ge $want && $t -eq $want && $o -eq $want ]]; then echo "$s"; return 0; fi
    if [[ $(date +%s) -ge $end ]]; then echo "$s"; return 1; fi
    if [[ $(( $(date +%s) - last )) -ge 15 ]]; then
      say "  $n: $d deferred, $o in outgoing.bench, $t queued in all" >&2; last=$(date +%s)
    fi
    sleep 2
  done
}
timeout 30 smtp-source -m 1 -l "$FILL_SIZE" -f sender@bench.test -t rcpt@deferred.test \
  -M bench-client.localdomain "127.0.0.1:${SMTP[backlog]}" || { echo "probe: backlog refused a message to deferred.test"; exit 1; }
if ! s=$(wait_deferred backlog 1 60); then echo "probe: the message to deferred.test was not deferred within 60 s: $s"; exit 1; fi
echo "probe       : a message to deferred.test was deferred (451 from the deferring sink) and waits in outgoing.bench"

# ---- 4. the backlog ---------------------------------------------------------------------------
FILL=$(( BACKLOG - 1 ))     # the probe is the first
say "filling the backlog: $FILL more messages of $FILL_SIZE B to rcpt@deferred.test"
T_FILL=$(now)
set +e
# -d: several messages per connection, as a client with a backlog to hand over would send them.
timeout "$FILL_TIMEOUT" smtp-source -d -s "$FILL_SESSIONS" -m "$FILL" -l "$FILL_SIZE" -f sender@bench.test \
  -t rcpt@deferred.test -M bench-client.localdomain "127.0.0.1:${SMTP[backlog]}" >"$WORK/fill.out" 2>&1
FILL_RC=$?
set -e
T_FILL_ACC=$(now)
ACC_S=$(python3 -c "import sys;print(round(float(sys.argv[2])-float(sys.argv[1]),1))" "$T_FILL" "$T_FILL_ACC")
[[ $FILL_RC -eq 0 ]] || { echo "the fill failed (smtp-source rc=$FILL_RC after $ACC_S s):"; tail -5 "$WORK/fill.out"; exit 1; }
echo "fill accept : $FILL messages in $ACC_S s = $(python3 -c "import sys;print(round(int(sys.argv[1])/float(sys.argv[2]),1))" "$FILL" "$ACC_S") msg/s (smtp-source done)"
LEFT=$(( FILL_TIMEOUT - ${ACC_S%.*} )); [[ $LEFT -ge 60 ]] || LEFT=60
if ! s=$(wait_deferred backlog "$BACKLOG" "$LEFT"); then
  echo "the backlog was not all deferred within the fill timeout: $s"; exit 1
fi
FILL_S=$(since "$T_FILL")
FILL_RATE=$(python3 -c "import sys;print(round(int(sys.argv[1])/float(sys.argv[2]),1))" "$FILL" "$FILL_S")
echo "fill        : $FILL messages deferred $FILL_S s after the fill began = $FILL_RATE msg/s; $s"
echo "spool       : $(du -sm "${DATA[backlog]}/spool" | cut -f1) MiB on disk for the backlog instance, $(du -sm "${DATA[empty]}/spool" | cut -f1) MiB for the empty one"
rss() { awk '/^VmRSS/ {print int($2/1024) " MiB"}' /proc/"$1"/status 2>/dev/null || echo '?'; }
echo "rss         : backlog $(rss "${PID[backlog]}"), empty $(rss "${PID[empty]}")"
live_heap() { # pid: heap in use after a full GC (jcmd), MiB
  local jcmd=${JAVA_HOME:+$JAVA_HOME/bin/}jcmd
  command -v "$jcmd" >/dev/null || { echo '?'; return; }
  timeout 60 "$jcmd" "$1" GC.run >/dev/null 2>&1 || true
  # G1 prints one "heap total ..., used ...K" line, the serial and parallel collectors one per generation
  timeout 60 "$jcmd" "$1" GC.heap_info 2>/dev/null | sed -n 's/.*\(heap\|generation\|Gen\) *total [0-9]*K, used \([0-9]*\)K.*/\2/p' \
    | awk '{k += $1} END {if (NR == 0) printf "?"; else printf "%d", k/1024}'
}
HEAP_B=$(live_heap "${PID[backlog]}") HEAP_E=$(live_heap "${PID[empty]}")
HEAP_PER=$(python3 -c "import sys
try: print(round((int(sys.argv[1])-int(sys.argv[2]))*1048576/int(sys.argv[3])))
except ValueError: print('?')" "$HEAP_B" "$HEAP_E" "$BACKLOG")
echo "live heap   : backlog $HEAP_B MiB, empty $HEAP_E MiB after a full GC (jcmd GC.run): about $HEAP_PER B per deferred mail"
BEFORE=$(state backlog)

# ---- 5. restart on the same data directories ---------------------------------------------------
# Both instances are restarted, so that the rounds below compare two JVMs equally fresh (the
# backlog instance's JIT is otherwise warmed by the fill, its heap grown by the backlog).
declare -A STOP_S RESTART
for n in "${INSTANCES[@]}"; do
  say "restarting Postino $n (SIGTERM pid ${PID[$n]})"
  T_STOP=$(now)
  stop_pid "${PID[$n]}" "Postino $n"
  STOP_S[$n]=$(since "$T_STOP" 2)
  up "$n"
  RESTART[$n]=$UP_TIMES
  echo "restart $n$( [[ $n == empty ]] && echo '  ' ): stopped in ${STOP_S[$n]} s; first 220 after ${UP_TIMES% *} s, 'Postino started' after ${UP_TIMES#* } s; $(grep -ho 'Spool at [^:]*: [0-9]* mails in [0-9]* queues[^"]*' "${DATA[$n]}/logs/postino.log" | tail -1)"
done
AFTER_RESTART=$(state backlog)
echo "backlog     : after the restart $AFTER_RESTART"
HEAP_RB=$(live_heap "${PID[backlog]}") HEAP_RE=$(live_heap "${PID[empty]}")
echo "live heap   : after the restart backlog $HEAP_RB MiB, empty $HEAP_RE MiB"

# ---- 6. warm-up and interleaved rounds on the restarted instances --------------------------------
COMMON=(--count "$COUNT" --concurrency "$CONC" --size "$SIZE" --rcpts 1 --per-conn 1
        --latency-count "$LAT_N" --timeout "$TIMEOUT")
TARGETS=()
for n in "${INSTANCES[@]}"; do TARGETS+=("$n=127.0.0.1:${SMTP[$n]},${SINK[$n]},$WORK/$n/postino.pid"); done
if [[ $WARMUP == 1 ]]; then
  say "warm-up round (discarded)"
  "$H/compare.sh" --rounds 1 --out "$WORK/warmup.jsonl" --baseline empty "${COMMON[@]}" -- "${TARGETS[@]}" >/dev/null 9>&- \
    || echo "warning: a warm-up run was incomplete"
fi
say "$ROUNDS interleaved rounds -> $JSONL"
: >"$JSONL"
set +e
"$H/compare.sh" --rounds "$ROUNDS" --out "$JSONL" --baseline empty "${COMMON[@]}" -- "${TARGETS[@]}" >"$WORK/summary.md" 9>&-
CMP_RC=$?
set -e
echo
cat "$WORK/summary.md"
FINAL=$(state backlog)
echo "backlog     : after the rounds $FINAL"

# ---- 7. summary -----------------------------------------------------------------------------------
export JSONL BACKLOG FILL FILL_S FILL_RATE ACC_S RATIO_TARGET RESTART_TARGET
export BEFORE AFTER_RESTART FINAL HEAP_B HEAP_E HEAP_PER HEAP_RB HEAP_RE
export UP_E="${FIRST_UP[empty]}" UP_B="${FIRST_UP[backlog]}" RS_E="${RESTART[empty]}" RS_B="${RESTART[backlog]}"
export STOP_E="${STOP_S[empty]}" STOP_B="${STOP_S[backlog]}"
set +e
python3 - <<'PY'
import json, os, statistics
e = os.environ
rows = [json.loads(l) for l in open(e["JSONL"]) if l.strip().startswith("{")]
def med(label, key):
    v = [r[key] for r in rows if r["label"] == label and r.get(key) is not None]
    return (statistics.median(v), min(v), max(v), len(v)) if v else None
bad = [r for r in rows if not r.get("complete") or r.get("load_rc") or r.get("lat_failed")]
for r in bad:
    print(f"warning: {r['label']} run at {r['ts']}: complete={r['complete']} load_rc={r['load_rc']} "
          f"delivered={r['delivered']}/{r['expected']} latency failures={r.get('lat_failed')}")
n = int(e["BACKLOG"])
def q(name):
    s = json.loads(e[name]); return f"{s['outgoing']} in outgoing.bench ({s['total']} queued in all)"
print("\n## Summary\n")
print(f"backlog      : {n} deferred mails; filled at {e['FILL_RATE']} msg/s ({e['FILL']} messages deferred in {e['FILL_S']} s; accepted in {e['ACC_S']} s)")
fails = 0
for key, what in (("accept_mps", "accept msg/s"), ("e2e_mps", "e2e msg/s"), ("lat_p50_ms", "lat p50 ms"), ("cpu_s_per_1k", "CPU s/1k msg")):
    a, b = med("empty", key), med("backlog", key)
    if not a or not b:
        print(f"{what:13}: n/a"); continue
    ratio = b[0] / a[0] if a[0] else float("nan")
    verdict = ""
    if key == "accept_mps":
        ok = ratio >= float(e["RATIO_TARGET"]); fails += not ok
        verdict = f"  {'PASS' if ok else 'FAIL'} (target >= {e['RATIO_TARGET']}x)"
    print(f"{what:13}: empty {a[0]:g} [{a[1]:g}-{a[2]:g}], backlog {b[0]:g} [{b[1]:g}-{b[2]:g}] ({b[3]} rounds each); backlog/empty {ratio:.2f}x{verdict}")
for label, up, rs, stop in (("empty", e["UP_E"], e["RS_E"], e["STOP_E"]), ("backlog", e["UP_B"], e["RS_B"], e["STOP_B"])):
    b220, started = rs.split()
    ok = max(float(b220), float(started)) <= float(e["RESTART_TARGET"])
    if label == "backlog":
        fails += not ok
    print(f"restart {label:7}: stop {stop} s; first 220 {b220} s, 'Postino started' {started} s "
          f"(first start, empty data: {up.split()[0]} s / {up.split()[1]} s)"
          + (f"  {'PASS' if ok else 'FAIL'} (target <= {e['RESTART_TARGET']} s)" if label == "backlog" else ""))
before, after, final = (json.loads(e[k]) for k in ("BEFORE", "AFTER_RESTART", "FINAL"))
kept = before["outgoing"] == after["outgoing"] == final["outgoing"] == n
fails += not kept
print(f"queue        : after the fill {q('BEFORE')}; after the restart {q('AFTER_RESTART')}; after the rounds {q('FINAL')}  {'PASS' if kept else 'FAIL'} (backlog kept)")
print(f"live heap    : after the fill backlog {e['HEAP_B']} MiB, empty {e['HEAP_E']} MiB (about {e['HEAP_PER']} B per deferred mail); after the restart {e['HEAP_RB']} MiB / {e['HEAP_RE']} MiB")
print(f"\n{len(rows)} runs, {len(rows) - len(bad)} clean. Quote the medians of interleaved rounds and the ratio, not single figures: the machine is shared.")
raise SystemExit(1 if fails or bad else 0)
PY
SUM_RC=$?
set -e
echo "postino log : $(grep -c ' ERROR ' "${DATA[backlog]}/logs/postino.log" 2>/dev/null || true) ERROR lines in the backlog instance's log, $(grep -c ' ERROR ' "${DATA[empty]}/logs/postino.log" 2>/dev/null || true) in the empty one's"
[[ $CMP_RC -eq 0 ]] || exit "$CMP_RC"
exit "$SUM_RC"
