package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Limits, quota and destination pacing of organisations.xml, over real SMTP, with the counters in
 * memory. Each test has organisations and users of its own, so the counters of one test never
 * reach another.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RateLimitIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    private static final String ORGANISATIONS = "<?xml version=\"1.0\"?>\n"
        + "<organisations>\n"
        + "  <limits><client per=\"minute\" messages=\"2\"/></limits>\n"
        + "  <destinations><destination domain=\"paced.test\" connections=\"1\" messagesPerMinute=\"60\"/></destinations>\n"
        + "  <organisation id=\"acme\"><domain>acme.test</domain><identity policy=\"domain\"/>\n"
        + "    <limits><organisation per=\"hour\" messages=\"5\"/><user per=\"minute\" messages=\"3\"/></limits></organisation>\n"
        + "  <organisation id=\"beta\"><domain>beta.test</domain><limits><quota recipients=\"4\"/></limits></organisation>\n"
        + "  <organisation id=\"delta\"><domain>delta.test</domain><limits><user per=\"minute\" messages=\"2\"/></limits></organisation>\n"
        + "  <organisation id=\"gamma\"><domain>gamma.test</domain></organisation>\n"
        + "  <organisation id=\"pace\"><domain>pace.test</domain></organisation>\n"
        + "</organisations>\n";

    private java.nio.file.Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("ratelimits");
        sink = SmtpSink.start();
        postino = PostinoProcess.start(Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS),
            temporary.resolve("data"), "127.0.0.1", sink.port());
        for (String user : new String[]{"alice@acme.test", "bob@acme.test", "carol@beta.test", "dave@delta.test", "pat@pace.test"}) {
            String domain = user.substring(user.indexOf('@') + 1);
            postino.webAdmin("PUT", "/domains/" + domain, null);
            assertThat(postino.webAdmin("PUT", "/users/" + user, "{\"password\":\"pw-" + user + "\"}").statusCode()).isEqualTo(204);
        }
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private SmtpClient submission(String user) throws Exception {
        SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort);
        client.greetingAndEhlo();
        SmtpClient.expect(client.startTls(), 220);
        client.command("EHLO client.test");
        SmtpClient.expect(client.authPlain(user, "pw-" + user), 235);
        return client;
    }

    private static String message(String from, String token) {
        return "From: " + from + "\r\nSubject: " + token + "\r\n\r\nbody " + token;
    }

    private static String token() {
        return UUID.randomUUID().toString();
    }

    @Test
    void aUserOverItsLimitIsDeferredWhileAnotherUserOfTheOrganisationSendsUntilTheOrganisationLimit() throws Exception {
        String token = token();
        try (SmtpClient alice = submission("alice@acme.test")) {
            for (int i = 0; i < 3; i++) {
                assertThat(alice.send("alice@acme.test", List.of("r" + i + "@example.net"), message("alice@acme.test", token)).code()).isEqualTo(250);
            }
            SmtpClient.Reply fourth = alice.command("MAIL FROM:<alice@acme.test>");
            assertThat(fourth.code()).isEqualTo(451);
            assertThat(fourth.text()).contains("4.7.1 Rate limit reached: user alice@acme.test may send 3 messages per minute; try again in");
        }
        try (SmtpClient bob = submission("bob@acme.test")) {
            for (int i = 0; i < 2; i++) {
                assertThat(bob.send("bob@acme.test", List.of("s" + i + "@example.net"), message("bob@acme.test", token)).code()).isEqualTo(250);
            }
            SmtpClient.Reply third = bob.command("MAIL FROM:<bob@acme.test>");
            assertThat(third.code()).isEqualTo(451);
            assertThat(third.text()).contains("4.7.1 Rate limit reached: organisation acme may send 5 messages per hour");
        }
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 5, DELIVERY)).hasSize(5);

        String usage = postino.webAdmin("GET", "/ratelimits/users/alice@acme.test", null).body();
        assertThat(usage).contains("\"unit\":\"messages\",\"period\":\"minute\",\"limit\":3,\"used\":3");
        assertThat(postino.webAdmin("GET", "/ratelimits/organisations/acme", null).body())
            .contains("\"unit\":\"messages\",\"period\":\"hour\",\"limit\":5,\"used\":5");
        assertThat(postino.webAdmin("GET", "/metrics", null).body())
            .contains("postino_ratelimit_refusals_total{scope=\"user\",period=\"minute\",unit=\"messages\",}",
                "postino_ratelimit_refusals_total{scope=\"organisation\",period=\"hour\",unit=\"messages\",}");
    }

    @Test
    void theDailyQuotaCountsAcceptedRecipients() throws Exception {
        String token = token();
        try (SmtpClient carol = submission("carol@beta.test")) {
            assertThat(carol.send("carol@beta.test", List.of("q1@example.net", "q2@example.net", "q3@example.net"),
                message("carol@beta.test", token)).code()).isEqualTo(250);

            SmtpClient.expect(carol.command("MAIL FROM:<carol@beta.test>"), 250);
            SmtpClient.expect(carol.command("RCPT TO:<q4@example.net>"), 250);
            SmtpClient.Reply fifth = carol.command("RCPT TO:<q5@example.net>");
            assertThat(fifth.code()).isEqualTo(452);
            assertThat(fifth.text()).contains("4.7.1 Quota reached: organisation beta has used a quota of 4 recipients per day (UTC); it renews in");
            SmtpClient.expect(carol.command("DATA"), 354);
            carol.sendRaw((message("carol@beta.test", token) + "\r\n.\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            assertThat(carol.readReply().code()).isEqualTo(250);

            SmtpClient.expect(carol.command("MAIL FROM:<carol@beta.test>"), 250);
            assertThat(carol.command("RCPT TO:<q6@example.net>").code()).isEqualTo(452);
        }
        List<SmtpSink.Message> delivered = sink.awaitMessages(m -> m.text().contains(token), 2, DELIVERY);
        assertThat(delivered.stream().flatMap(m -> m.recipients().stream()))
            .containsExactlyInAnyOrder("q1@example.net", "q2@example.net", "q3@example.net", "q4@example.net");
    }

    @Test
    void abortedAndRefusedTransactionsCostNothing() throws Exception {
        try (SmtpClient dave = submission("dave@delta.test")) {
            for (int i = 0; i < 3; i++) {
                SmtpClient.expect(dave.command("MAIL FROM:<dave@delta.test>"), 250);
                SmtpClient.expect(dave.command("RCPT TO:<x@example.net>"), 250);
                SmtpClient.expect(dave.command("RSET"), 250);
            }
            for (int i = 0; i < 2; i++) {
                assertThat(dave.send("dave@delta.test", List.of("x@example.net"), message("ceo@acme.test", token())).code()).isEqualTo(550);
            }
            for (int i = 0; i < 2; i++) {
                assertThat(dave.send("dave@delta.test", List.of("x@example.net"), message("dave@delta.test", token())).code()).isEqualTo(250);
            }
            assertThat(dave.command("MAIL FROM:<dave@delta.test>").code()).isEqualTo(451);
        }
    }

    @Test
    void unauthenticatedClientsAreLimitedPerAddress() throws Exception {
        for (int i = 0; i < 2; i++) {
            assertThat(sendFrom("127.0.0.11")).isEqualTo(250);
        }
        try (SmtpClient third = SmtpClient.connectFrom("127.0.0.11", "127.0.0.1", postino.smtpPort)) {
            third.greetingAndEhlo();
            SmtpClient.Reply reply = third.command("MAIL FROM:<app@gamma.test>");
            assertThat(reply.code()).isEqualTo(451);
            assertThat(reply.text()).contains("4.7.1 Rate limit reached: client 127.0.0.11 may send 2 messages per minute");
        }
        assertThat(sendFrom("127.0.0.12")).isEqualTo(250);
    }

    private int sendFrom(String localAddress) throws Exception {
        try (SmtpClient client = SmtpClient.connectFrom(localAddress, "127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            return client.send("app@gamma.test", List.of("x@example.net"), message("app@gamma.test", token())).code();
        }
    }

    /**
     * paced.test: one connection, 60 a minute. Six messages must reach the sink one at a time,
     * started about a second apart (tolerance: 20 %, 800 ms), while six for another domain are not
     * held back.
     */
    @Test
    void deliveriesToAPacedDomainLeaveOneAtATimeAtThePace() throws Exception {
        String token = token();
        try (SmtpClient pat = submission("pat@pace.test")) {
            for (int i = 0; i < 6; i++) {
                assertThat(pat.send("pat@pace.test", List.of("p" + i + "@paced.test"), message("pat@pace.test", token)).code()).isEqualTo(250);
                assertThat(pat.send("pat@pace.test", List.of("f" + i + "@free.test"), message("pat@pace.test", token)).code()).isEqualTo(250);
            }
        }
        List<SmtpSink.Message> free = sink.awaitMessages(m -> m.text().contains(token) && m.recipients().get(0).endsWith("@free.test"), 6, DELIVERY);
        List<SmtpSink.Message> paced = new ArrayList<>(
            sink.awaitMessages(m -> m.text().contains(token) && m.recipients().get(0).endsWith("@paced.test"), 6, DELIVERY));
        assertThat(free).hasSize(6);
        assertThat(paced).hasSize(6);

        paced.sort(Comparator.comparing(SmtpSink.Message::mailAt));
        for (int i = 1; i < paced.size(); i++) {
            SmtpSink.Message previous = paced.get(i - 1);
            SmtpSink.Message next = paced.get(i);
            // Delivery keeps its connections: the next mail may come on the same one, or on a new one opened after
            boolean sameConnection = next.clientPort() == previous.clientPort() && next.connectedAt().equals(previous.connectedAt());
            assertThat(sameConnection || !next.connectedAt().isBefore(previous.receivedAt())).as("one connection at a time").isTrue();
            assertThat(next.mailAt()).as("one mail at a time").isAfterOrEqualTo(previous.receivedAt());
            assertThat(Duration.between(previous.mailAt(), next.mailAt())).as("started a second apart")
                .isGreaterThanOrEqualTo(Duration.ofMillis(800));
        }
        Duration freeSpan = Duration.between(free.stream().map(SmtpSink.Message::receivedAt).min(Comparator.naturalOrder()).orElseThrow(),
            free.stream().map(SmtpSink.Message::receivedAt).max(Comparator.naturalOrder()).orElseThrow());
        assertThat(freeSpan).as("other domains are not paced").isLessThan(Duration.ofSeconds(4));
    }
}
