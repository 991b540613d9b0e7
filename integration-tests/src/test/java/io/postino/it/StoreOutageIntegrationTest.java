package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.IntSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The database (PostgreSQL, as several nodes would share it) and Redis go down and come back
 * while Postino runs: meanwhile it answers {@code 4xx}, mail it accepted waits and is delivered
 * (not parked in the error repository), and within seconds of the store's return everything works
 * again, without restart. Each test has its own PostgreSQL and Redis to stop.
 */
class StoreOutageIntegrationTest {
    /** A limit generous enough never to be reached: only for the counters to be in Redis. */
    private static final String ORGANISATIONS = "<organisations><organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain>"
        + "<limits><organisation per=\"hour\" messages=\"100000\"/></limits></organisation></organisations>";
    private Path temporary;
    private SmtpSink sink;
    private PrivateStores.Postgres postgres;
    private PrivateStores.Redis redis;
    private PostinoProcess postino;

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(PrivateStores.Postgres.available(), "PostgreSQL 15's binaries are needed (Debian package postgresql-15)");
        temporary = TestFiles.createTemporaryDirectory("outage");
        sink = SmtpSink.start();
        postgres = PrivateStores.Postgres.create();
        redis = PrivateStores.Redis.create();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        Files.writeString(installation.resolve("conf/james-database.properties"), "database.driverClassName=org.postgresql.Driver\n"
            + "database.url=" + postgres.jdbcUrl() + "\ndatabase.username=postgres\ndatabase.password=\n", StandardCharsets.UTF_8);
        Files.writeString(installation.resolve("conf/ratelimits.properties"), "store=redis\nredis.uri=redis://127.0.0.1:" + redis.port
            + "\nredis.timeout=300ms\nonStoreFailure=closed\n", StandardCharsets.UTF_8);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("PUT", "/users/alice@acme.test", "{\"password\":\"s3cret-Alice\"}").statusCode()).isEqualTo(204);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            TestFiles.stopAll(postino, sink, null);
        } finally {
            if (redis != null) {
                redis.close();
            }
            if (postgres != null) {
                postgres.close();
            }
            TestFiles.deleteRecursively(temporary);
        }
    }

    private SmtpClient.Reply send(String recipient, String token) throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.Reply mail = client.command("MAIL FROM:<app@acme.test>");
            if (mail.code() != 250) {
                return mail;
            }
            SmtpClient.Reply rcpt = client.command("RCPT TO:<" + recipient + ">");
            if (rcpt.code() != 250) {
                return rcpt;
            }
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw(("From: app@acme.test\r\nSubject: " + token + "\r\n\r\n" + token + "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
            return client.readReply();
        }
    }

    private int auth() throws Exception {
        try (SmtpClient client = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            client.greetingAndEhlo();
            return client.authPlain("alice@acme.test", "s3cret-Alice").code();
        }
    }

    private static Duration until(int expected, IntSupplier attempt) throws Exception {
        Instant start = Instant.now();
        Instant deadline = start.plusSeconds(60);
        int code = attempt.getAsInt();
        while (code != expected && Instant.now().isBefore(deadline)) {
            Thread.sleep(500);
            code = attempt.getAsInt();
        }
        assertThat(code).isEqualTo(expected);
        return Duration.between(start, Instant.now());
    }

    private int sendCode(String recipient) {
        try {
            return send(recipient, UUID.randomUUID().toString()).code();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void withTheDatabaseDownMailIsDeferredAndEverythingWorksAgainWithinSecondsOfItsReturn() throws Exception {
        String first = UUID.randomUUID().toString();
        assertThat(send("bob@example.com", first).code()).isEqualTo(250);
        assertThat(sink.awaitMessages(m -> m.text().contains(first), 1, Duration.ofSeconds(60))).hasSize(1);

        postgres.stop();
        // bob's suppression check is cached: this one is accepted; its processing reads the domain
        // list from memory, so it may even leave before the database is back; it is never parked.
        String accepted = UUID.randomUUID().toString();
        assertThat(send("bob@example.com", accepted).code()).isEqualTo(250);
        SmtpClient.Reply unchecked = send("carol-" + UUID.randomUUID() + "@example.com", UUID.randomUUID().toString());
        assertThat(unchecked.text()).startsWith("451 4.3.0");
        assertThat(auth()).isEqualTo(454);
        Thread.sleep(3000);

        postgres.start();

        Duration recovered = until(250, () -> sendCode("dave-" + UUID.randomUUID() + "@example.com"));
        System.out.printf("store outage (database stopped): new mail accepted %d ms after it started again%n", recovered.toMillis());
        assertThat(recovered).as("new mail accepted again").isLessThan(Duration.ofSeconds(15));
        assertThat(until(235, () -> {
            try {
                return auth();
            } catch (Exception e) {
                return -1;
            }
        })).isLessThan(Duration.ofSeconds(15));
        assertThat(sink.awaitMessages(m -> m.text().contains(accepted), 1, Duration.ofSeconds(90))).as("the deferred mail").hasSize(1);
        assertThat(postino.webAdmin("GET", "/mailRepositories/var%2Fmail%2Ferror%2F", null).body())
            .contains("\"size\":0");
    }

    @Test
    void aHungDatabaseCostsRcptA451ButNeverTheGreetingOfOthers() throws Exception {
        assertThat(sendCode("bob@example.com")).isEqualTo(250);

        postgres.freeze();
        try {
            // 20 sessions each ask about an address never seen, whose suppression check needs the database
            List<java.util.concurrent.CompletableFuture<String>> checks = new java.util.ArrayList<>();
            java.util.concurrent.ExecutorService sessions = java.util.concurrent.Executors.newFixedThreadPool(20);
            try {
                for (int i = 0; i < 20; i++) {
                    checks.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
                            client.greetingAndEhlo();
                            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
                            return client.command("RCPT TO:<hung-" + UUID.randomUUID() + "@example.com>").text();
                        } catch (Exception e) {
                            return e.toString();
                        }
                    }, sessions));
                }
                Thread.sleep(1000);
                for (int i = 0; i < 5; i++) {
                    Instant asked = Instant.now();
                    try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
                        assertThat(client.readReply().code()).isEqualTo(220);
                        assertThat(Duration.between(asked, Instant.now())).as("the banner while the database hangs").isLessThan(Duration.ofSeconds(1));
                        SmtpClient.expect(client.command("EHLO honest.example"), 250);
                        assertThat(Duration.between(asked, Instant.now())).as("EHLO while the database hangs").isLessThan(Duration.ofSeconds(2));
                    }
                    Thread.sleep(500);
                }
                for (java.util.concurrent.CompletableFuture<String> check : checks) {
                    assertThat(check.get(60, java.util.concurrent.TimeUnit.SECONDS)).as("RCPT while the database hangs").startsWith("451 4.3.0");
                }
            } finally {
                sessions.shutdownNow();
            }
        } finally {
            postgres.thaw();
        }

        Duration recovered = until(250, () -> sendCode("erin-" + UUID.randomUUID() + "@example.com"));
        System.out.printf("store outage (database hung): 20 RCPTs got 451 4.3.0, banners meanwhile at once; mail accepted %d ms after SIGCONT%n", recovered.toMillis());
        assertThat(recovered).as("new mail accepted again").isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void withRedisDownFailClosedAnswers451AndRecoversWithinSecondsOfItsReturn() throws Exception {
        assertThat(sendCode("bob@example.com")).isEqualTo(250);

        redis.stop();
        // Postino learns that Redis is gone when its connection closes, a few milliseconds later;
        // meanwhile the limits answer from what this node counted (RedisCounters).
        Duration noticed = until(451, () -> sendCode("bob@example.com"));
        assertThat(noticed).as("Redis down noticed").isLessThan(Duration.ofSeconds(5));
        SmtpClient.Reply refused = send("bob@example.com", UUID.randomUUID().toString());
        assertThat(refused.text()).startsWith("451 4.3.0");

        redis.start();

        Duration recovered = until(250, () -> sendCode("bob@example.com"));
        System.out.printf("store outage (Redis stopped): 451 4.3.0 while down (from %d ms after it stopped); mail accepted %d ms after it started again%n",
            noticed.toMillis(), recovered.toMillis());
        assertThat(recovered).isLessThan(Duration.ofSeconds(15));
        assertThat(List.of(auth())).containsExactly(235);
    }
}
