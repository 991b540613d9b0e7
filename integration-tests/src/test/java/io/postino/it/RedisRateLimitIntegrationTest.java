package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Counters in Redis (the machine's Redis on 127.0.0.1:6379): two Postino instances share a user's
 * limit; with Redis unreachable, limits fail open or closed as configured and the health check
 * says so. Every run uses a fresh organisation and login, so keys left in Redis by an earlier run
 * do not matter.
 */
class RedisRateLimitIntegrationTest {
    private static final String REDIS = "redis://127.0.0.1:6379";

    private Path temporary;
    private SmtpSink sink;
    private String domain;
    private String login;

    @BeforeEach
    void setUp() throws Exception {
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress("127.0.0.1", 6379), 2000);
        } catch (java.io.IOException e) {
            throw new AssertionError("These tests need Redis on 127.0.0.1:6379 (.ci/run starts it when it is installed): " + e);
        }
        temporary = TestFiles.createTemporaryDirectory("redis-limits");
        sink = SmtpSink.start();
        String run = UUID.randomUUID().toString().substring(0, 8);
        domain = "r" + run + ".test";
        login = "erin@" + domain;
    }

    @AfterEach
    void tearDown() throws Exception {
        sink.close();
        TestFiles.deleteRecursively(temporary);
    }

    private Path installation(String name, String redisUri, String onStoreFailure) throws Exception {
        String organisations = "<organisations><organisation id=\"shared\"><domain>" + domain + "</domain>"
            + "<limits><user per=\"minute\" messages=\"3\"/></limits></organisation></organisations>";
        Path installation = Installations.copyWithOrganisations(temporary.resolve(name), organisations);
        Files.writeString(installation.resolve("conf/ratelimits.properties"),
            "store=redis\nredis.uri=" + redisUri + "\nredis.timeout=300ms\nonStoreFailure=" + onStoreFailure + "\n", StandardCharsets.UTF_8);
        return installation;
    }

    private PostinoProcess start(String name, String redisUri, String onStoreFailure) throws Exception {
        PostinoProcess postino = PostinoProcess.start(installation(name, redisUri, onStoreFailure), temporary.resolve(name + "-data"),
            "127.0.0.1", sink.port());
        postino.webAdmin("PUT", "/domains/" + domain, null);
        assertThat(postino.webAdmin("PUT", "/users/" + login, "{\"password\":\"pw\"}").statusCode()).isEqualTo(204);
        return postino;
    }

    private SmtpClient.Reply send(PostinoProcess postino) throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.startTls(), 220);
            client.command("EHLO client.test");
            SmtpClient.expect(client.authPlain(login, "pw"), 235);
            SmtpClient.Reply mail = client.command("MAIL FROM:<" + login + ">");
            if (mail.code() != 250) {
                return mail;
            }
            SmtpClient.expect(client.command("RCPT TO:<x@example.net>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            client.sendRaw(("From: " + login + "\r\nSubject: shared\r\n\r\nhi\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
            return client.readReply();
        }
    }

    @Test
    void twoInstancesSharingRedisShareTheLimits() throws Exception {
        try (PostinoProcess first = start("first", REDIS, "open");
             PostinoProcess second = start("second", REDIS, "open")) {
            assertThat(send(first).code()).isEqualTo(250);
            assertThat(send(second).code()).isEqualTo(250);
            assertThat(send(first).code()).isEqualTo(250);

            SmtpClient.Reply onSecond = send(second);
            assertThat(onSecond.code()).isEqualTo(451);
            assertThat(onSecond.text()).contains("4.7.1 Rate limit reached: user " + login + " may send 3 messages per minute");
            assertThat(send(first).code()).isEqualTo(451);
            assertThat(second.webAdmin("GET", "/ratelimits/users/" + login, null).body())
                .contains("\"store\":\"redis://127.0.0.1:6379\"", "\"limit\":3,\"used\":3");
        }
    }

    @Test
    void failedLoginsCountedOnOneInstanceSlowTheOtherDown() throws Exception {
        try (PostinoProcess first = start("auth-first", REDIS, "open");
             PostinoProcess second = start("auth-second", REDIS, "open")) {
            for (int i = 0; i < 4; i++) {
                try (SmtpClient client = SmtpClient.connectTlsFrom("127.0.0.11", "127.0.0.1", first.smtpsPort)) {
                    client.greetingAndEhlo();
                    assertThat(client.authPlain(login, "guess-" + i).code()).isEqualTo(535);
                }
            }
            try (SmtpClient client = SmtpClient.connectTlsFrom("127.0.0.11", "127.0.0.1", second.smtpsPort)) {
                client.greetingAndEhlo();
                java.time.Instant start = java.time.Instant.now();
                assertThat(client.authPlain(login, "pw").code()).isEqualTo(235);
                assertThat(java.time.Duration.between(start, java.time.Instant.now()))
                    .as("the fourth failure, counted by the first instance, delays the next attempt by 8 s")
                    .isGreaterThan(java.time.Duration.ofSeconds(6));
            }
            assertThat(second.webAdmin("GET", "/authentication/blocks", null).body()).doesNotContain(login);
        }
    }

    @Test
    void unreachableRedisFailsOpenWhenConfiguredSoAndTheHealthCheckSaysSo() throws Exception {
        try (PostinoProcess postino = start("open", "redis://127.0.0.1:" + PostinoProcess.freePort(), "open")) {
            for (int i = 0; i < 4; i++) {
                assertThat(send(postino).code()).as("limits are not enforced without counters").isEqualTo(250);
            }
            HttpResponse<String> health = postino.webAdmin("GET", "/healthcheck/checks/RateLimitCounters", null);
            assertThat(health.body()).contains("degraded").contains("limits fail open");
            assertThat(postino.output()).contains("limits now fail OPEN");
        }
    }

    @Test
    void unreachableRedisFailsClosedWhenConfiguredSo() throws Exception {
        try (PostinoProcess postino = start("closed", "redis://127.0.0.1:" + PostinoProcess.freePort(), "closed")) {
            SmtpClient.Reply reply = send(postino);

            assertThat(reply.code()).isEqualTo(451);
            assertThat(reply.text()).contains("4.3.0 Rate-limit counters are unavailable; try again later");
            HttpResponse<String> health = postino.webAdmin("GET", "/healthcheck/checks/RateLimitCounters", null);
            assertThat(health.body()).contains("unhealthy").contains("limits fail closed");
        }
        assertThat(sink.messages()).isEmpty();
    }
}
