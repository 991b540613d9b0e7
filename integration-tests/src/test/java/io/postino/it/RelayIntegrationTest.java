package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The packaged server with the shipped configuration, relaying to a real SMTP sink. Each test
 * marks its mail with a unique token and asserts on what reached the sink.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RelayIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;
    private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("relay");
        sink = SmtpSink.start().replyToRecipients(this::sinkPolicy);
        // Bound to all addresses so that a client on [::1], outside the authorised 127.0.0.0/8, can be tested.
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "0.0.0.0", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/alice@acme.test", "{\"password\":\"s3cret-Alice\"}").statusCode()).isEqualTo(204);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** later-*: 451 on the first attempt, then accepted. gone-*: 550. Anything else: 250. */
    private String sinkPolicy(String recipient) {
        int attempt = attempts.computeIfAbsent(recipient, r -> new AtomicInteger()).incrementAndGet();
        if (recipient.startsWith("later-") && attempt == 1) {
            return "451 4.3.0 try again later";
        }
        if (recipient.startsWith("gone-")) {
            return "550 5.1.1 no such user here";
        }
        return "250 2.1.5 OK";
    }

    private static String token() {
        return UUID.randomUUID().toString();
    }

    private List<SmtpSink.Message> awaitAtSink(String token, int count) throws InterruptedException {
        return sink.awaitMessages(m -> m.text().contains(token), count, DELIVERY);
    }

    /** The one message carrying the token that reached the sink. */
    private SmtpSink.Message deliveredOnce(String token) throws InterruptedException {
        List<SmtpSink.Message> delivered = awaitAtSink(token, 1);
        assertThat(delivered).hasSize(1);
        return delivered.get(0);
    }

    @Test
    void relayFromAnAuthorisedNetworkIsDeliveredUnchangedWithTraceHeaders() throws Exception {
        String token = token();
        String body = "Line one " + token + "\r\n.leading dot stays\r\n\r\nLast line";
        SmtpClient.Reply reply = SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", "bob@example.com",
            "From: app@acme.test\r\nTo: bob@example.com\r\nSubject: hello\r\n\r\n" + body);
        assertThat(reply.code()).isEqualTo(250);

        SmtpSink.Message message = deliveredOnce(token);
        assertThat(message.sender()).isEqualTo("app@acme.test");
        assertThat(message.recipients()).containsExactly("bob@example.com");
        assertThat(message.text()).startsWith("Received: from ").contains("(EHLO client.test) ([127.0.0.1])");
        assertThat(message.text()).contains("\r\nSubject: hello\r\n");
        assertThat(message.text()).containsPattern("\r\nMessage-ID: <[0-9a-f-]{36}@postino\\.test>\r\n");
        assertThat(message.text()).containsPattern("\r\nDate: \\w{3}, \\d{1,2} \\w{3} \\d{4} ");
        assertThat(message.text()).endsWith("\r\n\r\n" + body + "\r\n");
    }

    @Test
    void relayToAForeignDomainFromOutsideTheAuthorisedNetworksIsRefused() throws Exception {
        try (SmtpClient client = SmtpClient.connect("::1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<spammer@example.org>"), 250);

            SmtpClient.Reply reply = client.command("RCPT TO:<victim@example.com>");

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"<victim%example.com@acme.test>", "<\"victim@example.com\"@acme.test>",
        "<example.com!victim@acme.test>", "<@acme.test:victim@example.com>"})
    void addressRoutingTricksDoNotOpenTheRelay(String recipient) throws Exception {
        try (SmtpClient client = SmtpClient.connect("::1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<spammer@example.org>"), 250);

            SmtpClient.Reply reply = client.command("RCPT TO:" + recipient);

            assertThat(reply.code()).as(reply.text()).isBetween(500, 599);
            assertThat(reply.text()).containsAnyOf("5.7.1", "5.1.");
        }
    }

    @Test
    void mailForAServedDomainIsAcceptedFromAnyoneAndRelayedOnward() throws Exception {
        String token = token();
        SmtpClient.Reply reply = SmtpClient.sendInNewSession("::1", postino.smtpPort, "someone@example.org", "alice@acme.test",
            "Subject: reply " + token + "\r\n\r\nhi");
        assertThat(reply.code()).isEqualTo(250);

        assertThat(deliveredOnce(token).recipients()).containsExactly("alice@acme.test");
    }

    @Test
    void submissionOffersAuthOnlyAfterStartTlsAndDeliversAuthenticatedMail() throws Exception {
        String token = token();
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            SmtpClient.Reply ehlo = client.greetingAndEhlo();
            assertThat(ehlo.text()).contains("STARTTLS").doesNotContain("AUTH");
            SmtpClient.Reply mailBeforeAuth = client.command("MAIL FROM:<alice@acme.test>");
            assertThat(mailBeforeAuth.code()).isEqualTo(530);
            assertThat(mailBeforeAuth.text()).contains("5.7.0");

            assertThat(client.startTls().code()).isEqualTo(220);
            assertThat(((SSLSocket) client.socket()).getSession().getProtocol()).isIn("TLSv1.2", "TLSv1.3");
            SmtpClient.Reply tlsEhlo = client.command("EHLO client.test");
            assertThat(tlsEhlo.text()).containsPattern("AUTH.*PLAIN").containsPattern("AUTH.*LOGIN");
            assertThat(client.authPlain("alice@acme.test", "wrong").code()).isEqualTo(535);
            assertThat(client.authPlain("alice@acme.test", "s3cret-Alice").code()).isEqualTo(235);

            SmtpClient.Reply reply = client.send("alice@acme.test", List.of("carol@example.net"), "Subject: " + token + "\r\n\r\nsubmitted");
            assertThat(reply.code()).isEqualTo(250);
        }

        assertThat(deliveredOnce(token).text()).contains("with ESMTPSA");
    }

    @Test
    void implicitTlsPortRequiresAuthAndDelivers() throws Exception {
        String token = token();
        try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            assertThat(((SSLSocket) client.socket()).getSession().getProtocol()).isIn("TLSv1.2", "TLSv1.3");
            SmtpClient.Reply ehlo = client.greetingAndEhlo();
            assertThat(ehlo.text()).contains("AUTH");
            assertThat(client.command("MAIL FROM:<alice@acme.test>").code()).isEqualTo(530);
            assertThat(client.authPlain("alice@acme.test", "s3cret-Alice").code()).isEqualTo(235);

            SmtpClient.Reply reply = client.send("alice@acme.test", List.of("dave@example.net"), "Subject: " + token + "\r\n\r\nover 465");
            assertThat(reply.code()).isEqualTo(250);
        }

        deliveredOnce(token);
    }

    @Test
    void tlsOlderThan12IsRefused() throws Exception {
        SSLSocket socket = (SSLSocket) SmtpClient.trustAll().getSocketFactory().createSocket("127.0.0.1", postino.smtpsPort);
        try (socket) {
            socket.setEnabledProtocols(new String[]{"TLSv1.1"});
            org.assertj.core.api.Assertions.assertThatThrownBy(socket::startHandshake).isInstanceOf(IOException.class);
        }
    }

    @Test
    void aDeclaredSizeOverTheLimitGets552() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            SmtpClient.Reply ehlo = client.greetingAndEhlo();
            assertThat(ehlo.text()).contains("SIZE 26214400");

            SmtpClient.Reply reply = client.command("MAIL FROM:<app@acme.test> SIZE=30000000");

            assertThat(reply.code()).isEqualTo(552);
            assertThat(reply.text()).contains("5.3.4");
        }
    }

    @Test
    void aMessageOverTheLimitIsRefusedAfterData() throws Exception {
        String token = token();
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<big@example.com>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw(("Subject: " + token + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] line = ("x".repeat(998) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < 27 * 1024; i++) {
                client.sendRaw(line);
            }
            client.sendRaw(".\r\n".getBytes(StandardCharsets.US_ASCII));

            SmtpClient.Reply reply = client.readReply();

            assertThat(reply.code()).isEqualTo(552);
            assertThat(reply.text()).contains("5.3.4");
        }
        Thread.sleep(2000);
        assertThat(sink.matching(m -> m.text().contains(token))).isEmpty();
    }

    @Test
    void theRecipientAfterTheHundredthGets452() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            for (int i = 1; i <= 100; i++) {
                SmtpClient.expect(client.command("RCPT TO:<r" + i + "@example.com>"), 250);
            }

            SmtpClient.Reply reply = client.command("RCPT TO:<r101@example.com>");

            assertThat(reply.code()).isEqualTo(452);
            assertThat(reply.text()).contains("4.5.3");
        }
    }

    @Test
    void anOverlongCommandLineIsRefused() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();

            SmtpClient.Reply reply = client.command("NOOP " + "x".repeat(10_000));

            assertThat(reply.code()).isEqualTo(500);
        }
    }

    @Test
    void tooManyUnknownCommandsCloseTheConnection() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            List<Integer> codes = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                codes.add(client.command("FOO" + i).code());
                if (codes.get(codes.size() - 1) == 421) {
                    break;
                }
            }

            assertThat(codes).containsExactly(500, 500, 500, 500, 500, 421);
        }
    }

    /** Each smuggling variant: the lone dot reached without CRLF.CRLF, then a smuggled transaction. */
    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\n.\n"})
    void smugglingVariantsProduceExactlyOneMessage(String fakeEnd) throws Exception {
        String token = token();
        String smuggledRecipient = "smuggled-" + token + "@example.com";
        String payload = "Subject: " + token + "\r\n\r\nHello" + fakeEnd
            + "MAIL FROM:<admin@acme.test>\r\nRCPT TO:<" + smuggledRecipient + ">\r\nDATA\r\n"
            + "Subject: smuggled\r\n\r\nSmuggled " + token + "\r\n.\r\n";
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<victim@example.com>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw(payload.getBytes(StandardCharsets.US_ASCII));

            assertThat(client.readReply().code()).isEqualTo(250);
            assertThat(client.command("QUIT").code()).isEqualTo(221);
        }

        awaitAtSink(token, 1);
        // Give a smuggled second message time to arrive, were there one.
        Thread.sleep(2000);
        List<SmtpSink.Message> delivered = sink.matching(m -> m.text().contains(token));
        assertThat(delivered).hasSize(1);
        assertThat(delivered.get(0).recipients()).containsExactly("victim@example.com");
        assertThat(delivered.get(0).text()).contains("Smuggled " + token);
        assertThat(sink.matching(m -> m.recipients().contains(smuggledRecipient))).isEmpty();
    }

    @Test
    void commandsPipelinedBehindStartTlsAreNotExecuted() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            client.sendRaw("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n".getBytes(StandardCharsets.US_ASCII));

            List<SmtpClient.Reply> replies = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    replies.add(client.readReply());
                }
            } catch (IOException closed) {
                // the server hung up: expected once it saw the injection
            }

            assertThat(replies).noneMatch(reply -> reply.code() == 250 || reply.code() == 530);
            assertThat(replies).noneMatch(reply -> reply.code() == 220);
        }
    }

    @Test
    void aTemporaryFailureAtTheNextHopIsRetriedAndDelivered() throws Exception {
        String token = token();
        String recipient = "later-" + token + "@example.net";
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient,
            "Subject: " + token + "\r\n\r\nretry me").code()).isEqualTo(250);
        waitForAttempts(recipient, 1);
        assertThat(sink.matching(m -> m.text().contains(token))).isEmpty();

        // The first retry is due after a minute: make it due now, as an operator's flush does.
        postino.flushOutgoingQueue();

        deliveredOnce(token);
        assertThat(attempts.get(recipient).get()).isEqualTo(2);
    }

    @Test
    void aPermanentFailureSendsADeliveryStatusNotificationToTheSender() throws Exception {
        String token = token();
        String recipient = "gone-" + token + "@example.net";
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient,
            "Subject: " + token + "\r\n\r\nbounce me").code()).isEqualTo(250);

        List<SmtpSink.Message> bounces = sink.awaitMessages(
            m -> m.recipients().contains("app@acme.test") && m.text().contains(recipient), 1, DELIVERY);
        assertThat(bounces).hasSize(1);
        SmtpSink.Message dsn = bounces.get(0);
        assertThat(dsn.sender()).isEmpty();
        assertThat(dsn.text()).containsIgnoringCase("multipart/report").containsIgnoringCase("report-type=delivery-status");
        assertThat(dsn.text()).contains("Final-Recipient: rfc822; " + recipient).contains("Action: failed");
        // James 3.8.1's DSNBounce writes the whole remote reply into Status:; the code is in it.
        assertThat(dsn.text()).containsPattern("\r\nStatus: [^\r\n]*5\\.1\\.1").contains("Diagnostic-Code: smtp; 550 5.1.1");
    }

    @Test
    void webAdminReportsHealthMetricsQueuesAndRepositories() throws Exception {
        HttpResponse<String> health = postino.webAdmin("GET", "/healthcheck", null);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"healthy\"").contains("Spool").contains("JPA");

        HttpResponse<String> metrics = postino.webAdmin("GET", "/metrics", null);
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("# TYPE").contains("jvm_");

        assertThat(postino.webAdmin("GET", "/mailQueues", null).body()).contains("outgoing").contains("spool");
        assertThat(postino.webAdmin("GET", "/mailRepositories", null).body()).contains("var%2Fmail%2Ferror");
        assertThat(postino.webAdmin("GET", "/domains", null).body()).contains("acme.test");
        assertThat(postino.webAdmin("PUT", "/address/aliases/alice@acme.test/sources/sales@acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("GET", "/address/aliases/alice@acme.test", null).body()).contains("sales@acme.test");
    }

    private void waitForAttempts(String recipient, int count) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            AtomicInteger seen = attempts.get(recipient);
            if (seen != null && seen.get() >= count) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the sink never saw " + recipient);
    }
}
