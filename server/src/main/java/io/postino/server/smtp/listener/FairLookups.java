package io.postino.server.smtp.listener;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pool where SMTP commands wait for stores and DNS ({@link SmtpConnection#answerAsync}),
 * shared fairly between client networks: one network (an IPv4 /24, an IPv6 /48) runs at most
 * {@link #PER_NETWORK} lookups at once, and its further lookups wait in a line of its own. So
 * clients that send to domains whose DNS never answers (or a trusted application sending
 * thousands of recipients to such domains) slow down only themselves: every other network still
 * finds most of the pool's threads free.
 *
 * <p>Bounded: {@link #THREADS} threads, and beyond {@link #MAX_WAITING} lookups waiting in all a
 * new one is refused ({@link RejectedExecutionException}; the client gets {@code 451 4.3.2}).</p>
 */
final class FairLookups {
    static final int THREADS = 64;
    static final int PER_NETWORK = 16;
    static final int MAX_WAITING = 10_000;

    /** The lookups of one network: how many run, and those waiting for one of them to end. */
    private static final class Lane {
        int running;
        final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
    }

    private final ThreadPoolExecutor pool;
    private final int perNetwork;
    private final int maxWaiting;
    private final Map<String, Lane> lanes = new HashMap<>();
    private int waiting;

    FairLookups(int threads, int perNetwork, int maxWaiting) {
        AtomicInteger count = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), runnable -> {
            Thread thread = new Thread(runnable, "postino-smtp-lookups-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.pool.allowCoreThreadTimeOut(true);
        this.perNetwork = perNetwork;
        this.maxWaiting = maxWaiting;
    }

    /** Runs {@code lookup} for a client of {@code network} now, or once the network's earlier lookups let it. */
    void execute(String network, Runnable lookup) {
        Lane lane;
        synchronized (this) {
            lane = lanes.computeIfAbsent(network, any -> new Lane());
            if (lane.running < perNetwork) {
                lane.running++;
            } else if (waiting < maxWaiting) {
                lane.waiting.add(lookup);
                waiting++;
                return;
            } else {
                throw new RejectedExecutionException("too many lookups waiting");
            }
        }
        run(network, lane, lookup);
    }

    private void run(String network, Lane lane, Runnable lookup) {
        pool.execute(() -> {
            try {
                lookup.run();
            } finally {
                Runnable next;
                synchronized (this) {
                    next = lane.waiting.poll();
                    if (next == null) {
                        lane.running--;
                        if (lane.running == 0) {
                            lanes.remove(network);
                        }
                    } else {
                        waiting--;
                    }
                }
                if (next != null) {
                    run(network, lane, next);
                }
            }
        });
    }

    /** Lookups running or waiting for {@code network}, for tests. */
    synchronized int pending(String network) {
        Lane lane = lanes.get(network);
        return lane == null ? 0 : lane.running + lane.waiting.size();
    }
}
