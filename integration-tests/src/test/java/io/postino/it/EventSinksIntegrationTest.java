package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.sun.net.httpserver.HttpServer;

/**
 * Event sinks over the real server: a signed webhook to a real HTTP receiver that only gets its
 * organisation's events, a receiver that is down and comes back and then gets every event, a
 * receiver that never answers (dead letters), and a JSON-lines file.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventSinksIntegrationTest {
    private static final String SECRET = "a-webhook-secret-of-acme";
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** One event the receiver accepted, and whether the request's signature matched its body. */
    record Received(boolean signed, String body) {
    }

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;
    private HttpServer receiver;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger answer = new AtomicInteger(200);
    private final AtomicInteger refused = new AtomicInteger();
    private final List<String> refusedBodies = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("eventsinks");
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            int status = answer.get();
            if (status == 200) {
                String text = new String(body, StandardCharsets.UTF_8);
                boolean signed = hmac(text).equals(exchange.getRequestHeaders().getFirst("X-Postino-Signature"));
                // The body is a JSON array of events: [{"id":...},{"id":...}]
                for (String event : text.substring(1, text.length() - 1).split("(?<=\\}),(?=\\{\"id\")")) {
                    received.add(new Received(signed, event));
                }
            } else {
                refusedBodies.add(new String(body, StandardCharsets.UTF_8));
                refused.incrementAndGet();
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        // A Slack-style webhook: its secret is in the path and the query. It always fails.
        receiver.createContext("/services", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(500, -1);
            exchange.close();
        });
        receiver.start();
        String organisations = "<organisations>"
            + "<organisation id=\"acme\"><domain>acme.test</domain></organisation>"
            + "<organisation id=\"beta\"><domain>beta.test</domain></organisation></organisations>";
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), organisations);
        Files.writeString(installation.resolve("conf/eventsinks.xml"), "<eventSinks>\n"
            + "  <webhook name=\"acme-app\" url=\"http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook\" secret=\"" + SECRET + "\"\n"
            + "           organisations=\"acme\" maxAttempts=\"100\" firstRetry=\"200ms\" maxRetry=\"1s\"/>\n"
            + "  <webhook name=\"nobody\" url=\"http://127.0.0.1:" + PostinoProcess.freePort() + "/hook\" secret=\"" + SECRET + "\"\n"
            + "           organisations=\"beta\" types=\"received\" maxAttempts=\"2\" firstRetry=\"100ms\" maxRetry=\"100ms\"/>\n"
            + "  <webhook name=\"acme-slack\" url=\"http://127.0.0.1:" + receiver.getAddress().getPort()
            + "/services/T0/B0/PATHSECRET?code=QUERYSECRET&amp;sig=SIGSECRET\" secret=\"" + SECRET + "\"\n"
            + "           organisations=\"acme\" types=\"received\" maxAttempts=\"1000\" firstRetry=\"200ms\" maxRetry=\"1s\"/>\n"
            + "  <jsonLines name=\"archive\" file=\"var/events/all.jsonl\"/>\n"
            + "</eventSinks>\n", StandardCharsets.UTF_8);
        sink = SmtpSink.start();
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        if (receiver != null) {
            receiver.stop(0);
        }
        TestFiles.stopAll(postino, sink, temporary);
    }

    private String send(String sender) throws Exception {
        String recipient = "r-" + UUID.randomUUID().toString().substring(0, 8) + "@example.net";
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, sender, recipient,
            "From: " + sender + "\r\nSubject: events\r\n\r\nhello").code()).isEqualTo(250);
        return recipient;
    }

    private List<Received> awaitReceived(Predicate<Received> which, int count) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            List<Received> found = received.stream().filter(which).toList();
            if (found.size() >= count) {
                return found;
            }
            Thread.sleep(200);
        }
        return received.stream().filter(which).toList();
    }

    private static String hmac(String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theWebhookGetsItsOrganisationsEventsSigned() throws Exception {
        String acme = send("app@acme.test");
        String beta = send("app@beta.test");

        List<Received> events = awaitReceived(request -> request.body().contains(acme), 3);

        assertThat(events).extracting(request -> request.body().replaceAll(".*\"type\":\"([a-z-]+)\".*", "$1"))
            .containsExactlyInAnyOrder("received", "queued", "delivered");
        for (Received event : events) {
            assertThat(event.signed()).as("HMAC-SHA256 of the body with the sink's secret").isTrue();
            assertThat(event.body()).startsWith("{\"id\":").endsWith("}").contains("\"organisation\":\"acme\"", "\"sender\":\"app@acme.test\"");
        }
        assertThat(sink.awaitMessages(message -> message.recipients().contains(beta), 1, WAIT)).hasSize(1);
        Thread.sleep(1000);
        assertThat(received).noneMatch(request -> request.body().contains(beta));
    }

    @Test
    void aReceiverThatIsDownGetsEveryEventWhenItComesBack() throws Exception {
        answer.set(503);
        String first = send("app@acme.test");
        String second = send("app@acme.test");
        Instant deadline = Instant.now().plus(WAIT);
        while (refused.get() < 3 && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        assertThat(refused.get()).as("the receiver was tried while down").isGreaterThanOrEqualTo(3);

        answer.set(200);

        assertThat(awaitReceived(request -> request.body().contains(first), 3)).hasSize(3);
        assertThat(awaitReceived(request -> request.body().contains(second), 3)).hasSize(3);
    }

    @Test
    void eventsAReceiverNeverTakesEndAsDeadLetters() throws Exception {
        String beta = send("app@beta.test");
        Path dead = temporary.resolve("data/events/nobody/dead");

        Instant deadline = Instant.now().plus(WAIT);
        String letters = "";
        while (!letters.contains(beta) && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            try (Stream<Path> files = Files.exists(dead) ? Files.list(dead) : Stream.empty()) {
                StringBuilder all = new StringBuilder();
                for (Path file : (Iterable<Path>) files::iterator) {
                    all.append(Files.readString(file));
                }
                letters = all.toString();
            }
        }
        assertThat(letters).contains(beta).contains("\"type\":\"received\"");
    }

    private boolean deliveredEventRefused(String recipient) {
        synchronized (refusedBodies) {
            return refusedBodies.stream().anyMatch(body -> body.contains(recipient) && body.contains("\"type\":\"delivered\""));
        }
    }

    @Test
    void pendingEventsSurviveARestart() throws Exception {
        answer.set(503);
        String recipient = send("app@acme.test");
        assertThat(sink.awaitMessages(message -> message.recipients().contains(recipient), 1, WAIT)).hasSize(1);
        // All three events pending: the delivery's is made once RemoteDelivery has the sink's 250,
        // which on a busy machine can come well after the sink has the message.
        Instant deadline = Instant.now().plus(WAIT);
        while (!deliveredEventRefused(recipient) && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        assertThat(deliveredEventRefused(recipient)).as("the delivery's event was tried while the receiver refused").isTrue();

        postino.stop();
        answer.set(200);
        postino.launch();

        assertThat(awaitReceived(request -> request.body().contains(recipient), 3)).hasSize(3);
    }

    @Test
    void theJsonLinesFileGetsEveryOrganisationsEvents() throws Exception {
        String beta = send("app@beta.test");
        Path file = temporary.resolve("data/events/all.jsonl");

        Instant deadline = Instant.now().plus(WAIT);
        while ((!Files.exists(file) || !Files.readString(file).contains(beta)) && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
        }
        List<String> lines = Files.readAllLines(file).stream().filter(line -> line.contains(beta)).toList();
        assertThat(lines).isNotEmpty().allSatisfy(line -> assertThat(line).startsWith("{").endsWith("}").contains("\"organisation\":\"beta\""));
    }

    @Test
    void theWebhooksRouteShowsNoSecretOfAFailingWebhookAndNoSinkOfEveryOrganisationToAnOrganisation() throws Exception {
        String recipient = send("app@acme.test");
        // acme-app takes them too: wait, so that no batch of this test is pending when another test makes it refuse.
        assertThat(awaitReceived(request -> request.body().contains(recipient), 3)).hasSize(3);
        Instant deadline = Instant.now().plus(WAIT);
        String operatorView = postino.webAdmin("GET", "/organisations/acme/webhooks", null).body();
        while (!operatorView.contains("\"lastError\":\"HTTP 500\"") && !operatorView.contains("SECRET") && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            operatorView = postino.webAdmin("GET", "/organisations/acme/webhooks", null).body();
        }
        java.net.http.HttpResponse<String> token = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:acme\"}");
        assertThat(token.statusCode()).isEqualTo(201);
        String acmeToken = token.body().replaceAll("(?s).*\"token\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        String acmeView = postino.webAdmin("GET", "/organisations/acme/webhooks", null, java.util.Map.of("Authorization", "Bearer " + acmeToken)).body();

        String shown = "\"url\":\"http://127.0.0.1:" + receiver.getAddress().getPort() + "/***?code=***&sig=***\"";
        assertThat(operatorView).contains(shown, "\"lastError\":\"HTTP 500\"", "\"name\":\"archive\"")
            .doesNotContain("PATHSECRET", "QUERYSECRET", "SIGSECRET", "/T0/", "HttpOperationFailed");
        assertThat(acmeView).contains("\"name\":\"acme-slack\"", shown, "\"lastError\":\"HTTP 500\"")
            .doesNotContain("PATHSECRET", "QUERYSECRET", "SIGSECRET", "/T0/", "HttpOperationFailed", "\"name\":\"archive\"", "\"allOrganisations\":true");
    }
}
