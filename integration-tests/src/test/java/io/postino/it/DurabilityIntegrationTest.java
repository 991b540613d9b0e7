package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Once Postino has answered 250 after DATA, the message is delivered (at least once) whatever
 * happens next: SIGKILL at any moment under load, or a power cut that loses every write not yet
 * synced. Duplicates are allowed, counted and bounded by what can be in flight at a crash.
 *
 * <p>Each run prints its seed; {@code -Dpostino.durability.seed=N} draws the same delays again.
 * {@code -Dpostino.powerCut.ignoreFsync=true} runs the power cut on a disk that ignores fsync:
 * the test must then fail, which shows it can see lost mail.</p>
 */
class DurabilityIntegrationTest {
    private static final int KILL_CYCLES = 10;
    private static final int POWER_CUT_MESSAGES = 200;
    /**
     * Mails a crash can leave half moved, so that both copies survive: handed out by the spool
     * (6 per queue) or by the outgoing queue (16 per queue), the only queues this test uses.
     */
    private static final int IN_FLIGHT_PER_CRASH = 6 + 16;
    private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(120);
    /** Many starts: without the optimising compiler (C2) a start takes half the time; durability is the same. */
    private static final Map<String, String> QUICK_START = Map.of("JAVA_OPTS", "-Xms128m -Xmx512m -XX:TieredStopAtLevel=1");

    private Path temporary;
    private long seed;

    @BeforeEach
    void setUp() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("durability");
        seed = Long.getLong("postino.durability.seed", System.nanoTime());
    }

    @AfterEach
    void tearDown() throws Exception {
        TestFiles.deleteRecursively(temporary);
    }

    @Test
    void acceptedMailSurvivesKillMinusNineUnderLoad() throws Exception {
        Instant started = Instant.now();
        Random random = new Random(seed);
        String run = UUID.randomUUID().toString();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        try (SmtpSink sink = SmtpSink.start();
             PostinoProcess postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port(), QUICK_START)) {
            SmtpLoad load = SmtpLoad.start(run, postino.smtpPort, 6, 20_000);
            for (int cycle = 1; cycle <= KILL_CYCLES; cycle++) {
                // Kill only once the load has reached this server, after a random moment of it.
                assertThat(load.awaitAcknowledged(load.acknowledged().size() + 1, Duration.ofSeconds(30)))
                    .as("mail accepted after restart %d", cycle - 1).isTrue();
                Thread.sleep(200 + random.nextInt(1800));
                postino.killHard();
                if (cycle < KILL_CYCLES) {
                    postino.launch();
                }
            }
            Set<Integer> acknowledged = load.stop();
            postino.launch();
            postino.flushOutgoingQueue();
            SmtpLoad.Deliveries deliveries = awaitDeliveries(sink, load, acknowledged);

            System.out.printf("durability (kill -9): seed %d, %d kills, %d messages sent, %d got 250, %d lost, %d duplicate deliveries, "
                    + "%d delivered without a 250, %d s%n", seed, KILL_CYCLES, load.attempted(), acknowledged.size(),
                deliveries.lost(acknowledged).size(), deliveries.duplicates(), deliveries.unacknowledged(acknowledged),
                Duration.between(started, Instant.now()).toSeconds());
            assertThat(deliveries.lost(acknowledged)).as("messages that got 250 and were never delivered").isEmpty();
            assertThat(deliveries.duplicates()).as("duplicate deliveries").isLessThanOrEqualTo(KILL_CYCLES * IN_FLIGHT_PER_CRASH);
        }
    }

    @Test
    void acceptedMailSurvivesPowerCut() throws Exception {
        Optional<String> unavailable = PowerCutFileSystem.unavailable();
        if (unavailable.isPresent()) {
            System.out.println("durability (power cut): SKIPPED, " + unavailable.get());
        }
        Assumptions.assumeTrue(unavailable.isEmpty(), () -> "power-cut test skipped: " + unavailable.get());

        Instant started = Instant.now();
        Random random = new Random(seed);
        boolean ignoreFsync = Boolean.getBoolean("postino.powerCut.ignoreFsync");
        String run = UUID.randomUUID().toString();
        int sinkPort = PostinoProcess.freePort();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        Path data = temporary.resolve("data");
        PostinoProcess postino = null;
        try (PowerCutFileSystem disk = PowerCutFileSystem.mount(temporary.resolve("disk"), data, ignoreFsync)) {
            try {
                // A new installation on the disk; the next hop is down, so everything stays queued.
                postino = PostinoProcess.start(installation, data, "127.0.0.1", sinkPort, QUICK_START);
                // made on the first start: they must survive the cut, not be made anew (a new token, a new certificate)
                String token = Files.readString(data.resolve("webadmin/operator.token"));
                String certificate = Files.readString(data.resolve("tls/postino.crt"));
                SmtpLoad load = SmtpLoad.start(run, postino.smtpPort, 8, POWER_CUT_MESSAGES);
                int cutAfter = POWER_CUT_MESSAGES / 2 + random.nextInt(POWER_CUT_MESSAGES * 2 / 5);
                assertThat(load.awaitAcknowledged(cutAfter, Duration.ofSeconds(120))).as("%d messages accepted", cutAfter).isTrue();
                disk.cutPower();
                Instant cut = Instant.now();
                int beforeCut = load.acknowledged().size();
                postino.killHard();
                Set<Integer> acknowledged = load.stop();

                disk.mount();
                try (SmtpSink sink = SmtpSink.startOn(sinkPort)) {
                    postino = PostinoProcess.start(installation, data, "127.0.0.1", sinkPort, QUICK_START);
                    assertThat(Files.readString(data.resolve("webadmin/operator.token"))).as("the operator token after the cut").isEqualTo(token);
                    assertThat(Files.readString(data.resolve("tls/postino.crt"))).as("the certificate after the cut").isEqualTo(certificate);
                    // Deliveries that failed while the sink was down wait for their retry: make it due now.
                    postino.flushOutgoingQueue();
                    SmtpLoad.Deliveries deliveries = awaitDeliveries(sink, load, acknowledged);

                    System.out.printf("durability (power cut%s): seed %d, %d messages sent, power cut when %d had got 250, %d got 250 "
                            + "(%d after the cut), %d lost, %d duplicate deliveries, %d delivered without a 250, %d s%n",
                        ignoreFsync ? ", fsync ignored" : "", seed, load.attempted(), beforeCut, acknowledged.size(),
                        load.acknowledgedAfter(cut), deliveries.lost(acknowledged).size(),
                        deliveries.duplicates(), deliveries.unacknowledged(acknowledged), Duration.between(started, Instant.now()).toSeconds());
                    assertThat(deliveries.lost(acknowledged)).as("messages that got 250 and were never delivered").isEmpty();
                    assertThat(deliveries.duplicates()).as("duplicate deliveries").isLessThanOrEqualTo(IN_FLIGHT_PER_CRASH);
                }
            } finally {
                if (postino != null) {
                    postino.stop();
                }
            }
        }
    }

    /** Waits until every acknowledged message arrived, then a little longer for late duplicates. */
    private static SmtpLoad.Deliveries awaitDeliveries(SmtpSink sink, SmtpLoad load, Set<Integer> acknowledged) throws InterruptedException {
        Instant deadline = Instant.now().plus(DELIVERY_TIMEOUT);
        while (!load.deliveries(sink).lost(acknowledged).isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
        }
        Thread.sleep(3000);
        return load.deliveries(sink);
    }
}
