package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Password guessing is slowed down without locking honest users out (shipped settings: waits of
 * 1, 2, 4, 8 s per client and login, a session closed after 3 failures, a client blocked after
 * failures for 10 logins). Each test uses its own loopback address, so they do not meet.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthThrottleIntegrationTest {
    private static final List<String> USERS = List.of("alice@acme.test", "bob@acme.test");

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("auth-throttle");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        for (String user : USERS) {
            assertThat(postino.webAdmin("PUT", "/users/" + user, "{\"password\":\"pw-" + user + "\"}").statusCode()).isEqualTo(204);
        }
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** A session on 465 from {@code client}, greeted. */
    private SmtpClient session(String client) throws IOException {
        SmtpClient smtp = SmtpClient.connectTlsFrom(client, "127.0.0.1", postino.smtpsPort);
        smtp.greetingAndEhlo();
        return smtp;
    }

    /** One attempt in a new session: its reply code and how long the answer took. */
    private record Attempt(int code, Duration took) {
    }

    private Attempt attempt(String client, String user, String password) throws IOException {
        try (SmtpClient smtp = session(client)) {
            Instant start = Instant.now();
            int code = smtp.authPlain(user, password).code();
            return new Attempt(code, Duration.between(start, Instant.now()));
        }
    }

    @Test
    void behindOneAddressAnotherUserLogsInAtOnceWhileOneLoginFails() throws Exception {
        try (SmtpClient smtp = session("127.0.0.6")) {
            assertThat(smtp.authPlain("alice@acme.test", "typo").code()).isEqualTo(535);
            assertThat(smtp.authPlain("alice@acme.test", "typo").code()).isEqualTo(535);
            assertThat(smtp.authPlain("alice@acme.test", "typo").code()).as("third failure closes the session").isEqualTo(421);
        }

        Attempt bob = attempt("127.0.0.6", "bob@acme.test", "pw-bob@acme.test");

        assertThat(bob.code()).isEqualTo(235);
        assertThat(bob.took()).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void theOwnerGetsInAfterAnAttackersFailuresWithinTheMaximumDelay() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertThat(attempt("127.0.0.7", "alice@acme.test", "guess-" + i).code()).isEqualTo(535);
        }

        Attempt owner = attempt("127.0.0.7", "alice@acme.test", "pw-alice@acme.test");

        assertThat(owner.code()).isEqualTo(235);
        assertThat(owner.took()).isLessThanOrEqualTo(Duration.ofMillis(8_000 + 1_500));
        assertThat(attempt("127.0.0.7", "alice@acme.test", "pw-alice@acme.test").took()).as("reset by the success")
            .isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void sprayingOneAddressOverManyLoginsBlocksThatAddressUntilAnOperatorClearsIt() throws Exception {
        for (int i = 0; i < 10; i++) {
            assertThat(attempt("127.0.0.8", "user" + i + "@acme.test", "Summer2026!").code()).isEqualTo(535);
        }

        try (SmtpClient smtp = session("127.0.0.8")) {
            SmtpClient.Reply blocked = smtp.authPlain("alice@acme.test", "pw-alice@acme.test");
            assertThat(blocked.code()).isEqualTo(454);
            assertThat(blocked.text()).contains("4.7.0 Too many failed logins from your address");
        }
        assertThat(attempt("127.0.0.9", "alice@acme.test", "pw-alice@acme.test").code()).as("other addresses").isEqualTo(235);
        HttpResponse<String> blocks = postino.webAdmin("GET", "/authentication/blocks", null);
        assertThat(blocks.body()).contains("\"client\":\"127.0.0.8\",\"login\":null");

        assertThat(postino.webAdmin("DELETE", "/authentication/blocks?client=127.0.0.8", null).statusCode()).isEqualTo(204);

        assertThat(postino.webAdmin("GET", "/authentication/blocks", null).body()).doesNotContain("127.0.0.8");
        assertThat(attempt("127.0.0.8", "alice@acme.test", "pw-alice@acme.test").code()).isEqualTo(235);
    }

    @Test
    void anApplicationsPoolOfTwentyConnectionsLogsInAtOnceOnceItHasLoggedIn() throws Exception {
        int sessions = 20;
        List<SmtpClient> pool = new ArrayList<>();
        ExecutorService logins = Executors.newFixedThreadPool(sessions);
        // The pool's first connection logs in alone; a guesser never gets this far.
        assertThat(attempt("127.0.0.11", "alice@acme.test", "pw-alice@acme.test").code()).isEqualTo(235);
        try {
            for (int i = 0; i < sessions; i++) {
                pool.add(session("127.0.0.11"));
            }
            java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(sessions);
            List<Future<Attempt>> answers = new ArrayList<>();
            for (SmtpClient smtp : pool) {
                answers.add(logins.submit(() -> {
                    together.await(10, TimeUnit.SECONDS);
                    Instant start = Instant.now();
                    int code = smtp.authPlain("alice@acme.test", "pw-alice@acme.test").code();
                    return new Attempt(code, Duration.between(start, Instant.now()));
                }));
            }
            for (Future<Attempt> answer : answers) {
                Attempt attempt = answer.get(30, TimeUnit.SECONDS);
                assertThat(attempt.code()).as("a right password in parallel (no turn of 1, 3, 7 s, no 454)").isEqualTo(235);
                assertThat(attempt.took()).isLessThan(Duration.ofSeconds(1));
            }
        } finally {
            logins.shutdownNow();
            for (SmtpClient smtp : pool) {
                smtp.close();
            }
        }
    }

    @Test
    void guessingOneLoginIsBoundedToAFewAttemptsPerMinuteEvenInParallel() throws Exception {
        Instant start = Instant.now();
        Instant end = start.plusSeconds(30);
        List<Duration> checks = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        ExecutorService guessers = Executors.newFixedThreadPool(4);
        List<Future<?>> running = new ArrayList<>();
        for (int g = 0; g < 4; g++) {
            running.add(guessers.submit(() -> {
                for (int i = 0; i < 300 && Instant.now().isBefore(end); i++) {
                    try (SmtpClient smtp = session("127.0.0.10")) {
                        while (Instant.now().isBefore(end)) {
                            int code = smtp.authPlain("alice@acme.test", "guess").code();
                            if (code == 454) {
                                refused.incrementAndGet();
                                Thread.sleep(200);
                                break;
                            }
                            checks.add(Duration.between(start, Instant.now()));
                            if (code == 421) {
                                break;
                            }
                        }
                    } catch (IOException e) {
                        // the session was closed by the server
                    }
                }
                return null;
            }));
        }
        for (Future<?> guesser : running) {
            guesser.get(60, TimeUnit.SECONDS);
        }
        guessers.shutdownNow();

        List<Duration> times = new ArrayList<>(checks);
        times.sort(null);
        // Answers 1, 2 and 4 s apart, then one every 8 s at most, whatever the parallelism.
        assertThat(times).as("passwords checked").hasSizeBetween(4, 8);
        for (int i = 4; i < times.size(); i++) {
            assertThat(times.get(i).minus(times.get(i - 1))).as("gap before check %d of %s", i + 1, times)
                .isGreaterThan(Duration.ofMillis(7_500));
        }
        assertThat(refused.get()).as("attempts refused without a check").isPositive();
    }
}
