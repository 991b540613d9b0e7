#!/usr/bin/env python3
"""Queue isolation benchmark: while organisation A submits a burst of messages as fast as it can
(--sessions concurrent SMTP sessions from 127.0.0.2, its trusted network), organisation B sends
one message every --probe-interval seconds from 127.0.0.3. Prints B's delivery latency (from the
250 after its DATA to its arrival at the loopback sink: p50, p99, max) during A's burst, and A's
acceptance and delivery throughput. Both relay to the same sink (POSTINO_SMARTHOST).

Usage: bench/isolation_benchmark.py [--burst 20000] [--sessions 20] [--probe-interval 0.5]
                                    [--same-destination] [--runs 1]
Build first (mvn -B -q install -DskipTests). Everything listens on 127.0.0.1 only.
"""
import argparse, os, smtplib, statistics, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay_benchmark import (ROOT, Dns, Sink, copy_installation, cpu_seconds, free_port, server_environment,  # noqa: E402
                             start_server, stop_server)

ORGANISATIONS = """<organisations>
  <organisation id="a" name="A"><domain>a.test</domain><trustedNetwork>127.0.0.2</trustedNetwork></organisation>
  <organisation id="b" name="B"><domain>b.test</domain><trustedNetwork>127.0.0.3</trustedNetwork></organisation>
</organisations>
"""


def installation_in(distribution, data, extra):
    installation = copy_installation(distribution, data)
    with open(os.path.join(installation, "conf/organisations.xml"), "w") as f:
        f.write(ORGANISATIONS.replace("</organisations>", extra + "</organisations>"))
    return installation


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * fraction)) - 1))]


def run_once(args):
    sink, dns = Sink(), Dns()
    data = tempfile.mkdtemp(prefix="postino-isolation-")
    ports = {k: free_port() for k in ("SMTP", "SUBMISSION", "SMTPS", "WEBADMIN")}
    env = server_environment(data, sink, dns, ports, args.java_opts)
    installation = installation_in(args.distribution, data, args.extra_organisations_xml)
    server = start_server(installation, env, data)
    try:
        body = ("x" * 76 + "\r\n") * max(1, args.size // 78)
        lock, next_id, burst_done = threading.Lock(), [0], threading.Event()
        probe_domain = "example.com" if args.same_destination else "example.org"

        def burst_session():
            client = smtplib.SMTP("127.0.0.1", ports["SMTP"], timeout=300, source_address=("127.0.0.2", 0))
            client.ehlo("a.client")
            while True:
                with lock:
                    if next_id[0] >= args.burst:
                        break
                    next_id[0] += 1
                    n = next_id[0]
                client.sendmail("app@a.test", [f"rcpt{n}@example.com"],
                                f"From: app@a.test\r\nTo: rcpt{n}@example.com\r\nSubject: burst {n}\r\n\r\n{body}")
            client.quit()

        sent = {}

        def probes():
            n = 0
            while not burst_done.is_set() and n < 100_000:
                n += 1
                probe = f"b-{n}"
                client = smtplib.SMTP("127.0.0.1", ports["SMTP"], timeout=300, source_address=("127.0.0.3", 0))
                client.ehlo("b.client")
                client.sendmail("app@b.test", [f"probe{n}@{probe_domain}"],
                                f"From: app@b.test\r\nTo: probe{n}@{probe_domain}\r\nX-Probe: {probe}\r\nSubject: probe {n}\r\n\r\nhello\r\n")
                sent[probe] = time.perf_counter()
                client.quit()
                burst_done.wait(args.probe_interval)

        cpu_before = cpu_seconds(server.pid)
        start = time.perf_counter()
        prober = threading.Thread(target=probes)
        prober.start()
        threads = [threading.Thread(target=burst_session) for _ in range(args.sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        accepted_s = time.perf_counter() - start
        burst_done.set()
        prober.join()
        deadline = time.time() + 1800
        while sink.count < args.burst + len(sent) and time.time() < deadline:
            time.sleep(0.1)
        delivered_s = time.perf_counter() - start
        latencies = [sink.arrivals[p] - sent[p] for p in sent if p in sink.arrivals]
        lost = len(sent) - len(latencies)
        return dict(accepted=args.burst / accepted_s, delivered=args.burst / delivered_s, probes=len(sent), lost=lost,
                    p50=percentile(latencies, 0.5), p99=percentile(latencies, 0.99), max=max(latencies),
                    cpu_ms=(cpu_seconds(server.pid) - cpu_before) * 1000 / (args.burst + len(sent)))
    finally:
        stop_server(server, data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=5120, help="body size of A's messages in bytes")
    parser.add_argument("--probe-interval", type=float, default=0.5)
    parser.add_argument("--same-destination", action="store_true", help="B sends to A's destination domain too")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--java-opts", default="-Xms64m -Xmx1g -XX:+UseSerialGC")
    parser.add_argument("--extra-organisations-xml", default="", help=argparse.SUPPRESS)
    parser.add_argument("--distribution", default=os.path.join(ROOT, "distribution/target/postino-0.1.0-SNAPSHOT/postino-0.1.0-SNAPSHOT"))
    args = parser.parse_args()
    results = []
    for run in range(1, args.runs + 1):
        r = run_once(args)
        results.append(r)
        print(f"run {run}: A accepted {r['accepted']:.1f} msg/s, delivered {r['delivered']:.1f} msg/s; "
              f"B {r['probes']} probes ({r['lost']} not delivered): p50 {r['p50']:.2f} s, p99 {r['p99']:.2f} s, "
              f"max {r['max']:.2f} s; CPU {r['cpu_ms']:.2f} ms/msg", flush=True)
    if args.runs > 1:
        med = {k: statistics.median(r[k] for r in results) for k in ("accepted", "delivered", "p50", "p99", "max")}
        print(f"median of {args.runs}: A accepted {med['accepted']:.1f} msg/s, delivered {med['delivered']:.1f} msg/s; "
              f"B p50 {med['p50']:.2f} s, p99 {med['p99']:.2f} s, max {med['max']:.2f} s")


if __name__ == "__main__":
    main()
