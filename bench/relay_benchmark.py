#!/usr/bin/env python3
"""Relay throughput benchmark: starts the packaged Postino relaying to a fast loopback sink,
sends N messages over C concurrent SMTP sessions from 127.0.0.1 (an authorised network, sender
app@acme.test of organisation acme), and prints accepted msg/s, delivered msg/s, p50/p99
submission latency, the server's peak RSS and its CPU time per message (plus Redis' with
--limits redis). Each run uses a private copy of the installation.

Usage: bench/relay_benchmark.py [--messages 5000] [--sessions 20] [--size 5120] [--runs 3]
                                [--limits none|memory|redis] [--events off|tracking|webhook]
                                [--no-identity-checks]
Build first (mvn -B -q install -DskipTests). Everything listens on 127.0.0.1 only.
"""
import argparse, asyncio, os, re, shutil, urllib.request, signal, smtplib, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dns:
    """A DNS server on loopback for the server's recipient checks: every name has an A record
    (127.0.0.1) and no MX, so every recipient domain is deliverable (through the sink)."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.queries = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                query, client = self.socket.recvfrom(4096)
            except OSError:
                return
            self.queries += 1
            end = 12
            while query[end] != 0:
                end += query[end] + 1
            question = query[12:end + 5]
            qtype = int.from_bytes(query[end + 1:end + 3], "big")
            answers = 1 if qtype == 1 else 0
            header = query[:2] + b"\x85\x80" + b"\x00\x01" + answers.to_bytes(2, "big") + b"\x00\x00\x00\x00"
            answer = b"\xc0\x0c\x00\x01\x00\x01" + (3600).to_bytes(4, "big") + b"\x00\x04" + bytes([127, 0, 0, 1]) if answers else b""
            self.socket.sendto(header + question + answer, client)


class Sink:
    """Minimal SMTP sink on 127.0.0.1 that counts messages (CRLF.CRLF terminated)."""

    def __init__(self):
        self.port = free_port()
        self.count = 0
        # X-Probe header value -> when its message arrived (time.perf_counter()), for latency probes
        self.arrivals = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    async def _session(self, reader, writer):
        writer.write(b"220 sink\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line[:4].upper()
                if cmd == b"EHLO":
                    writer.write(b"250-sink\r\n250 PIPELINING\r\n")
                elif cmd == b"DATA":
                    writer.write(b"354 go\r\n")
                    await writer.drain()
                    probe = None
                    while True:
                        data = await reader.readline()
                        if data in (b".\r\n", b""):
                            break
                        if data.startswith(b"X-Probe: "):
                            probe = data[9:].strip().decode()
                    if probe:
                        self.arrivals[probe] = time.perf_counter()
                    self.count += 1
                    writer.write(b"250 ok\r\n")
                elif cmd == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        finally:
            writer.close()


def cpu_seconds(pid):
    """User + system CPU time a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def redis_pid():
    try:
        out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else None
    except OSError:
        return None


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return float("nan")


ORGANISATION = """  <organisation id="acme"><domain>acme.test</domain></organisation>
"""
# Limits that are checked on every message but never reached: what checking costs.
LIMITS = """  <limits>
    <client per="minute" messages="1000000" recipients="1000000"/>
    <client per="day" messages="100000000"/>
    <organisation per="hour" messages="100000000" recipients="100000000"/>
    <quota recipients="1000000000"/>
  </limits>
  <destinations><destination domain="*" connections="1000"/></destinations>
"""


def strip(installation, handlers, mailet_class):
    """Removes SMTP handlers and every mailet of one class from a private installation's conf."""
    path = os.path.join(installation, "conf/smtpserver.xml")
    text = open(path).read()
    for handler in handlers:
        text = text.replace(f'<handler class="{handler}"/>', "")
    open(path, "w").write(text)
    path = os.path.join(installation, "conf/mailetcontainer.xml")
    text = open(path).read()
    pattern = re.compile(r'<mailet match="(?:[^"]*' + re.escape(mailet_class) + r'[^"]*)" class="[^"]*"\s*(/>|>.*?</mailet>)'
                         r'|<mailet match="[^"]*" class="' + re.escape(mailet_class) + r'"\s*(/>|>.*?</mailet>)', re.S)
    text = pattern.sub("", text)
    open(path, "w").write(text)


def without_identity_checks(installation):
    """Baseline for measuring what the organisation checks cost: the hooks and the mailet removed."""
    strip(installation, ("io.postino.server.smtp.EnforceSenderIdentity", "io.postino.server.smtp.EnforceVisibleSender",
                         "io.postino.server.smtp.StampOrganisation"), "io.postino.mailets.RejectUnauthorisedSender")


def without_recipient_checks(installation):
    """Baseline: no RCPT verification (DNS, suppression list, callouts) and no suppression matcher."""
    strip(installation, ("io.postino.server.smtp.VerifyRecipients",), "io.postino.matchers.IsSuppressedRecipient")


def without_events(installation):
    """Baseline: no event is recorded (no tracking, no sink)."""
    strip(installation, ("io.postino.server.smtp.RecordSmtpEvents",), "io.postino.mailets.RecordEvent")


class Receiver:
    """A webhook receiver on loopback that answers 200 to every POST and counts them."""

    def __init__(self):
        import http.server
        receiver = self
        self.count = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def copy_installation(distribution, data):
    """A private copy of the installation under data (lib/ linked), its conf/ free to edit."""
    installation = os.path.join(data, "installation")
    os.makedirs(installation)
    os.symlink(os.path.join(distribution, "lib"), os.path.join(installation, "lib"))
    for directory in ("bin", "conf", "extensions-jars"):
        shutil.copytree(os.path.join(distribution, directory), os.path.join(installation, directory))
    return installation


def server_environment(data, sink, dns, ports, java_opts):
    """What bin/postino reads: loopback only, relaying to the sink, asking the bench's DNS server."""
    return dict(os.environ, POSTINO_BIND="127.0.0.1", POSTINO_DATA_DIR=data, POSTINO_SMARTHOST=f"127.0.0.1:{sink.port}",
                POSTINO_HOSTNAME="bench.test", JAVA_OPTS=java_opts, POSTINO_DNS_SERVERS=f"127.0.0.1:{dns.port}",
                **{f"POSTINO_{k}_PORT": str(v) for k, v in ports.items()})


def start_server(installation, env, data):
    """Starts bin/postino and waits (at most 120 s) until it says it started."""
    log = open(os.path.join(data, "console.log"), "w")
    server = subprocess.Popen(["bash", os.path.join(installation, "bin/postino")], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while "Postino started" not in open(log.name).read():
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            sys.exit("postino did not start: see " + log.name)
        time.sleep(0.2)
    return server


def stop_server(server, data):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(data, ignore_errors=True)


def private_installation(distribution, data, limits):
    """A copy of the installation whose organisations.xml owns acme.test, the sender domain;
    limits: none (no limits, no pacing), memory or redis (LIMITS, counters there)."""
    installation = copy_installation(distribution, data)
    with open(os.path.join(installation, "conf/organisations.xml"), "w") as f:
        f.write("<organisations>\n" + (LIMITS if limits != "none" else "") + ORGANISATION + "</organisations>\n")
    with open(os.path.join(installation, "conf/ratelimits.properties"), "w") as f:
        f.write("store=redis\nredis.uri=redis://127.0.0.1:6379\n" if limits == "redis" else "store=memory\n")
    return installation


def run_once(args, distribution):
    sink = Sink()
    dns = Dns()
    data = tempfile.mkdtemp(prefix="postino-bench-")
    ports = {k: free_port() for k in ("SMTP", "SUBMISSION", "SMTPS", "WEBADMIN")}
    env = server_environment(data, sink, dns, ports, args.java_opts)
    installation = private_installation(distribution, data, args.limits)
    receiver = None
    if args.events == "off":
        without_events(installation)
    elif args.events == "webhook":
        receiver = Receiver()
        with open(os.path.join(installation, "conf/eventsinks.xml"), "w") as f:
            f.write(f'<eventSinks><webhook name="bench" url="http://127.0.0.1:{receiver.port}/hook" '
                    f'secret="bench-secret-0123456789"/></eventSinks>\n')
    if args.no_identity_checks:
        without_identity_checks(installation)
    if args.no_recipient_checks:
        without_recipient_checks(installation)
    server = start_server(installation, env, data)
    try:
        if args.dkim:
            # a 2048-bit RSA key for the From: domain: every message is signed
            token = open(os.path.join(data, "webadmin", "operator.token")).read().strip()
            headers = {"Authorization": f"Bearer {token}"}
            request = urllib.request.Request(f"http://127.0.0.1:{ports['WEBADMIN']}/dkim/domains/acme.test/keys?selector=bench",
                                             method="POST", headers=headers)
            urllib.request.urlopen(request, timeout=60).read()
            activate = urllib.request.Request(f"http://127.0.0.1:{ports['WEBADMIN']}/dkim/domains/acme.test/keys/bench/activate",
                                              method="POST", headers=headers)
            urllib.request.urlopen(activate, timeout=60).read()
        body = ("x" * 76 + "\r\n") * max(1, args.size // 78)
        latencies, lock, next_id = [], threading.Lock(), [0]

        def session():
            client = smtplib.SMTP("127.0.0.1", ports["SMTP"], timeout=120)
            client.ehlo("bench.client")
            while True:
                with lock:
                    if next_id[0] >= args.messages:
                        break
                    next_id[0] += 1
                    n = next_id[0]
                msg = f"From: app@acme.test\r\nTo: rcpt{n}@example.com\r\nSubject: bench {n}\r\n\r\n{body}"
                start = time.perf_counter()
                client.sendmail("app@acme.test", [f"rcpt{n}@example.com"], msg)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
            client.quit()

        redis = redis_pid() if args.limits == "redis" else None
        cpu_before = cpu_seconds(server.pid)
        redis_before = cpu_seconds(redis) if redis else 0.0
        start = time.perf_counter()
        threads = [threading.Thread(target=session) for _ in range(args.sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        accepted_s = time.perf_counter() - start
        deadline = time.time() + 600
        while sink.count < args.messages and time.time() < deadline:
            time.sleep(0.05)
        delivered_s = time.perf_counter() - start
        # CPU per message: steadier than throughput on a shared machine, and what limits throughput
        # when the server is CPU-bound. Redis' own CPU is counted when the counters are there.
        server_cpu = cpu_seconds(server.pid) - cpu_before + ((cpu_seconds(redis) - redis_before) if redis else 0.0)
        latencies.sort()
        result = dict(accepted=args.messages / accepted_s, delivered=sink.count / delivered_s, delivered_count=sink.count,
                      p50=latencies[len(latencies) // 2] * 1000, p99=latencies[int(len(latencies) * 0.99) - 1] * 1000,
                      rss=peak_rss_mib(server.pid), cpu_ms=server_cpu * 1000 / args.messages)
        return result
    finally:
        stop_server(server, data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=5120, help="body size in bytes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--java-opts", default="-Xms64m -Xmx1g -XX:+UseSerialGC")
    parser.add_argument("--limits", choices=("none", "memory", "redis"), default="none",
                        help="rate limits checked on every message (never reached) with counters in memory or Redis")
    parser.add_argument("--events", choices=("off", "tracking", "webhook"), default="tracking",
                        help="off: no events recorded; tracking: the shipped index; webhook: tracking plus a signed webhook of every event")
    parser.add_argument("--no-identity-checks", action="store_true",
                        help="baseline: run without the organisation hooks and mailet, to measure their cost")
    parser.add_argument("--dkim", action="store_true", help="sign every message (an active 2048-bit RSA key for acme.test)")
    parser.add_argument("--no-recipient-checks", action="store_true",
                        help="baseline: run without RCPT verification (DNS, suppression lists) to measure its cost")
    parser.add_argument("--distribution", default=os.path.join(ROOT, "distribution/target/postino-0.1.0-SNAPSHOT/postino-0.1.0-SNAPSHOT"))
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.distribution, "bin/postino")):
        sys.exit("no distribution: run mvn -B -q install -DskipTests first")
    results = []
    for run in range(1, args.runs + 1):
        r = run_once(args, args.distribution)
        results.append(r)
        print(f"run {run}: accepted {r['accepted']:.1f} msg/s, delivered {r['delivered']:.1f} msg/s "
              f"({r['delivered_count']}/{args.messages}), submission p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms, "
              f"peak RSS {r['rss']:.0f} MiB, CPU {r['cpu_ms']:.2f} ms/msg", flush=True)
    med = {k: statistics.median(r[k] for r in results) for k in ("accepted", "delivered", "p50", "p99", "rss", "cpu_ms")}
    print(f"median of {args.runs}: accepted {med['accepted']:.1f} msg/s, delivered {med['delivered']:.1f} msg/s, "
          f"p50 {med['p50']:.1f} ms, p99 {med['p99']:.1f} ms, peak RSS {med['rss']:.0f} MiB, CPU {med['cpu_ms']:.2f} ms/msg "
          f"({args.messages} messages, {args.sessions} sessions, {args.size} B bodies)")


if __name__ == "__main__":
    main()
