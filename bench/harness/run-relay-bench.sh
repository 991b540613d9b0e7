#!/usr/bin/env bash
# One benchmark run of an SMTP relay MTA against an smtp-sink on loopback.
#
#   load client --SMTP--> MTA (--target host:port) --SMTP--> smtp-sink (127.0.0.1:--sink-port)
#
# Measures: acceptance throughput (load client wall time), end-to-end throughput (until the
# sink has counted every message), CPU seconds and peak RSS/PSS of the MTA process tree
# (--pid/--pidfile), and single-message submission latency (python client, concurrency 1).
# If --target port == --sink-port, the load goes straight into the sink ("physical limit").
#
# Adapted for Postino's bench/side_by_side.sh from the company harness (shared/bench): --per-conn
# also with smtp-source, per_conn in the JSON line.
#
# Output: one JSON line on stdout (also appended to --json-out), human summary on stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() { cat >&2 <<'U'
usage: run-relay-bench.sh --target HOST:PORT --sink-port PORT [options]
  --count N            messages in the throughput phase (default 5000)
  --concurrency C      parallel SMTP sessions (default 20)
  --size BYTES         body size (default 5120)
  --rcpts R            recipients per message (default 1)
  --auth USER:PASS     AUTH PLAIN (switches the load client to smtp_load.py)
  --starttls           STARTTLS before AUTH/MAIL (switches to smtp_load.py)
  --client NAME        smtp-source (default when possible) | python
  --per-conn N         messages per SMTP session (default 1 = a new connection per message;
                       smtp-source: batches of C x N messages with -d, about N per session)
  --pid PID | --pidfile FILE   root of the MTA process tree for CPU/RSS (optional;
                       in direct-to-sink mode defaults to the sink)
  --label NAME         label in the JSON line (default: the target)
  --latency-count L    messages for the latency phase, concurrency 1 (default 300; 0 = skip)
  --expect-per-msg K   sink messages expected per submitted message (default 1; e.g. >1 if
                       the MTA splits recipients into several transactions)
  --timeout S          bound for each phase in seconds (default 120)
  --json-out FILE      append the JSON line to FILE
U
exit 2; }

TARGET= SINK_PORT= COUNT=5000 CONC=20 SIZE=5120 RCPTS=1 AUTH= STARTTLS=0 CLIENT= PER_CONN=1
ROOT_PID= PIDFILE= LABEL= LAT_N=300 EXPECT_K=1 TIMEOUT=120 JSON_OUT=
FROM=sender@bench.test RCPT=rcpt@dest.test
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET=$2; shift 2;;  --sink-port) SINK_PORT=$2; shift 2;;
    --count) COUNT=$2; shift 2;;    --concurrency) CONC=$2; shift 2;;
    --size) SIZE=$2; shift 2;;      --rcpts) RCPTS=$2; shift 2;;
    --auth) AUTH=$2; shift 2;;      --starttls) STARTTLS=1; shift;;
    --client) CLIENT=$2; shift 2;;  --per-conn) PER_CONN=$2; shift 2;;
    --pid) ROOT_PID=$2; shift 2;;   --pidfile) PIDFILE=$2; shift 2;;
    --label) LABEL=$2; shift 2;;    --latency-count) LAT_N=$2; shift 2;;
    --expect-per-msg) EXPECT_K=$2; shift 2;; --timeout) TIMEOUT=$2; shift 2;;
    --json-out) JSON_OUT=$2; shift 2;; -h|--help) usage;;
    *) echo "unknown option $1" >&2; usage;;
  esac
done
[[ -n $TARGET && -n $SINK_PORT ]] || usage
T_HOST=${TARGET%:*}; T_PORT=${TARGET##*:}
case "$T_HOST" in 127.*|localhost) ;; *) echo "target must be a loopback address" >&2; exit 2;; esac
[[ -z $CLIENT ]] && { [[ -n $AUTH || $STARTTLS == 1 ]] && CLIENT=python || CLIENT=smtp-source; }
if [[ $CLIENT == smtp-source && ( -n $AUTH || $STARTTLS == 1 ) ]]; then
  echo "smtp-source cannot AUTH/STARTTLS; use --client python" >&2; exit 2; fi
LABEL=${LABEL:-$TARGET}
DIRECT=0; [[ $T_PORT == "$SINK_PORT" ]] && DIRECT=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/relay-bench.XXXXXX")
SINK_PID= PROC_PID=
cleanup() {
  [[ -n $PROC_PID ]] && kill -TERM "$PROC_PID" 2>/dev/null || true
  [[ -n $SINK_PID ]] && kill -TERM "$SINK_PID" 2>/dev/null || true
  [[ -n $SINK_PID ]] && wait "$SINK_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
now() { date +%s.%N; }

# --- sink -----------------------------------------------------------------------------
if port_open 127.0.0.1 "$SINK_PORT"; then echo "sink port $SINK_PORT already in use" >&2; exit 1; fi
SINK_USER=(); [[ $EUID -eq 0 ]] && SINK_USER=(-u nobody)
smtp-sink -c "${SINK_USER[@]}" 127.0.0.1:"$SINK_PORT" 1000 >"$TMP/sink.out" 2>"$TMP/sink.err" &
SINK_PID=$!
for _ in $(seq 1 50); do port_open 127.0.0.1 "$SINK_PORT" && break; sleep 0.1; done
port_open 127.0.0.1 "$SINK_PORT" || { echo "sink did not start: $(cat "$TMP/sink.err")" >&2; exit 1; }
if [[ $DIRECT == 0 ]] && ! port_open "$T_HOST" "$T_PORT"; then echo "target $TARGET not reachable" >&2; exit 1; fi

# --- process-tree sampler ---------------------------------------------------------------
[[ -z $ROOT_PID && -n $PIDFILE ]] && ROOT_PID=$(tr -d ' \n' <"$PIDFILE")
[[ -z $ROOT_PID && $DIRECT == 1 ]] && ROOT_PID=$SINK_PID
if [[ -n $ROOT_PID ]]; then
  python3 "$HERE/procstat.py" --pid "$ROOT_PID" --max-seconds $((TIMEOUT * 2 + 30)) --ready "$TMP/proc.ready" >"$TMP/proc.json" &
  PROC_PID=$!
  for _ in $(seq 1 100); do [[ -e $TMP/proc.ready ]] && break; sleep 0.05; done
fi

# --- phase 1: throughput -------------------------------------------------------------------
EXPECT=$((COUNT * EXPECT_K))
# the sink poller runs from before T0 so its start-up cost does not inflate e2e time
python3 "$HERE/sinkwait.py" "$TMP/sink.out" "$EXPECT" $((TIMEOUT * 2)) >"$TMP/wait1.json" &
WAIT_PID=$!
sleep 0.5   # python start-up (pyenv shims are slow); the poller only needs to be running
T0=$(now)
set +e
if [[ $CLIENT == smtp-source ]]; then
  if [[ $PER_CONN -le 1 ]]; then
    timeout "$TIMEOUT" smtp-source -s "$CONC" -m "$COUNT" -l "$SIZE" -r "$RCPTS" \
      -f "$FROM" -t "$RCPT" -M bench-client.localdomain "$T_HOST:$T_PORT" >"$TMP/load.out" 2>&1
    LOAD_RC=$?
  else
    # (postino bench) smtp-source -d keeps each session open for the next message until the
    # batch is used up: batches of CONC x PER_CONN messages give about PER_CONN per connection.
    LEFT=$COUNT LOAD_RC=0 END=$(( $(date +%s) + TIMEOUT ))
    : >"$TMP/load.out"
    while [[ $LEFT -gt 0 ]]; do
      M=$(( LEFT < CONC * PER_CONN ? LEFT : CONC * PER_CONN ))
      S=$(( (M + PER_CONN - 1) / PER_CONN )); [[ $S -gt $CONC ]] && S=$CONC
      REM=$(( END - $(date +%s) )); [[ $REM -gt 0 ]] || { LOAD_RC=124; break; }
      timeout "$REM" smtp-source -d -s "$S" -m "$M" -l "$SIZE" -r "$RCPTS" \
        -f "$FROM" -t "$RCPT" -M bench-client.localdomain "$T_HOST:$T_PORT" >>"$TMP/load.out" 2>&1
      LOAD_RC=$?; [[ $LOAD_RC -eq 0 ]] || break
      LEFT=$(( LEFT - M ))
    done
  fi
else
  PYARGS=(-n "$COUNT" -c "$CONC" -s "$SIZE" -r "$RCPTS" --per-conn "$PER_CONN" --max-seconds "$TIMEOUT")
  [[ -n $AUTH ]] && PYARGS+=(--auth "$AUTH"); [[ $STARTTLS == 1 ]] && PYARGS+=(--starttls)
  timeout $((TIMEOUT + 30)) python3 "$HERE/smtp_load.py" "$T_HOST:$T_PORT" "${PYARGS[@]}" >"$TMP/load.out" 2>&1
  LOAD_RC=$?
fi
T_ACC=$(now)
# bounded: the poller gives up TIMEOUT s after the load finished at the latest
# (its output goes nowhere: a leftover sleep holding the caller's pipe kept a `| tee` open for minutes)
( sleep "$TIMEOUT"; kill -TERM "$WAIT_PID" 2>/dev/null ) >/dev/null 2>&1 </dev/null & GUARD_PID=$!
wait "$WAIT_PID"; pkill -TERM -P "$GUARD_PID" 2>/dev/null; kill -TERM "$GUARD_PID" 2>/dev/null; wait "$GUARD_PID" 2>/dev/null
set -e
if [[ -n $PROC_PID ]]; then kill -TERM "$PROC_PID"; wait "$PROC_PID" || true; PROC_PID=; fi

# --- phase 2: latency (concurrency 1, new session per message) ---------------------------
echo '{}' >"$TMP/lat.json"
if [[ $LAT_N -gt 0 ]]; then
  LARGS=(-n "$LAT_N" -c 1 -s "$SIZE" -r "$RCPTS" --max-seconds "$TIMEOUT")
  [[ -n $AUTH ]] && LARGS+=(--auth "$AUTH"); [[ $STARTTLS == 1 ]] && LARGS+=(--starttls)
  timeout $((TIMEOUT + 30)) python3 "$HERE/smtp_load.py" "$T_HOST:$T_PORT" "${LARGS[@]}" >"$TMP/lat.json" 2>&1 || true
  # let the MTA drain so the next run starts from an empty queue
  python3 "$HERE/sinkwait.py" "$TMP/sink.out" $(( (COUNT + LAT_N) * EXPECT_K )) "$TIMEOUT" >"$TMP/wait2.json" || true
fi

# --- result ---------------------------------------------------------------------------------
export LABEL TARGET SINK_PORT COUNT CONC SIZE RCPTS CLIENT DIRECT T0 T_ACC LOAD_RC EXPECT TMP PER_CONN
export AUTHED=$([[ -n $AUTH ]] && echo 1 || echo 0) STARTTLS
python3 - <<'PY' >"$TMP/result.json"
import json, os, time
e = os.environ
tmp = e["TMP"]
def j(name):
    try:
        with open(os.path.join(tmp, name)) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except Exception:
        return {}
n = int(e["COUNT"]); t0 = float(e["T0"]); tacc = float(e["T_ACC"])
w = j("wait1.json"); p = j("proc.json"); lat = j("lat.json"); load = {}
if e["CLIENT"] == "python":
    load = j("load.out")
acc_s = tacc - t0
e2e_s = (w.get("t_done", tacc) - t0) if w.get("reached") else None
res = {
  "label": e["LABEL"], "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "target": e["TARGET"],
  "sink_port": int(e["SINK_PORT"]), "direct_to_sink": e["DIRECT"] == "1", "client": e["CLIENT"],
  "count": n, "concurrency": int(e["CONC"]), "size": int(e["SIZE"]), "rcpts": int(e["RCPTS"]),
  "per_conn": int(e["PER_CONN"]),
  "auth": e["AUTHED"] == "1", "starttls": e["STARTTLS"] == "1",
  "load_rc": int(e["LOAD_RC"]),
  "accept_s": round(acc_s, 3), "accept_mps": round(n / acc_s, 1),
  "delivered": w.get("count"), "expected": int(e["EXPECT"]), "complete": bool(w.get("reached")),
  "e2e_s": round(e2e_s, 3) if e2e_s else None, "e2e_mps": round(n / e2e_s, 1) if e2e_s else None,
  "cpu_s": p.get("cpu_s"), "cpu_s_per_1k": round(p["cpu_s"] * 1000 / n, 3) if "cpu_s" in p else None,
  "peak_rss_mb": round(p["peak_rss_kb"] / 1024, 1) if "peak_rss_kb" in p else None,
  "peak_pss_mb": round(p["peak_pss_kb"] / 1024, 1) if "peak_pss_kb" in p else None,
  "peak_procs": p.get("peak_procs"),
  "lat_n": lat.get("sent"), "lat_failed": lat.get("failed"),
  "lat_p50_ms": (lat.get("lat_ms") or {}).get("p50"), "lat_p90_ms": (lat.get("lat_ms") or {}).get("p90"),
  "lat_p99_ms": (lat.get("lat_ms") or {}).get("p99"),
}
if load:
    res["load_failed"] = load.get("failed"); res["load_lat_p50_ms"] = load["lat_ms"]["p50"]
    res["load_lat_p99_ms"] = load["lat_ms"]["p99"]
print(json.dumps(res))
PY
cat "$TMP/result.json"
[[ -n $JSON_OUT ]] && cat "$TMP/result.json" >>"$JSON_OUT"
python3 - "$TMP/result.json" >&2 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"== {r['label']}: {r['count']} msgs x {r['rcpts']} rcpt, {r['size']} B, c={r['concurrency']}, {r['per_conn']} msg/conn, client={r['client']}")
print(f"   accept : {r['accept_mps']} msg/s ({r['accept_s']} s, load rc={r['load_rc']})")
print(f"   e2e    : {r['e2e_mps']} msg/s ({r['e2e_s']} s, sink got {r['delivered']}/{r['expected']}{'' if r['complete'] else ' INCOMPLETE'})")
print(f"   latency: p50 {r['lat_p50_ms']} ms, p99 {r['lat_p99_ms']} ms (n={r['lat_n']}, c=1)")
print(f"   MTA    : cpu {r['cpu_s']} s ({r['cpu_s_per_1k']} s/1k msgs), peak RSS {r['peak_rss_mb']} MB, PSS {r['peak_pss_mb']} MB, procs {r['peak_procs']}")
PY
[[ $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["complete"])' "$TMP/result.json") == True ]]
