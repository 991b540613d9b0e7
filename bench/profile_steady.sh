#!/usr/bin/env bash
# A CPU profile of Postino's steady state under the side-by-side workload (issue 13): runs
# bench/side_by_side.sh with the given options, attaches async-profiler (Maven Central's
# tools.profiler:async-profiler:3.0, fetched with mvn into ~/.m2) to Postino's JVM once the warm-up
# rounds are over, stops it when the measured rounds are done, and prints the share of samples by
# component (bench/harness/profile_components.py). CPU samples come from perf events, kernel
# stacks included (as root, or with kernel.perf_event_paranoid <= 1).
#
# Usage: bench/profile_steady.sh OUT.collapsed [side_by_side.sh options]
#   e.g. bench/profile_steady.sh /tmp/steady.collapsed --warmup-rounds 4 --rounds 2
# The profile covers only the measured rounds. The benchmark's own figures are printed as usual
# (the profiler costs some throughput: quote the benchmark figures from runs without it).
set -euo pipefail
OUT=${1:?usage: bench/profile_steady.sh OUT.collapsed [side_by_side.sh options]}; shift
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=3
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[$i]} == --rounds ]] && ROUNDS=${args[$((i + 1))]}; done
JAR=$HOME/.m2/repository/tools/profiler/async-profiler/3.0/async-profiler-3.0.jar
[[ -f $JAR ]] || mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:3.0 >/dev/null
WORK=$(mktemp -d /tmp/postino-profile.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
unzip -q -o "$JAR" 'linux-x64/libasyncProfiler.so' -d "$WORK"
AP=$WORK/linux-x64/libasyncProfiler.so
LOG=$WORK/bench.txt JSONL=$WORK/bench.jsonl
"$BENCH/side_by_side.sh" --log "$LOG" "$@" >"$WORK/bench.out" 2>&1 &
BENCH_PID=$!
# the measured rounds start when the script says so; Postino's PID is in the bench's work directory
for _ in $(seq 1 1200); do grep -q "interleaved rounds ->" "$WORK/bench.out" 2>/dev/null && break; sleep 0.5; done
PIDFILE=$(ls -t /var/tmp/postino-sbs.*/postino.pid 2>/dev/null | head -1)
PID=$(cat "$PIDFILE")
jcmd "$PID" JVMTI.agent_load "$AP" '"start,event=cpu,interval=2ms,threads"' >/dev/null
# each measured round writes two JSON lines (Postfix, Postino)
for _ in $(seq 1 3000); do [[ $(cat "$JSONL" 2>/dev/null | wc -l) -ge $((2 * ROUNDS)) ]] && break; sleep 0.2; done
jcmd "$PID" JVMTI.agent_load "$AP" "\"stop,file=$OUT,collapsed\"" >/dev/null
wait "$BENCH_PID" || echo "warning: the benchmark ended with status $?"
grep -E "^\| (label|postfix|postino)" "$WORK/bench.out" | tail -3
python3 "$BENCH/harness/profile_components.py" "$OUT"
