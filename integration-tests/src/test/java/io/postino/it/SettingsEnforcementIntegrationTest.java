package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The James settings whose names promise enforcement but which, in James, may only change what
 * EHLO advertises (see the table in conf/README.md), each set to a value other than the shipped
 * one and tried over a real socket with VALID credentials on the path it forbids:
 * <ul>
 *   <li>25: {@code announce=forUnauthorizedAddresses}, {@code requireSSL=false},
 *   {@code connectiontimeout=4}, {@code connectionLimitPerIP=2};</li>
 *   <li>587: {@code announce=never}, {@code connectionLimit=4};</li>
 *   <li>465: {@code plainAuthEnabled=false};</li>
 *   <li>webadmin.properties: {@code cors.enable=true} with {@code cors.origin=*}, {@code jwt.enabled=true}.</li>
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SettingsEnforcementIntegrationTest {
    private static final String USER = "alice@acme.test";
    private static final String PASSWORD = "s3cret-Alice";
    private static final String NOT_OFFERED = "502 5.5.1 Authentication is not offered here";

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("settings");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        Path smtpserver = installation.resolve("conf/smtpserver.xml");
        replaceInListener(smtpserver, "smtpserver-relay", "<announce>always</announce>", "<announce>forUnauthorizedAddresses</announce>");
        replaceInListener(smtpserver, "smtpserver-relay", "<requireSSL>true</requireSSL>", "<requireSSL>false</requireSSL>");
        replaceInListener(smtpserver, "smtpserver-relay", "<connectiontimeout>300</connectiontimeout>", "<connectiontimeout>4</connectiontimeout>");
        replaceInListener(smtpserver, "smtpserver-relay", "<connectionLimitPerIP>50</connectionLimitPerIP>", "<connectionLimitPerIP>2</connectionLimitPerIP>");
        replaceInListener(smtpserver, "smtpserver-submission", "<announce>always</announce>", "<announce>never</announce>");
        replaceInListener(smtpserver, "smtpserver-submission", "<connectionLimit>1000</connectionLimit>", "<connectionLimit>4</connectionLimit>");
        replaceInListener(smtpserver, "smtpserver-smtps", "<plainAuthEnabled>true</plainAuthEnabled>", "<plainAuthEnabled>false</plainAuthEnabled>");
        Path webadmin = installation.resolve("conf/webadmin.properties");
        Installations.replaceInFile(webadmin, "cors.enable=false", "cors.enable=true\ncors.origin=*");
        Installations.replaceInFile(webadmin, "jwt.enabled=false", "jwt.enabled=true");
        // Bound to all addresses: a client on [::1] is outside the authorised 127.0.0.0/8.
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "0.0.0.0", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/" + USER, "{\"password\":\"" + PASSWORD + "\"}").statusCode()).isEqualTo(204);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** Replaces {@code from} in the {@code <smtpserver>} whose jmxName is {@code listener} only. */
    private static void replaceInListener(Path file, String listener, String from, String to) throws IOException {
        String content = Files.readString(file, StandardCharsets.UTF_8);
        int start = content.indexOf("<jmxName>" + listener + "</jmxName>");
        int end = content.indexOf("</smtpserver>", start);
        int at = content.indexOf(from, start);
        if (start < 0 || at < 0 || at > end) {
            throw new IllegalStateException("The listener " + listener + " of " + file + " does not contain " + from);
        }
        Files.writeString(file, content.substring(0, at) + to + content.substring(at + from.length()), StandardCharsets.UTF_8);
    }

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** STARTTLS and the EHLO after it; returns that EHLO's reply. */
    private static SmtpClient.Reply overTls(SmtpClient client) throws IOException {
        client.greetingAndEhlo();
        SmtpClient.expect(client.startTls(), 220);
        return client.command("EHLO client.test");
    }

    @Test
    @Order(1)
    void announceNeverRefusesAuthWithValidCredentialsAfterStartTlsAndNothingIsRelayed() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            assertThat(overTls(client).text()).doesNotContain("AUTH");

            assertThat(client.command("AUTH PLAIN " + plain(USER, PASSWORD)).text()).isEqualTo(NOT_OFFERED);
            SmtpClient.expect(client.command("AUTH LOGIN"), 502);
            assertThat(client.command("AUTH LOGIN " + base64(USER)).text()).isEqualTo(NOT_OFFERED);
            // Not logged in: the session may not send, as itself or otherwise.
            assertThat(client.command("MAIL FROM:<" + USER + ">").text()).startsWith("530 5.7.0");
            assertThat(client.command("RCPT TO:<bob@example.com>").code()).isEqualTo(503);
            assertThat(client.command("DATA").code()).isEqualTo(503);
            client.sendRaw("BDAT 5 LAST\r\nhello".getBytes(StandardCharsets.US_ASCII));
            assertThat(client.readReply().code()).isEqualTo(503);
            assertThat(client.command("NOOP").code()).as("the session is in step").isEqualTo(250);
        }
    }

    /**
     * A greeted submission connection. The listener has 4 places and this address may take a
     * quarter of those free: the connection of the test before, just closed, can hold its place a
     * moment longer, and then the greeting is the per-address 421 (the subject of another test).
     * Such a connection is closed and made again, for 5 s at most.
     */
    private SmtpClient greetedSubmission() throws Exception {
        Instant deadline = Instant.now().plusSeconds(5);
        while (true) {
            SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort);
            SmtpClient.Reply greeting = client.readReply();
            if (greeting.code() == 220) {
                return client;
            }
            client.close();
            if (!greeting.text().contains("from your address") || Instant.now().isAfter(deadline)) {
                throw new IOException("unexpected greeting " + greeting);
            }
            Thread.sleep(100);
        }
    }

    @Test
    @Order(2)
    void announceNeverRefusesAuthOverPlaintextTooWithoutReadingTheCredentials() throws Exception {
        try (SmtpClient client = greetedSubmission()) {
            assertThat(client.command("EHLO client.test").text()).doesNotContain("AUTH");

            assertThat(client.command("AUTH PLAIN " + plain(USER, PASSWORD)).text()).isEqualTo(NOT_OFFERED);
            assertThat(client.command("MAIL FROM:<" + USER + ">").code()).isEqualTo(530);
        }
    }

    @Test
    @Order(3)
    void forUnauthorizedAddressesRefusesAuthToAnAuthorisedClientAndOffersItToOthers() throws Exception {
        try (SmtpClient authorised = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            assertThat(overTls(authorised).text()).doesNotContain("AUTH");

            assertThat(authorised.command("AUTH PLAIN " + plain(USER, PASSWORD)).text()).isEqualTo(NOT_OFFERED);
            SmtpClient.expect(authorised.command("AUTH LOGIN"), 502);
        }
        try (SmtpClient outsider = SmtpClient.connect("::1", postino.smtpPort)) {
            assertThat(overTls(outsider).text()).contains("AUTH PLAIN LOGIN");

            assertThat(outsider.command("AUTH PLAIN " + plain(USER, PASSWORD)).code()).isEqualTo(235);
        }
    }

    @Test
    @Order(4)
    void requireSslFalseStillRefusesAuthOverPlaintext() throws Exception {
        try (SmtpClient client = SmtpClient.connect("::1", postino.smtpPort)) {
            assertThat(client.greetingAndEhlo().text()).doesNotContain("AUTH");

            for (String command : List.of("AUTH PLAIN " + plain(USER, PASSWORD), "AUTH LOGIN", "AUTH LOGIN " + base64(USER))) {
                assertThat(client.command(command).text()).isEqualTo("538 5.7.11 Encryption required for requested authentication mechanism");
            }
            assertThat(client.command("MAIL FROM:<" + USER + ">").text()).startsWith("530 5.7.0");
        }
    }

    @Test
    @Order(5)
    void plainAuthEnabledFalseLeavesNoMechanismAndNoLogin() throws Exception {
        try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            assertThat(client.greetingAndEhlo().text()).doesNotContain("AUTH");

            assertThat(client.command("AUTH PLAIN " + plain(USER, PASSWORD)).text()).isEqualTo(NOT_OFFERED);
            assertThat(client.command("AUTH LOGIN " + base64(USER)).text()).isEqualTo(NOT_OFFERED);
            assertThat(client.command("MAIL FROM:<" + USER + ">").text()).startsWith("530 5.7.0");
        }
    }

    @Test
    @Order(6)
    void connectionTimeoutClosesAnIdleSessionThatHasLoggedIn() throws Exception {
        try (SmtpClient client = SmtpClient.connect("::1", postino.smtpPort)) {
            overTls(client);
            SmtpClient.expect(client.authPlain(USER, PASSWORD), 235);
            Instant idleSince = Instant.now();

            SmtpClient.Reply reply = client.readReply();

            assertThat(reply.text()).isEqualTo("421 4.4.2 Idle for 4 seconds; closing the connection");
            assertThat(Duration.between(idleSince, Instant.now())).isBetween(Duration.ofSeconds(3), Duration.ofSeconds(15));
            assertThatThrownBy(() -> client.command("NOOP")).isInstanceOf(IOException.class);
        }
    }

    @Test
    @Order(7)
    void connectionLimitPerIpRefusesTheThirdConnectionOfAnAuthorisedClient() throws Exception {
        List<SmtpClient> open = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                SmtpClient client = SmtpClient.connectFrom("127.0.0.61", "127.0.0.1", postino.smtpPort);
                open.add(client);
                assertThat(client.readReply().code()).isEqualTo(220);
            }
            SmtpClient third = SmtpClient.connectFrom("127.0.0.61", "127.0.0.1", postino.smtpPort);
            open.add(third);
            assertThat(third.readReply().text()).isEqualTo("421 4.7.0 Too many connections from your address; close some and try again");
            assertThatThrownBy(third::readReply).isInstanceOf(IOException.class);

            try (SmtpClient neighbour = SmtpClient.connectFrom("127.0.0.62", "127.0.0.1", postino.smtpPort)) {
                assertThat(neighbour.readReply().code()).isEqualTo(220);
            }
        } finally {
            open.forEach(SmtpClient::close);
        }
    }

    @Test
    @Order(8)
    void connectionLimitRefusesTheConnectionBeyondItAndAdmitsAgainOnceOneCloses() throws Exception {
        List<SmtpClient> open = new ArrayList<>();
        try {
            // One address per /24 network, so that neither an address's nor a network's share is what refuses.
            for (int network = 1; network <= 4; network++) {
                SmtpClient client = SmtpClient.connectFrom("127.0." + (70 + network) + ".1", "127.0.0.1", postino.submissionPort);
                open.add(client);
                assertThat(client.readReply().code()).isEqualTo(220);
            }
            try (SmtpClient fifth = SmtpClient.connectFrom("127.0.75.1", "127.0.0.1", postino.submissionPort)) {
                assertThat(fifth.readReply().text()).isEqualTo("421 4.7.0 Too many connections; try again later");
            }

            open.remove(0).close();
            SmtpClient.Reply admitted = null;
            for (int attempt = 0; attempt < 50 && (admitted == null || admitted.code() != 220); attempt++) {
                Thread.sleep(100);
                try (SmtpClient again = SmtpClient.connectFrom("127.0.76.1", "127.0.0.1", postino.submissionPort)) {
                    admitted = again.readReply();
                }
            }
            assertThat(admitted.code()).isEqualTo(220);
        } finally {
            open.forEach(SmtpClient::close);
        }
    }

    @Test
    @Order(9)
    void corsEnableAndJwtEnabledOpenNeitherWebAdminToStrangersNorToOtherOrigins() throws Exception {
        assertThat(postino.webAdmin("GET", "/domains", null, Map.of()).statusCode()).isEqualTo(401);
        assertThat(postino.webAdmin("GET", "/domains", null, Map.of("Authorization", "Bearer eyJhbGciOiJub25lIn0.e30.")).statusCode())
            .as("a JWT is no token").isEqualTo(401);
        String operator = "Bearer " + postino.operatorToken();
        List<HttpResponse<String>> answers = List.of(
            postino.webAdmin("GET", "/domains", null, Map.of("Authorization", operator, "Origin", "https://evil.example")),
            postino.webAdmin("PUT", "/domains/evil.test", null, Map.of("Authorization", operator, "Origin", "https://evil.example")),
            postino.webAdmin("OPTIONS", "/users/x@acme.test", null, Map.of("Origin", "https://evil.example", "Access-Control-Request-Method", "DELETE")));
        assertThat(answers.get(0).statusCode()).isEqualTo(403);
        assertThat(answers.get(1).statusCode()).isEqualTo(403);
        assertThat(answers.get(2).statusCode()).isIn(401, 403, 404);
        for (HttpResponse<String> answer : answers) {
            assertThat(answer.headers().map().keySet()).as(answer.request().method() + " " + answer.uri())
                .noneMatch(header -> header.toLowerCase().startsWith("access-control-"));
        }
        assertThat(postino.webAdmin("GET", "/domains", null).body()).doesNotContain("evil.test");
    }

    @Test
    @Order(100)
    void nothingAboveWasLoggedAsAnError() {
        assertThat(postino.output().lines().filter(line -> line.contains(" ERROR ")).toList()).isEmpty();
    }
}
