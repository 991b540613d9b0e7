package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A full disk never costs a message that got its 250: the data directory on a small tmpfs
 * (mounted by the test as root; skipped, saying so, where mounting is not allowed) filled up while
 * mail comes in, then freed. Every message accepted is delivered, new mail is accepted again, and
 * the server was never restarted.
 */
class StorageFaultsIntegrationTest {
    private static final int MESSAGE_SIZE = 200 * 1024;

    private Path temporary;
    private Path mount;
    private SmtpSink sink;
    private volatile boolean sinkDefers = true;

    @BeforeEach
    void mount() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("storage");
        mount = temporary.resolve("disk");
        Files.createDirectories(mount);
        Process process = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", mount.toString())
            .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        boolean mounted = process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
        if (!mounted) {
            System.err.println("StorageFaultsIntegrationTest SKIPPED: cannot mount a tmpfs here (" + output.trim() + ")");
        }
        Assumptions.assumeTrue(mounted, "cannot mount a tmpfs here: " + output.trim());
        sink = SmtpSink.start().replyToRecipients(recipient -> sinkDefers ? "451 4.3.0 try later" : "250 2.1.5 OK");
    }

    @AfterEach
    void unmount() throws Exception {
        if (sink != null) {
            sink.close();
        }
        new ProcessBuilder("umount", "-l", mount.toString()).start().waitFor(30, TimeUnit.SECONDS);
        TestFiles.deleteRecursively(temporary);
    }

    private PostinoProcess start(String minFree) throws Exception {
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino-" + minFree), Installations.ACME_ONLY);
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"), "<minFree>200M</minFree>", "<minFree>" + minFree + "</minFree>");
        return PostinoProcess.start(installation, mount.resolve("data"), "127.0.0.1", sink.port(), Map.of());
    }

    /** Writes a filler file until the file system has at most {@code leave} octets free. */
    private Path fill(long leave) throws IOException {
        Path filler = mount.resolve("filler-" + UUID.randomUUID());
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (mount.toFile().getUsableSpace() > leave + chunk.length) {
                out.write(chunk);
            }
            long rest = mount.toFile().getUsableSpace() - leave;
            if (rest > 0) {
                out.write(chunk, 0, (int) Math.min(rest, chunk.length));
            }
        } catch (IOException e) {
            // the disk is full: what we wanted
        }
        return filler;
    }

    private static String message(String token) {
        StringBuilder body = new StringBuilder("From: app@acme.test\r\nSubject: " + token + "\r\n\r\n");
        while (body.length() < MESSAGE_SIZE) {
            body.append("0123456789".repeat(7)).append(token, 0, 8).append("\r\n");
        }
        return body.toString();
    }

    private SmtpClient.Reply send(PostinoProcess postino, String token) throws IOException {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.Reply mail = client.command("MAIL FROM:<app@acme.test> SIZE=" + MESSAGE_SIZE);
            if (mail.code() != 250) {
                return mail;
            }
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            SmtpClient.Reply data = client.command("DATA");
            if (data.code() != 354) {
                return data;
            }
            client.sendRaw((message(token) + "\r\n.\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return client.readReply();
        }
    }

    private void everyAcceptedMessageArrives(PostinoProcess postino, List<String> accepted) throws Exception {
        Instant deadline = Instant.now().plusSeconds(120);
        while (Instant.now().isBefore(deadline)) {
            postino.flushOutgoingQueue();
            if (accepted.stream().allMatch(token -> !sink.matching(m -> m.text().contains(token)).isEmpty())) {
                return;
            }
            Thread.sleep(1000);
        }
        List<String> missing = accepted.stream().filter(token -> sink.matching(m -> m.text().contains(token)).isEmpty()).toList();
        assertThat(missing).as("accepted with 250 but never delivered").isEmpty();
    }

    @Test
    void nearlyFullTheGuardRefusesWith452AndNothingAcceptedIsLost() throws Exception {
        try (PostinoProcess postino = start("30M")) {
            Path filler = fill(34L << 20);
            List<String> accepted = new ArrayList<>();
            List<SmtpClient.Reply> refused = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                String token = UUID.randomUUID().toString();
                SmtpClient.Reply reply = send(postino, token);
                if (reply.code() == 250) {
                    accepted.add(token);
                } else {
                    refused.add(reply);
                }
            }
            assertThat(refused).as("refused once the floor is near").isNotEmpty()
                .allSatisfy(reply -> assertThat(reply.text()).startsWith("452 4.3.1 Insufficient system storage"));

            Files.delete(filler);
            sinkDefers = false;

            everyAcceptedMessageArrives(postino, accepted);
            assertThat(send(postino, UUID.randomUUID().toString()).code()).as("new mail after space returned").isEqualTo(250);
        }
    }

    @Test
    void withTheDiskFullNothingGets250AndMailFlowsAgainOnceSpaceReturnsWithoutRestart() throws Exception {
        try (PostinoProcess postino = start("0")) {
            sinkDefers = false;
            String before = UUID.randomUUID().toString();
            assertThat(send(postino, before).code()).isEqualTo(250);
            sinkDefers = true;
            String queued = UUID.randomUUID().toString();
            assertThat(send(postino, queued).code()).as("accepted, deferred by the sink").isEqualTo(250);
            Path filler = fill(0);

            List<SmtpClient.Reply> duringFull = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                duringFull.add(send(postino, UUID.randomUUID().toString()));
            }
            assertThat(duringFull).allSatisfy(reply -> assertThat(reply.code()).as(reply.text()).isBetween(400, 499));

            Files.delete(filler);
            sinkDefers = false;
            Instant deadline = Instant.now().plusSeconds(30);
            int code = 0;
            String after = UUID.randomUUID().toString();
            while (code != 250 && Instant.now().isBefore(deadline)) {
                Thread.sleep(1000);
                code = send(postino, after).code();
            }
            assertThat(code).as("accepted again within 30 s, no restart").isEqualTo(250);
            everyAcceptedMessageArrives(postino, List.of(before, queued, after));
            assertThat(postino.webAdmin("GET", "/healthcheck/checks/Spool", null).body()).contains("healthy").doesNotContain("unhealthy");
            assertThat(postino.output()).doesNotContain("Value too long");
        }
    }
}
