package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A mutational fuzzer over real sockets, for {@code -Dpostino.fuzz.seconds} (60 by default; longer
 * on demand) with a seed printed for replay ({@code -Dpostino.fuzz.seed}; the threads interleave,
 * so a replay repeats the inputs, not always their order). Meanwhile a probe greets the server
 * every second. Each session is one of these kinds:
 *
 * <ul>
 *   <li>{@link Kind#MUTATED}: valid commands (EHLO, MAIL, RCPT, DATA, BDAT, AUTH, RSET ...) with
 *   octets inserted, deleted, repeated and replaced (NUL, control characters, 8-bit, long runs),
 *   one at a time on 25 and 587 in clear.</li>
 *   <li>{@link Kind#AUTHENTICATED}: over TLS (587 after STARTTLS, or 465), first AUTH with a user
 *   name that is not UTF-8 or hides a character (must be {@code 501 5.5.2}), then a valid AUTH
 *   PLAIN or LOGIN (must be {@code 235}: the refusals before are not counted), then mutated commands.</li>
 *   <li>{@link Kind#PIPELINED}: a batch of single-line commands written at once, then QUIT: each
 *   must get exactly one reply, in order (plain NOOPs among them must get their {@code 250}, QUIT
 *   the last {@code 221}, nothing may follow), or the batch ends at a {@code 421}.</li>
 *   <li>{@link Kind#STRANGER}: 587 without AUTH (in clear or after STARTTLS) trying to relay: no
 *   MAIL FROM may be accepted and no RCPT TO for a remote domain.</li>
 *   <li>{@link Kind#UTF8}: SMTPUTF8 transactions (RFC 6531) with a corpus of UTF-8 paths, valid
 *   and not: invalid and overlong sequences, encoded surrogates, U+0000, C1 controls, bidi
 *   controls, zero-width and separator characters. None of the bad ones may be accepted, nor an
 *   8-bit path outside an SMTPUTF8 transaction.</li>
 *   <li>{@link Kind#SIZE}: {@code SIZE=} values that are no non-negative integer ({@code -1},
 *   {@code 1e3}, Arabic-Indic digits ...): {@code 501 5.5.4} each.</li>
 * </ul>
 *
 * Throughout: every 4xx/5xx reply has an RFC 3463 enhanced status code of its class and a
 * sentence; no 250 to a MAIL FROM or RCPT TO with a control character; EHLO answered within 2 s;
 * and in the log of the run no ERROR, no stack trace, no raw control, format or separator
 * character and no U+FFFD (a client's octets are escaped), a session's protocol errors at WARN
 * once at most; the server alive at the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FuzzIntegrationTest {
    private static final Duration RUN = Duration.ofSeconds(Long.getLong("postino.fuzz.seconds", 60));
    private static final long SEED = Long.getLong("postino.fuzz.seed", System.nanoTime());
    private static final String USER = "alice@acme.test";
    private static final String PASSWORD = "s3cret-Alice";
    private static final int THREADS = 4;

    private static final List<String> CORPUS = List.of(
        "EHLO fuzz.test", "HELO fuzz.test", "MAIL FROM:<app@acme.test>", "MAIL FROM:<app@acme.test> SIZE=1000 BODY=8BITMIME",
        "MAIL FROM:<>", "RCPT TO:<bob@example.com>", "RCPT TO:<postmaster@acme.test>", "RCPT TO:<x@remote.test> NOTIFY=NEVER",
        "DATA", "RSET", "NOOP", "VRFY bob", "HELP", "AUTH PLAIN " + base64(bytes("\0bob\0pw")),
        "AUTH LOGIN", "BDAT 5", "STARTTLS", "XYZZY", "MAIL FROM:<\"quoted local\"@acme.test>", "RCPT TO:<@relay.test:bob@example.com>",
        "MAIL FROM:<app@acme.test> SMTPUTF8", "RCPT TO:<jösé@bücher.example>", "EXPN list", "QUIT");

    /** Single-line commands that keep the session in command mode, for pipelined batches. */
    private static final List<String> PIPELINE_CORPUS = List.of(
        "EHLO fuzz.test", "HELO fuzz.test", "MAIL FROM:<app@acme.test>", "MAIL FROM:<app@acme.test> SIZE=1000 BODY=8BITMIME",
        "MAIL FROM:<>", "MAIL FROM:<> SIZE=-1", "RCPT TO:<bob@example.com>", "RCPT TO:<postmaster@acme.test>",
        "RCPT TO:<x@remote.test> NOTIFY=NEVER", "RSET", "NOOP", "VRFY bob", "HELP", "XYZZY", "EXPN list",
        "RCPT TO:<\"a>b\"@example.com>", "MAIL FROM:<a@b> SIZE=1 SIZE=2", "", " ", "RCPT TO:<nobody>");

    private static final List<String> SIZE_FORMS = List.of(
        "-1", "-0", "+1", "1e3", "0x10", "1.5", "", "abc", "1_000", "1,000", "12345678901234567890123", "--5", "5-",
        "\u0661\u0662\u0663", "\u0663", "\u216b", "\uff15", "\"5\"", "5;", "=5");

    /** Who may not relay through 587 tries: paths that are or hide a remote domain. */
    private static final List<String> REMOTE_RECIPIENTS = List.of(
        "bob@example.com", "BOB@EXAMPLE.COM", "bob@example.com.", "@acme.test:bob@example.com", "@example.com:bob@acme.test",
        "\"bob@example.com\"@acme.test", "bob%example.com@acme.test", "bob@[127.0.0.1]", "bob@[IPv6:::1]", "bob!example.com@acme.test",
        "bob@example.com@acme.test", "bob@acme.test.example.com", "\"bob\"@example.com", "bob@localhost", "postmaster@example.com");
    private static final List<String> STRANGER_SENDERS = List.of(
        "app@acme.test", USER, "", "postmaster@acme.test", "x@example.com", "MAILER-DAEMON@acme.test");
    private static final List<String> STRANGER_MAIL_PARAMETERS = List.of(
        "", " AUTH=" + USER, " AUTH=<>", " SIZE=100", " BODY=8BITMIME", " SMTPUTF8");

    /** Valid UTF-8 local parts and domains. */
    private static final List<String> UTF8_LOCALS = List.of("jösé", "用户", "δοκιμή", "\ud83d\ude00", "\ud83d\udc69\u200d\ud83d\udcbb",
        "\"jö sé\"", "app", "\"quoted\"");
    private static final List<String> UTF8_DOMAINS = List.of("bücher.example", "xn--bcher-kva.example", "例子.测试", "例子\u3002测试",
        "acme.test", "example.com", "straße.de", "xn--zz.example");
    /** Octets no path may carry. */
    private static final List<byte[]> BAD_OCTETS = List.of(
        new byte[]{(byte) 0xc3}, new byte[]{(byte) 0x80}, new byte[]{(byte) 0xff}, new byte[]{(byte) 0xfe},
        new byte[]{(byte) 0xc0, (byte) 0xaf}, new byte[]{(byte) 0xc0, (byte) 0x80}, new byte[]{(byte) 0xe0, (byte) 0x80, (byte) 0xaf},
        new byte[]{(byte) 0xf0, (byte) 0x80, (byte) 0x80, (byte) 0xaf}, new byte[]{(byte) 0xed, (byte) 0xa0, (byte) 0x80},
        new byte[]{(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, new byte[]{(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
        new byte[]{(byte) 0xe2, (byte) 0x82}, new byte[]{0x00}, new byte[]{0x1b});
    /** Characters no path or login may carry: C1 controls, bidi controls, zero-width and separator characters, tags. */
    private static final List<String> HIDDEN = List.of("\u0085", "\u009b", "\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c", "\u200b", "\ufeff", "\u00ad", "\u2028", "\u2029", "\u180e", "\u2060", "\udb40\udc41");

    private static final Pattern REFUSAL = Pattern.compile("([45])\\d\\d[ -]([45])\\.\\d{1,3}\\.\\d{1,3} \\S.{3,}");

    enum Kind { MUTATED, AUTHENTICATED, PIPELINED, STRANGER, UTF8, SIZE }

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("fuzz");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/" + USER, "{\"password\":\"" + PASSWORD + "\"}").statusCode()).isEqualTo(204);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** What the fuzzing threads saw. */
    /**
     * Sessions per client address and port: over a minute of some thousand sessions from a few
     * hundred addresses, the system gives a port of an address again, so one address:port can be
     * several sessions, each of which may have one protocol error logged.
     */
    private static final Map<String, AtomicLong> SESSIONS_BY_CLIENT = new java.util.concurrent.ConcurrentHashMap<>();

    private static final class Findings {
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        final Map<Kind, AtomicLong> sessions = new EnumMap<>(Kind.class);
        final AtomicLong commands = new AtomicLong();
        /** Pipelined batches answered in full (to QUIT) and checked reply by reply. */
        final AtomicLong alignedBatches = new AtomicLong();

        Findings() {
            for (Kind kind : Kind.values()) {
                sessions.put(kind, new AtomicLong());
            }
        }

        void violation(Kind kind, String what) {
            if (violations.size() < 200) {
                violations.add(kind + ": " + what);
            }
        }
    }

    @Test
    void garbageNeverGetsAcceptedNorAnswersBadlyNorStallsNorBreaksTheServer() throws Exception {
        System.out.println("FuzzIntegrationTest: seed " + SEED + ", " + RUN.toSeconds() + " s (-Dpostino.fuzz.seed=" + SEED + " to replay)");
        int logStart = postino.output().length();
        Instant end = Instant.now().plus(RUN);
        Findings findings = new Findings();
        ExecutorService threads = Executors.newFixedThreadPool(THREADS + 1);
        List<Future<?>> fuzzers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
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
        System.out.println("FuzzIntegrationTest: sessions " + findings.sessions + ", " + findings.commands + " commands, "
            + findings.alignedBatches + " pipelined batches checked in full, slowest EHLO " + worstGreeting.toMillis() + " ms");

        assertThat(findings.violations).as("violations").isEmpty();
        assertThat(worstGreeting).as("slowest EHLO answer").isLessThan(Duration.ofSeconds(2));
        assertThat(greet()).as("alive at the end").isLessThan(Duration.ofSeconds(2));
        String log = postino.output().substring(logStart);
        assertThat(log.lines().filter(line -> line.contains(" ERROR ")).toList()).as("ERROR lines").isEmpty();
        assertThat(log.lines().filter(line -> line.startsWith("\tat ") || line.startsWith("Caused by")).toList()).as("stack traces").isEmpty();
        assertThat(log.lines().filter(FuzzIntegrationTest::hasRawClientCharacter).toList()).as("unescaped client octets").isEmpty();
        Map<String, Long> abuseLines = log.lines().filter(line -> line.contains("Protocol error from "))
            .map(line -> line.replaceAll(".*Protocol error from (\\S+):.*", "$1"))
            .collect(java.util.stream.Collectors.groupingBy(client -> client, java.util.stream.Collectors.counting()));
        assertThat(abuseLines).as("protocol errors logged more than once for a session (client address:port)").allSatisfy((client, lines) ->
            assertThat(lines).as(client).isLessThanOrEqualTo(SESSIONS_BY_CLIENT.getOrDefault(client, new AtomicLong(1)).get()));
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
        int pick = random.nextInt(100);
        Kind kind = pick < 30 ? Kind.MUTATED : pick < 50 ? Kind.AUTHENTICATED : pick < 68 ? Kind.PIPELINED
            : pick < 80 ? Kind.STRANGER : pick < 94 ? Kind.UTF8 : Kind.SIZE;
        findings.sessions.get(kind).incrementAndGet();
        try {
            switch (kind) {
                case MUTATED -> mutated(random, findings);
                case AUTHENTICATED -> authenticated(random, findings);
                case PIPELINED -> pipelined(random, findings);
                case STRANGER -> stranger(random, findings);
                case UTF8 -> utf8(random, findings);
                default -> size(random, findings);
            }
        } catch (IOException e) {
            // closed by the server, or a timeout: the next session
        }
    }

    // ---- session kinds ----

    private void mutated(Random random, Findings findings) throws IOException {
        int port = random.nextBoolean() ? postino.smtpPort : postino.submissionPort;
        try (Session session = Session.open(client(random, 0), port, false)) {
            if (session.greeting(findings, Kind.MUTATED).isEmpty()) {
                return;
            }
            commands(random, findings, Kind.MUTATED, session, 3 + random.nextInt(15));
        }
    }

    private void authenticated(Random random, Findings findings) throws IOException {
        boolean implicit = random.nextBoolean();
        try (Session session = Session.open(client(random, 1), implicit ? postino.smtpsPort : postino.submissionPort, implicit)) {
            if (session.greeting(findings, Kind.AUTHENTICATED).isEmpty() || !ehlo(session, findings, Kind.AUTHENTICATED)) {
                return;
            }
            if (!implicit) {
                Optional<String> ready = session.command(bytes("STARTTLS"), findings, Kind.AUTHENTICATED);
                if (ready.isEmpty() || !ready.get().startsWith("220")) {
                    findings.violation(Kind.AUTHENTICATED, "STARTTLS -> " + ready.orElse("(nothing)"));
                    return;
                }
                session.startTls();
                if (!ehlo(session, findings, Kind.AUTHENTICATED)) {
                    return;
                }
            }
            if (random.nextBoolean() && !badLogin(random, findings, session)) {
                return;
            }
            Optional<String> login;
            if (random.nextBoolean()) {
                login = session.command(bytes("AUTH PLAIN " + base64(bytes("\0" + USER + "\0" + PASSWORD))), findings, Kind.AUTHENTICATED);
            } else {
                session.command(bytes("AUTH LOGIN " + base64(bytes(USER))), findings, Kind.AUTHENTICATED);
                login = session.command(bytes(base64(bytes(PASSWORD))), findings, Kind.AUTHENTICATED);
            }
            if (login.isEmpty() || !login.get().startsWith("235")) {
                findings.violation(Kind.AUTHENTICATED, "valid AUTH after refused user names -> " + login.orElse("(nothing)"));
                return;
            }
            commands(random, findings, Kind.AUTHENTICATED, session, 3 + random.nextInt(12));
        }
    }

    /** AUTH with a user name (or password) that must be refused with 501 5.5.2 and not counted; false when the session ended. */
    private boolean badLogin(Random random, Findings findings, Session session) throws IOException {
        boolean badPassword = random.nextInt(4) == 0;
        byte[] user = badPassword ? bytes(USER) : badUserName(random);
        // The first three bad octets (0xc3, 0x80, 0xff) can be no UTF-8 whatever follows.
        byte[] password = badPassword ? concat(bytes("s3"), BAD_OCTETS.get(random.nextInt(3))) : bytes(PASSWORD);
        String mechanism = random.nextBoolean() ? "PLAIN" : "LOGIN";
        String described = "AUTH " + mechanism + " of " + escape(user) + " / " + escape(password);
        Optional<String> reply;
        if (mechanism.equals("PLAIN")) {
            reply = session.command(bytes("AUTH PLAIN " + base64(concat(new byte[]{0}, user, new byte[]{0}, password))), findings, Kind.AUTHENTICATED);
        } else {
            reply = session.command(bytes("AUTH LOGIN " + base64(user)), findings, Kind.AUTHENTICATED);
            if (reply.isPresent() && reply.get().startsWith("334")) {
                reply = session.command(bytes(base64(password)), findings, Kind.AUTHENTICATED);
            }
        }
        if (reply.isEmpty()) {
            return false;
        }
        if (!reply.get().startsWith("501 5.5.2")) {
            findings.violation(Kind.AUTHENTICATED, described + " -> " + reply.get());
            return !reply.get().startsWith("235") && !reply.get().startsWith("421");
        }
        return true;
    }

    private static byte[] badUserName(Random random) {
        String local = random.nextBoolean() ? "alice" : "bob";
        if (random.nextBoolean()) {
            byte[] bad = BAD_OCTETS.get(random.nextInt(BAD_OCTETS.size() - 2)); // not NUL (the PLAIN separator) nor ESC
            return concat(bytes(local.substring(0, 2)), bad, bytes(local.substring(2) + "@acme.test"));
        }
        String hidden = HIDDEN.get(random.nextInt(HIDDEN.size()));
        int at = random.nextInt(local.length() + 1);
        return bytes(local.substring(0, at) + hidden + local.substring(at) + "@acme.test");
    }

    /**
     * Mutated corpus commands one at a time: no 250 to a MAIL or RCPT with a control character;
     * 354 and 334 are followed by a body or a response so that the session goes on.
     */
    private void commands(Random random, Findings findings, Kind kind, Session session, int steps) throws IOException {
        for (int i = 0; i < steps; i++) {
            String base = CORPUS.get(random.nextInt(CORPUS.size()));
            byte[] command = mutate(random, base.getBytes(StandardCharsets.UTF_8));
            String verb = verb(command);
            Optional<String> reply = session.command(command, findings, kind);
            if (reply.isEmpty()) {
                return;
            }
            String first = reply.get();
            boolean singleLine = indexOf(command, (byte) '\n') < 0 && indexOf(command, (byte) '\r') < 0;
            if (!singleLine) {
                return; // a line feed inside made it several commands with as many replies: the next replies would not pair with their commands
            }
            if ((verb.equals("MAIL") || verb.equals("RCPT")) && hasControl(command) && first.startsWith("250")) {
                findings.violation(kind, "control character accepted: " + escape(command) + " -> " + first);
            }
            if (first.startsWith("354")) {
                session.sendRaw(concat(body(random), bytes("\r\n.\r\n")));
                session.replies(1, findings, kind);
            } else if (first.startsWith("334")) {
                session.command(mutate(random, bytes("YWxpY2U=")), findings, kind);
            } else if (first.startsWith("220") && verb.equals("STARTTLS")) {
                return; // TLS would start: this session is done
            } else if (verb.equals("BDAT") && first.startsWith("5") && first.contains("5.5.4")) {
                return;
            }
            if (first.startsWith("421") || first.startsWith("221")) {
                return;
            }
        }
    }

    private void pipelined(Random random, Findings findings) throws IOException {
        int[] ports = {postino.smtpPort, postino.submissionPort, postino.smtpsPort};
        int port = ports[random.nextInt(ports.length)];
        try (Session session = Session.open(client(random, 0), port, port == postino.smtpsPort)) {
            if (session.greeting(findings, Kind.PIPELINED).isEmpty()) {
                return;
            }
            List<byte[]> batch = new ArrayList<>();
            List<Boolean> markers = new ArrayList<>();
            for (int n = 3 + random.nextInt(18); batch.size() < n; ) {
                if (random.nextInt(4) == 0) {
                    batch.add(bytes("NOOP"));
                    markers.add(true);
                    continue;
                }
                byte[] command = mutate(random, PIPELINE_CORPUS.get(random.nextInt(PIPELINE_CORPUS.size())).getBytes(StandardCharsets.UTF_8));
                if (random.nextInt(30) == 0) {
                    command = concat(bytes("NOOP "), "x".repeat(random.nextBoolean() ? 2_000 : 20_000).getBytes(StandardCharsets.US_ASCII));
                }
                command = withoutLineEnds(command);
                if (List.of("DATA", "BDAT", "AUTH", "STARTTLS", "QUIT").contains(verb(command))) {
                    continue;
                }
                batch.add(command);
                markers.add(false);
            }
            ByteArrayOutputStream written = new ByteArrayOutputStream();
            for (byte[] command : batch) {
                written.writeBytes(command);
                written.writeBytes(bytes("\r\n"));
            }
            written.writeBytes(bytes("QUIT\r\n"));
            session.sendRaw(written.toByteArray());
            findings.commands.addAndGet(batch.size() + 1);

            // Every reply must come: a slow one (a loaded machine) must not pass for a missing one.
            List<String> replies = session.repliesWithin(batch.size() + 1, Duration.ofSeconds(10), findings, Kind.PIPELINED);
            String what = batch.size() + " commands " + batch.stream().map(FuzzIntegrationTest::escape).map(c -> c.length() > 60 ? c.substring(0, 60) + "..." : c).toList();
            int closing = -1;
            for (int i = 0; i < replies.size(); i++) {
                if (replies.get(i).startsWith("421")) {
                    closing = i;
                    break;
                }
            }
            if (closing >= 0) {
                if (closing != replies.size() - 1) {
                    findings.violation(Kind.PIPELINED, "replies after a 421: " + replies + " to " + what);
                }
                return;
            }
            if (replies.size() != batch.size() + 1) {
                findings.violation(Kind.PIPELINED, replies.size() + " replies " + replies + " to " + what + " and QUIT");
                return;
            }
            for (int i = 0; i < batch.size(); i++) {
                if (markers.get(i) && !replies.get(i).startsWith("250")) {
                    findings.violation(Kind.PIPELINED, "out of step: NOOP " + (i + 1) + " answered " + replies.get(i) + "; " + replies + " to " + what);
                    return;
                }
            }
            if (!replies.get(batch.size()).startsWith("221")) {
                findings.violation(Kind.PIPELINED, "QUIT answered " + replies.get(batch.size()) + "; " + replies + " to " + what);
                return;
            }
            List<String> more = session.repliesWithin(1, Duration.ofMillis(300), findings, Kind.PIPELINED);
            if (!more.isEmpty()) {
                findings.violation(Kind.PIPELINED, "more replies than commands: " + more + " after " + replies + " to " + what);
                return;
            }
            findings.alignedBatches.incrementAndGet();
        }
    }

    private void stranger(Random random, Findings findings) throws IOException {
        boolean tls = random.nextBoolean();
        try (Session session = Session.open(client(random, 2), postino.submissionPort, false)) {
            if (session.greeting(findings, Kind.STRANGER).isEmpty() || !ehlo(session, findings, Kind.STRANGER)) {
                return;
            }
            if (tls) {
                Optional<String> ready = session.command(bytes("STARTTLS"), findings, Kind.STRANGER);
                if (ready.isEmpty() || !ready.get().startsWith("220")) {
                    return;
                }
                session.startTls();
                if (!ehlo(session, findings, Kind.STRANGER)) {
                    return;
                }
            }
            for (int i = 3 + random.nextInt(12); i > 0; i--) {
                byte[] command = strangerCommand(random, tls);
                Optional<String> reply = session.command(command, findings, Kind.STRANGER);
                if (reply.isEmpty()) {
                    return;
                }
                String verb = verb(command);
                String text = new String(command, StandardCharsets.UTF_8);
                if (reply.get().startsWith("2") && verb.equals("MAIL")) {
                    findings.violation(Kind.STRANGER, "MAIL accepted on 587 without AUTH: " + escape(command) + " -> " + reply.get());
                }
                if (reply.get().startsWith("2") && verb.equals("RCPT") && isRemote(text)) {
                    findings.violation(Kind.STRANGER, "remote RCPT accepted on 587 without AUTH: " + escape(command) + " -> " + reply.get());
                }
                if (reply.get().startsWith("235")) {
                    findings.violation(Kind.STRANGER, "logged in over plaintext: " + escape(command) + " -> " + reply.get());
                    return;
                }
                if (reply.get().startsWith("354")) {
                    findings.violation(Kind.STRANGER, "DATA accepted on 587 without AUTH -> " + reply.get());
                    session.sendRaw(bytes("Subject: stranger\r\n\r\nrelayed?\r\n.\r\n"));
                    session.replies(1, findings, Kind.STRANGER);
                }
                if (reply.get().startsWith("334")) {
                    session.command(bytes("*"), findings, Kind.STRANGER);
                }
                if (reply.get().startsWith("421")) {
                    return;
                }
            }
        }
    }

    private static byte[] strangerCommand(Random random, boolean tls) {
        String command = switch (random.nextInt(tls ? 9 : 10)) {
            case 0, 1, 2 -> "MAIL FROM:<" + pick(random, STRANGER_SENDERS) + ">" + pick(random, STRANGER_MAIL_PARAMETERS);
            case 3, 4, 5 -> "RCPT TO:<" + pick(random, REMOTE_RECIPIENTS) + ">";
            case 6 -> pick(random, List.of("RSET", "NOOP", "DATA", "HELO acme.test", "EHLO localhost"));
            case 7 -> pick(random, List.of("XCLIENT ADDR=127.0.0.1 LOGIN=" + USER, "XFORWARD ADDR=127.0.0.1", "ETRN acme.test"));
            case 8 -> new String(mutate(random, ("RCPT TO:<" + pick(random, REMOTE_RECIPIENTS) + ">").getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.ISO_8859_1);
            default -> "AUTH PLAIN " + base64(bytes("\0" + USER + "\0" + PASSWORD)); // in clear: 538, never a login
        };
        return command.getBytes(random.nextInt(5) == 4 ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
    }

    /** Whether a RCPT TO names a mailbox outside acme.test (the part after its last '@'). */
    private static boolean isRemote(String rcpt) {
        int open = rcpt.indexOf('<');
        int close = rcpt.lastIndexOf('>');
        if (open < 0 || close < open) {
            return true;
        }
        String path = rcpt.substring(open + 1, close);
        int at = path.lastIndexOf('@');
        return at >= 0 && !path.substring(at + 1).equalsIgnoreCase("acme.test");
    }

    private void utf8(Random random, Findings findings) throws IOException {
        try (Session session = Session.open(client(random, 0), postino.smtpPort, false)) {
            if (session.greeting(findings, Kind.UTF8).isEmpty() || !ehlo(session, findings, Kind.UTF8)) {
                return;
            }
            for (int transactions = 1 + random.nextInt(3); transactions > 0; transactions--) {
                boolean declared = random.nextInt(4) != 0;
                // Often a sender of the organisation, so that the RCPTs get as far as their checks.
                byte[] sender = random.nextBoolean() ? bytes(pick(random, List.of("app@acme.test", "jösé@acme.test"))) : utf8Path(random);
                byte[] mail = concat(bytes("MAIL FROM:<"), sender, bytes(declared ? "> SMTPUTF8" : ">"));
                Optional<String> mailReply = session.command(mail, findings, Kind.UTF8);
                if (mailReply.isEmpty()) {
                    return;
                }
                checkPath(findings, mail, sender, mailReply.get(), declared, true);
                boolean utf8Transaction = declared && mailReply.get().startsWith("250");
                boolean accepted = false;
                for (int r = 1 + random.nextInt(4); r > 0; r--) {
                    byte[] recipient = utf8Path(random);
                    byte[] rcpt = concat(bytes("RCPT TO:<"), recipient, bytes(">"));
                    Optional<String> rcptReply = session.command(rcpt, findings, Kind.UTF8);
                    if (rcptReply.isEmpty()) {
                        return;
                    }
                    checkPath(findings, rcpt, recipient, rcptReply.get(), utf8Transaction, false);
                    accepted |= rcptReply.get().startsWith("250");
                    if (rcptReply.get().startsWith("421")) {
                        return;
                    }
                }
                if (accepted && random.nextInt(3) == 0) {
                    Optional<String> data = session.command(bytes("DATA"), findings, Kind.UTF8);
                    if (data.isPresent() && data.get().startsWith("354")) {
                        session.sendRaw(concat(bytes("From: "), sender, bytes("\r\nSubject: Grüße \u202e fuzz\r\n\r\nHallo ö\r\n.\r\n")));
                        session.replies(1, findings, Kind.UTF8);
                    }
                }
                if (session.command(bytes("RSET"), findings, Kind.UTF8).isEmpty()) {
                    return;
                }
            }
        }
    }

    /** A path of the corpus: valid UTF-8 local part and domain, often with bad octets or a hidden character put in. */
    private static byte[] utf8Path(Random random) {
        byte[] local = pick(random, UTF8_LOCALS).getBytes(StandardCharsets.UTF_8);
        byte[] domain = pick(random, UTF8_DOMAINS).getBytes(StandardCharsets.UTF_8);
        switch (random.nextInt(4)) {
            case 0 -> local = insert(random, local, BAD_OCTETS.get(random.nextInt(BAD_OCTETS.size())));
            case 1 -> local = insert(random, local, pick(random, HIDDEN).getBytes(StandardCharsets.UTF_8));
            case 2 -> domain = insert(random, domain, random.nextBoolean() ? pick(random, HIDDEN).getBytes(StandardCharsets.UTF_8)
                : BAD_OCTETS.get(random.nextInt(BAD_OCTETS.size())));
            default -> { }
        }
        return concat(local, bytes("@"), domain);
    }

    /** A path must be refused when it is no UTF-8, has a control or hidden character, or is 8-bit outside SMTPUTF8. */
    private static void checkPath(Findings findings, byte[] command, byte[] path, String reply, boolean utf8Allowed, boolean isMail) {
        if (!reply.startsWith("2")) {
            return;
        }
        Optional<String> decoded = strictUtf8(path);
        String why = null;
        if (decoded.isEmpty()) {
            why = "a path that is not UTF-8";
        } else if (hasControl(path) || decoded.get().codePoints().anyMatch(FuzzIntegrationTest::isHidden)) {
            why = "a path with a control or hidden character";
        } else if (!utf8Allowed && !isAscii(path)) {
            why = "an 8-bit path " + (isMail ? "without SMTPUTF8" : "outside an SMTPUTF8 transaction");
        }
        if (why != null) {
            findings.violation(Kind.UTF8, why + " accepted: " + escape(command) + " -> " + reply);
        }
    }

    private void size(Random random, Findings findings) throws IOException {
        try (Session session = Session.open(client(random, 0), random.nextBoolean() ? postino.smtpPort : postino.submissionPort, false)) {
            if (session.greeting(findings, Kind.SIZE).isEmpty() || !ehlo(session, findings, Kind.SIZE)) {
                return;
            }
            for (int i = 3 + random.nextInt(6); i > 0; i--) {
                String form = random.nextInt(3) == 0 ? "-" + Math.abs(random.nextLong() % 1_000_000_000_000L) : pick(random, SIZE_FORMS);
                String parameter = random.nextBoolean() ? "SIZE=" : "size=";
                String extra = isAscii(bytes(form)) ? pick(random, List.of("", " BODY=8BITMIME", " SMTPUTF8")) : " SMTPUTF8";
                String line = random.nextBoolean() ? "MAIL FROM:<app@acme.test> " + parameter + form + extra
                    : "MAIL FROM:<>" + extra + " " + parameter + form;
                Optional<String> reply = session.command(line.getBytes(StandardCharsets.UTF_8), findings, Kind.SIZE);
                if (reply.isEmpty()) {
                    return;
                }
                if (reply.get().startsWith("421")) {
                    return;
                }
                if (!reply.get().startsWith("501 5.5.4")) {
                    findings.violation(Kind.SIZE, escape(bytes(line)) + " -> " + reply.get());
                }
                if (random.nextBoolean() && session.command(bytes("RSET"), findings, Kind.SIZE).isEmpty()) {
                    return;
                }
            }
        }
    }

    private static boolean ehlo(Session session, Findings findings, Kind kind) throws IOException {
        Optional<String> reply = session.command(bytes("EHLO fuzz.test"), findings, kind);
        return reply.isPresent() && reply.get().startsWith("250");
    }

    /** Clients of one kind come from their own 127.0.x.0/24, so that login throttling of one kind cannot reach another. */
    private static String client(Random random, int network) {
        return "127.0." + network + "." + (2 + random.nextInt(network == 0 ? 50 : 200));
    }

    // ---- checks ----

    /** A 4xx or 5xx reply has an RFC 3463 enhanced status code of its class and a sentence. */
    private static boolean wellFormedRefusal(String reply) {
        if (!(reply.startsWith("4") || reply.startsWith("5"))) {
            return true;
        }
        Matcher matcher = REFUSAL.matcher(reply);
        return matcher.matches() && matcher.group(1).equals(matcher.group(2));
    }

    /** A log line with a character a client's octets would bring only if they were written unescaped. */
    private static boolean hasRawClientCharacter(String line) {
        return line.codePoints().anyMatch(c -> c == 0xfffd || (c != '\t' && isHidden(c)));
    }

    private static boolean isHidden(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SURROGATE -> true;
            case Character.FORMAT -> c != 0x200c && c != 0x200d;
            default -> false;
        };
    }

    private static Optional<String> strictUtf8(byte[] octets) {
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(octets)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
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

    private static boolean isAscii(byte[] octets) {
        for (byte octet : octets) {
            if (octet < 0) {
                return false;
            }
        }
        return true;
    }

    // ---- input ----

    private static byte[] mutate(Random random, byte[] command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(command);
        int mutations = random.nextInt(4);
        byte[] current;
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

    /** CR and LF of a mutation become other octets: a pipelined batch is one command per line. */
    private static byte[] withoutLineEnds(byte[] command) {
        byte[] copy = command.clone();
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] == '\r' || copy[i] == '\n') {
                copy[i] = 0x0b;
            }
        }
        return copy;
    }

    private static byte[] body(Random random) {
        StringBuilder body = new StringBuilder("From: app@acme.test\r\nSubject: fuzz\r\n\r\n");
        for (int i = random.nextInt(20); i > 0; i--) {
            body.append(random.nextInt(3) == 0 ? "." : "").append("line ").append(random.nextLong()).append(random.nextBoolean() ? "\r\n" : "\n");
        }
        return body.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] insert(Random random, byte[] into, byte[] piece) {
        int at = random.nextInt(into.length + 1);
        return concat(java.util.Arrays.copyOfRange(into, 0, at), piece, java.util.Arrays.copyOfRange(into, at, into.length));
    }

    private static <T> T pick(Random random, List<T> list) {
        return list.get(random.nextInt(list.size()));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String base64(byte[] octets) {
        return Base64.getEncoder().encodeToString(octets);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static String verb(byte[] command) {
        int end = 0;
        while (end < command.length && command[end] != ' ') {
            end++;
        }
        return new String(command, 0, end, StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT);
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

    /** One fuzzing connection: raw octets out, replies in, optionally TLS (implicit or after STARTTLS). */
    private static final class Session implements AutoCloseable {
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private String lastCommand = "(greeting)";

        private Session(Socket socket) throws IOException {
            use(socket);
        }

        static Session open(String client, int port, boolean implicitTls) throws IOException {
            Socket plain = new Socket();
            try {
                plain.bind(new InetSocketAddress(client, 0));
                plain.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                SESSIONS_BY_CLIENT.computeIfAbsent(client + ":" + plain.getLocalPort(), any -> new AtomicLong()).incrementAndGet();
                plain.setSoTimeout(3_000);
                if (!implicitTls) {
                    return new Session(plain);
                }
                SSLSocket tls = (SSLSocket) SmtpClient.trustAll().getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
                tls.setUseClientMode(true);
                tls.startHandshake();
                return new Session(tls);
            } catch (IOException e) {
                plain.close();
                throw e;
            }
        }

        private void use(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(3_000);
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        void startTls() throws IOException {
            SSLSocket tls = (SSLSocket) SmtpClient.trustAll().getSocketFactory()
                .createSocket(socket, "127.0.0.1", socket.getPort(), true);
            tls.setUseClientMode(true);
            tls.startHandshake();
            use(tls);
        }

        Optional<String> greeting(Findings findings, Kind kind) throws IOException {
            List<String> replies = replies(1, findings, kind);
            return replies.isEmpty() ? Optional.empty() : Optional.of(replies.get(0));
        }

        /** Writes {@code command} and CRLF; its reply, empty when the connection closed or nothing came in time. */
        Optional<String> command(byte[] command, Findings findings, Kind kind) throws IOException {
            lastCommand = escape(command);
            out.write(command);
            out.write(new byte[]{'\r', '\n'});
            out.flush();
            findings.commands.incrementAndGet();
            List<String> replies = replies(1, findings, kind);
            return replies.isEmpty() ? Optional.empty() : Optional.of(replies.get(0));
        }

        void sendRaw(byte[] octets) throws IOException {
            lastCommand = "(data)";
            out.write(octets);
            out.flush();
        }

        /** Reads {@code count} complete replies (their last lines), fewer when the connection closes or is silent 3 s; each refusal checked. */
        List<String> replies(int count, Findings findings, Kind kind) throws IOException {
            List<String> replies = read(count);
            for (String reply : replies) {
                if (!wellFormedRefusal(reply)) {
                    findings.violation(kind, "refusal without enhanced status code or sentence: " + reply + " (after " + lastCommand + ")");
                }
            }
            return replies;
        }

        List<String> repliesWithin(int count, Duration wait, Findings findings, Kind kind) throws IOException {
            socket.setSoTimeout((int) wait.toMillis());
            try {
                return replies(count, findings, kind);
            } finally {
                if (!socket.isClosed()) {
                    socket.setSoTimeout(3_000);
                }
            }
        }

        private List<String> read(int count) throws IOException {
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
            } catch (java.net.SocketException | javax.net.ssl.SSLException e) {
                // closed by the server
            }
            return replies;
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // already closed
            }
        }
    }
}
