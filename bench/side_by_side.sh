#!/usr/bin/env bash
# Postino side by side with Postfix, in one run (issue 13, "The fast, crash-proof core").
#
#   smtp-source --SMTP--> Postfix (127.0.0.1:P1) --SMTP--> smtp-sink (127.0.0.1:S1)
#   smtp-source --SMTP--> Postino (127.0.0.1:P2) --SMTP--> smtp-sink (127.0.0.1:S2)
#
# What it does, in order:
#  1. installs Debian's postfix package when smtp-source/postfix are missing ("No configuration":
#     nothing listens until the private peer is started), and builds Postino
#     (mvn -B -q install -DskipTests) only when the packaged bin/postino is missing;
#  2. starts a private Postfix relay (harness/peers/postfix.sh) and a private copy of the
#     packaged Postino on free loopback ports, each relaying to its own sink port. Postino: one
#     organisation "bench" owning bench.test (the sender of smtp-source, relayed from 127.0.0.1,
#     an authorised address of port 25), limits checked on every message but never reached,
#     tracking on (shipped), an active 2048-bit RSA DKIM key for bench.test (selector "bench"),
#     recipient DNS checks off (the Postfix peer does none), POSTINO_SMARTHOST = its sink,
#     POSTINO_HOSTNAME=postino.bench, bin/postino's default JVM options
#     and MALLOC_ARENA_MAX;
#  3. sends one probe message through each and checks it reached the sink (Postino's DKIM-signed
#     with d=bench.test), then W warm-up rounds (discarded; 1 unless --warmup-rounds) and N interleaved rounds
#     (harness/compare.sh: the order alternates) of harness/run-relay-bench.sh: smtp-source,
#     20 sessions, 4,000 x 5 KiB, 1 recipient, a new connection per message, then 200 messages
#     at concurrency 1 for the submission latency; prints medians [min-max] and the ratios
#     Postino/Postfix (harness/summarize.py);
#  4. with --submission, the same rounds again on Postino alone, both with the python client
#     (harness/smtp_load.py; smtp-source cannot STARTTLS or AUTH): plain SMTP on port 25 against
#     submission on 587 with STARTTLS and AUTH PLAIN (a user sender@bench.test made over
#     WebAdmin), a warm-up of each first; prints the ratios 587/25;
#  5. stops everything it started, by PID, and removes its files. Loopback only; every wait is
#     bounded.
#
# Usage: bench/side_by_side.sh [options]      (as root: apt-get, Postfix's queue permissions)
#   --rounds N          measured rounds after the warm-up (default 3)
#   --count N           messages per throughput phase (default 4000)
#   --concurrency C     SMTP sessions (default 20)
#   --size BYTES        body size (default 5120; the issue's variants: 1024, 5120, 102400, 5242880)
#   --rcpts R           recipients per message (default 1; variant: 50)
#   --per-conn N        messages per connection (default 1 = a new connection each; variant: 100)
#   --latency-count L   messages of the concurrency-1 latency phase (default 200)
#   --timeout S         bound of each phase of a run, seconds (default 300)
#   --no-dkim           no DKIM key: Postino's mail leaves unsigned
#   --no-tracking       tracking off (conf/tracking.properties enabled=false): events not indexed
#   --no-warmup         skip the warm-up round
#   --warmup-rounds W   warm-up rounds before the measured ones (default 1). Postino's JIT keeps
#                       compiling for several rounds (about 10 s of C2 time in the second round
#                       of 4,000): W=5 measures the steady state of a relay that has run a minute
#   --submission        also compare Postino's port 587 (STARTTLS + AUTH) with its port 25 (plain),
#                       same python client on both; raw JSON lines in <log>-submission.jsonl
#   --log FILE          also write everything printed to FILE (default
#                       bench/results/side-by-side-<UTC time>.txt); raw JSON lines go beside it
#                       (.jsonl)
#   --keep              keep the private installation, data and logs (path printed at the end)
# Environment: POSTINO_DIST to benchmark another unpacked distribution directory; POSTINO_JAVA_OPTS
# to run its JVM with other options instead of bin/postino's defaults; POSTINO_JAVA_EXTRA_OPTS to add
# options to them (e.g. -XX:StartFlightRecording=filename=/tmp/p.jfr,dumponexit=true).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
H=$BENCH/harness
DIST=${POSTINO_DIST:-$REPO/distribution/target/postino-0.1.0-SNAPSHOT/postino-0.1.0-SNAPSHOT}

ROUNDS=3 COUNT=4000 CONC=20 SIZE=5120 RCPTS=1 PER_CONN=1 LAT_N=200 TIMEOUT=300
DKIM=1 TRACKING=1 WARMUP=1 WARMUP_ROUNDS=1 LOG= KEEP=0 SUBMISSION=0
ARGS=("$@")
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
int() { [[ $2 =~ ^[0-9]+$ && $2 -ge ${3:-1} ]] || { echo "$1 needs a whole number >= ${3:-1}, not '$2'" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) int "$1" "${2:-}"; ROUNDS=$2; shift 2;;
    --count) int "$1" "${2:-}"; COUNT=$2; shift 2;;
    --concurrency) int "$1" "${2:-}"; CONC=$2; shift 2;;
    --size) int "$1" "${2:-}"; SIZE=$2; shift 2;;
    --rcpts) int "$1" "${2:-}"; RCPTS=$2; shift 2;;
    --per-conn) int "$1" "${2:-}"; PER_CONN=$2; shift 2;;
    --latency-count) int "$1" "${2:-}" 0; LAT_N=$2; shift 2;;
    --timeout) int "$1" "${2:-}" 10; TIMEOUT=$2; shift 2;;
    --no-dkim) DKIM=0; shift;;
    --no-tracking) TRACKING=0; shift;;
    --no-warmup) WARMUP=0; shift;;
    --warmup-rounds) int "$1" "${2:-}"; WARMUP_ROUNDS=$2; shift 2;;
    --submission) SUBMISSION=1; shift;;
    --log) LOG=${2:?--log needs a file}; shift 2;;
    --keep) KEEP=1; shift;;
    -h|--help) usage;;
    *) echo "unknown option $1" >&2; usage;;
  esac
done
[[ $ROUNDS -le 50 ]] || { echo "--rounds must be 1..50" >&2; exit 2; }

# ---- everything printed also goes to the log file ------------------------------------------
if [[ -z ${SBS_LOGGING:-} ]]; then
  [[ -n $LOG ]] || LOG=$BENCH/results/side-by-side-$(date -u +%Y%m%d-%H%M%S).txt
  mkdir -p "$(dirname "$LOG")"
  LOG=$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG")
  set +e
  SBS_LOGGING=1 SBS_LOG=$LOG "$BASH" "${BASH_SOURCE[0]}" "${ARGS[@]}" 2>&1 | tee -i "$LOG"
  rc=${PIPESTATUS[0]}
  echo "output written to $LOG" >&2
  exit "$rc"
fi
LOG=$SBS_LOG
JSONL=${LOG%.txt}.jsonl
[[ $JSONL != "$LOG" ]] || JSONL=$LOG.jsonl

[[ $EUID -eq 0 ]] || { echo "run as root (apt-get, Postfix queue permissions)" >&2; exit 2; }
for t in python3 curl flock timeout setsid; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done
exec 9>/tmp/postino-side-by-side.lock
flock -n 9 || { echo "another side_by_side.sh is running (lock /tmp/postino-side-by-side.lock)" >&2; exit 1; }

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# ---- 1. what it needs ------------------------------------------------------------------------
if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null || ! command -v postfix >/dev/null; then
  say "installing Debian's postfix package (No configuration)"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y postfix; then
    timeout 600 apt-get update
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y postfix
  fi
fi
command -v smtp-source >/dev/null || export PATH=$PATH:/usr/sbin
command -v java >/dev/null || [[ -n ${JAVA_HOME:-} ]] || { echo "no java: install Java 17" >&2; exit 2; }
if [[ ! -x $DIST/bin/postino ]]; then
  say "no packaged Postino at $DIST: building (mvn -B -q install -DskipTests)"
  (cd "$REPO" && timeout 3600 mvn -B -q install -DskipTests)
  [[ -x $DIST/bin/postino ]] || { echo "the build did not produce $DIST/bin/postino" >&2; exit 1; }
fi

WORK=$(mktemp -d /var/tmp/postino-sbs.XXXXXX)
chmod 755 "$WORK"
# Postfix only starts instances listed in /etc/postfix/main.cf's alternate_config_directories:
# one fixed directory, listed once, regenerated by every run (the lock keeps runs apart).
PF_ROOT=/var/tmp/postino-bench-postfix
export PF_CONF_DIR=$PF_ROOT/conf
PO_PID= PF_MASTER= PF_STARTED=0 PROBE_SINK=
cleanup() {
  local rc=$? p
  set +e
  trap '' PIPE INT TERM
  [[ -n $PROBE_SINK ]] && kill -TERM "$PROBE_SINK" 2>/dev/null
  if [[ -n $PO_PID ]] && kill -0 "$PO_PID" 2>/dev/null; then
    say "stopping Postino (pid $PO_PID)"
    kill -TERM "$PO_PID"
    for _ in $(seq 1 600); do kill -0 "$PO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PO_PID" 2>/dev/null && { echo "Postino $PO_PID still alive after 60 s: SIGKILL"; kill -KILL "$PO_PID"; }
    wait "$PO_PID" 2>/dev/null
  fi
  if [[ $PF_STARTED == 1 ]]; then
    say "stopping Postfix (master pid $PF_MASTER)"
    local kids; kids=$(pgrep -P "$PF_MASTER" 2>/dev/null | tr '\n' ' ')
    timeout 30 "$H/peers/postfix.sh" stop
    for p in $PF_MASTER $kids; do
      for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$p" 2>/dev/null && { echo "postfix process $p still alive: SIGKILL"; kill -KILL "$p"; }
    done
  fi
  if [[ $KEEP == 1 ]]; then
    echo "kept: $WORK (Postino installation, data, logs) and $PF_ROOT (Postfix instance)"
  else
    rm -rf "$WORK" "$PF_ROOT"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r PF_PORT PF_SINK PO_PORT PO_SINK PO_SUB PO_SMTPS PO_WA < <(python3 - <<'PY'
import socket
socks = []
for _ in range(7):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)

# ---- what is measured -------------------------------------------------------------------------
say "side by side: Postino vs Postfix"
echo "command     : bench/side_by_side.sh ${ARGS[*]}"
echo "workload    : smtp-source, $CONC sessions, $COUNT x $SIZE B, $RCPTS rcpt, $PER_CONN msg/connection; latency $LAT_N msgs at c=1; warm-up $([[ $WARMUP == 1 ]] && echo "$WARMUP_ROUNDS round(s), discarded" || echo none); $ROUNDS interleaved rounds"
echo "postino     : $DIST (server jar built $(date -u -r "$DIST"/lib/postino-server-*.jar +%FT%TZ 2>/dev/null || echo '?'))"
echo "repository  : $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') ($(git -C "$REPO" status --porcelain 2>/dev/null | wc -l) paths changed in the work tree)"
echo "postino conf: organisation bench (bench.test), limits never reached, tracking $([[ $TRACKING == 1 ]] && echo on || echo off), DKIM $([[ $DKIM == 1 ]] && echo 'RSA 2048 active' || echo off), dns.check=false, JAVA_OPTS=${POSTINO_JAVA_OPTS:-the defaults of bin/postino}"
echo "postfix     : $(postconf -d -h mail_version 2>/dev/null) (harness/peers/postfix.sh)"
echo "java        : $("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -1)"
echo "machine     : $(nproc) CPUs, $(free -m | awk '/^Mem/ {print $2}') MiB, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ports       : postfix $PF_PORT -> sink $PF_SINK; postino $PO_PORT -> sink $PO_SINK (webadmin $PO_WA)"

# ---- 2a. Postfix peer -----------------------------------------------------------------------
mkdir -p /etc/postfix
if [[ ! -s /etc/postfix/main.cf ]]; then
  printf 'compatibility_level = 3.6\nalternate_config_directories = %s\n' "$PF_CONF_DIR" >/etc/postfix/main.cf
elif ! postconf -c /etc/postfix -h alternate_config_directories 2>/dev/null | tr ', ' '\n\n' | grep -qxF "$PF_CONF_DIR"; then
  old=$(postconf -c /etc/postfix -h alternate_config_directories 2>/dev/null || true)
  printf 'alternate_config_directories = %s\n' "${old:+$old, }$PF_CONF_DIR" >>/etc/postfix/main.cf
fi
rm -rf "$PF_ROOT"; mkdir -p "$PF_ROOT"
say "starting Postfix"
PF_STARTED=1
PF_LISTEN=127.0.0.1:$PF_PORT PF_RELAYHOST=127.0.0.1:$PF_SINK timeout 60 "$H/peers/postfix.sh" start
PF_PIDFILE=$("$H/peers/postfix.sh" pidfile)
PF_MASTER=$(tr -d ' \n' <"$PF_PIDFILE")

# ---- 2b. Postino --------------------------------------------------------------------------------
PO_HOME=$WORK/postino PO_DATA=$WORK/postino-data
say "copying Postino to $PO_HOME"
cp -a "$DIST" "$PO_HOME"
mkdir -p "$PO_DATA"
cat >"$PO_HOME/conf/organisations.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by bench/side_by_side.sh: the sender of smtp-source, limits checked on every
     message but never reached by the benchmark -->
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
    <organisation id="bench" name="Benchmark">
        <domain>bench.test</domain>
    </organisation>
</organisations>
XML
if [[ $TRACKING == 0 ]]; then
  sed -i 's/^enabled=.*/enabled=false/' "$PO_HOME/conf/tracking.properties"
  grep -qx 'enabled=false' "$PO_HOME/conf/tracking.properties" || echo 'enabled=false' >>"$PO_HOME/conf/tracking.properties"
fi
sed -i 's/^dns\.check=.*/dns.check=false/' "$PO_HOME/conf/recipients.properties"
grep -qx 'dns.check=false' "$PO_HOME/conf/recipients.properties" || echo 'dns.check=false' >>"$PO_HOME/conf/recipients.properties"

say "starting Postino"
env POSTINO_BIND=127.0.0.1 POSTINO_SMTP_PORT="$PO_PORT" POSTINO_SUBMISSION_PORT="$PO_SUB" \
    POSTINO_SMTPS_PORT="$PO_SMTPS" POSTINO_WEBADMIN_PORT="$PO_WA" POSTINO_DATA_DIR="$PO_DATA" \
    POSTINO_SMARTHOST="127.0.0.1:$PO_SINK" POSTINO_HOSTNAME=postino.bench POSTINO_AUTOCONFIG_PORT=off JAVA_OPTS="${POSTINO_JAVA_OPTS:-}" \
    setsid "$PO_HOME/bin/postino" >"$WORK/postino-console.log" 2>&1 </dev/null &
PO_PID=$!          # bin/postino execs java: this is the JVM
echo "$PO_PID" >"$WORK/postino.pid"
for _ in $(seq 1 100); do [[ $(cat /proc/"$PO_PID"/comm 2>/dev/null) == java ]] && break; sleep 0.1; done
[[ $(cat /proc/"$PO_PID"/comm 2>/dev/null) == java ]] || { echo "pid $PO_PID is not the JVM: $(cat /proc/"$PO_PID"/cmdline 2>/dev/null | tr '\0' ' ')"; tail -20 "$WORK/postino-console.log"; exit 1; }
T_START=$(date +%s.%N)
for _ in $(seq 1 1200); do
  grep -q "Postino started" "$WORK/postino-console.log" 2>/dev/null && break
  kill -0 "$PO_PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "Postino started" "$WORK/postino-console.log" || ! port_open 127.0.0.1 "$PO_PORT"; then
  echo "Postino did not start within 120 s; console:"; tail -40 "$WORK/postino-console.log"; exit 1
fi
echo "postino up  : pid $PO_PID, start-up $(python3 -c "import sys,time;print(round(time.time()-float(sys.argv[1]),1))" "$T_START") s (to the 'Postino started' log line)"

TOKEN=$(tr -d ' \n' <"$PO_DATA/webadmin/operator.token")
wa() { # method path: WebAdmin request, bounded, fails on an HTTP error
  curl -sS -f -m 60 -X "$1" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PO_WA$2"
}
wa GET /organisations/bench >/dev/null || { echo "organisation bench not loaded"; exit 1; }
if [[ $DKIM == 1 ]]; then
  wa POST "/dkim/domains/bench.test/keys?algorithm=rsa&bits=2048&selector=bench" >/dev/null
  wa POST /dkim/domains/bench.test/keys/bench/activate >/dev/null
  wa GET /dkim/domains/bench.test | python3 -c '
import json, sys
keys = json.load(sys.stdin)
keys = keys.get("keys", keys) if isinstance(keys, dict) else keys
assert any(k.get("selector") == "bench" and k.get("active") for k in keys), keys
print("dkim        : bench._domainkey.bench.test active (rsa-sha256, 2048 bits)")'
fi

# ---- 3a. probe: one message through each, seen by a sink that keeps it -------------------------
probe() { # label port sink_port
  local dir=$WORK/probe-$1 f=
  mkdir -p "$dir"; chmod 777 "$dir"
  smtp-sink -u nobody -d "$dir/%M." "127.0.0.1:$3" 100 >"$dir.sink.log" 2>&1 &
  PROBE_SINK=$!
  for _ in $(seq 1 50); do port_open 127.0.0.1 "$3" && break; sleep 0.1; done
  timeout 30 smtp-source -m 1 -l "$SIZE" -r "$RCPTS" -f sender@bench.test -t rcpt@dest.test \
    -M bench-client.localdomain "127.0.0.1:$2" || { echo "probe: $1 refused the message"; return 1; }
  for _ in $(seq 1 600); do
    f=$(find "$dir" -type f | head -1); [[ -n $f ]] && break; sleep 0.1
  done
  sleep 0.5
  kill -TERM "$PROBE_SINK"; wait "$PROBE_SINK" 2>/dev/null || true; PROBE_SINK=
  [[ -n $f ]] || { echo "probe: nothing reached $1's sink within 60 s"; return 1; }
  if [[ $1 == postino && $DKIM == 1 ]]; then
    grep -qi '^DKIM-Signature:.*' "$f" && grep -q 'd=bench.test' "$f" && grep -q 's=bench' "$f" \
      || { echo "probe: Postino's message is not DKIM-signed by bench.test:"; head -30 "$f"; return 1; }
  fi
  echo "probe       : $1 relayed one message to its sink$([[ $1 == postino && $DKIM == 1 ]] && echo ', DKIM-signed d=bench.test s=bench')"
}
probe postfix "$PF_PORT" "$PF_SINK"
probe postino "$PO_PORT" "$PO_SINK"
if [[ $TRACKING == 1 ]]; then
sleep 1.5   # the tracking index commits every second
wa GET "/tracking?organisation=bench&limit=5" | python3 -c '
import json, sys
r = json.load(sys.stdin)
msgs = r if isinstance(r, list) else r.get("messages", r.get("results", []))
ev = sorted({e.get("type") for m in msgs for e in m.get("events", [])})
print("tracking    : probe tracked,", len(msgs), "message(s), events", ",".join(x for x in ev if x))
assert msgs, r'
fi

# ---- 3b. warm-up and interleaved rounds ----------------------------------------------------------
COMMON=(--count "$COUNT" --concurrency "$CONC" --size "$SIZE" --rcpts "$RCPTS" --per-conn "$PER_CONN"
        --latency-count "$LAT_N" --timeout "$TIMEOUT")
TARGETS=("postfix=127.0.0.1:$PF_PORT,$PF_SINK,$PF_PIDFILE" "postino=127.0.0.1:$PO_PORT,$PO_SINK,$WORK/postino.pid")
if [[ $WARMUP == 1 ]]; then
  say "warm-up: $WARMUP_ROUNDS round(s) (discarded)"
  "$H/compare.sh" --rounds "$WARMUP_ROUNDS" --out "$WORK/warmup.jsonl" --baseline postfix "${COMMON[@]}" -- "${TARGETS[@]}" >/dev/null \
    || echo "warning: a warm-up run was incomplete"
  # How the warm-up converged: each round's CPU per message (JIT compilation is counted in it).
  python3 -c 'import json,sys
rows={}
for line in open(sys.argv[1]):
    r=json.loads(line); cpu=r.get("cpu_s_per_1k"); rows.setdefault(r["label"],[]).append("%.3f" % cpu if cpu is not None else "-")
for label,cpu in rows.items(): print("warm-up     : %s CPU ms/msg by round: %s" % (label, " ".join(cpu)))' "$WORK/warmup.jsonl" || true
  [[ ! -f $WORK/warmup.jsonl ]] || cp "$WORK/warmup.jsonl" "${JSONL%.jsonl}-warmup.jsonl"
fi
say "$ROUNDS interleaved rounds -> $JSONL"
: >"$JSONL"
set +e
"$H/compare.sh" --rounds "$ROUNDS" --out "$JSONL" --baseline postfix "${COMMON[@]}" -- "${TARGETS[@]}" \
  >"$WORK/summary.md"
CMP_RC=$?
set -e
echo
cat "$WORK/summary.md"
python3 - "$JSONL" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
bad = [r for r in rows if not r.get("complete") or r.get("load_rc") or r.get("lat_failed")]
for r in bad:
    print(f"warning: {r['label']} run at {r['ts']}: complete={r['complete']} load_rc={r['load_rc']} "
          f"delivered={r['delivered']}/{r['expected']} latency failures={r.get('lat_failed')}")
print(f"\n{len(rows)} runs, {len(rows) - len(bad)} clean. CPU s/1k msg = ms of CPU per message (process tree);"
      " lat = submission latency at concurrency 1, new session per message.")
PY

# ---- 4. submission (587, STARTTLS + AUTH) against plain SMTP (25), Postino alone ---------------
if [[ $SUBMISSION == 1 ]]; then
  SUB_JSONL=${JSONL%.jsonl}-submission.jsonl
  SUB_PASS=bench-$RANDOM$RANDOM
  wa PUT /domains/bench.test >/dev/null 2>&1 || true   # already there when the organisation declares it
  curl -sS -f -m 60 -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"password\":\"$SUB_PASS\"}" "http://127.0.0.1:$PO_WA/users/sender@bench.test" >/dev/null \
    || { echo "submission: could not create the user sender@bench.test"; exit 1; }
  SUB_COMMON=(--client python "${COMMON[@]}" --sink-port "$PO_SINK" --pidfile "$WORK/postino.pid")
  sub_run() { # label out: one run on 25 (postino-25) or 587 (postino-587)
    if [[ $1 == postino-587 ]]; then
      "$H/run-relay-bench.sh" --label "$1" --target "127.0.0.1:$PO_SUB" --starttls --auth "sender@bench.test:$SUB_PASS" \
        "${SUB_COMMON[@]}" --json-out "$2" >/dev/null
    else
      "$H/run-relay-bench.sh" --label "$1" --target "127.0.0.1:$PO_PORT" "${SUB_COMMON[@]}" --json-out "$2" >/dev/null
    fi
  }
  if [[ $WARMUP == 1 ]]; then
    say "submission: warm-up of 25 and 587 (discarded)"
    for l in postino-25 postino-587; do sub_run "$l" "$WORK/sub-warmup.jsonl" || echo "warning: the $l warm-up was incomplete"; done
  fi
  say "submission: $ROUNDS interleaved rounds, port 25 plain against 587 STARTTLS + AUTH PLAIN -> $SUB_JSONL"
  : >"$SUB_JSONL"
  SUB_FAILS=0
  for ((r = 0; r < ROUNDS; r++)); do
    for l in $( ((r % 2)) && echo postino-587 postino-25 || echo postino-25 postino-587); do
      echo "--- submission round $((r + 1))/$ROUNDS: $l" >&2
      sub_run "$l" "$SUB_JSONL" || SUB_FAILS=$((SUB_FAILS + 1))
    done
  done
  echo
  python3 "$H/summarize.py" "$SUB_JSONL" --baseline postino-25
  [[ $SUB_FAILS -eq 0 ]] || { echo "submission: $SUB_FAILS run(s) incomplete or failed"; CMP_RC=1; }
fi
echo "postino log : $(grep -c ' ERROR ' "$PO_DATA/logs/postino.log" 2>/dev/null || true) ERROR lines in Postino's log (<data>/logs/postino.log)"
exit "$CMP_RC"
