package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.it.extension.SendNotification;
import io.postino.it.extension.StampHeader;

/** A jar dropped into extensions-jars/ provides a mailet the pipeline runs, without rebuilding Postino. */
class ExtensionIntegrationTest {
    private Path temporary;

    @BeforeEach
    void setUp() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("extension");
    }

    @AfterEach
    void tearDown() throws Exception {
        TestFiles.deleteRecursively(temporary);
    }

    @Test
    void aMailetFromAnExtensionJarRunsInThePipeline() throws Exception {
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        packClass(StampHeader.class, installation.resolve("extensions-jars/stamp-extension.jar"));
        Installations.replaceInFile(installation.resolve("conf/mailetcontainer.xml"),
            "            <mailet match=\"HostIsLocal\" class=\"ToProcessor\">",
            "            <mailet match=\"All\" class=\"io.postino.it.extension.StampHeader\">\n"
                + "                <header>X-Stamped-By</header>\n"
                + "                <value>extension</value>\n"
                + "            </mailet>\n"
                + "            <mailet match=\"HostIsLocal\" class=\"ToProcessor\">");
        String token = UUID.randomUUID().toString();

        try (SmtpSink sink = SmtpSink.start();
             PostinoProcess postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port())) {
            assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", "bob@example.com",
                "Subject: " + token + "\r\n\r\nhi").code()).isEqualTo(250);

            List<SmtpSink.Message> delivered = sink.awaitMessages(m -> m.text().contains(token), 1, Duration.ofSeconds(60));
            assertThat(delivered).hasSize(1);
            assertThat(delivered.get(0).text()).contains("\r\nX-Stamped-By: extension\r\n");
            assertThat(postino.output()).contains("stamp-extension.jar");
        }
    }

    @Test
    void mailCreatedByAnExtensionMustComeFromAnAuthorisedSenderOfItsOrganisation() throws Exception {
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        packClass(SendNotification.class, installation.resolve("extensions-jars/notify-extension.jar"));
        String token = UUID.randomUUID().toString();
        Installations.replaceInFile(installation.resolve("conf/mailetcontainer.xml"),
            "            <mailet match=\"HostIsLocal\" class=\"ToProcessor\">",
            notification("aligned-" + token + "@example.net", "notify@acme.test")
                + notification("forged-" + token + "@example.net", "\"Beta CEO\" <ceo@beta.test>")
                + "            <mailet match=\"HostIsLocal\" class=\"ToProcessor\">");

        try (SmtpSink sink = SmtpSink.start();
             PostinoProcess postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port())) {
            assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", "bob@example.com",
                "From: app@acme.test\r\nSubject: " + token + "\r\n\r\nhi").code()).isEqualTo(250);

            assertThat(sink.awaitMessages(m -> m.recipients().contains("aligned-" + token + "@example.net"), 1, Duration.ofSeconds(60)))
                .hasSize(1);
            Instant deadline = Instant.now().plusSeconds(30);
            String errors = "";
            while (Instant.now().isBefore(deadline) && !errors.contains("\"size\":1")) {
                Thread.sleep(500);
                errors = postino.webAdmin("GET", "/mailRepositories/var%2Fmail%2Ferror%2F", null).body();
            }
            assertThat(errors).as("the forged notification is kept in the error repository").contains("\"size\":1");
            assertThat(sink.matching(m -> m.recipients().contains("forged-" + token + "@example.net"))).isEmpty();
            assertThat(postino.output()).contains("From: address ceo@beta.test is not in a domain of organisation acme");
        }
    }

    private static String notification(String to, String from) {
        return "            <mailet match=\"SenderIs=app@acme.test\" class=\"io.postino.it.extension.SendNotification\">\n"
            + "                <sender>notify@acme.test</sender>\n"
            + "                <from>" + from.replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;") + "</from>\n"
            + "                <to>" + to + "</to>\n"
            + "            </mailet>\n";
    }

    private static void packClass(Class<?> type, Path jar) throws Exception {
        String entry = type.getName().replace('.', '/') + ".class";
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry(entry));
            try (var in = type.getClassLoader().getResourceAsStream(entry)) {
                in.transferTo((OutputStream) out);
            }
            out.closeEntry();
        }
    }
}
