package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A mutational fuzzer over real sockets: sessions of valid commands (EHLO, MAIL, RCPT, DATA,
 * BDAT, AUTH, RSET, NOOP ...) with octets inserted, deleted, repeated and replaced (NUL, control
 * characters, 8-bit, long runs), for {@code -Dpostino.fuzz.seconds} (60 by default; longer on
 * demand) with a seed printed for replay ({@code -Dpostino.fuzz.seed}). Meanwhile a probe greets
 * the server every second. Asserts: no 250 to a MAIL FROM or RCPT TO carrying a control
 * character, EHLO answered within 2 s throughout, no ERROR in the log, the server alive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FuzzIntegrationTest {
    private static final Duration RUN = Duration.ofSeconds(Long.getLong("postino.fuzz.seconds", 60));
    private static final long SEED = Long.getLong("postino.fuzz.seed", System.nanoTime());
    private static final List<String> CORPUS = List.of(
        "EHLO fuzz.test", "HELO fuzz.test", "MAIL FROM:<app@acme.test>", "MAIL FROM:<app@acme.test> SIZE=1000 BODY=8BITMIME",
        "MAIL FROM:<>", "RCPT TO:<bob@example.com>", "RCPT TO:<postmaster@acme.test>", "RCPT TO:<x@remote.test> NOTIFY=NEVER",
        "DATA", "RSET", "NOOP", "VRFY bob", "HELP", "AUTH PLAIN " + Base64.getEncoder().encodeToString("\0bob\0pw".getBytes(StandardCharsets.US_ASCII)),
        "AUTH LOGIN", "BDAT 5", "STARTTLS", "XYZZY", "MAIL FROM:<\"quoted local\"@acme.test>", "RCPT TO:<@relay.test:bob@example.com>");

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("fuzz");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** What one fuzzing thread saw. */
    private static final class Findings {
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        final AtomicLong sessions = new AtomicLong();
        final AtomicLong commands = new AtomicLong();
    }

    @Test
    void garbageNeverGets250ForAControlCharacterNorStallsNorBreaksTheServer() throws Exception {
        System.out.println("FuzzIntegrationTest: seed " + SEED + ", " + RUN.toSeconds() + " s (-Dpostino.fuzz.seed=" + SEED + " to replay)");
        Instant end = Instant.now().plus(RUN);
        Findings findings = new Findings();
        ExecutorService threads = Executors.newFixedThreadPool(5);
        List<Future<?>> fuzzers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Random random = new Random(SEED + t);
            fuzzers.add(threads.submit(() -> {
                while (Instant.now().isBefore(end)) {
                    fuzzSession(random, findings);
                }
                return null;
            }));
        }
        Future<Duration> probe = threads.submit(() -> {
            Duration worst = Duration.ZERO;
            while (Instant.now().isBefore(end)) {
                Duration took = greet();
                worst = took.compareTo(worst) > 0 ? took : worst;
                Thread.sleep(1000);
            }
            return worst;
        });
        for (Future<?> fuzzer : fuzzers) {
            fuzzer.get(RUN.toSeconds() + 120, TimeUnit.SECONDS);
        }
        Duration worstGreeting = probe.get(RUN.toSeconds() + 120, TimeUnit.SECONDS);
        threads.shutdownNow();
        System.out.println("FuzzIntegrationTest: " + findings.sessions + " sessions, " + findings.commands + " commands, slowest EHLO " + worstGreeting.toMillis() + " ms");

        assertThat(findings.violations).as("250 to a command with a control character").isEmpty();
        assertThat(worstGreeting).as("slowest EHLO answer").isLessThan(Duration.ofSeconds(2));
        assertThat(greet()).as("alive at the end").isLessThan(Duration.ofSeconds(2));
        assertThat(postino.output().lines().filter(line -> line.contains(" ERROR ")).toList()).isEmpty();
    }

    private Duration greet() throws IOException {
        Instant start = Instant.now();
        try (SmtpClient client = SmtpClient.connectFrom("127.0.0.99", "127.0.0.1", postino.smtpPort)) {
            client.socket().setSoTimeout(10_000);
            SmtpClient.expect(client.greetingAndEhlo(), 250);
        }
        return Duration.between(start, Instant.now());
    }

    private void fuzzSession(Random random, Findings findings) {
        int port = random.nextBoolean() ? postino.smtpPort : postino.submissionPort;
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress("127.0.0." + (2 + random.nextInt(50)), 0));
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(3_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            findings.sessions.incrementAndGet();
            readReplies(in, 1);
            int steps = 3 + random.nextInt(15);
            for (int i = 0; i < steps; i++) {
                String base = CORPUS.get(random.nextInt(CORPUS.size()));
                byte[] command = mutate(random, base.getBytes(StandardCharsets.ISO_8859_1));
                out.write(command);
                out.write(new byte[]{'\r', '\n'});
                out.flush();
                findings.commands.incrementAndGet();
                List<String> replies = readReplies(in, 1);
                if (replies.isEmpty()) {
                    return;
                }
                String first = replies.get(0);
                boolean singleLine = indexOf(command, (byte) '\n') < 0 && indexOf(command, (byte) '\r') < 0;
                String verb = new String(command, 0, Math.min(4, command.length), StandardCharsets.ISO_8859_1).toUpperCase();
                if (!singleLine) {
                    return; // a line feed inside made it several commands, with as many replies: this session's replies no longer pair with its commands
                }
                if ((verb.equals("MAIL") || verb.equals("RCPT")) && hasControl(command) && first.startsWith("250")) {
                    findings.violations.add(escape(command) + " -> " + first);
                }
                if (first.startsWith("354")) {
                    out.write(body(random));
                    out.write("\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    readReplies(in, 1);
                } else if (first.startsWith("334")) {
                    out.write(mutate(random, "YWxpY2U=".getBytes(StandardCharsets.US_ASCII)));
                    out.write(new byte[]{'\r', '\n'});
                    out.flush();
                    readReplies(in, 1);
                } else if (first.startsWith("220") && verb.equals("STAR")) {
                    return; // TLS would start: this session is done
                } else if (verb.equals("BDAT") && first.startsWith("5") && first.contains("5.5.4")) {
                    return;
                }
                if (first.startsWith("421")) {
                    return;
                }
            }
        } catch (IOException e) {
            // closed by the server, or a timeout: the next session
        }
    }

    private static byte[] mutate(Random random, byte[] command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(command);
        int mutations = random.nextInt(4);
        byte[] current = command;
        for (int m = 0; m < mutations; m++) {
            current = out.toByteArray();
            out.reset();
            int at = current.length == 0 ? 0 : random.nextInt(current.length);
            switch (random.nextInt(6)) {
                case 0 -> { out.write(current, 0, at); out.write(interesting(random)); out.write(current, at, current.length - at); }
                case 1 -> { out.write(current, 0, at); out.write(current, Math.min(current.length, at + 1), Math.max(0, current.length - at - 1)); }
                case 2 -> { out.write(current, 0, at); for (int r = random.nextInt(200); r > 0; r--) { out.write(current.length == 0 ? 'a' : current[at]); } out.write(current, at, current.length - at); }
                case 3 -> { byte[] copy = current.clone(); if (copy.length > 0) { copy[at] = (byte) random.nextInt(256); } out.writeBytes(copy); }
                case 4 -> { out.writeBytes(current); out.writeBytes((" SIZE=" + (random.nextBoolean() ? "-" : "") + random.nextLong()).getBytes(StandardCharsets.US_ASCII)); }
                default -> { out.writeBytes(current); out.write(interesting(random)); }
            }
        }
        return out.toByteArray();
    }

    private static int interesting(Random random) {
        int[] octets = {0x00, 0x01, 0x07, 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x1b, 0x7f, 0x80, 0xc3, 0xff, '<', '>', '"', '\\', '@', ':', ' ', '%', '!'};
        return octets[random.nextInt(octets.length)];
    }

    private static byte[] body(Random random) {
        StringBuilder body = new StringBuilder("From: app@acme.test\r\nSubject: fuzz\r\n\r\n");
        for (int i = random.nextInt(20); i > 0; i--) {
            body.append(random.nextInt(3) == 0 ? "." : "").append("line ").append(random.nextLong()).append(random.nextBoolean() ? "\r\n" : "\n");
        }
        return body.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads at least {@code count} complete replies (more if they follow at once); none when the connection closes. */
    private static List<String> readReplies(InputStream in, int count) throws IOException {
        List<String> replies = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        try {
            while (replies.size() < count) {
                int octet = in.read();
                if (octet < 0) {
                    return replies;
                }
                if (octet == '\n') {
                    String text = line.toString().trim();
                    line.setLength(0);
                    if (text.length() < 4 || text.charAt(3) != '-') {
                        replies.add(text);
                    }
                } else {
                    line.append((char) octet);
                }
            }
        } catch (SocketTimeoutException e) {
            // no (more) reply in time
        }
        return replies;
    }

    private static boolean hasControl(byte[] command) {
        for (byte octet : command) {
            int value = octet & 0xff;
            if (value < 0x20 || value == 0x7f) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(byte[] octets, byte wanted) {
        for (int i = 0; i < octets.length; i++) {
            if (octets[i] == wanted) {
                return i;
            }
        }
        return -1;
    }

    private static String escape(byte[] octets) {
        StringBuilder text = new StringBuilder();
        for (byte octet : octets) {
            int value = octet & 0xff;
            text.append(value >= 0x20 && value < 0x7f ? String.valueOf((char) value) : String.format("\\x%02x", value));
        }
        return text.toString();
    }
}
