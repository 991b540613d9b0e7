package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The security rules of the SMTP listeners, each tried with VALID credentials on the forbidden
 * path: AUTH over plaintext, STARTTLS in the wrong place or followed by injected commands, the
 * RFC 5321 limits, garbage in commands. And what the server logs of it: no ERROR.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SmtpSecurityIntegrationTest {
    private static final String USER = "alice@acme.test";
    private static final String PASSWORD = "s3cret-Alice";

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("smtp-security");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        // Bound to all addresses: a client on [::1] is outside the authorised 127.0.0.0/8.
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "0.0.0.0", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/" + USER, "{\"password\":\"" + PASSWORD + "\"}").statusCode()).isEqualTo(204);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Port 25 from [::1] (not an authorised network) or the submission port. */
    private SmtpClient plaintext(String listener) throws IOException {
        return listener.equals("smtp") ? SmtpClient.connect("::1", postino.smtpPort) : SmtpClient.connect("127.0.0.1", postino.submissionPort);
    }

    private String message(String token) {
        return "From: " + USER + "\r\nTo: bob@example.com\r\nSubject: " + token + "\r\n\r\n" + token;
    }

    private void nothingDelivered(String token) throws InterruptedException {
        Thread.sleep(1500);
        assertThat(sink.matching(m -> m.text().contains(token))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"smtp", "submission"})
    @Order(1)
    void authWithValidCredentialsOverPlaintextIsRefusedWith538BeforeAnyCredentialIsRead(String listener) throws Exception {
        try (SmtpClient client = plaintext(listener)) {
            client.greetingAndEhlo();

            SmtpClient.Reply plain = client.command("AUTH PLAIN " + plain(USER, PASSWORD));
            SmtpClient.Reply login = client.command("AUTH LOGIN");
            SmtpClient.Reply loginInitial = client.command("AUTH LOGIN " + base64(USER));
            SmtpClient.Reply unknown = client.command("AUTH CRAM-MD5");

            for (SmtpClient.Reply reply : List.of(plain, login, loginInitial, unknown)) {
                assertThat(reply.text()).isEqualTo("538 5.7.11 Encryption required for requested authentication mechanism");
            }
            // Nothing was accepted as a login: the session cannot send as the user.
            SmtpClient.Reply mail = client.command("MAIL FROM:<" + USER + ">");
            assertThat(mail.code()).isEqualTo(530);
        }
        assertThat(postino.webAdmin("GET", "/authentication/blocks", null).body()).isEqualTo("[]");
    }

    @ParameterizedTest
    @ValueSource(strings = {"smtp", "submission"})
    @Order(2)
    void pipelinedAuthOverPlaintextIsRefusedAndNoMailFollows(String listener) throws Exception {
        String token = UUID.randomUUID().toString();
        try (SmtpClient client = plaintext(listener)) {
            client.readReply();
            client.sendRaw(("EHLO client.test\r\nAUTH PLAIN " + plain(USER, PASSWORD) + "\r\nMAIL FROM:<" + USER + ">\r\n"
                + "RCPT TO:<bob@example.com>\r\nDATA\r\n").getBytes(StandardCharsets.US_ASCII));

            assertThat(client.readReply().code()).isEqualTo(250);
            assertThat(client.readReply().code()).isEqualTo(538);
            assertThat(client.readReply().code()).as("MAIL FROM").isEqualTo(530);
            assertThat(client.readReply().code()).as("RCPT TO").isEqualTo(503);
            assertThat(client.readReply().code()).as("DATA").isEqualTo(503);
            client.sendRaw((message(token) + "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        nothingDelivered(token);
    }

    @Test
    @Order(3)
    void overTlsTheClientGreetsAgainThenLogsInAndSends() throws Exception {
        String token = UUID.randomUUID().toString();
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.startTls(), 220);

            // RFC 3207 section 4.2: what was said before TLS does not count, EHLO included.
            assertThat(client.command("AUTH PLAIN " + plain(USER, PASSWORD)).text()).startsWith("503 5.5.1");
            assertThat(client.command("MAIL FROM:<" + USER + ">").code()).isEqualTo(503);
            SmtpClient.Reply ehlo = client.command("EHLO client.test");
            assertThat(ehlo.text()).contains("AUTH PLAIN LOGIN").doesNotContain("STARTTLS");
            assertThat(client.command("AUTH PLAIN " + plain(USER, PASSWORD)).code()).isEqualTo(235);
            assertThat(client.command("STARTTLS").text()).startsWith("503 5.5.1");
            SmtpClient.expect(client.send(USER, List.of("bob@example.com"), message(token)), 250);
        }
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, Duration.ofSeconds(60))).hasSize(1);
    }

    @Test
    @Order(4)
    void authLoginWithAnEmptyOrUndecodableUserNameIs501AndTheSessionGoesOn() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.startTls(), 220);
            client.command("EHLO client.test");

            SmtpClient.expect(client.command("AUTH LOGIN"), 334);
            assertThat(client.command("").text()).startsWith("501 5.5.2");
            assertThat(client.command("AUTH LOGIN =").text()).startsWith("501 5.5.2");
            assertThat(client.command("AUTH LOGIN !!!").text()).startsWith("501 5.5.2");
            assertThat(client.command("AUTH PLAIN " + plain("", "x")).text()).startsWith("501 5.5.2");
            assertThat(client.command("AUTH PLAIN " + base64("\0\0")).text()).startsWith("501 5.5.2");
            SmtpClient.expect(client.command("AUTH PLAIN"), 334);
            assertThat(client.command("*").text()).startsWith("501 5.0.0");
            assertThat(client.command("NOOP").code()).isEqualTo(250);
        }
    }

    private static String base64(byte[] octets) {
        return Base64.getEncoder().encodeToString(octets);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** User names that are no UTF-8: a truncated sequence, an overlong '/', an encoded surrogate, a lone 0xFF. */
    private static final List<byte[]> NOT_UTF8 = List.of(
        concat(utf8("al"), new byte[]{(byte) 0xc3}, utf8("ice@acme.test")),
        concat(utf8("alice"), new byte[]{(byte) 0xc0, (byte) 0xaf}, utf8("@acme.test")),
        concat(utf8("alice"), new byte[]{(byte) 0xed, (byte) 0xa0, (byte) 0x80}, utf8("@acme.test")),
        concat(utf8("alice@acme.test"), new byte[]{(byte) 0xff}));
    /** Right-to-left override, zero-width space, line separator, NEL (a C1 control), BOM, LRI (an isolate). */
    private static final List<String> HIDING = List.of("alice\u202e@acme.test", "al\u200bice@acme.test", "alice\u2028@acme.test",
        "alice\u0085@acme.test", "\ufeffalice@acme.test", "\u2066alice@acme.test");

    @ParameterizedTest
    @ValueSource(strings = {"submission", "smtps"})
    @Order(4)
    void userNamesThatAreNotUtf8OrHideCharactersAre501AndCountNeitherForTheSessionNorForSpraying(String listener) throws Exception {
        // Its own client address: 11 different failing logins would block it for spraying, 3 close the session.
        String address = listener.equals("smtps") ? "127.0.0.22" : "127.0.0.21";
        try (SmtpClient client = listener.equals("smtps") ? SmtpClient.connectTlsFrom(address, "127.0.0.1", postino.smtpsPort)
            : SmtpClient.connectFrom(address, "127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            if (listener.equals("submission")) {
                SmtpClient.expect(client.startTls(), 220);
                client.command("EHLO client.test");
            }
            for (byte[] user : NOT_UTF8) {
                byte[] plain = concat(new byte[]{0}, user, new byte[]{0}, utf8(PASSWORD));
                assertThat(client.command("AUTH PLAIN " + base64(plain)).text()).isEqualTo("501 5.5.2 The user name is not valid UTF-8");
                assertThat(client.command("AUTH LOGIN " + base64(user)).text()).isEqualTo("501 5.5.2 The user name is not valid UTF-8");
                SmtpClient.expect(client.command("AUTH LOGIN"), 334);
                assertThat(client.command(base64(user)).text()).isEqualTo("501 5.5.2 The user name is not valid UTF-8");
            }
            for (String user : HIDING) {
                String code = String.format("U+%04X", user.codePoints().filter(c -> c > 0x7e).findFirst().getAsInt());
                String refusal = "501 5.5.2 The user name contains a control or invisible character (" + code + ")";
                assertThat(client.command("AUTH PLAIN " + plain(user, PASSWORD)).text()).isEqualTo(refusal);
                SmtpClient.expect(client.command("AUTH LOGIN"), 334);
                assertThat(client.command(base64(user)).text()).isEqualTo(refusal);
            }
            SmtpClient.expect(client.command("AUTH LOGIN " + base64(USER)), 334);
            assertThat(client.command(base64(new byte[]{'s', (byte) 0xc3})).text()).isEqualTo("501 5.5.2 The password is not valid UTF-8");

            java.time.Instant start = java.time.Instant.now();
            assertThat(client.command("AUTH PLAIN " + plain(USER, PASSWORD)).code()).as("the session is open, the address not blocked").isEqualTo(235);
            assertThat(Duration.between(start, java.time.Instant.now())).as("not slowed down").isLessThan(Duration.ofSeconds(1));
        }
        assertThat(postino.webAdmin("GET", "/authentication/blocks", null).body()).doesNotContain(address);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smtp", "submission", "smtps"})
    @Order(4)
    void unknownCommandsAre500AndTheSixthClosesTheConnectionWith421WhateverResetsTheTransaction(String listener) throws Exception {
        try (SmtpClient client = listener.equals("smtps") ? SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)
            : SmtpClient.connect("127.0.0.1", listener.equals("smtp") ? postino.smtpPort : postino.submissionPort)) {
            client.greetingAndEhlo();
            for (int i = 0; i < 5; i++) {
                assertThat(client.command(i % 2 == 0 ? "XYZZY" : "EXPLODE now").text()).isEqualTo("500 5.5.1 Command not recognized");
                SmtpClient.expect(client.command("RSET"), 250);
            }
            assertThat(client.command("XYZZY").text()).isEqualTo("421 4.7.0 Too many unknown commands; closing the connection");
            assertThatThrownBy(() -> client.command("NOOP")).isInstanceOf(IOException.class);
        }
    }

    @Test
    @Order(5)
    void startTlsFollowedByInjectedCommandsClosesTheConnectionAlsoAfterAData() throws Exception {
        String token = UUID.randomUUID().toString();
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            // James stopped watching for injection after the first DATA: Postino does not.
            assertThat(client.command("DATA").code()).isEqualTo(503);
            client.sendRaw(("STARTTLS\r\nMAIL FROM:<app@acme.test>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(() -> {
                for (int i = 0; i < 5; i++) {
                    client.readReply();
                }
            }).isInstanceOf(IOException.class);
        }
        nothingDelivered(token);
    }

    @Test
    @Order(6)
    void startTlsInsideATransactionIsRefusedAndTheSessionGoesOn() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            assertThat(client.command("STARTTLS").text()).startsWith("503 5.5.1");
            assertThat(client.command("RCPT TO:<bob@example.com>").code()).as("the envelope was kept").isEqualTo(250);
            SmtpClient.expect(client.command("RSET"), 250);
            SmtpClient.expect(client.startTls(), 220);
            assertThat(client.command("EHLO client.test").code()).isEqualTo(250);
            assertThat(client.command("STARTTLS").text()).startsWith("503 5.5.1");
            assertThat(client.command("NOOP").code()).isEqualTo(250);
        }
    }

    @Test
    @Order(7)
    void rfc5321LimitsAreEnforcedAndTheSessionStaysUsable() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);

            assertThat(client.command("RCPT TO:<" + "a".repeat(65) + "@example.com>").text()).startsWith("501 5.1.3");
            String label = "d".repeat(63);
            assertThat(client.command("RCPT TO:<a@" + String.join(".", label, label, label, label) + ".com>").text()).startsWith("501 5.1.3");
            assertThat(client.command("NOOP " + "x".repeat(600)).text()).startsWith("500 5.5.2 Line too long");
            assertThat(client.command("NOOP " + "x".repeat(20_000)).text()).startsWith("500 5.5.2 Line too long");
            assertThat(client.command("RCPT TO:<" + "a".repeat(64) + "@example.com>").code()).isEqualTo(250);
            assertThat(client.command("NOOP").code()).isEqualTo(250);
        }
    }

    @Test
    @Order(7)
    void heloEhloEnforcementRefusesMailBeforeEhloEvenFromAnAuthorisedNetwork() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            assertThat(client.readReply().code()).isEqualTo(220);

            assertThat(client.command("MAIL FROM:<app@acme.test>").text()).isEqualTo("503 5.5.0 Need HELO or EHLO before MAIL");
            assertThat(client.command("RCPT TO:<bob@example.com>").code()).isEqualTo(503);
            assertThat(client.command("DATA").code()).isEqualTo(503);
            SmtpClient.expect(client.command("EHLO client.test"), 250);
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smtp", "smtps"})
    @Order(7)
    void addressBracketsEnforcementRefusesBareAddressesAlsoAfterAValidLogin(String listener) throws Exception {
        String sender = listener.equals("smtp") ? "app@acme.test" : USER;
        try (SmtpClient client = listener.equals("smtp") ? SmtpClient.connect("127.0.0.1", postino.smtpPort)
            : SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            client.greetingAndEhlo();
            if (listener.equals("smtps")) {
                SmtpClient.expect(client.authPlain(USER, PASSWORD), 235);
            }

            assertThat(client.command("MAIL FROM:" + sender).text()).isEqualTo("501 5.1.7 Syntax error in MAIL command");
            assertThat(client.command("MAIL FROM: " + sender).text()).isEqualTo("501 5.1.7 Syntax error in MAIL command");
            SmtpClient.expect(client.command("MAIL FROM:<" + sender + ">"), 250);
            assertThat(client.command("RCPT TO:bob@example.com").text()).startsWith("501 5.5.2");
            assertThat(client.command("RCPT TO:<bob@example.com>").code()).isEqualTo(250);
        }
    }

    @Test
    @Order(8)
    void controlCharactersAndBadParametersAreRefusedNotStripped() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            assertThat(client.command("MAIL FROM:<app@acme.test\u0000>").text()).startsWith("501 5.1.7");
            assertThat(client.command("MAIL FROM:<> SIZE=-1").text()).isEqualTo("501 5.5.4 SIZE must be a non-negative number of octets (RFC 1870)");
            assertThat(client.command("MAIL FROM:<app@acme.test> XFOO=1").text()).startsWith("555 5.5.4");
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            assertThat(client.command("RCPT TO:<x@example.com\u0000>").text()).startsWith("501 5.1.3");
            assertThat(client.command("RCPT TO:<\u000cz@example.com>").text()).startsWith("501 5.1.3");
            assertThat(client.command("RCPT TO:<nobody>").text()).startsWith("501 5.1.3");
            assertThat(client.command("RCPT TO:<x@example.com> NOTIFY=NEVER").text()).startsWith("555 5.5.4");
            assertThat(client.command("RCPT TO:<bob@example.com>").code()).isEqualTo(250);
        }
    }

    @Test
    @Order(9)
    void repeatedProtocolErrorsEndTheSessionWhateverResetsTheTransaction() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.Reply last = null;
            for (int i = 0; i < 30 && (last == null || last.code() != 421); i++) {
                last = client.command(i % 4 == 3 ? "RSET" : i % 4 == 1 ? "RCPT TO:<bob@example.com>" : "MAIL FROM:<nobody>");
            }
            assertThat(last.text()).isEqualTo("421 4.7.0 Too many protocol errors; closing the connection");
            assertThatThrownBy(() -> client.command("NOOP")).isInstanceOf(IOException.class);
        }
    }

    @Test
    @Order(10)
    void plaintextOnTheImplicitTlsPortAndBrokenTlsAreLoggedAsTheClientsError() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpsPort)) {
            client.sendRaw("EHLO client.test\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(client::readReply).isInstanceOf(IOException.class);
        }
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("STARTTLS"), 220);
            client.sendRaw(new byte[]{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5});
        }
        for (int i = 0; i < 100 && !postino.output().contains("TLS with"); i++) {
            Thread.sleep(100);
        }
        assertThat(postino.output()).contains("TLS with 127.0.0.1:").doesNotContain("Unable to process request");
    }

    @Test
    @Order(11)
    void refusalsOfStrangersAreCountedNotTracked() throws Exception {
        String marker = "stranger-" + UUID.randomUUID().toString().substring(0, 8);
        try (SmtpClient client = SmtpClient.connect("::1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<scan@outside.test>"), 250);
            for (int i = 0; i < 30; i++) {
                assertThat(client.command("RCPT TO:<" + marker + i + "@example.com>").code()).isEqualTo(550);
            }
        }
        Thread.sleep(2000);
        assertThat(postino.webAdmin("GET", "/tracking?recipient=" + marker + "1%40example.com", null).body()).doesNotContain(marker);
        assertThat(postino.webAdmin("GET", "/metrics", null).body()).containsPattern("postino_smtp_refusals_total\\{reason=\"\\w+\",organisation=\"none\",\\} (\\d+)");
    }

    /**
     * Credentials where they do not belong: in clear after the 220 to STARTTLS (where TLS must
     * come), in an AUTH line refused for a control character, and as AUTH's answers sent after
     * AUTH was refused. None of them, nor its decoded password, nor its hex dump, may be logged.
     */
    @Test
    @Order(12)
    void credentialsSentInTheWrongPlaceNeverReachTheLog() throws Exception {
        String password = "leaked-" + UUID.randomUUID();
        String token = plain(USER, password);
        int tlsFailures = count(postino.output(), "TLS with ");
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("STARTTLS"), 220);
            client.sendRaw(("EHLO x\r\nAUTH PLAIN " + token + "\r\n").getBytes(StandardCharsets.US_ASCII));
            client.socket().getInputStream().readAllBytes();
        }
        try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            client.greetingAndEhlo();
            assertThat(client.command("AUTH PLAIN " + token + "\t").text()).startsWith("501 5.5.2");
            assertThat(client.command("NOOP").code()).isEqualTo(250);
        }
        try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            client.greetingAndEhlo();
            assertThat(client.command("AUTH PLAIN\t" + token).text()).startsWith("501 5.5.2");
        }
        try (SmtpClient client = plaintext("submission")) {
            client.greetingAndEhlo();
            client.sendRaw(("AUTH LOGIN\r\n" + base64(USER) + "\r\n" + base64(password) + "\u0001\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(client.readReply().code()).isEqualTo(538);
            assertThat(client.readReply().code()).as("the user name as a command").isEqualTo(500);
            assertThat(client.readReply().code()).as("the password as a command").isEqualTo(501);
        }
        try (SmtpClient client = plaintext("submission")) {
            client.greetingAndEhlo();
            assertThat(client.command("AUTH LOGIN").code()).isEqualTo(538);
            SmtpClient.Reply last = null;
            for (int i = 0; i < 6 && (last == null || last.code() != 421); i++) {
                last = client.command(base64(password));
            }
            assertThat(last.code()).as("too many unknown commands").isEqualTo(421);
        }
        for (int i = 0; i < 100 && count(postino.output(), "TLS with ") == tlsFailures; i++) {
            Thread.sleep(100);
        }
        Thread.sleep(500);

        String log = postino.output() + Files.readString(postino.dataDirectory.resolve("logs/postino.log"), StandardCharsets.UTF_8);
        assertThat(count(log, "TLS with ")).as("the plaintext after STARTTLS was logged").isGreaterThan(tlsFailures);
        assertThat(log).contains("refused AUTH PLAIN (").contains("after AUTH (not shown");
        for (String secret : List.of(token, password, base64(password), java.util.HexFormat.of().formatHex(token.getBytes(StandardCharsets.US_ASCII)),
            java.util.HexFormat.of().formatHex(password.getBytes(StandardCharsets.US_ASCII)))) {
            assertThat(log.toLowerCase(java.util.Locale.ROOT)).as("the log").doesNotContain(secret.toLowerCase(java.util.Locale.ROOT));
        }
    }

    private static int count(String text, String part) {
        return text.split(java.util.regex.Pattern.quote(part), -1).length - 1;
    }

    @Test
    @Order(100)
    void nothingAboveWasLoggedAsAnError() {
        assertThat(postino.output().lines().filter(line -> line.contains(" ERROR ")).toList()).isEmpty();
    }
}
