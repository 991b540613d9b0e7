package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Per-organisation routes over real SMTP: organisations a and b leave through different smarthosts
 * (two sinks) from different source addresses with their own HELO names, one destination of b takes
 * another route, and organisation c, without routing, takes the server's default (POSTINO_SMARTHOST).
 * Client addresses: a 127.0.0.12, b 127.0.0.13, c 127.0.0.14 (trusted networks).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RoutingIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);

    private Path temporary;
    private Path organisationsFile;
    private SmtpSink defaultSink;
    private SmtpSink sinkA;
    private SmtpSink sinkB;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("routing");
        defaultSink = SmtpSink.start();
        sinkA = SmtpSink.start();
        sinkB = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), organisations(""));
        organisationsFile = installation.resolve("conf/organisations.xml");
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"),
            "<authorizedAddresses>127.0.0.0/8</authorizedAddresses>", "<authorizedAddresses>127.0.0.1/32</authorizedAddresses>");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", defaultSink.port());
    }

    private String organisations(String extraRoute) {
        return "<organisations>\n"
            + "  <routes>\n"
            + "    <route name=\"a-out\" kind=\"smarthost\" host=\"127.0.0.1\" port=\"" + sinkA.port() + "\" tls=\"none\">\n"
            + "      <source address=\"127.0.0.2\" helo=\"mta1.a.test\"/>\n"
            + "      <source address=\"127.0.0.5\" helo=\"mta2.a.test\"/>\n"
            + "    </route>\n"
            + "    <route name=\"b-out\" kind=\"smarthost\" host=\"127.0.0.1\" port=\"" + sinkB.port() + "\" tls=\"none\">\n"
            + "      <source address=\"127.0.0.3\" helo=\"mta.b.test\"/>\n"
            + "    </route>\n"
            + "    <route name=\"b-special\" kind=\"smarthost\" host=\"127.0.0.1\" port=\"" + sinkA.port() + "\">\n"
            + "      <source address=\"127.0.0.4\" helo=\"special.b.test\"/>\n"
            + "    </route>\n"
            + "  </routes>\n"
            + "  <organisation id=\"a\"><domain>a.test</domain><trustedNetwork>127.0.0.12</trustedNetwork>\n"
            + "    <routing route=\"a-out\"/></organisation>\n"
            + "  <organisation id=\"b\"><domain>b.test</domain><trustedNetwork>127.0.0.13</trustedNetwork>\n"
            + "    <routing route=\"b-out\"><override domain=\"special.test\" route=\"b-special\"/></routing></organisation>\n"
            + "  <organisation id=\"c\"><domain>c.test</domain><trustedNetwork>127.0.0.14</trustedNetwork>" + extraRoute + "</organisation>\n"
            + "</organisations>\n";
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, defaultSink, temporary);
        sinkA.close();
        sinkB.close();
    }

    private SmtpClient.Reply send(String client, String sender, List<String> recipients, String token) throws Exception {
        try (SmtpClient smtp = SmtpClient.connectFrom(client, "127.0.0.1", postino.smtpPort)) {
            smtp.greetingAndEhlo();
            return smtp.send(sender, recipients, "From: " + sender + "\r\nTo: x@example.net\r\nSubject: " + token + "\r\n\r\nbody " + token);
        }
    }

    private static SmtpSink.Message arrived(SmtpSink sink, String token) throws InterruptedException {
        List<SmtpSink.Message> messages = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY);
        assertThat(messages).as("at the sink on port %d", sink.port()).hasSize(1);
        return messages.get(0);
    }

    @Test
    void eachOrganisationLeavesByItsOwnSmarthostFromItsOwnAddress() throws Exception {
        String tokenA = UUID.randomUUID().toString();
        String tokenB = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.12", "app@a.test", List.of("bob@example.com"), tokenA), 250);
        SmtpClient.expect(send("127.0.0.13", "app@b.test", List.of("bob@example.com"), tokenB), 250);

        SmtpSink.Message a = arrived(sinkA, tokenA);
        SmtpSink.Message b = arrived(sinkB, tokenB);
        assertThat(a.clientAddress() + " " + a.helo()).isIn("127.0.0.2 mta1.a.test", "127.0.0.5 mta2.a.test");
        assertThat(b.clientAddress()).isEqualTo("127.0.0.3");
        assertThat(b.helo()).isEqualTo("mta.b.test");
        assertThat(defaultSink.matching(m -> m.text().contains(tokenA) || m.text().contains(tokenB))).isEmpty();
        assertThat(sinkB.matching(m -> m.text().contains(tokenA))).isEmpty();
    }

    @Test
    void aRouteUsesItsSourceAddressesInTurn() throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            String token = UUID.randomUUID().toString();
            SmtpClient.expect(send("127.0.0.12", "app@a.test", List.of("bob" + i + "@example.com"), token), 250);
            SmtpSink.Message message = arrived(sinkA, token);
            seen.add(message.clientAddress() + " " + message.helo());
        }

        assertThat(seen).containsExactlyInAnyOrder("127.0.0.2 mta1.a.test", "127.0.0.5 mta2.a.test");
    }

    @Test
    void aDestinationOverrideTakesItsOwnRouteEvenWithinOneMessage() throws Exception {
        String token = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.13", "app@b.test", List.of("x@special.test", "y@other.test"), token), 250);

        SmtpSink.Message special = arrived(sinkA, token);
        SmtpSink.Message other = arrived(sinkB, token);
        assertThat(special.recipients()).containsExactly("x@special.test");
        assertThat(special.clientAddress()).isEqualTo("127.0.0.4");
        assertThat(special.helo()).isEqualTo("special.b.test");
        assertThat(other.recipients()).containsExactly("y@other.test");
        assertThat(other.clientAddress()).isEqualTo("127.0.0.3");
    }

    @Test
    void anOrganisationWithoutRoutingTakesTheServersDefault() throws Exception {
        String token = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.14", "app@c.test", List.of("bob@example.com"), token), 250);

        SmtpSink.Message message = arrived(defaultSink, token);
        assertThat(message.helo()).isEqualTo("postino.test");
    }

    @Test
    void aReloadReferringToAnUnknownRouteIsRefusedWithTheLine() throws Exception {
        String valid = Files.readString(organisationsFile);
        try {
            Files.writeString(organisationsFile, organisations("<routing route=\"nowhere\"/>"));
            HttpResponse<String> reload = postino.webAdmin("POST", "/organisations/reload", null);

            assertThat(reload.statusCode()).isEqualTo(400);
            assertThat(reload.body()).contains("organisations.xml:18", "route 'nowhere' is not defined in <routes> (routes: a-out, b-out, b-special)");
        } finally {
            Files.writeString(organisationsFile, valid);
            assertThat(postino.webAdmin("POST", "/organisations/reload", null).statusCode()).isEqualTo(200);
        }
    }
}
