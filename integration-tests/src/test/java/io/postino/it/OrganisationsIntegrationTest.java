package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two organisations over real SMTP. acme: policy exact, trusted network 127.0.0.2, alice may also
 * send as sales@. beta: policy domain, trusted network 127.0.0.3. The operator's
 * authorizedAddresses is narrowed to 127.0.0.1. Test-only mailets stamp the organisation and the
 * authentication the matchers saw into headers, so the sink shows what the pipeline knew.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OrganisationsIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    private static final String ORGANISATIONS = "<?xml version=\"1.0\"?>\n"
        + "<organisations>\n"
        + "  <organisation id=\"acme\" name=\"Acme Corporation\">\n"
        + "    <domain>acme.test</domain>\n"
        + "    <domain>apps.acme.test</domain>\n"
        + "    <trustedNetwork>127.0.0.2</trustedNetwork>\n"
        + "    <identity policy=\"exact\">\n"
        + "      <user login=\"alice@acme.test\"><allow>sales@acme.test</allow></user>\n"
        + "    </identity>\n"
        + "  </organisation>\n"
        + "  <organisation id=\"beta\" name=\"Beta Ltd\">\n"
        + "    <domain>beta.test</domain>\n"
        + "    <trustedNetwork>127.0.0.3</trustedNetwork>\n"
        + "    <identity policy=\"domain\"/>\n"
        + "  </organisation>\n"
        + "</organisations>\n";
    private static final String STAMPS =
        "<mailet match=\"io.postino.matchers.SenderOrganisationIs=acme\" class=\"SetMimeHeader\"><name>X-Test-Organisation</name><value>acme</value></mailet>\n"
            + "<mailet match=\"io.postino.matchers.SenderOrganisationIs=beta\" class=\"SetMimeHeader\"><name>X-Test-Organisation</name><value>beta</value></mailet>\n"
            + "<mailet match=\"io.postino.matchers.IsAuthenticatedSender\" class=\"SetMimeHeader\"><name>X-Test-Authenticated</name><value>yes</value></mailet>\n"
            + "<mailet match=\"HostIsLocal\" class=\"ToProcessor\">";

    private Path temporary;
    private Path organisationsFile;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("organisations");
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        organisationsFile = installation.resolve("conf/organisations.xml");
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"),
            "<authorizedAddresses>127.0.0.0/8</authorizedAddresses>", "<authorizedAddresses>127.0.0.1/32</authorizedAddresses>");
        Installations.replaceInFile(installation.resolve("conf/mailetcontainer.xml"), "<mailet match=\"HostIsLocal\" class=\"ToProcessor\">", STAMPS);
        sink = SmtpSink.start().replyToRecipients(recipient -> recipient.startsWith("gone-") ? "550 5.1.1 no such user here" : "250 2.1.5 OK");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        for (String domain : new String[]{"acme.test", "beta.test", "nowhere.test"}) {
            assertThat(postino.webAdmin("PUT", "/domains/" + domain, null).statusCode()).isEqualTo(204);
        }
        for (String user : new String[]{"alice@acme.test", "bob@beta.test", "carol@nowhere.test"}) {
            assertThat(postino.webAdmin("PUT", "/users/" + user, "{\"password\":\"pw-" + user + "\"}").statusCode()).isEqualTo(204);
        }
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static String token() {
        return UUID.randomUUID().toString();
    }

    private static String message(String from, String token) {
        return "From: " + from + "\r\nTo: someone@example.net\r\nSubject: " + token + "\r\n\r\nbody " + token;
    }

    /** A logged-in submission session on 587. */
    private SmtpClient submission(String user) throws Exception {
        SmtpClient client = tlsSessionFrom("127.0.0.1");
        SmtpClient.expect(client.authPlain(user, "pw-" + user), 235);
        return client;
    }

    /** A session on 587 from the given local address, after STARTTLS and EHLO, before AUTH. */
    private SmtpClient tlsSessionFrom(String localAddress) throws Exception {
        SmtpClient client = SmtpClient.connectFrom(localAddress, "127.0.0.1", postino.submissionPort);
        client.greetingAndEhlo();
        SmtpClient.expect(client.startTls(), 220);
        client.command("EHLO client.test");
        return client;
    }

    /** A session on 25 from the given local address, after EHLO. */
    private SmtpClient relaySessionFrom(String localAddress) throws Exception {
        SmtpClient client = SmtpClient.connectFrom(localAddress, "127.0.0.1", postino.smtpPort);
        client.greetingAndEhlo();
        return client;
    }

    private SmtpSink.Message deliveredOnce(String token) throws InterruptedException {
        List<SmtpSink.Message> delivered = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY);
        assertThat(delivered).hasSize(1);
        return delivered.get(0);
    }

    /**
     * Proves a refused message never left: a later message of the same client arrives, the refused
     * one does not (the queue is FIFO enough that a 30 s margin would be needless).
     */
    private void assertNotDelivered(String refusedToken, SmtpClient client, String sender, String from) throws Exception {
        String marker = token();
        assertThat(client.send(sender, List.of("marker@example.net"), message(from, marker)).code()).isEqualTo(250);
        deliveredOnce(marker);
        Thread.sleep(1000);
        assertThat(sink.matching(m -> m.text().contains(refusedToken))).isEmpty();
    }

    @Test
    void userSendingAsItselfIsDeliveredAndAttributedToItsOrganisation() throws Exception {
        String token = token();
        try (SmtpClient client = submission("alice@acme.test")) {
            assertThat(client.send("alice@acme.test", List.of("someone@example.net"), message("Alice <alice@acme.test>", token)).code())
                .isEqualTo(250);
        }
        String text = deliveredOnce(token).text();
        assertThat(text).contains("X-Test-Organisation: acme").contains("X-Test-Authenticated: yes");
    }

    @Test
    void exactPolicyAllowsTheUsersExtraAddress() throws Exception {
        String token = token();
        try (SmtpClient client = submission("alice@acme.test")) {
            assertThat(client.send("sales@acme.test", List.of("someone@example.net"), message("Sales <sales@acme.test>", token)).code())
                .isEqualTo(250);
        }
        assertThat(deliveredOnce(token).sender()).isEqualTo("sales@acme.test");
    }

    @Test
    void exactPolicyRefusesAnotherAddressOfTheOwnDomain() throws Exception {
        try (SmtpClient client = submission("alice@acme.test")) {
            SmtpClient.Reply reply = client.command("MAIL FROM:<ceo@acme.test>");

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1").contains("alice@acme.test may only send as alice@acme.test, sales@acme.test, not as ceo@acme.test");
        }
    }

    @Test
    void userIsRefusedAsAnotherOrganisationsDomainInTheEnvelope() throws Exception {
        try (SmtpClient client = submission("alice@acme.test")) {
            SmtpClient.Reply reply = client.command("MAIL FROM:<bob@beta.test>");

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1").contains("not as bob@beta.test");
        }
    }

    @Test
    void userIsRefusedAsAnotherOrganisationsDomainInFromAfterData() throws Exception {
        String token = token();
        try (SmtpClient client = submission("alice@acme.test")) {
            SmtpClient.Reply reply = client.send("alice@acme.test", List.of("someone@example.net"), message("\"Beta CEO\" <ceo@beta.test>", token));

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1").contains("From: address ceo@beta.test is not in a domain of organisation acme");
            assertNotDelivered(token, client, "alice@acme.test", "alice@acme.test");
        }
    }

    @Test
    void misalignedSenderHeaderIsRefused() throws Exception {
        String token = token();
        try (SmtpClient client = submission("alice@acme.test")) {
            SmtpClient.Reply reply = client.send("alice@acme.test", List.of("someone@example.net"),
                "Sender: relay@beta.test\r\n" + message("alice@acme.test", token));

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1").contains("Sender: address relay@beta.test");
        }
    }

    @Test
    void domainPolicyLetsAUserSendAsAnyAddressOfItsOrganisation() throws Exception {
        String token = token();
        try (SmtpClient client = submission("bob@beta.test")) {
            assertThat(client.send("newsletter@beta.test", List.of("someone@example.net"), message("newsletter@beta.test", token)).code())
                .isEqualTo(250);
            assertThat(client.command("MAIL FROM:<alice@acme.test>").code()).isEqualTo(550);
        }
        assertThat(deliveredOnce(token).text()).contains("X-Test-Organisation: beta");
    }

    @Test
    void userOfNoOrganisationCannotSend() throws Exception {
        try (SmtpClient client = submission("carol@nowhere.test")) {
            SmtpClient.Reply reply = client.command("MAIL FROM:<carol@nowhere.test>");

            assertThat(reply.code()).isEqualTo(550);
            assertThat(reply.text()).contains("5.7.1").contains("carol@nowhere.test is in no organisation's domain");
        }
    }

    @Test
    void nullSenderFromAUserIsAcceptedForItsOrganisation() throws Exception {
        String token = token();
        try (SmtpClient client = submission("alice@acme.test")) {
            assertThat(client.send("", List.of("someone@example.net"), message("alice@acme.test", token)).code()).isEqualTo(250);
        }
        SmtpSink.Message delivered = deliveredOnce(token);
        assertThat(delivered.sender()).isEmpty();
        assertThat(delivered.text()).contains("X-Test-Organisation: acme");
    }

    @Test
    void trustedNetworkSendsWithoutAuthForItsOrganisationOnly() throws Exception {
        String token = token();
        try (SmtpClient client = relaySessionFrom("127.0.0.2")) {
            assertThat(client.send("app@apps.acme.test", List.of("someone@example.net"), message("app@apps.acme.test", token)).code())
                .isEqualTo(250);

            SmtpClient.Reply foreign = client.command("MAIL FROM:<app@beta.test>");
            assertThat(foreign.code()).isEqualTo(550);
            assertThat(foreign.text()).contains("5.7.1").contains("trusted networks of organisation acme");
        }
        String text = deliveredOnce(token).text();
        assertThat(text).contains("X-Test-Organisation: acme").doesNotContain("X-Test-Authenticated");
    }

    @Test
    void eachTrustedNetworkIsAttributedToItsOwnOrganisation() throws Exception {
        String token = token();
        try (SmtpClient client = relaySessionFrom("127.0.0.3")) {
            assertThat(client.send("app@beta.test", List.of("someone@example.net"), message("app@beta.test", token)).code()).isEqualTo(250);
        }
        assertThat(deliveredOnce(token).text()).contains("X-Test-Organisation: beta");
    }

    @Test
    void hostOutsideEveryTrustedNetworkMayNotRelay() throws Exception {
        try (SmtpClient client = relaySessionFrom("127.0.0.4")) {
            SmtpClient.expect(client.command("MAIL FROM:<app@example.org>"), 250);
            SmtpClient.Reply reply = client.command("RCPT TO:<someone@example.net>");

            assertThat(reply.code()).isBetween(500, 599);
        }
    }

    @Test
    void internetSenderUsingAnOrganisationsDomainMustLogIn() throws Exception {
        try (SmtpClient client = relaySessionFrom("127.0.0.4")) {
            SmtpClient.Reply reply = client.command("MAIL FROM:<ceo@acme.test>");

            assertThat(reply.code()).isEqualTo(530);
            assertThat(reply.text()).contains("5.7.0").contains("belongs to organisation acme");
        }
    }

    @Test
    void authInTheMiddleOfATransactionIsRefused() throws Exception {
        try (SmtpClient client = relaySessionFrom("127.0.0.4")) {
            SmtpClient.expect(client.startTls(), 220);
            client.command("EHLO client.test");
            SmtpClient.expect(client.command("MAIL FROM:<someone@example.org>"), 250);

            SmtpClient.Reply auth = client.authPlain("alice@acme.test", "pw-alice@acme.test");
            assertThat(auth.code()).isEqualTo(503);
            assertThat(auth.text()).contains("5.5.1");
            assertThat(client.command("RCPT TO:<someone@example.net>").code()).isBetween(500, 599);
        }
    }

    @Test
    void operatorNetworkMailBelongsToTheOrganisationOfItsSenderDomain() throws Exception {
        String token = token();
        try (SmtpClient client = relaySessionFrom("127.0.0.1")) {
            assertThat(client.send("cron@beta.test", List.of("someone@example.net"), message("cron@beta.test", token)).code()).isEqualTo(250);
            SmtpClient.Reply unknown = client.command("MAIL FROM:<cron@nowhere.test>");
            assertThat(unknown.code()).isEqualTo(550);
            assertThat(unknown.text()).contains("5.7.1").contains("Sender domain nowhere.test belongs to no organisation");
        }
        assertThat(deliveredOnce(token).text()).contains("X-Test-Organisation: beta");
    }

    @Test
    void bouncesToAnOrganisationPassTheIdentityMailet() throws Exception {
        String token = token();
        String recipient = "gone-" + token + "@example.net";
        try (SmtpClient client = relaySessionFrom("127.0.0.2")) {
            assertThat(client.send("app@apps.acme.test", List.of(recipient), message("app@apps.acme.test", token)).code()).isEqualTo(250);
        }
        List<SmtpSink.Message> bounces = sink.awaitMessages(
            m -> m.recipients().contains("app@apps.acme.test") && m.text().contains(recipient), 1, DELIVERY);
        assertThat(bounces).hasSize(1);
        assertThat(bounces.get(0).sender()).isEmpty();
    }

    @Test
    void webAdminShowsTheOrganisationsInForce() throws Exception {
        HttpResponse<String> all = postino.webAdmin("GET", "/organisations", null);
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(all.body()).contains("\"id\":\"acme\"", "\"id\":\"beta\"", "\"applied\":true", "organisations.xml");

        HttpResponse<String> acme = postino.webAdmin("GET", "/organisations/acme", null);
        assertThat(acme.statusCode()).isEqualTo(200);
        assertThat(acme.body()).contains("\"name\":\"Acme Corporation\"", "\"domains\":[\"acme.test\",\"apps.acme.test\"]",
            "\"trustedNetworks\":[\"127.0.0.2\"]", "\"policy\":\"exact\"", "\"alice@acme.test\":[\"sales@acme.test\"]", "\"users\":1");

        HttpResponse<String> users = postino.webAdmin("GET", "/organisations/beta/users", null);
        assertThat(users.statusCode()).isEqualTo(200);
        assertThat(users.body()).isEqualTo("[{\"login\":\"bob@beta.test\",\"disabled\":false}]");

        assertThat(postino.webAdmin("GET", "/organisations/nope", null).statusCode()).isEqualTo(404);
    }

    @Test
    void reloadAppliesAValidFileAndKeepsTheRunningConfigurationOnAnInvalidOne() throws Exception {
        String withGamma = ORGANISATIONS.replace("</organisations>",
            "  <organisation id=\"gamma\">\n    <domain>gamma.test</domain>\n    <trustedNetwork>127.0.0.6</trustedNetwork>\n  </organisation>\n</organisations>\n");
        try {
            Files.writeString(organisationsFile, withGamma, StandardCharsets.UTF_8);
            HttpResponse<String> applied = postino.webAdmin("POST", "/organisations/reload", null);
            assertThat(applied.statusCode()).isEqualTo(200);
            assertThat(applied.body()).contains("\"applied\":true", "\"organisations\":3");
            assertThat(sendFromGamma()).isEqualTo(250);

            // Invalid: gamma claims acme's domain. Refused with file, line and reason; gamma keeps working.
            Files.writeString(organisationsFile, withGamma.replace("<domain>gamma.test</domain>", "<domain>acme.test</domain>"), StandardCharsets.UTF_8);
            HttpResponse<String> refused = postino.webAdmin("POST", "/organisations/reload", null);
            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(refused.body()).contains("organisations.xml:17: domain 'acme.test' already belongs to organisation 'acme'")
                .contains("previous configuration stays in force");
            assertThat(sendFromGamma()).isEqualTo(250);
            assertThat(postino.webAdmin("GET", "/organisations", null).body()).contains("\"applied\":false", "\"id\":\"gamma\"");

            // A change on disk is picked up without any request.
            Files.writeString(organisationsFile, withGamma.replace("<domain>gamma.test</domain>",
                "<domain>gamma.test</domain><domain>gamma2.test</domain>"), StandardCharsets.UTF_8);
            Instant deadline = Instant.now().plusSeconds(20);
            String body = "";
            while (Instant.now().isBefore(deadline) && !body.contains("gamma2.test")) {
                Thread.sleep(500);
                body = postino.webAdmin("GET", "/organisations/gamma", null).body();
            }
            assertThat(body).contains("gamma2.test");
        } finally {
            Files.writeString(organisationsFile, ORGANISATIONS, StandardCharsets.UTF_8);
            assertThat(postino.webAdmin("POST", "/organisations/reload", null).statusCode()).isEqualTo(200);
        }
        assertThat(postino.webAdmin("GET", "/organisations/gamma", null).statusCode()).isEqualTo(404);
    }

    @Test
    void aTrustedNetworkRemovedByAReloadStopsRelayingOnConnectionsAlreadyOpen() throws Exception {
        String withGamma = ORGANISATIONS.replace("</organisations>",
            "  <organisation id=\"gamma\"><domain>gamma.test</domain><trustedNetwork>127.0.0.7</trustedNetwork></organisation>\n</organisations>\n");
        try {
            Files.writeString(organisationsFile, withGamma, StandardCharsets.UTF_8);
            assertThat(postino.webAdmin("POST", "/organisations/reload", null).statusCode()).isEqualTo(200);
            try (SmtpClient client = relaySessionFrom("127.0.0.7")) {
                SmtpClient.expect(client.command("MAIL FROM:<app@gamma.test>"), 250);
                SmtpClient.expect(client.command("RCPT TO:<someone@example.net>"), 250);
                SmtpClient.expect(client.command("RSET"), 250);

                Files.writeString(organisationsFile, ORGANISATIONS, StandardCharsets.UTF_8);
                assertThat(postino.webAdmin("POST", "/organisations/reload", null).statusCode()).isEqualTo(200);

                SmtpClient.expect(client.command("MAIL FROM:<app@gamma.test>"), 250);
                assertThat(client.command("RCPT TO:<someone@example.net>").code()).isBetween(500, 599);
            }
        } finally {
            Files.writeString(organisationsFile, ORGANISATIONS, StandardCharsets.UTF_8);
            assertThat(postino.webAdmin("POST", "/organisations/reload", null).statusCode()).isEqualTo(200);
        }
    }

    private int sendFromGamma() throws Exception {
        String token = token();
        try (SmtpClient client = relaySessionFrom("127.0.0.6")) {
            SmtpClient.Reply reply = client.command("MAIL FROM:<app@gamma.test>");
            if (reply.code() != 250) {
                return reply.code();
            }
            SmtpClient.expect(client.command("RCPT TO:<someone@example.net>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw((message("app@gamma.test", token) + "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
            return client.readReply().code();
        }
    }
}
