package io.postino.it;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SMTP sessions in parallel, each sending numbered messages one after another on its connection
 * until stopped or {@code limit} messages have been tried; a session whose connection fails (the
 * server was killed) connects again. It remembers each number that got 250 after DATA: the
 * messages Postino has promised to deliver.
 */
final class SmtpLoad implements AutoCloseable {
    private static final Duration LONGEST = Duration.ofMinutes(5);
    private static final String PADDING = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n".repeat(20);

    private final String run;
    private final int port;
    private final int limit;
    private final Map<Integer, Instant> acknowledged = new ConcurrentHashMap<>();
    private final AtomicInteger attempted = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final List<Thread> sessions = new ArrayList<>();
    private volatile boolean stopped;

    private SmtpLoad(String run, int port, int limit) {
        this.run = run;
        this.port = port;
        this.limit = limit;
    }

    static SmtpLoad start(String run, int port, int sessions, int limit) {
        SmtpLoad load = new SmtpLoad(run, port, limit);
        for (int i = 0; i < sessions; i++) {
            Thread session = new Thread(load::session, "smtp-load-" + i);
            session.setDaemon(true);
            load.sessions.add(session);
            session.start();
        }
        return load;
    }

    private void session() {
        Instant deadline = Instant.now().plus(LONGEST);
        SmtpClient client = null;
        while (!stopped && Instant.now().isBefore(deadline)) {
            try {
                if (client == null) {
                    client = SmtpClient.connect("127.0.0.1", port);
                    client.greetingAndEhlo();
                }
                int number = attempted.incrementAndGet();
                if (number > limit) {
                    attempted.decrementAndGet();
                    break;
                }
                SmtpClient.Reply reply = client.send("app@acme.test", List.of("user" + (number % 50) + "@example.com"), content(number));
                if (reply.code() == 250) {
                    acknowledged.put(number, Instant.now());
                } else {
                    refused.incrementAndGet();
                }
            } catch (IOException e) {
                // Killed or refused mid-transaction: no 250, so nothing was promised. Connect again.
                if (client != null) {
                    client.close();
                    client = null;
                }
                pause(100);
            }
        }
        if (client != null) {
            client.close();
        }
    }

    private String content(int number) {
        return "Subject: Durability " + run + " #" + number + "\r\n"
            + "Message-ID: <" + number + "." + run + "@client.test>\r\n"
            + "\r\n"
            + "Durability " + run + " #" + number + "\r\n" + PADDING;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until at least {@code count} messages got 250 (or the load ended, or the timeout passed). */
    boolean awaitAcknowledged(int count, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (acknowledged.size() < count && Instant.now().isBefore(deadline) && sessions.stream().anyMatch(Thread::isAlive)) {
            Thread.sleep(20);
        }
        return acknowledged.size() >= count;
    }

    /** Stops every session (the current transaction of each ends first) and returns what got 250. */
    Set<Integer> stop() throws InterruptedException {
        stopped = true;
        for (Thread session : sessions) {
            session.join(60_000);
        }
        return acknowledged();
    }

    Set<Integer> acknowledged() {
        return new TreeSet<>(acknowledged.keySet());
    }

    /** How many 250s were read after this moment. */
    long acknowledgedAfter(Instant moment) {
        return acknowledged.values().stream().filter(moment::isBefore).count();
    }

    int attempted() {
        return attempted.get();
    }

    int refused() {
        return refused.get();
    }

    /** What the sink received of this load: how many copies of each number. */
    Deliveries deliveries(SmtpSink sink) {
        Pattern sequence = Pattern.compile("Durability " + Pattern.quote(run) + " #(\\d+)");
        Map<Integer, Integer> copies = new HashMap<>();
        for (SmtpSink.Message message : sink.matching(m -> m.text().contains(run))) {
            Matcher matcher = sequence.matcher(message.text());
            if (matcher.find()) {
                copies.merge(Integer.parseInt(matcher.group(1)), 1, Integer::sum);
            }
        }
        return new Deliveries(copies);
    }

    /** Copies delivered per message number. */
    record Deliveries(Map<Integer, Integer> copies) {
        Set<Integer> lost(Set<Integer> acknowledged) {
            Set<Integer> lost = new TreeSet<>(acknowledged);
            lost.removeAll(copies.keySet());
            return lost;
        }

        int duplicates() {
            return copies.values().stream().mapToInt(count -> count - 1).sum();
        }

        /** Delivered although no 250 reached the client (it was killed before answering): allowed. */
        int unacknowledged(Set<Integer> acknowledged) {
            return (int) copies.keySet().stream().filter(number -> !acknowledged.contains(number)).count();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
