#!/usr/bin/env bash
# usage: restart-ab.sh HOME DATA LABEL : start Postino HOME on DATA, time to first 220, live heap after full GC, stop.
set -u
HOME_DIR=$1 DATA=$2 LABEL=$3
read -r SMTP SUB SMTPS WA SINK < <(python3 -c '
import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s.%N)
env POSTINO_BIND=127.0.0.1 POSTINO_SMTP_PORT=$SMTP POSTINO_SUBMISSION_PORT=$SUB POSTINO_SMTPS_PORT=$SMTPS \
  POSTINO_WEBADMIN_PORT=$WA POSTINO_DATA_DIR=$DATA POSTINO_SMARTHOST=127.0.0.1:$SINK POSTINO_HOSTNAME=postino.bench \
  JAVA_OPTS="${POSTINO_JAVA_OPTS:--Xms256m -Xmx1g}" setsid "$HOME_DIR/bin/postino" >/tmp/wt-a-ab-$LABEL.log 2>&1 </dev/null &
PID=$!
B=$(python3 - $SMTP $PID $T0 <<'PY'
import socket, sys, time, os
port, pid, t0 = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
while time.time() - t0 < 180:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(10); g = s.recv(512); t = time.time()
            if g.startswith(b"220"):
                s.sendall(b"QUIT\r\n"); print("%.2f" % (t - t0)); sys.exit(0)
    except OSError:
        pass
    try: os.kill(pid, 0)
    except OSError: break
    time.sleep(0.05)
print("-")
PY
)
sleep 5
JCMD=$(dirname "$(readlink -f "$(command -v java)")")/jcmd
"$JCMD" $PID GC.run >/dev/null 2>&1; sleep 1
HEAP=$("$JCMD" $PID GC.heap_info 2>/dev/null | sed -n 's/.*heap.*total [0-9]*K, used \([0-9]*\)K.*/\1/p' | head -1)
HIST=$("$JCMD" $PID GC.class_histogram 2>/dev/null | head -12)
SPOOL=$(grep -ho 'Spool at [^:]*: [0-9]* mails in [0-9]* queues' /tmp/wt-a-ab-$LABEL.log "$DATA/logs/postino.log" 2>/dev/null | tail -1)
kill -TERM $PID; for i in $(seq 1 120); do kill -0 $PID 2>/dev/null || break; sleep 0.5; done
echo "$LABEL: first 220 after $B s; live heap after full GC $((HEAP/1024)) MiB; load before start $LOAD; $SPOOL"
echo "$HIST"
