package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.postino.testing.TestDns;

/**
 * Recipient verification over real SMTP: postmaster@/abuse@ routing, relay domains verified by
 * callout on a real downstream server (and delivered there), outbound DNS checks against a local
 * DNS server, and suppression lists fed by a 550 at the sink and managed over WebAdmin.
 *
 * acme: trusted network 127.0.0.2, postmaster to ops@corp.acme.test, abuse to abuse-desk@elsewhere.test,
 * relay domain corp.acme.test on the "internal" sink. beta: trusted network 127.0.0.3, no role
 * addresses of its own, relay domain down.beta.test on a closed port. 127.0.0.9 is a stranger.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecipientsIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    private static final String STRANGER = "127.0.0.9";
    private static final String ACME = "127.0.0.2";
    private static final String BETA = "127.0.0.3";

    private Path temporary;
    private Path installation;
    private TestDns dns;
    private SmtpSink smarthost;
    private SmtpSink internal;
    /** Accepts connections and never says a word: a black-holed internal server. */
    private java.net.ServerSocket silent;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("recipients");
        dns = TestDns.start()
            .mx("mx.test", 10, "mail.mx.test").a("mail.mx.test", "127.0.0.1")
            .a("aonly.test", "127.0.0.1")
            .aaaa("aaaaonly.test", "::1")
            .nullMx("nullmx.test")
            .nxdomain("nxdomain.test")
            .exists("nomail.test")
            .silent("slow.test")
            .a("elsewhere.test", "127.0.0.1")
            .a("postino.test", "127.0.0.1");
        smarthost = SmtpSink.start().replyToRecipients(recipient -> recipient.startsWith("gone-") ? "550 5.1.1 no such user here" : "250 2.1.5 OK");
        internal = SmtpSink.start().replyToRecipients(recipient -> recipient.startsWith("nobody") ? "550 5.1.1 unknown mailbox"
            : recipient.startsWith("policy") ? "550 5.7.1 relaying denied for this client" : "250 2.1.5 OK");
        silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        int closedPort = PostinoProcess.freePort();
        String organisations = "<organisations>\n"
            + "  <organisation id=\"acme\" name=\"Acme\">\n"
            + "    <domain>acme.test</domain>\n"
            + "    <trustedNetwork>" + ACME + "</trustedNetwork>\n"
            + "    <postmaster>ops@corp.acme.test</postmaster>\n"
            + "    <abuse>abuse-desk@elsewhere.test</abuse>\n"
            + "    <relayDomain name=\"corp.acme.test\" host=\"127.0.0.1\" port=\"" + internal.port() + "\"/>\n"
            + "  </organisation>\n"
            + "  <organisation id=\"beta\" name=\"Beta\">\n"
            + "    <domain>beta.test</domain>\n"
            + "    <trustedNetwork>" + BETA + "</trustedNetwork>\n"
            + "    <relayDomain name=\"down.beta.test\" host=\"127.0.0.1\" port=\"" + closedPort + "\"/>\n"
            + "    <relayDomain name=\"silent.beta.test\" host=\"127.0.0.1\" port=\"" + silent.getLocalPort() + "\"/>\n"
            + "  </organisation>\n"
            + "</organisations>\n";
        installation = Installations.copyWithOrganisations(temporary.resolve("postino"), organisations);
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"),
            "<authorizedAddresses>127.0.0.0/8</authorizedAddresses>", "<authorizedAddresses>127.0.0.1/32</authorizedAddresses>");
        Installations.replaceInFile(installation.resolve("conf/recipients.properties"), "dns.timeout=5s", "dns.timeout=1s");
        Installations.replaceInFile(installation.resolve("conf/recipients.properties"), "callout.timeout=10s", "callout.timeout=2s");
        postino = startPostino();
        assertThat(postino.webAdmin("PUT", "/domains/beta.test", null).statusCode()).isEqualTo(204);
    }

    private PostinoProcess startPostino() throws Exception {
        return PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", smarthost.port(),
            Map.of("POSTINO_DNS_SERVERS", dns.address()));
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, smarthost, temporary);
        internal.close();
        silent.close();
        dns.close();
    }

    private static String token() {
        return UUID.randomUUID().toString();
    }

    private static String message(String from, String token) {
        return "From: " + from + "\r\nTo: someone@example.net\r\nSubject: " + token + "\r\n\r\nbody " + token;
    }

    private SmtpClient sessionFrom(String localAddress) throws Exception {
        SmtpClient client = SmtpClient.connectFrom(localAddress, "127.0.0.1", postino.smtpPort);
        client.greetingAndEhlo();
        return client;
    }

    private SmtpClient.Reply rcptFrom(String localAddress, String sender, String recipient) throws Exception {
        try (SmtpClient client = sessionFrom(localAddress)) {
            SmtpClient.expect(client.command("MAIL FROM:<" + sender + ">"), 250);
            return client.command("RCPT TO:<" + recipient + ">");
        }
    }

    private SmtpSink.Message deliveredOnce(SmtpSink sink, String token) throws InterruptedException {
        int smarthostPort = smarthost.port();
        Object smarthostMessages = smarthost.messages().stream().map(m -> m.recipients() + " " + m.text().length()).toList();
        List<SmtpSink.Message> delivered = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY);
        assertThat(delivered).as("delivered to port %d (it holds %s; smarthost %d holds %s)", sink.port(), sink.messages().size(), smarthostPort, smarthostMessages).hasSize(1);
        return delivered.get(0);
    }

    @Test
    void postmasterAndAbuseAreAcceptedFromAStrangerAndGoWhereTheOrganisationSays() throws Exception {
        String postmasterToken = token();
        String abuseToken = token();
        try (SmtpClient client = sessionFrom(STRANGER)) {
            SmtpClient.expect(client.send("someone@outside.test", List.of("postmaster@acme.test"), message("someone@outside.test", postmasterToken)), 250);
            SmtpClient.expect(client.send("someone@outside.test", List.of("Abuse@acme.test"), message("someone@outside.test", abuseToken)), 250);
        }

        SmtpSink.Message postmaster = deliveredOnce(internal, postmasterToken);
        assertThat(postmaster.recipients()).containsExactly("ops@corp.acme.test");
        assertThat(smarthost.matching(m -> m.text().contains(postmasterToken))).as("a relay domain never goes to the smarthost").isEmpty();
        assertThat(deliveredOnce(smarthost, abuseToken).recipients()).containsExactly("abuse-desk@elsewhere.test");
    }

    @Test
    void postmasterOfAnOrganisationWithoutOneGoesToTheServersPostmaster() throws Exception {
        String token = token();
        try (SmtpClient client = sessionFrom(STRANGER)) {
            SmtpClient.expect(client.send("someone@outside.test", List.of("postmaster@beta.test"), message("someone@outside.test", token)), 250);
        }

        assertThat(deliveredOnce(smarthost, token).recipients()).containsExactly("postmaster@postino.test");
    }

    @Test
    void anAliasDefinedThroughWebAdminWins() throws Exception {
        HttpResponse<String> alias = postino.webAdmin("PUT", "/address/aliases/security@beta.test/sources/abuse@beta.test", null);
        assertThat(alias.statusCode()).as(alias.body()).isEqualTo(204);
        String token = token();
        try (SmtpClient client = sessionFrom(STRANGER)) {
            SmtpClient.expect(client.send("someone@outside.test", List.of("abuse@beta.test"), message("someone@outside.test", token)), 250);
        }

        assertThat(deliveredOnce(smarthost, token).recipients()).containsExactly("security@beta.test");
    }

    @Test
    void aStrangerCannotReachOtherAddressesOfTheOrganisationDomain() throws Exception {
        SmtpClient.Reply reply = rcptFrom(STRANGER, "someone@outside.test", "sales@acme.test");

        assertThat(reply.code()).as(reply.toString()).isEqualTo(550);
    }

    @Test
    void aRecipientTheInternalServerKnowsIsAcceptedAndDeliveredThere() throws Exception {
        String token = token();
        try (SmtpClient client = sessionFrom(STRANGER)) {
            SmtpClient.expect(client.send("someone@outside.test", List.of("alice@corp.acme.test"), message("someone@outside.test", token)), 250);
        }

        SmtpSink.Message delivered = deliveredOnce(internal, token);
        assertThat(delivered.recipients()).containsExactly("alice@corp.acme.test");
        assertThat(smarthost.matching(m -> m.text().contains(token))).isEmpty();
    }

    @Test
    void aRecipientTheInternalServerRefusesIsRefusedAtRcpt() throws Exception {
        SmtpClient.Reply reply = rcptFrom(STRANGER, "someone@outside.test", "nobody-" + token().substring(0, 8) + "@corp.acme.test");

        assertThat(reply.code()).isEqualTo(550);
        assertThat(reply.text()).contains("5.1.1", "is not a mailbox of Acme", "550 5.1.1 unknown mailbox");
    }

    @Test
    void answersAreCachedAndConcurrentChecksShareOneProbe() throws Exception {
        String known = "carol-" + token().substring(0, 8) + "@corp.acme.test";
        String unknown = "nobody-" + token().substring(0, 8) + "@corp.acme.test";
        ExecutorService clients = Executors.newFixedThreadPool(6);
        try {
            List<Future<SmtpClient.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                replies.add(clients.submit(() -> rcptFrom(STRANGER, "someone@outside.test", known)));
            }
            for (Future<SmtpClient.Reply> reply : replies) {
                assertThat(reply.get(30, TimeUnit.SECONDS).code()).isEqualTo(250);
            }
        } finally {
            clients.shutdownNow();
        }
        assertThat(rcptFrom(ACME, "app@acme.test", known).code()).isEqualTo(250);
        assertThat(rcptFrom(STRANGER, "someone@outside.test", unknown).code()).isEqualTo(550);
        assertThat(rcptFrom(STRANGER, "someone@outside.test", unknown).code()).isEqualTo(550);

        assertThat(internal.recipientQueries(known)).as("one probe for seven checks").isEqualTo(1);
        assertThat(internal.recipientQueries(unknown)).as("a refusal is remembered too").isEqualTo(1);
    }

    @Test
    void anUnreachableInternalServerGetsATemporaryRefusal() throws Exception {
        SmtpClient.Reply reply = rcptFrom(STRANGER, "someone@outside.test", "anyone@down.beta.test");

        assertThat(reply.code()).isEqualTo(450);
        assertThat(reply.text()).contains("4.4.1", "Cannot verify", "try again later");
    }

    @Test
    void aPolicyRefusalByTheInternalServerIsNotTakenForAnUnknownMailbox() throws Exception {
        SmtpClient.Reply reply = rcptFrom(STRANGER, "someone@outside.test", "policy-" + token().substring(0, 8) + "@corp.acme.test");

        assertThat(reply.code()).isEqualTo(450);
        assertThat(reply.text()).contains("4.4.1");
    }

    @Test
    void aServerThatNeverAnswersIsNotWaitedForAgainAtEveryRcpt() throws Exception {
        Instant first = Instant.now();
        assertThat(rcptFrom(STRANGER, "someone@outside.test", "a@silent.beta.test").code()).isEqualTo(450);
        Duration firstTook = Duration.between(first, Instant.now());
        Instant second = Instant.now();
        assertThat(rcptFrom(STRANGER, "someone@outside.test", "b@silent.beta.test").code()).isEqualTo(450);
        Duration secondTook = Duration.between(second, Instant.now());

        assertThat(firstTook).as("the probe waited for callout.timeout").isGreaterThanOrEqualTo(Duration.ofMillis(1900));
        assertThat(secondTook).as("answered from memory").isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void outboundRecipientsNeedADomainThatReceivesMail() throws Exception {
        assertThat(rcptFrom(ACME, "app@acme.test", "bob@mx.test").code()).isEqualTo(250);
        assertThat(rcptFrom(ACME, "app@acme.test", "bob@aonly.test").code()).as("an A record is an implicit MX").isEqualTo(250);
        assertThat(rcptFrom(ACME, "app@acme.test", "bob@aaaaonly.test").code()).isEqualTo(250);

        SmtpClient.Reply nullMx = rcptFrom(ACME, "app@acme.test", "bob@nullmx.test");
        assertThat(nullMx.code()).isEqualTo(556);
        assertThat(nullMx.text()).contains("5.1.10", "null MX");

        SmtpClient.Reply missing = rcptFrom(ACME, "app@acme.test", "bob@nxdomain.test");
        assertThat(missing.code()).isEqualTo(550);
        assertThat(missing.text()).contains("5.1.2", "does not exist");

        SmtpClient.Reply noServer = rcptFrom(ACME, "app@acme.test", "bob@nomail.test");
        assertThat(noServer.code()).isEqualTo(550);
        assertThat(noServer.text()).contains("5.1.2", "no mail server");

        SmtpClient.Reply slow = rcptFrom(ACME, "app@acme.test", "bob@slow.test");
        assertThat(slow.code()).isEqualTo(451);
        assertThat(slow.text()).contains("4.4.3", "try again later");
    }

    @Test
    void dnsAnswersAreCached() throws Exception {
        assertThat(rcptFrom(BETA, "app@beta.test", "first@mx.test").code()).isEqualTo(250);
        int queries = dns.queries("mx.test");
        assertThat(rcptFrom(BETA, "app@beta.test", "second@mx.test").code()).isEqualTo(250);
        assertThat(rcptFrom(ACME, "app@acme.test", "third@mx.test").code()).isEqualTo(250);

        assertThat(queries).isGreaterThanOrEqualTo(1);
        assertThat(dns.queries("mx.test")).isEqualTo(queries);
    }

    @Test
    void aHardBounceSuppressesTheAddressForThatOrganisationOnly() throws Exception {
        String gone = "gone-" + token().substring(0, 8) + "@mx.test";
        try (SmtpClient client = sessionFrom(ACME)) {
            SmtpClient.expect(client.send("app@acme.test", List.of(gone), message("app@acme.test", token())), 250);
        }

        HttpResponse<String> suppression = awaitSuppression("acme", gone);
        assertThat(suppression.statusCode()).as(suppression.body()).isEqualTo(200);
        assertThat(suppression.body()).contains("\"reason\":\"bounce\"", "550 5.1.1 no such user here");

        SmtpClient.Reply refused = rcptFrom(ACME, "app@acme.test", gone);
        assertThat(refused.code()).isEqualTo(550);
        assertThat(refused.text()).contains("5.1.1", "suppression list of organisation 'acme'", "bounced permanently");
        assertThat(rcptFrom(BETA, "app@beta.test", gone).code()).as("beta's list is its own").isEqualTo(250);

        assertThat(postino.webAdmin("DELETE", "/organisations/acme/suppressions/" + gone, null).statusCode()).isEqualTo(204);
        assertThat(rcptFrom(ACME, "app@acme.test", gone).code()).as("removed: sent again").isEqualTo(250);
    }

    private HttpResponse<String> awaitSuppression(String organisation, String address) throws Exception {
        Instant deadline = Instant.now().plus(DELIVERY);
        HttpResponse<String> response = postino.webAdmin("GET", "/organisations/" + organisation + "/suppressions/" + address, null);
        while (response.statusCode() == 404 && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            response = postino.webAdmin("GET", "/organisations/" + organisation + "/suppressions/" + address, null);
        }
        return response;
    }

    @Test
    void adminsManageSuppressionsWithExpiry() throws Exception {
        String complained = "complained-" + token().substring(0, 8) + "@mx.test";
        String brief = "brief-" + token().substring(0, 8) + "@mx.test";

        assertThat(postino.webAdmin("PUT", "/organisations/acme/suppressions/" + complained,
            "{\"reason\":\"complaint\",\"detail\":\"feedback loop\"}").statusCode()).isEqualTo(204);
        Instant expiry = Instant.now().plusSeconds(4);
        assertThat(postino.webAdmin("PUT", "/organisations/acme/suppressions/" + brief,
            "{\"expiresAt\":\"" + expiry + "\"}").statusCode()).isEqualTo(204);

        String list = postino.webAdmin("GET", "/organisations/acme/suppressions?limit=1000", null).body();
        assertThat(list).contains(complained, "\"reason\":\"complaint\"", "feedback loop", brief, "\"reason\":\"manual\"");
        SmtpClient.Reply refused = rcptFrom(ACME, "app@acme.test", complained);
        assertThat(refused.code()).isEqualTo(550);
        assertThat(refused.text()).contains("its owner complained");
        assertThat(rcptFrom(ACME, "app@acme.test", brief).code()).isEqualTo(550);

        while (Instant.now().isBefore(expiry.plusMillis(500))) {
            Thread.sleep(100);
        }
        assertThat(rcptFrom(ACME, "app@acme.test", brief).code()).as("expired").isEqualTo(250);
        assertThat(postino.webAdmin("GET", "/organisations/acme/suppressions?limit=1000", null).body()).doesNotContain(brief);

        assertThat(postino.webAdmin("PUT", "/organisations/acme/suppressions/x@mx.test", "{\"reason\":\"dislike\"}").statusCode()).isEqualTo(400);
        assertThat(postino.webAdmin("PUT", "/organisations/acme/suppressions/not-an-address", null).statusCode()).isEqualTo(400);
        assertThat(postino.webAdmin("PUT", "/organisations/nope/suppressions/x@mx.test", null).statusCode()).isEqualTo(404);
        assertThat(postino.webAdmin("DELETE", "/organisations/acme/suppressions/never-listed@mx.test", null).statusCode()).isEqualTo(404);
    }

    @Test
    void suppressionsAreKeptInTheDatabaseAcrossRestarts() throws Exception {
        String kept = "kept-" + token().substring(0, 8) + "@mx.test";
        assertThat(postino.webAdmin("PUT", "/organisations/beta/suppressions/" + kept, null).statusCode()).isEqualTo(204);

        postino.close();
        postino = startPostino();

        assertThat(postino.webAdmin("GET", "/organisations/beta/suppressions/" + kept, null).statusCode()).isEqualTo(200);
        assertThat(rcptFrom(BETA, "app@beta.test", kept).code()).isEqualTo(550);
    }
}
