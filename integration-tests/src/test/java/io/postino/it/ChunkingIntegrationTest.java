package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * CHUNKING (RFC 3030) over real sockets: BDAT goes through the pipeline DATA goes through (size
 * limit, identity checks, tracking, the queue) and what arrives at the next hop is what was sent.
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
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"), "<maxmessagesize>25600</maxmessagesize>",
            "<maxmessagesize>200</maxmessagesize>");
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
            byte[] big = bytes(("x".repeat(78) + "\r\n").repeat(3000));

            SmtpClient.Reply reply = sendChunked(client, big, 100_000);

            assertThat(reply.text()).startsWith("552 5.3.4");
            assertThat(client.command("NOOP").code()).as("the session is in step").isEqualTo(250);
        }
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
