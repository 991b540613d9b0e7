package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Holding a recipient domain and a route with the packaged {@code bin/postinoctl}, over real SMTP
 * to real sinks: held mail stays queued while other mail leaves, a release sends it at once (well
 * before the 30 s re-check), and a hold survives a restart. Acme's mail to routed.example takes
 * route {@code eu} (its own sink); the rest the default smarthost.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DestinationHoldsIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    /** Longer than a free mail takes to leave; shorter than the 30 s re-check of a held one. */
    private static final Duration AT_ONCE = Duration.ofSeconds(15);

    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private SmtpSink euSink;
    private PostinoProcess postino;

    record Run(int status, String out, String err) {
    }

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("destination-holds");
        sink = SmtpSink.start();
        euSink = SmtpSink.start();
        installation = Installations.copyWithOrganisations(temporary.resolve("postino"), "<organisations>\n"
            + "  <routes><route name=\"eu\" kind=\"smarthost\" host=\"127.0.0.1\" port=\"" + euSink.port() + "\" tls=\"none\"/></routes>\n"
            + "  <organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain>\n"
            + "    <routing><override domain=\"routed.example\" route=\"eu\"/></routing></organisation>\n"
            + "</organisations>\n");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
        euSink.close();
    }

    private Run postinoctl(String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", installation.resolve("bin/postinoctl").toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(temporary.resolve("ctl.out").toFile())
            .redirectError(temporary.resolve("ctl.err").toFile());
        builder.environment().put("POSTINO_WEBADMIN_PORT", String.valueOf(postino.webAdminPort));
        builder.environment().put("POSTINO_DATA_DIR", postino.dataDirectory.toString());
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("postinoctl " + arguments[0] + " did not end within 60 s");
        }
        return new Run(process.exitValue(), Files.readString(temporary.resolve("ctl.out"), StandardCharsets.UTF_8),
            Files.readString(temporary.resolve("ctl.err"), StandardCharsets.UTF_8));
    }

    private Run ok(String... arguments) throws Exception {
        Run run = postinoctl(arguments);
        assertThat(run.status()).as(run.err()).isZero();
        return run;
    }

    private void send(String recipient, String token) throws Exception {
        SmtpClient.expect(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient,
            "From: app@acme.test\r\nTo: " + recipient + "\r\nSubject: " + token + "\r\n\r\nbody " + token + "\r\n"), 250);
    }

    private static List<SmtpSink.Message> arrived(SmtpSink at, String token, Duration within) throws InterruptedException {
        return at.awaitMessages(message -> message.text().contains(token), 1, within);
    }

    /** The tracking of the one mail to {@code recipient}, once delivered. */
    private String trackedUntilDelivered(String recipient) throws Exception {
        Instant deadline = Instant.now().plus(DELIVERY);
        String body = "";
        while (Instant.now().isBefore(deadline)) {
            body = postino.webAdmin("GET", "/tracking?recipient=" + recipient.replace("@", "%40"), null).body();
            if (body.contains("\"status\":\"delivered\"")) {
                return body;
            }
            Thread.sleep(300);
        }
        throw new AssertionError("the mail to " + recipient + " is not tracked as delivered: " + body);
    }

    @Test
    void aHeldDomainKeepsItsMailQueuedWhileOtherMailLeavesAndAReleaseSendsItAtOnce() throws Exception {
        assertThat(ok("queue", "hold", "--domain", "Held.example").out()).isEqualTo("domain\theld.example\theld\n");
        String held = UUID.randomUUID().toString();
        String free = UUID.randomUUID().toString();
        send("bob@held.example", held);
        send("bob@free.example", free);

        assertThat(arrived(sink, free, DELIVERY)).as("another domain is delivered").hasSize(1);
        assertThat(arrived(sink, held, Duration.ofSeconds(5))).as("the held domain is not").isEmpty();
        assertThat(ok("queue", "list", "--domain", "held.example").out()).as("it waits in the queue").contains("bob@held.example");
        assertThat(ok("queue", "holds").out()).contains("domain\theld.example\theld\n");
        assertThat(postino.webAdmin("GET", "/mailQueueHolds", null).body()).contains("\"heldDomains\":[\"held.example\"]", "\"heldRoutes\":[]");

        Instant released = Instant.now();
        assertThat(ok("queue", "release", "--domain", "held.example").out()).isEqualTo("domain\theld.example\treleased\n");
        List<SmtpSink.Message> delivered = arrived(sink, held, AT_ONCE);
        assertThat(delivered).as("due at once on release, not at the next 30 s check").hasSize(1);
        assertThat(Duration.between(released, delivered.get(0).receivedAt())).isLessThan(AT_ONCE);
        assertThat(trackedUntilDelivered("bob@held.example")).as("waiting for a hold is no deferral").doesNotContain("deferred");
        assertThat(postinoctl("queue", "release", "--domain", "held.example").status()).as("not held any more").isEqualTo(1);
    }

    @Test
    void aHeldRouteKeepsItsMailQueuedAcrossARestartUntilReleased() throws Exception {
        assertThat(postinoctl("queue", "hold", "--route", "nowhere").status()).as("an unknown route").isEqualTo(1);
        assertThat(postino.webAdmin("PUT", "/mailQueueHolds/domains/not..a.domain", null).statusCode()).isEqualTo(400);
        assertThat(ok("queue", "hold", "--route", "eu").out()).isEqualTo("route\teu\theld\n");
        String routed = UUID.randomUUID().toString();
        String direct = UUID.randomUUID().toString();
        send("carol@routed.example", routed);
        send("carol@direct.example", direct);

        assertThat(arrived(sink, direct, DELIVERY)).as("mail not taking route eu is delivered").hasSize(1);
        assertThat(arrived(euSink, routed, Duration.ofSeconds(5))).as("route eu's is not").isEmpty();

        postino.stop();
        postino.launch();
        assertThat(ok("queue", "holds").out()).as("held across the restart").contains("route\teu\theld\n");
        assertThat(arrived(euSink, routed, Duration.ofSeconds(5))).isEmpty();

        assertThat(ok("queue", "release", "--route", "eu").out()).isEqualTo("route\teu\treleased\n");
        assertThat(arrived(euSink, routed, DELIVERY)).as("delivered by route eu once released").hasSize(1);
        assertThat(sink.matching(message -> message.text().contains(routed))).isEmpty();
        assertThat(trackedUntilDelivered("carol@routed.example")).doesNotContain("deferred");
    }
}
