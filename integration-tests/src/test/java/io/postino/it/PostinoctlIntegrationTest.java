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

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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
    }

    @Test
    void queueListAndDeleteByRouteTakeTheMailOfTheDomainsThatRouteDelivers() throws Exception {
        SmtpClient.expect(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", "later-2@routed.example",
            "From: app@acme.test\r\nTo: later-2@routed.example\r\nSubject: deferred\r\n\r\nlater\r\n"), 250);
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        Run direct;
        do {
            Thread.sleep(500);
            direct = postinoctl("", "queue", "list", "--route", "-");
            assertThat(direct.status()).as(direct.err()).isZero();
        } while (!direct.out().contains("later-2@routed.example\t20") && Instant.now().isBefore(deadline));
        assertThat(direct.out()).as("acme has no <routing>: direct MX delivery").containsPattern(
            "(?m)^outgoing\\.acme\t\\S+\tapp@acme\\.test\tlater-2@routed\\.example\t20");
        assertThat(postinoctl("", "queue", "list", "--route", "eu").out()).as("no mail takes route eu").isEmpty();

        Run deleted = postinoctl("", "queue", "delete", "--route", "-", "--domain", "routed.example");
        assertThat(deleted.status()).as(deleted.err()).isZero();
        assertThat(deleted.out()).isEqualTo("route -\tremoved\t1\n");
        assertThat(postinoctl("", "queue", "list", "--domain", "routed.example").out()).isEmpty();
        assertThat(postinoctl("", "queue", "flush", "--route", "-").status()).as("queues are flushed whole").isEqualTo(3);
        Run unknown = postinoctl("", "queue", "delete", "--route", "nosuch");
        assertThat(unknown.status()).as("a typo is not a success").isEqualTo(1);
        assertThat(unknown.err()).contains("Route 'nosuch' is not defined");
    }

    /**
     * A held queue's reader keeps its first mail in hand, out of the queue's reach: a delete
     * through James' /mailQueues (what queue delete uses) must take that one too, or it is
     * delivered on release.
     */
    @Test
    void mailDeletedFromAHeldQueueIsNotDeliveredOnRelease() throws Exception {
        assertThat(postinoctl("", "queue", "hold", "--organisation", "acme").status()).isZero();
        String token = java.util.UUID.randomUUID().toString();
        try {
            for (String recipient : List.of("first", "second", "kept")) {
                SmtpClient.expect(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient + "@held-delete.example",
                    "From: app@acme.test\r\nTo: " + recipient + "@held-delete.example\r\nSubject: " + token + "\r\n\r\nheld\r\n"), 250);
            }
            Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
            Run list;
            do {
                Thread.sleep(300);
                list = postinoctl("", "queue", "list", "--queue", "outgoing.acme", "--domain", "held-delete.example");
            } while (list.out().lines().count() < 3 && Instant.now().isBefore(deadline));
            assertThat(list.out().lines()).as(list.out()).hasSize(3);

            assertThat(postinoctl("", "queue", "delete", "--queue", "outgoing.acme", "--recipient", "first@held-delete.example").status()).isZero();
            assertThat(postino.webAdmin("DELETE", "/mailQueues/outgoing.acme/mails?recipient=second%40held-delete.example", null).statusCode())
                .isEqualTo(201);
            Thread.sleep(1000);
            assertThat(postinoctl("", "queue", "list", "--queue", "outgoing.acme", "--domain", "held-delete.example").out())
                .contains("kept@held-delete.example").doesNotContain("first@").doesNotContain("second@");
        } finally {
            assertThat(postinoctl("", "queue", "release", "--organisation", "acme").status()).isZero();
        }
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, Duration.ofSeconds(30))).hasSize(1);
        Thread.sleep(2000);
        assertThat(sink.matching(m -> m.text().contains(token))).as("only the mail not deleted").hasSize(1)
            .allSatisfy(m -> assertThat(m.recipients()).containsExactly("kept@held-delete.example"));
    }

    @Test
    void queueHoldAndReleaseAnOrganisationsOutgoingQueueAndAnUnknownRouteIsRefused() throws Exception {
        Run hold = postinoctl("", "queue", "hold", "--organisation", "acme");
        assertThat(hold.status()).as(hold.err()).isZero();
        assertThat(hold.out()).isEqualTo("outgoing.acme\theld\n");
        assertThat(postino.webAdmin("GET", "/mailQueueHolds", null).body()).contains("\"held\":[\"outgoing.acme\"]");
        assertThat(postinoctl("", "queue", "holds").out()).contains("outgoing.acme\theld\n", "spool.acme\tholdable\n");

        Run release = postinoctl("", "queue", "release", "--organisation", "acme");
        assertThat(release.status()).as(release.err()).isZero();
        assertThat(release.out()).isEqualTo("outgoing.acme\treleased\n");
        assertThat(postino.webAdmin("GET", "/mailQueueHolds", null).body()).contains("\"held\":[]");
        assertThat(postinoctl("", "queue", "release", "--queue", "outgoing.acme").status()).as("not held").isEqualTo(1);

        Run route = postinoctl("", "queue", "hold", "--route", "eu");
        assertThat(route.status()).isEqualTo(1);
        assertThat(route.err()).contains("Route 'eu' is not defined in organisations.xml <routes>");
        assertThat(postinoctl("", "queue", "hold").status()).as("hold what").isEqualTo(64);
    }

    @Test
    void aUserDisabledWithPostinoctlCannotLogInUntilEnabledAgain() throws Exception {
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/erin@acme.test", "{\"password\":\"erins-pa55word\"}").statusCode()).isEqualTo(204);

        Run disabled = postinoctl("", "users", "disable", "erin@acme.test");
        assertThat(disabled.status()).as(disabled.err()).isZero();
        assertThat(disabled.out()).isEqualTo("erin@acme.test\tdisabled\n");
        try (SmtpClient smtp = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.Reply refused = smtp.authPlain("erin@acme.test", "erins-pa55word");
            assertThat(refused.code()).isEqualTo(535);
            assertThat(refused.text()).contains("5.7.8", "disabled");
        }

        Run enabled = postinoctl("", "users", "enable", "erin@acme.test");
        assertThat(enabled.status()).as(enabled.err()).isZero();
        assertThat(enabled.out()).isEqualTo("erin@acme.test\tenabled\n");
        try (SmtpClient smtp = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.expect(smtp.authPlain("erin@acme.test", "erins-pa55word"), 235);
        }
        assertThat(postinoctl("", "users", "disable", "nobody@acme.test").status()).isEqualTo(1);
        assertThat(postinoctl("", "users", "enable", "nobody@acme.test").status()).as("a mistyped login").isEqualTo(1);
    }

    @Test
    void configShowsExactlyTheValueChangedInACopyOfTheShippedConf() throws Exception {
        Path conf = Installations.copyOfDistribution(temporary.resolve("pristine")).resolve("conf");
        Path smtpserver = conf.resolve("smtpserver.xml");
        String shipped = Files.readString(smtpserver, StandardCharsets.UTF_8);
        assertThat(shipped).contains("<connectiontimeout>300</connectiontimeout>");
        Files.writeString(smtpserver, shipped.replaceFirst("<connectiontimeout>300</connectiontimeout>",
            "<connectiontimeout>120</connectiontimeout>"), StandardCharsets.UTF_8);

        Run changed = postinoctl("", "config", "--conf", conf.toString());
        assertThat(changed.status()).as(changed.err()).isZero();
        assertThat(changed.out()).isEqualTo(
            "env: POSTINO_WEBADMIN_PORT = " + postino.webAdminPort + "\n"
            + "env: POSTINO_DATA_DIR = " + postino.dataDirectory + "\n"
            + "smtpserver.xml: smtpservers/smtpserver[jmxName=smtpserver-relay]/connectiontimeout = 120\n");

        Run all = postinoctl("", "config", "--conf", conf.toString(), "--all");
        assertThat(all.status()).as(all.err()).isZero();
        assertThat(all.out()).contains("env: POSTINO_SMTP_PORT = 25  (default)\n",
            "smtpserver.xml: smtpservers/smtpserver[jmxName=smtpserver-submission]/connectiontimeout = 300\n",
            "smtpserver.xml: smtpservers/smtpserver[jmxName=smtpserver-relay]/connectiontimeout = 120\n");
        assertThat(all.out().lines().count()).isGreaterThan(100);

        Run json = postinoctl("", "config", "--conf", conf.toString(), "--json");
        JsonNode result = new ObjectMapper().readTree(json.out());
        assertThat(result.path("values")).hasSize(1);
        assertThat(result.path("values").get(0).path("shipped").asText()).isEqualTo("300");
        assertThat(result.path("values").get(0).path("status").asText()).isEqualTo("changed");
        assertThat(result.path("settings").get(0).path("source").asText()).isEqualTo("environment");

        Path secrets = Installations.copyOfDistribution(temporary.resolve("secrets")).resolve("conf");
        Files.writeString(secrets.resolve("eventsinks.xml"), "<eventSinks><webhook name=\"crm\" secret=\"0123456789SECRET\""
            + " url=\"https://hooks.example/services/T0/PATHSECRET?code=QUERYSECRET\"/></eventSinks>", StandardCharsets.UTF_8);
        Run masked = postinoctl("", "config", "--conf", secrets.toString());
        assertThat(masked.out()).contains("eventsinks.xml: eventSinks/webhook/@secret = ***\n",
            "eventsinks.xml: eventSinks/webhook/@url = https://hooks.example/***?code=***\n").doesNotContain("SECRET");
        assertThat(postinoctl("", "config", "--conf", secrets.toString(), "--json").out()).contains("***").doesNotContain("SECRET");
        assertThat(postinoctl("", "config", "--conf", secrets.toString(), "--show-secrets").out())
            .contains("@secret = 0123456789SECRET", "PATHSECRET?code=QUERYSECRET");

        Run installed = postinoctl("", "config");
        assertThat(installed.out()).as("the test's organisations.xml is not the shipped one")
            .contains("organisations.xml: organisations/organisation/@name = Acme\n");
    }

    @Test
    void binPostinoRunsPostinoctlsCommandsAndSaysSoInItsHelp() throws Exception {
        ProcessBuilder builder = new ProcessBuilder("bash", installation.resolve("bin/postino").toString(), "config", "--help")
            .redirectErrorStream(true).redirectOutput(temporary.resolve("postino.out").toFile());
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isZero();
        assertThat(Files.readString(temporary.resolve("postino.out"))).startsWith("Usage: postinoctl config");

        Process help = new ProcessBuilder("bash", installation.resolve("bin/postino").toString(), "--help")
            .redirectErrorStream(true).redirectOutput(temporary.resolve("postino-help.out").toFile()).start();
        assertThat(help.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(temporary.resolve("postino-help.out")))
            .contains("postino check-config|config|queue|users|dkim|trace", "run (or nothing)");
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
