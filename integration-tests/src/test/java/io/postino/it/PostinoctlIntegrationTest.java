package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The packaged {@code bin/postinoctl} run as an operator runs it, against the packaged server:
 * its exit status and output are what is checked, and what it did is checked over SMTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostinoctlIntegrationTest {
    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private PostinoProcess postino;

    record Run(int status, String out, String err) {
    }

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("postinoctl");
        installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        sink = SmtpSink.start().replyToRecipients(recipient -> recipient.startsWith("later-") ? "451 4.3.0 try again later" : "250 2.1.5 OK");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private Run postinoctl(String stdin, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", installation.resolve("bin/postinoctl").toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command)
            .redirectOutput(temporary.resolve("ctl.out").toFile())
            .redirectError(temporary.resolve("ctl.err").toFile());
        builder.environment().put("POSTINO_WEBADMIN_PORT", String.valueOf(postino.webAdminPort));
        builder.environment().put("POSTINO_DATA_DIR", postino.dataDirectory.toString());
        Process process = builder.start();
        process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("postinoctl " + arguments[0] + " did not end within 60 s");
        }
        return new Run(process.exitValue(), Files.readString(temporary.resolve("ctl.out")), Files.readString(temporary.resolve("ctl.err")));
    }

    @Test
    void checkConfigSaysValidThenNamesTheFileAndLineOfABrokenOneWithStatus2() throws Exception {
        Run valid = postinoctl("", "check-config");
        assertThat(valid.status()).as(valid.err()).isZero();
        assertThat(valid.out()).endsWith("conf: valid\n");

        Path broken = temporary.resolve("broken-conf");
        Files.createDirectories(broken);
        try (var files = Files.list(installation.resolve("conf"))) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, broken.resolve(file.getFileName()));
            }
        }
        Files.writeString(broken.resolve("organisations.xml"),
            "<organisations>\n  <organisation id=\"acme\">\n    <domian>acme.test</domian>\n  </organisation>\n</organisations>\n");
        Run invalid = postinoctl("", "check-config", "--conf", broken.toString());
        assertThat(invalid.status()).isEqualTo(2);
        assertThat(invalid.out()).startsWith(broken.resolve("organisations.xml") + ":3: ").contains("domian");
    }

    @Test
    void aUserAddedWithPostinoctlLogsInOverStartTls() throws Exception {
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        Run added = postinoctl("s3cret-Pa55\n", "users", "add", "carol@acme.test");
        assertThat(added.status()).as(added.err()).isZero();
        assertThat(added.out()).isEqualTo("carol@acme.test\tadded\n");
        assertThat(postinoctl("other\n", "users", "add", "carol@acme.test").status()).as("an existing user is not overwritten").isEqualTo(1);

        try (SmtpClient smtp = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.expect(smtp.startTls(), 220);
            SmtpClient.expect(smtp.command("EHLO client.test"), 250);
            SmtpClient.expect(smtp.authPlain("carol@acme.test", "other"), 535);
            SmtpClient.expect(smtp.authPlain("carol@acme.test", "s3cret-Pa55"), 235);
        }
    }

    @Test
    void queueListShowsADeferredMailOfTheOrganisation() throws Exception {
        SmtpClient.expect(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", "later-1@example.net",
            "From: app@acme.test\r\nTo: later-1@example.net\r\nSubject: deferred\r\n\r\nlater\r\n"), 250);
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        Run list;
        do {
            Thread.sleep(500);
            list = postinoctl("", "queue", "list", "--organisation", "acme", "--domain", "example.net");
            assertThat(list.status()).as(list.err()).isZero();
        } while (!list.out().contains("later-1@example.net\t20") && Instant.now().isBefore(deadline));
        assertThat(list.out()).as("queue, name, sender, recipients, next delivery").containsPattern(
            "(?m)^outgoing\\.acme\t\\S+\tapp@acme\\.test\tlater-1@example\\.net\t20\\d\\d-");
        assertThat(postinoctl("", "queue", "list", "--domain", "other.test").out()).isEmpty();
        assertThat(postinoctl("", "queue", "list", "--organisation", "nobody").status()).isEqualTo(1);
        Run hold = postinoctl("", "queue", "hold");
        assertThat(hold.status()).isEqualTo(3);
        assertThat(hold.err()).contains("cannot hold");
    }

    @Test
    void dkimGenerateThenRecordsGiveTheTxtRecordToPublish() throws Exception {
        Run generated = postinoctl("", "dkim", "generate", "acme.test", "--selector", "ctl1", "--algorithm", "ed25519");
        assertThat(generated.status()).as(generated.err()).isZero();
        assertThat(generated.out()).matches("ctl1\\._domainkey\\.acme\\.test\tTXT\tv=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=\tinactive\tctl1\ted25519-sha256\n");
        Run records = postinoctl("", "dkim", "records", "acme.test");
        assertThat(records.out()).isEqualTo(generated.out());
        assertThat(postinoctl("", "dkim", "activate", "acme.test", "ctl1").out()).contains("\tactive\tctl1\t");
        assertThat(postinoctl("", "dkim", "records", "acme.test", "--json").out()).contains("\"active\" : true");
    }
}
