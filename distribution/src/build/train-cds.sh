#!/usr/bin/env bash
# Makes lib/postino.jsa, the class-data archive bin/postino hands the JVM, by one training run of
# the assembled installation: start it on free loopback ports with a throw-away data directory,
# wait for "Postino started", hold one SMTP conversation on the relay port, stop it with SIGTERM;
# the JVM writes the classes it loaded (-XX:ArchiveClassesAtExit) as it exits.
#
# Usage: train-cds.sh INSTALLATION WORK_DIRECTORY [SKIP]
#   SKIP "true" (Maven's -Dpostino.cds.skip=true): only remove an archive of an earlier build.
#
# The archive only makes start-up faster: whatever goes wrong, this warns, leaves no archive and
# exits 0 so that the build goes on and the installation starts the ordinary way.
set -uo pipefail

readonly START_TIMEOUT=120 STOP_TIMEOUT=120 SMTP_TIMEOUT=30

say() { echo "postino-cds: $*"; }

# Absolute: bin/postino runs in the installation directory.
if ! installation="$(cd "$1" && pwd)" || ! work="$(mkdir -p "$2" && cd "$2" && pwd)"; then
    say "WARNING: no installation at $1 or no work directory $2: no lib/postino.jsa"
    exit 0
fi
archive="$installation/lib/postino.jsa"
log="$work/training.log"
# A JVM that crashes writes its report here, not into the installation it ran in.
crash_report="-XX:ErrorFile=$work/hs_err_pid%p.log"
pid=""

cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$work/data"
}
trap cleanup EXIT

give_up() {
    rm -f "$archive" "$work/postino.jsa"
    say "WARNING: $*; the installation has no lib/postino.jsa and starts without it (see $log)"
    exit 0
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Five distinct ports nothing listens on: the four listeners and a smarthost that is not there,
# so that no mail could leave. Another process may take one before Postino binds it: Postino
# then exits at once and the run is tried again.
pick_ports() {
    ports=()
    while ((${#ports[@]} < 6)); do
        local port=$((20000 + RANDOM % 40000))
        if [[ " ${ports[*]} " != *" $port "* ]] && ! listening "$port"; then
            ports+=("$port")
        fi
    done
}

# One reply, as many lines as it has: its last has a space after the code.
read_reply() {
    local line
    while IFS= read -r -t "$SMTP_TIMEOUT" line <&3; do
        printf 'S: %s\n' "$line" >>"$log"
        [[ "$line" =~ ^[0-9]{3}\  ]] && return 0
    done
    return 1
}

# Greeting, EHLO, MAIL, RCPT, DATA, RSET, NOOP and QUIT on the relay port: the SMTP session
# classes. Without an organisation in conf/ the sender is refused, the path of most strangers.
converse() {
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    local command status=0
    read_reply || status=1
    for command in "EHLO cds-training.invalid" "MAIL FROM:<training@cds-training.invalid>" \
        "RCPT TO:<postmaster@cds-training.invalid>" "DATA" "RSET" "NOOP" "QUIT"; do
        ((status == 0)) || break
        printf 'C: %s\n' "$command" >>"$log"
        printf '%s\r\n' "$command" >&3 && read_reply || status=1
    done
    exec 3>&-
    return "$status"
}

rm -f "$archive"
if [[ "${3:-false}" == true ]]; then
    say "skipped (postino.cds.skip): the installation has no lib/postino.jsa"
    exit 0
fi
rm -rf "$work/data" "$work/postino.jsa" "$work"/hs_err_pid*.log
: >"$log"

started_at=$SECONDS
for attempt in 1 2 3; do
    pick_ports
    rm -rf "$work/data"
    offset=$(wc -c <"$log")
    JAVA_OPTS="-Xms64m -Xmx1g -XX:+UseSerialGC -XX:ArchiveClassesAtExit=$work/postino.jsa $crash_report" \
        POSTINO_DATA_DIR="$work/data" POSTINO_BIND=127.0.0.1 \
        POSTINO_SMTP_PORT="${ports[0]}" POSTINO_SUBMISSION_PORT="${ports[1]}" \
        POSTINO_SMTPS_PORT="${ports[2]}" POSTINO_WEBADMIN_PORT="${ports[3]}" \
        POSTINO_SMARTHOST="127.0.0.1:${ports[4]}" POSTINO_AUTOCONFIG_PORT="${ports[5]}" POSTINO_HOSTNAME=cds-training.invalid \
        "$installation/bin/postino" </dev/null >>"$log" 2>&1 &
    pid=$!
    started=no
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        if tail -c +"$((offset + 1))" "$log" | grep -q "Postino started"; then
            started=yes
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    [[ "$started" == yes ]] && break
    if kill -0 "$pid" 2>/dev/null; then
        give_up "the training run did not start within ${START_TIMEOUT}s"
    fi
    wait "$pid"
    say "the training run exited with status $? (attempt $attempt of 3)"
    pid=""
done
[[ "$started" == yes ]] || give_up "the training run did not start in 3 attempts"
say "training run started in $((SECONDS - started_at))s"

converse "${ports[0]}" || say "WARNING: the SMTP conversation failed; the archive lacks the SMTP session classes"

kill -TERM "$pid"
for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
    give_up "the training run did not stop within ${STOP_TIMEOUT}s of SIGTERM"
fi
wait "$pid"
pid=""
[[ -s "$work/postino.jsa" ]] || give_up "the JVM wrote no archive"

# A truncated or otherwise broken archive can crash the JVM that maps it: check it here, with
# -Xshare:on (refuse to start without it) through the launcher, so that the class path is the
# one every start uses.
mv -f "$work/postino.jsa" "$archive" || give_up "cannot move the archive to $archive"
if ! JAVA_OPTS="-Xshare:on $crash_report" "$installation/bin/postino" --help >>"$log" 2>&1; then
    give_up "the JVM refuses the archive it wrote"
fi
say "lib/postino.jsa: $(($(wc -c <"$archive") / 1048576)) MiB, made in $((SECONDS - started_at))s"
