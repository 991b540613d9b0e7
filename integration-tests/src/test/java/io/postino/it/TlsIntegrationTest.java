package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * TLS as an admin runs it: certbot's PEM files used as they are and picked up again when renewed
 * (here a symlink in live/ repointed to a new file in archive/, as certbot does), no client-initiated
 * renegotiation, no cipher without forward secrecy, and a generated certificate that names the host.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsIntegrationTest {
    private Path temporary;
    private Path live;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("tls");
        sink = SmtpSink.start();
        TestCertificates.write(temporary.resolve("archive/1"), "one.test");
        TestCertificates.write(temporary.resolve("archive/2"), "two.test");
        TestCertificates.write(temporary.resolve("archive/3"), "three.test");
        TestCertificates.write(temporary.resolve("unrelated"), "unrelated.test");
        live = temporary.resolve("live");
        Files.createDirectories(live);
        link("1");
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port(), Map.of(
            "POSTINO_TLS_CERTIFICATE", live.resolve("fullchain.pem").toString(),
            "POSTINO_TLS_PRIVATE_KEY", live.resolve("privkey.pem").toString(),
            "JAVA_OPTS", "-Xms128m -Xmx512m -Dpostino.tls.watchSeconds=1"));
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** Points live/fullchain.pem and live/privkey.pem at archive/{version}. */
    private void link(String version) throws IOException {
        for (String file : List.of("fullchain.pem", "privkey.pem")) {
            repoint(file, temporary.resolve("archive/" + version + "/" + file));
        }
    }

    private void repoint(String file, Path target) throws IOException {
        Path next = live.resolve(file + ".next");
        Files.deleteIfExists(next);
        Files.createSymbolicLink(next, target);
        Files.move(next, live.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static String subjectOf(SSLSocket socket) throws IOException {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    private String smtpsSubject() throws IOException {
        try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            return subjectOf((SSLSocket) client.socket());
        }
    }

    private String startTlsSubject() throws IOException {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.startTls(), 220);
            return subjectOf((SSLSocket) client.socket());
        }
    }

    @Test
    @Order(1)
    void certbotsFilesAreUsedAndARenewedPairIsPickedUpWithoutRestart() throws Exception {
        assertThat(smtpsSubject()).isEqualTo("CN=one.test");
        assertThat(startTlsSubject()).isEqualTo("CN=one.test");
        try (SmtpClient open = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            open.readReply();

            link("2");

            // Each listener watches the files on its own: wait for both.
            Instant deadline = Instant.now().plusSeconds(30);
            String implicit = smtpsSubject();
            String startTls = startTlsSubject();
            while (!(implicit.equals("CN=two.test") && startTls.equals("CN=two.test")) && Instant.now().isBefore(deadline)) {
                Thread.sleep(500);
                implicit = smtpsSubject();
                startTls = startTlsSubject();
            }
            assertThat(implicit).isEqualTo("CN=two.test");
            assertThat(startTls).isEqualTo("CN=two.test");
            assertThat(open.command("NOOP").code()).as("open sessions go on").isEqualTo(250);
        }
        assertThat(postino.output()).contains("reloaded the TLS certificate");
    }

    /** After the renewal above (two.test): a key that is not the certificate's must not replace the pair in use. */
    @Test
    @Order(2)
    void aRenewedKeyOfAnotherCertificateIsLoggedAndTheOldPairStays() throws Exception {
        assertThat(smtpsSubject()).isEqualTo("CN=two.test");
        int logged = postino.output().length();

        repoint("privkey.pem", temporary.resolve("unrelated/privkey.pem"));

        String problem = "privkey.pem is not the key of the first certificate in ";
        Instant deadline = Instant.now().plusSeconds(30);
        while (!postino.output().substring(logged).contains(problem) && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
        }
        // A few more reload intervals (1 s here): every listener has looked, none swapped later.
        Thread.sleep(3_000);
        String since = postino.output().substring(logged);
        assertThat(since).containsPattern("WARN .*keeping the previous certificate: \\S*" + java.util.regex.Pattern.quote(problem) + "\\S*fullchain.pem");
        assertThat(since).doesNotContain("reloaded the TLS certificate");
        assertThat(smtpsSubject()).as("handshakes still work, with the old pair").isEqualTo("CN=two.test");
        assertThat(startTlsSubject()).isEqualTo("CN=two.test");

        link("3");

        deadline = Instant.now().plusSeconds(30);
        String implicit = smtpsSubject();
        String startTls = startTlsSubject();
        while (!(implicit.equals("CN=three.test") && startTls.equals("CN=three.test")) && Instant.now().isBefore(deadline)) {
            Thread.sleep(500);
            implicit = smtpsSubject();
            startTls = startTlsSubject();
        }
        assertThat(implicit).as("a correct pair is picked up").isEqualTo("CN=three.test");
        assertThat(startTls).isEqualTo("CN=three.test");
    }

    /**
     * TLS 1.2 (1.3 has no renegotiation). The server must refuse at once and for sure: a fatal
     * alert or a closed connection within a few seconds. A second handshake that completes, or an
     * attempt left hanging until the read times out, fails the test.
     */
    @Test
    void aClientCannotRenegotiate() throws Exception {
        SSLSocket socket = (SSLSocket) SmtpClient.trustAll().getSocketFactory().createSocket();
        socket.setEnabledProtocols(new String[]{"TLSv1.2"});
        java.util.concurrent.atomic.AtomicInteger handshakes = new java.util.concurrent.atomic.AtomicInteger();
        socket.addHandshakeCompletedListener(event -> handshakes.incrementAndGet());
        socket.connect(new InetSocketAddress("127.0.0.1", postino.smtpsPort), 10_000);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        try (socket) {
            assertThat(new String(readSome(socket), StandardCharsets.US_ASCII)).startsWith("220 ");
            for (int i = 0; i < 50 && handshakes.get() == 0; i++) {
                Thread.sleep(20); // the listener runs on a thread of its own
            }
            assertThat(handshakes.get()).as("the first handshake").isEqualTo(1);

            Instant start = Instant.now();
            String outcome;
            try {
                socket.startHandshake();
                socket.getOutputStream().write("NOOP\r\n".getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                byte[] reply = readSome(socket);
                outcome = reply.length == 0 ? "closed" : "answered " + new String(reply, StandardCharsets.US_ASCII).strip();
            } catch (java.net.SocketTimeoutException e) {
                outcome = "nothing within 10 s";
            } catch (javax.net.ssl.SSLException e) {
                outcome = "alert: " + e.getMessage();
            } catch (java.net.SocketException e) {
                outcome = "closed: " + e.getMessage();
            }
            Duration took = Duration.between(start, Instant.now());

            assertThat(outcome).as("the renegotiation attempt").matches("alert: .*|closed.*");
            assertThat(took).as("refused at once").isLessThan(Duration.ofSeconds(5));
            assertThat(handshakes.get()).as("no second handshake completed").isEqualTo(1);
        }
        for (int i = 0; i < 50 && !postino.output().contains("renegotiation is not allowed"); i++) {
            Thread.sleep(100);
        }
        assertThat(postino.output()).as("the server says why").contains("renegotiation is not allowed");
    }

    /** What one read gives: empty when the connection is closed. */
    private static byte[] readSome(SSLSocket socket) throws IOException {
        byte[] buffer = new byte[512];
        int read = socket.getInputStream().read(buffer);
        return read < 0 ? new byte[0] : java.util.Arrays.copyOf(buffer, read);
    }

    @Test
    void ciphersWithoutForwardSecrecyAndOldProtocolsAreRefused() throws Exception {
        assertThat(openssl("-connect", "127.0.0.1:" + postino.smtpsPort, "-tls1_2", "-cipher", "AES128-SHA")).isNotZero();
        assertThat(openssl("-connect", "127.0.0.1:" + postino.smtpsPort, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA")).isNotZero();
        assertThat(openssl("-connect", "127.0.0.1:" + postino.smtpsPort, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")).isNotZero();
        assertThat(openssl("-connect", "127.0.0.1:" + postino.smtpsPort, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")).isZero();
        assertThat(openssl("-connect", "127.0.0.1:" + postino.submissionPort, "-starttls", "smtp", "-tls1_3")).isZero();
    }

    private static int openssl(String... arguments) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("openssl", "s_client", "-brief"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
        process.getOutputStream().close();
        process.getInputStream().readAllBytes();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("openssl did not finish");
        }
        return process.exitValue();
    }

    @Test
    void theGeneratedCertificateNamesTheHostForAYear() throws Exception {
        Path installation = Installations.copyWithOrganisations(temporary.resolve("generated"), Installations.ACME_ONLY);
        try (PostinoProcess generated = PostinoProcess.start(installation, temporary.resolve("generated-data"), "127.0.0.1", sink.port())) {
            try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", generated.smtpsPort)) {
                X509Certificate certificate = (X509Certificate) ((SSLSocket) client.socket()).getSession().getPeerCertificates()[0];
                Collection<List<?>> names = certificate.getSubjectAlternativeNames();
                assertThat(names.stream().map(name -> String.valueOf(name.get(1))).toList()).contains("postino.test");
                Duration validity = Duration.between(certificate.getNotBefore().toInstant(), certificate.getNotAfter().toInstant());
                assertThat(validity).isBetween(Duration.ofDays(300), Duration.ofDays(398));
            }
        }
    }
}
