package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The packaged server reading its configuration from POSTINO_CONF_DIR, a directory outside the
 * installation (as ./run.sh does with the checkout's conf/), whose installation conf/ has no
 * organisation at all: what relays, what is logged and how, is what the outside directory says,
 * and an edit there is live. With POSTINO_RECIPIENT_DNS_CHECK=false and a DNS server that never
 * answers, recipients of any domain are accepted (the quick start on a machine without DNS).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigurationDirectoryIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    /** The watcher looks every 2 s; a loaded machine may be slower. */
    private static final Duration RELOAD = Duration.ofSeconds(30);
    private static final String LOG_MARK = "from-outside-conf ";

    private Path temporary;
    private Path installation;
    private Path conf;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("conf-dir");
        installation = Installations.copyOfDistribution(temporary.resolve("postino"));
        conf = Installations.copyOfConfiguration(installation, temporary.resolve("etc-postino"));
        Files.writeString(conf.resolve("organisations.xml"), Installations.ACME_ONLY, StandardCharsets.UTF_8);
        Installations.replaceInFile(conf.resolve("logback.xml"), "<pattern>%d{ISO8601} %-5level", "<pattern>" + LOG_MARK + "%d{ISO8601} %-5level");
        sink = SmtpSink.start();
        // Nothing answers there: a DNS lookup at RCPT TO would time out (451 4.4.3).
        int silentDns = PostinoProcess.freePort();
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port(), Map.of(
            "POSTINO_CONF_DIR", conf.toString(),
            "POSTINO_RECIPIENT_DNS_CHECK", "false",
            "POSTINO_DNS_SERVERS", "127.0.0.1:" + silentDns));
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static String message(String from, String token) {
        return "From: " + from + "\r\nTo: someone@example.net\r\nSubject: " + token + "\r\n\r\nbody " + token;
    }

    private static SmtpClient.Reply mailFrom(int port, String sender) throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", port)) {
            client.greetingAndEhlo();
            return client.command("MAIL FROM:<" + sender + ">");
        }
    }

    @Test
    void theOrganisationsOfTheConfigurationDirectoryAreInForceNotThoseOfTheInstallation() throws Exception {
        assertThat(Files.readString(installation.resolve("conf/organisations.xml"))).doesNotContain("acme.test");
        String token = UUID.randomUUID().toString();

        SmtpClient.Reply reply = SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", "bob@example.net",
            message("app@acme.test", token));

        assertThat(reply.code()).isEqualTo(250);
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY)).hasSize(1);
    }

    @Test
    void anEditOfOrganisationsXmlInTheConfigurationDirectoryIsLiveOverSmtp() throws Exception {
        SmtpClient.Reply before = mailFrom(postino.smtpPort, "app@beta.test");
        assertThat(before.code()).as("beta.test belongs to no organisation yet: %s", before).isEqualTo(550);

        Files.writeString(conf.resolve("organisations.xml"), Installations.ACME_ONLY.replace("</organisations>",
            "<organisation id=\"beta\" name=\"Beta\"><domain>beta.test</domain></organisation></organisations>"), StandardCharsets.UTF_8);

        Instant deadline = Instant.now().plus(RELOAD);
        SmtpClient.Reply after = mailFrom(postino.smtpPort, "app@beta.test");
        while (after.code() != 250 && Instant.now().isBefore(deadline)) {
            Thread.sleep(500);
            after = mailFrom(postino.smtpPort, "app@beta.test");
        }
        assertThat(after.code()).as("MAIL FROM of beta.test within %s of the edit: %s", RELOAD, after).isEqualTo(250);
        String token = UUID.randomUUID().toString();
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@beta.test", "carol@example.net",
            message("app@beta.test", token)).code()).isEqualTo(250);
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY)).singleElement()
            .satisfies(m -> assertThat(m.sender()).isEqualTo("app@beta.test"));
        assertThat(postino.output()).contains("configuration " + conf);
    }

    @Test
    void aConfigurationDirectoryThatDoesNotExistStopsStartUpNamingTheVariable() throws Exception {
        Path missing = temporary.resolve("no-such-conf");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data-missing-conf"),
            sink.port(), Map.of("POSTINO_CONF_DIR", missing.toString()));

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("Configuration directory " + missing + " does not exist: POSTINO_CONF_DIR must name");
    }

    @Test
    void theLogConfigurationComesFromTheConfigurationDirectory() throws Exception {
        Path log = temporary.resolve("data/logs/postino.log");

        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);

        assertThat(lines).anySatisfy(line -> assertThat(line).startsWith(LOG_MARK).contains("Postino started"));
        assertThat(lines).as("lines in the installation's pattern").noneMatch(line -> line.matches("\\d{4}-\\d{2}-\\d{2} .*"));
    }

    @Test
    void withTheRecipientDnsCheckOffARecipientIsAcceptedWithoutAnyDnsAnswer() throws Exception {
        String token = UUID.randomUUID().toString();
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);

            SmtpClient.Reply rcpt = client.command("RCPT TO:<someone@no-dns-answer.test>");

            assertThat(rcpt.code()).as("RCPT with dns.check off and a silent DNS server: %s", rcpt).isEqualTo(250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw((message("app@acme.test", token) + "\r\n.\r\n").getBytes(StandardCharsets.UTF_8));
            SmtpClient.expect(client.readReply(), 250);
        }
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY)).singleElement()
            .satisfies(m -> assertThat(m.recipients()).containsExactly("someone@no-dns-answer.test"));
    }
}
