package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What Postino acknowledged with 250 survives SIGKILL: mail accepted while the next hop is down
 * is delivered after a restart (at least once; duplicates are counted) on the same data directory.
 */
class DurabilityIntegrationTest {
    private static final int MESSAGES = 40;
    private static final Pattern SEQUENCE = Pattern.compile("Durability (\\S+) #(\\d+)");

    private Path temporary;

    @BeforeEach
    void setUp() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("durability");
    }

    @AfterEach
    void tearDown() throws Exception {
        TestFiles.deleteRecursively(temporary);
    }

    @Test
    void acceptedMailSurvivesKillMinusNine() throws Exception {
        String run = UUID.randomUUID().toString();
        int sinkPort = PostinoProcess.freePort();
        Path data = temporary.resolve("data");
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);

        PostinoProcess first = PostinoProcess.start(installation, data, "127.0.0.1", sinkPort);
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", first.smtpPort)) {
            client.greetingAndEhlo();
            for (int i = 1; i <= MESSAGES; i++) {
                SmtpClient.Reply reply = client.send("app@acme.test", List.of("user" + i + "@example.com"),
                    "Subject: Durability " + run + " #" + i + "\r\n\r\nDurability " + run + " #" + i);
                assertThat(reply.code()).as("message %d", i).isEqualTo(250);
            }
        }
        first.killHard();

        try (SmtpSink sink = SmtpSink.startOn(sinkPort);
             PostinoProcess second = PostinoProcess.start(installation, data, "127.0.0.1", sinkPort)) {
            // Deliveries that failed while the sink was down wait for their retry: make it due now.
            second.flushOutgoingQueue();
            sink.awaitMessages(m -> m.text().contains(run), MESSAGES, Duration.ofSeconds(120));
            Thread.sleep(3000);

            Map<Integer, Integer> copies = new HashMap<>();
            for (SmtpSink.Message message : sink.matching(m -> m.text().contains(run))) {
                Matcher matcher = SEQUENCE.matcher(message.text());
                assertThat(matcher.find()).isTrue();
                copies.merge(Integer.parseInt(matcher.group(2)), 1, Integer::sum);
            }
            long lost = java.util.stream.IntStream.rangeClosed(1, MESSAGES).filter(i -> !copies.containsKey(i)).count();
            long duplicates = copies.values().stream().mapToInt(count -> count - 1).sum();

            System.out.printf("durability: %d accepted, %d lost, %d duplicate deliveries%n", MESSAGES, lost, duplicates);
            assertThat(lost).as("messages lost").isZero();
            // At-least-once: a mail the spooler had moved to the outgoing queue but not yet
            // acknowledged at the kill is processed again. At most one per spooler thread (8).
            assertThat(duplicates).as("duplicate deliveries").isLessThanOrEqualTo(8);
        }
    }
}
