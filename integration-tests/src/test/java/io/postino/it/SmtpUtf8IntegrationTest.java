package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

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
 * SMTPUTF8 (RFC 6531/6532) over real sockets: offered on every listener, UTF-8 local parts and
 * IDN domains accepted in an SMTPUTF8 transaction (and only there), relayed to a next hop that
 * offers SMTPUTF8 with the octets of the message unchanged; to a next hop that does not, IDN
 * domains go as A-labels and what needs SMTPUTF8 comes back to the sender as a DSN (5.6.7).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SmtpUtf8IntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    private static final String ORGANISATIONS = "<organisations>"
        + "<organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain></organisation>"
        + "<organisation id=\"buch\" name=\"Bücher\"><domain>xn--bcher-kva.example</domain></organisation>"
        + "</organisations>";

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("smtputf8");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/alice@acme.test", "{\"password\":\"s3cret-Alice\"}").statusCode()).isEqualTo(204);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static String message(String from, String to, String subject, String body) {
        return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + UUID.randomUUID() + "@client.test>\r\n"
            + "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n";
    }

    /** Relays from the trusted loopback over port 25; returns the reply to the end of DATA. */
    private SmtpClient.Reply relay(String mailFrom, List<String> rcptTo, String content) throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            assertThat(client.greetingAndEhlo().text()).contains("SMTPUTF8");
            SmtpClient.expect(client.utf8Command("MAIL FROM:<" + mailFrom + "> SMTPUTF8"), 250);
            for (String recipient : rcptTo) {
                SmtpClient.expect(client.utf8Command("RCPT TO:<" + recipient + ">"), 250);
            }
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw((content + ".\r\n").getBytes(StandardCharsets.UTF_8));
            return client.readReply();
        }
    }

    @Test
    void everyListenerOffersSmtpUtf8() throws Exception {
        try (SmtpClient submission = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            submission.greetingAndEhlo();
            SmtpClient.expect(submission.startTls(), 220);
            assertThat(submission.command("EHLO client.test").text()).contains("SMTPUTF8");
        }
        try (SmtpClient smtps = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            assertThat(smtps.greetingAndEhlo().text()).contains("SMTPUTF8");
        }
    }

    @Test
    void utf8AddressesAreRefusedOutsideAnSmtpUtf8Transaction() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            assertThat(client.utf8Command("MAIL FROM:<jösé@bücher.example>").text()).startsWith("553 5.6.7");
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            assertThat(client.utf8Command("RCPT TO:<用户@例子.测试>").text()).startsWith("553 5.6.7");
            assertThat(client.utf8Command("RCPT TO:<bob@example.com>").code()).isEqualTo(250);
        }
    }

    @Test
    void toANextHopWithSmtpUtf8TheMessageArrivesAsSent() throws Exception {
        sink.offeringSmtpUtf8(true);
        String token = UUID.randomUUID().toString();
        String content = message("Jösé <jösé@bücher.example>", "用户 <用户@例子.测试>", "Grüße 你好 " + token, "Ünïcödé body ✓");

        assertThat(relay("jösé@bücher.example", List.of("用户@例子.测试", "bob@example.com"), content).text()).startsWith("250 2.6.0");

        SmtpSink.Message arrived = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY).get(0);
        assertThat(arrived.mailCommand()).isEqualTo("MAIL FROM:<jösé@xn--bcher-kva.example> SMTPUTF8");
        assertThat(arrived.recipients()).containsExactlyInAnyOrder("用户@xn--fsqu00a.xn--0zwm56d", "bob@example.com");
        assertThat(arrived.text()).startsWith("Received: ").endsWith("\r\n" + content).contains(" with UTF8SMTP ID ").doesNotContain("??");
        byte[] sent = content.getBytes(StandardCharsets.UTF_8);
        byte[] tail = java.util.Arrays.copyOfRange(arrived.content(), arrived.content().length - sent.length, arrived.content().length);
        assertThat(tail).as("the relayed octets").isEqualTo(sent);
    }

    @Test
    void asciiMailIsNotDeclaredSmtpUtf8() throws Exception {
        sink.offeringSmtpUtf8(true);
        String token = UUID.randomUUID().toString();
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw((message("app@acme.test", "bob@example.com", token, "plain") + ".\r\n").getBytes(StandardCharsets.US_ASCII));
            SmtpClient.expect(client.readReply(), 250);
        }
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY).get(0).mailCommand()).isEqualTo("MAIL FROM:<app@acme.test>");
    }

    @Test
    void withoutSmtpUtf8AtTheNextHopIdnDomainsGoAsALabelsAndUtf8LocalPartsBounce() throws Exception {
        sink.offeringSmtpUtf8(false);
        String token = UUID.randomUUID().toString();
        String content = message("app@acme.test", "undisclosed-recipients:;", "ASCII headers " + token, "Ünïcödé body");

        assertThat(relay("app@acme.test", List.of("jose@bücher.example", "jösé@bücher.example", "用户@例子.测试"), content).text())
            .startsWith("250 2.6.0");

        SmtpSink.Message delivered = sink.awaitMessages(m -> m.text().contains(token) && !m.recipients().contains("app@acme.test"), 1, DELIVERY).get(0);
        assertThat(delivered.recipients()).containsExactly("jose@xn--bcher-kva.example");
        assertThat(delivered.mailCommand()).isEqualTo("MAIL FROM:<app@acme.test>");
        assertThat(delivered.text()).endsWith("\r\n" + content);
        SmtpSink.Message dsn = sink.awaitMessages(m -> m.recipients().contains("app@acme.test") && m.text().contains(token), 1, DELIVERY).get(0);
        assertThat(dsn.sender()).isEmpty();
        assertThat(dsn.text()).contains("5.6.7").contains("does not offer SMTPUTF8")
            .contains("Final-Recipient: utf-8; \\x{7528}\\x{6237}@xn--fsqu00a.xn--0zwm56d")
            .contains("Final-Recipient: utf-8; j\\x{F6}s\\x{E9}@xn--bcher-kva.example")
            .as("the DSN names only what failed").doesNotContain("jose@");
        Thread.sleep(2000);
        assertThat(sink.matching(m -> m.text().contains(token) && !m.recipients().contains("app@acme.test")))
            .as("delivered once, not again with the bounce").hasSize(1);
        assertThat(sink.matching(m -> m.recipients().contains("app@acme.test") && m.text().contains(token))).as("one DSN").hasSize(1);
    }

    @Test
    void withoutSmtpUtf8AtTheNextHopUtf8HeadersOfAnSmtpUtf8MessageBounce() throws Exception {
        sink.offeringSmtpUtf8(false);
        String token = UUID.randomUUID().toString();
        String content = message("app@acme.test", "bob@example.com", "Grüße " + token, "body");

        assertThat(relay("app@acme.test", List.of("bob@example.com"), content).text()).startsWith("250 2.6.0");

        SmtpSink.Message dsn = sink.awaitMessages(m -> m.recipients().contains("app@acme.test") && m.text().contains(token), 1, DELIVERY).get(0);
        assertThat(dsn.text()).contains("5.6.7").contains("its headers are UTF-8");
        assertThat(sink.matching(m -> m.recipients().contains("bob@example.com") && m.text().contains(token))).isEmpty();
    }

    @Test
    void legacyEightBitHeadersWithoutSmtpUtf8AreRelayedAsBefore() throws Exception {
        sink.offeringSmtpUtf8(false);
        String token = UUID.randomUUID().toString();
        String content = message("app@acme.test", "bob@example.com", "Grüße " + token, "body");
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test> BODY=8BITMIME"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw((content + ".\r\n").getBytes(StandardCharsets.UTF_8));
            SmtpClient.expect(client.readReply(), 250);
        }
        SmtpSink.Message arrived = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY).get(0);
        assertThat(arrived.recipients()).containsExactly("bob@example.com");
        assertThat(arrived.text()).endsWith("\r\n" + content);
    }

    @Test
    void chunkedSmtpUtf8MessagesArriveAsSentToo() throws Exception {
        sink.offeringSmtpUtf8(true);
        String token = UUID.randomUUID().toString();
        byte[] content = message("app@acme.test", "用户@例子.测试", "BDAT Grüße " + token, "✓").getBytes(StandardCharsets.UTF_8);
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test> SMTPUTF8"), 250);
            SmtpClient.expect(client.utf8Command("RCPT TO:<用户@例子.测试>"), 250);
            client.sendRaw(("BDAT " + content.length + " LAST\r\n").getBytes(StandardCharsets.US_ASCII));
            client.sendRaw(content);
            assertThat(client.readReply().text()).startsWith("250 2.6.0");
        }
        SmtpSink.Message arrived = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY).get(0);
        assertThat(arrived.mailCommand()).isEqualTo("MAIL FROM:<app@acme.test> SMTPUTF8");
        assertThat(arrived.recipients()).containsExactly("用户@xn--fsqu00a.xn--0zwm56d");
        assertThat(arrived.text()).endsWith("\r\n" + new String(content, StandardCharsets.UTF_8)).contains(" with UTF8SMTP ID ")
            .doesNotContain("\"??\"");
    }
}
