package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * CHUNKING (RFC 3030) over real sockets: BDAT goes through the pipeline DATA goes through (size
 * limit, line limit, identity checks, tracking, the queue) and what arrives at the next hop is
 * what was sent. The server runs with the shipped limits (25 MiB messages) and the heap of the
 * tests (-Xmx512m), so chunks of many megabytes must not be held in memory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChunkingIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("chunking");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/alice@acme.test", "{\"password\":\"s3cret-Alice\"}").statusCode()).isEqualTo(204);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bdat(byte[] chunk, boolean last) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes("BDAT " + chunk.length + (last ? " LAST" : "") + "\r\n"));
        out.writeBytes(chunk);
        return out.toByteArray();
    }

    /** Sends {@code content} in chunks of {@code size} octets; returns the reply to the last. */
    private static SmtpClient.Reply sendChunked(SmtpClient client, byte[] content, int size) throws Exception {
        SmtpClient.Reply reply = null;
        for (int offset = 0; offset < content.length; offset += size) {
            int end = Math.min(content.length, offset + size);
            byte[] chunk = java.util.Arrays.copyOfRange(content, offset, end);
            client.sendRaw(bdat(chunk, end == content.length));
            reply = client.readReply();
            if (end < content.length) {
                assertThat(reply.code()).as("chunk ending at " + end).isEqualTo(250);
            }
        }
        return reply;
    }

    private SmtpClient relaySession() throws Exception {
        SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort);
        assertThat(client.greetingAndEhlo().text()).contains("CHUNKING");
        return client;
    }

    @Test
    void aChunkedMessageArrivesAsSentWhereverTheChunksEnd() throws Exception {
        String token = UUID.randomUUID().toString();
        String content = "From: app@acme.test\r\nTo: bob@example.com\r\nSubject: " + token + "\r\n\r\n"
            + ".a leading dot\r\n.\r\nthe line above is a lone dot\r\nbare LF here\nno final line end";
        try (SmtpClient client = relaySession()) {
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);

            assertThat(sendChunked(client, bytes(content), 7).text()).startsWith("250 2.6.0");
        }

        SmtpSink.Message message = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY).get(0);
        String body = ".a leading dot\r\n.\r\nthe line above is a lone dot\r\nbare LF here\r\nno final line end\r\n";
        assertThat(message.text()).startsWith("Received: ").contains("\r\nSubject: " + token + "\r\n").endsWith("\r\n\r\n" + body);
        assertThat(message.recipients()).containsExactly("bob@example.com");
    }

    @Test
    void anEndOfDataInsideAChunkIsContentNotACommand() throws Exception {
        String token = UUID.randomUUID().toString();
        String content = "From: app@acme.test\r\nSubject: " + token + "\r\n\r\nbefore\r\n.\r\nMAIL FROM:<app@acme.test>\r\n"
            + "RCPT TO:<smuggled@example.com>\r\nDATA\r\nsmuggled\r\n.\r\nafter\r\n";
        try (SmtpClient client = relaySession()) {
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            client.sendRaw(bdat(bytes(content), true));
            assertThat(client.readReply().code()).isEqualTo(250);
            assertThat(client.command("NOOP").code()).isEqualTo(250);
        }

        List<SmtpSink.Message> arrived = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY);
        Thread.sleep(1000);
        assertThat(sink.matching(m -> m.text().contains(token))).hasSize(1);
        assertThat(arrived.get(0).recipients()).containsExactly("bob@example.com");
        assertThat(arrived.get(0).text()).contains("RCPT TO:<smuggled@example.com>");
    }

    @Test
    void theSizeLimitAppliesAndTheRefusedOctetsAreStillRead() throws Exception {
        try (SmtpClient client = relaySession()) {
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            byte[] big = bytes(("x".repeat(78) + "\r\n").repeat(26 * 1024 * 1024 / 80 + 1000));

            SmtpClient.Reply reply = sendChunked(client, big, 26_000_000);

            assertThat(reply.text()).startsWith("552 5.3.4");
            assertThat(client.command("NOOP").code()).as("the session is in step").isEqualTo(250);
        }
    }

    @Test
    void aLineLongerThanDataAcceptsIsRefusedAsDataRefusesIt() throws Exception {
        String token = UUID.randomUUID().toString();
        String content = "From: app@acme.test\r\nSubject: " + token + "\r\n\r\nbefore\r\n" + "y".repeat(100_000) + "\r\nafter\r\n";
        SmtpClient.Reply byData;
        SmtpClient.Reply byBdat;
        try (SmtpClient client = relaySession()) {
            byData = client.send("app@acme.test", List.of("bob@example.com"), content);
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);

            byBdat = sendChunked(client, bytes(content), 30_000);

            assertThat(client.command("NOOP").code()).as("the session is in step").isEqualTo(250);
        }
        assertThat(byData.text()).startsWith("554 5.6.0");
        assertThat(byBdat.text()).isEqualTo(byData.text());
        nothingDelivered(token);
    }

    @Test
    void twentyMegabytesWithoutALineFeedAreRefusedAndTheSessionGoesOn() throws Exception {
        int logStart = postino.output().length();
        String token = UUID.randomUUID().toString();
        try (SmtpClient client = relaySession()) {
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            client.sendRaw(bytes("BDAT 20000000 LAST\r\n"));
            client.sendRaw(withoutLineFeed(20_000_000, token));

            assertThat(client.readReply().text()).startsWith("554 5.6.0");

            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            client.sendRaw(bdat(bytes("From: app@acme.test\r\nSubject: after " + token + "\r\n\r\nfine\r\n"), true));
            assertThat(client.readReply().text()).startsWith("250 2.6.0");
        }
        assertThat(sink.awaitMessages(m -> m.text().contains("after " + token), 1, DELIVERY)).hasSize(1);
        assertThat(sink.matching(m -> m.text().contains(token) && !m.text().contains("after " + token))).isEmpty();
        String log = postino.output().substring(logStart);
        assertThat(log.lines().filter(line -> line.contains(" ERROR ")).toList()).isEmpty();
        assertThat(log.lines().filter(line -> line.contains("Protocol error from 127.0.0.1:")).toList()).hasSize(1);
    }

    @Test
    void eightSessionsSendingTwentyMegabyteLinesAtOnceLeaveTheHeapAlone() throws Exception {
        int logStart = postino.output().length();
        byte[] line = withoutLineFeed(20_000_000, "parallel");
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> replies = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                replies.add(clients.submit(() -> {
                    try (SmtpClient client = relaySession()) {
                        SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
                        SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
                        client.sendRaw(bytes("BDAT " + line.length + " LAST\r\n"));
                        client.sendRaw(line);
                        String reply = client.readReply().text();
                        SmtpClient.expect(client.command("NOOP"), 250);
                        return reply;
                    }
                }));
            }
            for (Future<String> reply : replies) {
                assertThat(reply.get(120, TimeUnit.SECONDS)).startsWith("554 5.6.0");
            }
        } finally {
            clients.shutdownNow();
        }
        String log = postino.output().substring(logStart);
        assertThat(log).doesNotContain("OutOfMemoryError");
        assertThat(log.lines().filter(entry -> entry.contains(" ERROR ")).toList()).isEmpty();
        assertThat(postino.webAdmin("GET", "/metrics", null).body()).containsPattern("postino_smtp_client_errors_total\\{reason=\"line_too_long\",\\} [0-9]");
    }

    /** A message whose body is one line of {@code octets} octets in all, without line feed. */
    private static byte[] withoutLineFeed(int octets, String token) {
        byte[] head = bytes("From: app@acme.test\r\nSubject: " + token + "\r\n\r\n");
        byte[] message = new byte[octets];
        System.arraycopy(head, 0, message, 0, head.length);
        java.util.Arrays.fill(message, head.length, octets, (byte) 'z');
        return message;
    }

    private void nothingDelivered(String token) throws InterruptedException {
        Thread.sleep(1500);
        assertThat(sink.matching(m -> m.text().contains(token))).isEmpty();
    }

    @Test
    void theVisibleSenderIsCheckedAsForData() throws Exception {
        try (SmtpClient client = relaySession()) {
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            client.sendRaw(bdat(bytes("From: ceo@other.test\r\nSubject: forged\r\n\r\nwire the money\r\n"), true));

            SmtpClient.Reply reply = client.readReply();

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1");
        }
    }

    @Test
    void chunkedSubmissionAfterAuthIsTrackedLikeAnyMessage() throws Exception {
        String messageId = UUID.randomUUID() + "@acme.test";
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.startTls(), 220);
            assertThat(client.command("EHLO client.test").text()).contains("CHUNKING");
            SmtpClient.expect(client.authPlain("alice@acme.test", "s3cret-Alice"), 235);
            SmtpClient.expect(client.command("MAIL FROM:<alice@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<carol@example.com>"), 250);
            String content = "From: alice@acme.test\r\nMessage-ID: <" + messageId + ">\r\nSubject: chunked\r\n\r\nhello\r\n";
            assertThat(sendChunked(client, bytes(content), 20).code()).isEqualTo(250);
        }

        assertThat(sink.awaitMessages(m -> m.text().contains(messageId), 1, DELIVERY)).hasSize(1);
        String tracked = "";
        for (int i = 0; i < 50 && !tracked.contains("\"delivered\""); i++) {
            Thread.sleep(200);
            tracked = postino.webAdmin("GET", "/tracking?messageId=%3C" + messageId.replace("@", "%40") + "%3E", null).body();
        }
        assertThat(tracked).contains("\"received\"", "\"delivered\"", "carol@example.com");
    }

    @Test
    void bdatOutOfSequenceIsRefusedWithoutLosingStep() throws Exception {
        try (SmtpClient client = relaySession()) {
            client.sendRaw(bdat(bytes("orphan"), true));
            assertThat(client.readReply().text()).startsWith("503 5.5.1");
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            client.sendRaw(bdat(bytes("From: app@acme.test\r\n\r\npart one\r\n"), false));
            SmtpClient.expect(client.readReply(), 250);
            assertThat(client.command("DATA").text()).startsWith("503 5.5.1");
            SmtpClient.expect(client.command("RSET"), 250);
            assertThat(client.command("BDAT twelve").code()).isEqualTo(501);
        }
    }
}
