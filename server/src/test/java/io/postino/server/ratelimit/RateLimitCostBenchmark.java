package io.postino.server.ratelimit;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;


import io.lettuce.core.RedisURI;
import io.postino.organisations.Limit;
import io.postino.server.metrics.PostinoMetrics;

/**
 * What the rate limits cost per message, isolated from the rest of the server: the SMTP hook's
 * work for a one-recipient message (check messages, check recipients, charge both) with the limits
 * of bench/relay_benchmark.py --limits, on the counters in memory and in Redis (127.0.0.1:6379).
 * Prints CPU microseconds per message (this process, plus Redis' own CPU for Redis) and wall
 * microseconds per message, for 1 and 20 threads. Not a test: run bench/ratelimit_cost.sh.
 */
public final class RateLimitCostBenchmark {
    private static final int MESSAGES_PER_THREAD = 20_000;

    private RateLimitCostBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        for (String storeName : new String[]{"memory", "redis"}) {
            for (int threads : new int[]{1, 20}) {
                CounterStore store = storeName.equals("memory") ? new MemoryCounters()
                    : new RedisCounters(RedisURI.create("redis://127.0.0.1:6379"), Duration.ofMillis(500));
                RateLimiter limiter = new RateLimiter(store, RateLimitSettings.DEFAULTS, new PostinoMetrics());
                String run = UUID.randomUUID().toString().substring(0, 8);
                List<RateLimiter.Subject> subjects = List.of(
                    new RateLimiter.Subject(Limit.Scope.CLIENT, "127.0.0.1-" + run, List.of(
                        new Limit(Limit.Scope.CLIENT, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 1_000_000),
                        new Limit(Limit.Scope.CLIENT, Limit.Period.MINUTE, Limit.Unit.RECIPIENTS, 1_000_000),
                        new Limit(Limit.Scope.CLIENT, Limit.Period.DAY, Limit.Unit.MESSAGES, 100_000_000))),
                    new RateLimiter.Subject(Limit.Scope.ORGANISATION, "acme-" + run, List.of(
                        new Limit(Limit.Scope.ORGANISATION, Limit.Period.HOUR, Limit.Unit.MESSAGES, 100_000_000),
                        new Limit(Limit.Scope.ORGANISATION, Limit.Period.HOUR, Limit.Unit.RECIPIENTS, 100_000_000),
                        new Limit(Limit.Scope.ORGANISATION, Limit.Period.QUOTA_DAY, Limit.Unit.RECIPIENTS, 1_000_000_000))));
                runOnce(limiter, subjects, 2_000, threads);
                long cpuBefore = processCpuNanos() + redisCpuNanos(storeName);
                long start = System.nanoTime();
                runOnce(limiter, subjects, MESSAGES_PER_THREAD, threads);
                long wall = System.nanoTime() - start;
                long cpu = processCpuNanos() + redisCpuNanos(storeName) - cpuBefore;
                long messages = (long) MESSAGES_PER_THREAD * threads;
                System.out.printf("%-6s %2d threads: %7.1f us CPU per message, %7.1f us wall per message (%d messages)%n",
                    storeName, threads, cpu / 1000.0 / messages, wall / 1000.0 / messages, messages);
                if (store instanceof RedisCounters) {
                    ((RedisCounters) store).close();
                }
            }
        }
    }

    private static void runOnce(RateLimiter limiter, List<RateLimiter.Subject> subjects, int messages, int threads) throws InterruptedException {
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                for (int i = 0; i < messages; i++) {
                    limiter.check(subjects, Limit.Unit.MESSAGES, 1);
                    limiter.check(subjects, Limit.Unit.RECIPIENTS, 1);
                    limiter.charge(subjects, Limit.Unit.MESSAGES, 1);
                    limiter.charge(subjects, Limit.Unit.RECIPIENTS, 1);
                }
            });
            worker.start();
            workers.add(worker);
        }
        for (Thread worker : workers) {
            worker.join();
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long redisCpuNanos(String store) throws Exception {
        if (!store.equals("redis")) {
            return 0;
        }
        Process pgrep = new ProcessBuilder("pgrep", "-x", "redis-server").start();
        String pid = new String(pgrep.getInputStream().readAllBytes()).trim().split("\\s+")[0];
        String stat = Files.readString(Path.of("/proc", pid, "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        return ticks * 10_000_000L;
    }
}
