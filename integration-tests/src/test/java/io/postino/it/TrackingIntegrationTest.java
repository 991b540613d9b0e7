package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Message tracking over the real server: mails with different fates are found with WebAdmin
 * {@code GET /tracking} and carry the right timeline; the index survives a restart, and an index
 * damaged on disk is replaced without stopping mail.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrackingIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Pattern TYPE = Pattern.compile("\"type\":\"([a-z-]+)\"");

    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private PostinoProcess postino;
    private final ConcurrentHashMap<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("tracking");
        installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"),
            "<authorizedAddresses>127.0.0.0/8</authorizedAddresses>", "<authorizedAddresses>127.0.0.1/32</authorizedAddresses>");
        sink = SmtpSink.start().replyToRecipients(recipient -> {
            int attempt = attempts.computeIfAbsent(recipient, any -> new AtomicInteger()).incrementAndGet();
            if (recipient.startsWith("later-") && attempt == 1) {
                return "451 4.3.0 try again later";
            }
            return recipient.startsWith("gone-") ? "550 5.1.1 no such user here" : "250 2.1.5 OK";
        });
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static String token() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    private void send(String recipient, String messageId) throws Exception {
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient,
            "From: app@acme.test\r\nMessage-ID: <" + messageId + ">\r\nSubject: tracking\r\n\r\nhello").code()).isEqualTo(250);
    }

    private String tracking(String query) throws Exception {
        return postino.webAdmin("GET", "/tracking?" + query, null).body();
    }

    private static String param(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** Polls the search until its last event type is {@code status}; returns the body. */
    private String awaitStatus(String query, String status) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            body = tracking(query);
            if (body.contains("\"status\":\"" + status + "\"")) {
                return body;
            }
            Thread.sleep(300);
        }
        throw new AssertionError("no message with status " + status + " for " + query + ": " + body);
    }

    private static List<String> types(String body) {
        List<String> types = new ArrayList<>();
        Matcher matcher = TYPE.matcher(body);
        while (matcher.find()) {
            types.add(matcher.group(1));
        }
        return types;
    }

    @Test
    @Order(1)
    void aDeliveredMailHasItsWholeTimeline() throws Exception {
        String recipient = "ok-" + token() + "@example.net";
        String messageId = token() + "@acme.test";
        send(recipient, messageId);

        String body = awaitStatus("recipient=" + param(recipient), "delivered");

        assertThat(types(body)).containsExactly("received", "queued", "delivered");
        assertThat(body).contains("\"messageId\":\"<" + messageId + ">\"", "\"organisation\":\"acme\"", "\"sender\":\"app@acme.test\"",
            "\"clientIp\":\"127.0.0.1\"", "\"remoteHost\":\"127.0.0.1:" + sink.port() + "\"", "\"reply\":\"250 2.0.0 queued\"");
        assertThat(tracking("messageId=" + param("<" + messageId + ">"))).contains(recipient);
    }

    @Test
    @Order(2)
    void aDeferredMailShowsTheDeferralBeforeItsDelivery() throws Exception {
        String recipient = "later-" + token() + "@example.net";
        send(recipient, token() + "@acme.test");
        awaitStatus("recipient=" + param(recipient), "deferred");
        postino.flushOutgoingQueue();

        String body = awaitStatus("recipient=" + param(recipient), "delivered");

        assertThat(types(body)).containsExactly("received", "queued", "deferred", "delivered");
        assertThat(body).contains("451 4.3.0 try again later; next attempt in", "\"remoteHost\":\"127.0.0.1:" + sink.port() + "\"");
    }

    @Test
    @Order(3)
    void aBouncedMailShowsTheRemoteReply() throws Exception {
        String recipient = "gone-" + token() + "@example.net";
        send(recipient, token() + "@acme.test");

        String body = awaitStatus("recipient=" + param(recipient), "bounced");

        assertThat(types(body)).containsExactly("received", "queued", "bounced");
        assertThat(body).contains("550 5.1.1 no such user here");
    }

    @Test
    @Order(4)
    void aRefusalAtSmtpTimeIsFoundWithTheReplyButAStrangersIsOnlyCounted() throws Exception {
        String sender = "x-" + token() + "@example.org";
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            // An operator host may send only for an organisation's domain.
            assertThat(client.command("MAIL FROM:<" + sender + ">").code()).isBetween(500, 599);
        }
        String stranger = "x-" + token() + "@example.net";
        try (SmtpClient client = SmtpClient.connectFrom("127.0.0.4", "127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<someone@example.org>"), 250);
            assertThat(client.command("RCPT TO:<" + stranger + ">").code()).isBetween(500, 599);
        }

        String body = awaitStatus("sender=" + param(sender) + "&status=rejected", "rejected");

        assertThat(body).contains("\"clientIp\":\"127.0.0.1\"", "\"sender\":\"" + sender + "\"").containsPattern("\"reply\":\"5\\d\\d 5\\.7\\.\\d");
        assertThat(tracking("recipient=" + param(stranger))).as("a stranger's refusal is not tracked").doesNotContain(stranger);
        assertThat(postino.webAdmin("GET", "/metrics", null).body()).containsPattern("postino_smtp_refusals_total\\{reason=\"\\w+\",organisation=\"none\",\\} [1-9]");
    }

    @Test
    @Order(5)
    void filtersNarrowTheSearch() throws Exception {
        String recipient = "filter-" + token() + "@example.net";
        send(recipient, token() + "@acme.test");
        awaitStatus("recipient=" + param(recipient), "delivered");

        assertThat(tracking("organisation=acme&recipient=" + param(recipient))).contains(recipient);
        assertThat(tracking("organisation=beta&recipient=" + param(recipient))).doesNotContain(recipient);
        assertThat(tracking("sender=APP%40acme.test&status=delivered&limit=500")).contains(recipient);
        assertThat(tracking("since=" + param(Instant.now().plusSeconds(3600).toString()) + "&recipient=" + param(recipient)))
            .doesNotContain(recipient);
        assertThat(postino.webAdmin("GET", "/tracking?status=lost", null).statusCode()).isEqualTo(400);
        assertThat(postino.webAdmin("GET", "/metrics", null).body()).contains("postino_messages_total{event=\"delivered\",organisation=\"acme\",}",
            "postino_messages_total{event=\"received\",organisation=\"acme\",}");
    }

    @Test
    @Order(6)
    void theIndexSurvivesARestartAndADamagedIndexIsReplacedWithoutStoppingMail() throws Exception {
        String before = "restart-" + token() + "@example.net";
        send(before, token() + "@acme.test");
        awaitStatus("recipient=" + param(before), "delivered");

        postino.stop();
        postino.launch();
        assertThat(tracking("recipient=" + param(before))).contains("\"status\":\"delivered\"");

        postino.stop();
        Path index = temporary.resolve("data/tracking");
        try (Stream<Path> files = Files.list(index)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if (file.getFileName().toString().startsWith("segments")) {
                    Files.write(file, "not a lucene index".getBytes(StandardCharsets.US_ASCII));
                }
            }
        }
        postino.launch();
        String after = "afresh-" + token() + "@example.net";
        send(after, token() + "@acme.test");
        awaitStatus("recipient=" + param(after), "delivered");
        assertThat(postino.output()).contains("cannot be opened");
        try (Stream<Path> siblings = Files.list(index.getParent())) {
            assertThat(siblings.map(path -> path.getFileName().toString())).anyMatch(name -> name.startsWith("tracking.unreadable-"));
        }
    }
}
