package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code postinoctl trace} against the packaged server: it shows what the pipeline would do with a
 * mail (organisation, hooks, mailets, route, DKIM key, verdict) and does none of it: the smarthost
 * receives nothing, and the queues, tracking and rate-limit counters are as they were. A refusal
 * is the one a real SMTP session gets for the same envelope.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TraceIntegrationTest {
    private static final String MESSAGE = "From: alice@acme.test\nTo: bob@example.net\nSubject: trace me\n\nHello\n";

    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private SmtpSink internal;
    private PostinoProcess postino;

    record Run(int status, String out, String err) {
    }

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("trace");
        installation = Installations.copyOfDistribution(temporary.resolve("postino"));
        sink = SmtpSink.start();
        internal = SmtpSink.start();
        String organisations = "<organisations><organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain>"
            + "<limits><user per=\"minute\" messages=\"3\"/></limits>"
            + "<relayDomain name=\"corp.acme.test\" host=\"127.0.0.1\" port=\"" + internal.port() + "\"/></organisation></organisations>";
        Files.writeString(installation.resolve("conf/organisations.xml"), organisations, StandardCharsets.UTF_8);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        for (String user : List.of("alice", "bob")) {
            assertThat(postino.webAdmin("PUT", "/users/" + user + "@acme.test", "{\"password\":\"pw-" + user + "\"}").statusCode()).isEqualTo(204);
        }
        assertThat(postino.webAdmin("POST", "/dkim/domains/acme.test/keys?selector=tr1&algorithm=ed25519", null).statusCode()).isEqualTo(201);
        assertThat(postino.webAdmin("POST", "/dkim/domains/acme.test/keys/tr1/activate", null).statusCode()).isEqualTo(200);
        Files.writeString(temporary.resolve("mail.eml"), MESSAGE, StandardCharsets.UTF_8);
    }

    @AfterAll
    void stop() throws Exception {
        if (internal != null) {
            internal.close();
        }
        TestFiles.stopAll(postino, sink, temporary);
    }

    private Run postinoctl(String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", installation.resolve("bin/postinoctl").toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command)
            .directory(temporary.toFile())
            .redirectOutput(temporary.resolve("ctl.out").toFile())
            .redirectError(temporary.resolve("ctl.err").toFile());
        builder.environment().put("POSTINO_WEBADMIN_PORT", String.valueOf(postino.webAdminPort));
        builder.environment().put("POSTINO_DATA_DIR", postino.dataDirectory.toString());
        Process process = builder.start();
        process.getOutputStream().close();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("postinoctl trace did not end within 60 s");
        }
        return new Run(process.exitValue(), Files.readString(temporary.resolve("ctl.out")), Files.readString(temporary.resolve("ctl.err")));
    }

    /** What the trace must not change: the queues' sizes, the tracking index and alice's rate-limit use. */
    private String state() throws Exception {
        StringBuilder state = new StringBuilder();
        for (String queue : names(postino.webAdmin("GET", "/mailQueues", null).body())) {
            state.append(postino.webAdmin("GET", "/mailQueues/" + queue, null).body()).append('\n');
        }
        state.append(postino.webAdmin("GET", "/tracking?organisation=acme", null).body()).append('\n');
        state.append(postino.webAdmin("GET", "/ratelimits/users/alice@acme.test", null).body().replaceAll("\"nextAvailableInSeconds[^,}]*", ""));
        return state.toString();
    }

    /**
     * The state once the tracking index has taken in what earlier tests did (it commits every
     * second: a refusal of the test before can appear a moment later): read until two reads 1.5 s
     * apart agree, 10 times at most.
     */
    private String settledState() throws Exception {
        String previous = state();
        for (int i = 0; i < 10; i++) {
            Thread.sleep(1500);
            String now = state();
            if (now.equals(previous)) {
                return now;
            }
            previous = now;
        }
        throw new AssertionError("the queues, tracking or rate limits kept changing before the trace: " + previous);
    }

    private static List<String> names(String jsonArray) {
        List<String> names = new ArrayList<>();
        Matcher matcher = Pattern.compile("\"([^\"]+)\"").matcher(jsonArray);
        while (matcher.find()) {
            names.add(matcher.group(1));
        }
        return names;
    }

    @Test
    void anAcceptedMailShowsItsOrganisationRouteAndKeyAndNothingIsSentQueuedOrCounted() throws Exception {
        String before = settledState();
        Run trace = postinoctl("trace", "mail.eml", "--from", "alice@acme.test", "--to", "bob@example.net", "--user", "alice@acme.test");

        assertThat(trace.status()).as(trace.out() + trace.err()).isZero();
        assertThat(trace.out())
            .contains("smtp\tEnforceSenderIdentity\tpass\tMAIL\n")
            .contains("smtp\torganisation\tnote\tthe transaction belongs to organisation acme\n")
            .contains("smtp\tEnforceRateLimits\tpass\tRCPT\n")
            .contains("smtp\tSpoolReceivedMail\tskipped\twould queue the message: not done in a dry run\n")
            .contains("mailet\ttransport/All RejectUnauthorisedSender\tpass\tsender authorised for organisation acme\n")
            .contains("mailet\ttransport/IsSubmission AddMissingMessageIdAndDate\tran on the copy\tbob@example.net\n")
            .contains("mailet\trelay/All SignDkim\tsign\td=acme.test s=tr1\n")
            .contains("route\tbob@example.net\tsmarthost 127.0.0.1:" + sink.port() + "\n")
            .contains("dkim\td=acme.test s=tr1\n")
            .endsWith("verdict\taccepted\t250 2.0.0 Message would be accepted (dry run: nothing was queued)\n");
        assertThat(trace.out()).doesNotContain("\tnot evaluated\tfailed");

        Thread.sleep(Duration.ofSeconds(3).toMillis());
        assertThat(sink.matching(message -> message.text().contains("trace me"))).as("the smarthost received nothing").isEmpty();
        assertThat(state()).as("queues, tracking and rate-limit use unchanged").isEqualTo(before);

        Run json = postinoctl("trace", "mail.eml", "--from", "alice@acme.test", "--to", "bob@example.net", "--user", "alice@acme.test", "--json");
        assertThat(json.status()).isZero();
        assertThat(json.out()).contains("\"accepted\" : true").contains("\"stage\" : \"mailet\"");
    }

    @Test
    void aSenderTheUserMayNotUseIsRefusedWithTheReplyOfARealSession() throws Exception {
        Run trace = postinoctl("trace", "mail.eml", "--from", "mallory@acme.test", "--to", "bob@example.net", "--user", "alice@acme.test");
        assertThat(trace.status()).as(trace.out() + trace.err()).isEqualTo(1);
        Matcher verdict = Pattern.compile("(?m)^verdict\trefused\t(\\d{3}) (\\d\\.\\d+\\.\\d+) (.+)$").matcher(trace.out());
        assertThat(verdict.find()).as(trace.out()).isTrue();
        assertThat(trace.out()).contains("smtp\tEnforceSenderIdentity\trefuse\tMAIL: ").doesNotContain("mailet\t");
        SmtpClient.Reply real;
        try (SmtpClient client = submission("alice")) {
            real = client.command("MAIL FROM:<mallory@acme.test>");
        }
        assertThat(String.valueOf(real.code())).isEqualTo(verdict.group(1)).isEqualTo("550");
        assertThat(real.text()).isEqualTo(verdict.group(1) + " " + verdict.group(2) + " " + verdict.group(3));
        assertThat(postinoctl("trace", "mail.eml", "--from", "nobody@acme.test", "--to", "bob@example.net", "--user", "nobody@acme.test").out())
            .endsWith("verdict\trefused\t535 5.7.8 Authentication credentials invalid\n");
    }

    @Test
    void aSuppressedRecipientIsRefusedAtRcptAsARealSessionRefusesIt() throws Exception {
        assertThat(postino.webAdmin("PUT", "/organisations/acme/suppressions/gone@example.net", "{\"reason\":\"complaint\"}").statusCode()).isEqualTo(204);

        Run trace = postinoctl("trace", "mail.eml", "--from", "alice@acme.test", "--to", "gone@example.net", "--user", "alice@acme.test");

        assertThat(trace.status()).as(trace.out() + trace.err()).isEqualTo(1);
        assertThat(trace.out()).contains("smtp\tVerifyRecipients\trefuse\tRCPT: 550 5.1.1 <gone@example.net> is on the suppression list");
        SmtpClient.Reply real;
        try (SmtpClient client = submission("alice")) {
            SmtpClient.expect(client.command("MAIL FROM:<alice@acme.test>"), 250);
            real = client.command("RCPT TO:<gone@example.net>");
        }
        assertThat(trace.out()).endsWith("verdict\trefused\t" + real.text() + "\n");
    }

    @Test
    void aDisabledUserIsRefusedAsAuthRefusesIt() throws Exception {
        assertThat(postino.webAdmin("PUT", "/users/carol@acme.test", "{\"password\":\"pw-carol\"}").statusCode()).isEqualTo(204);
        Run disabled = postinoctl("users", "disable", "carol@acme.test");
        assertThat(disabled.status()).as(disabled.out() + disabled.err()).isZero();

        Run trace = postinoctl("trace", "mail.eml", "--from", "carol@acme.test", "--to", "bob@example.net", "--user", "carol@acme.test");

        assertThat(trace.status()).isEqualTo(1);
        assertThat(trace.out()).endsWith("verdict\trefused\t535 5.7.8 This account is disabled; ask your administrator to enable it again\n");
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.startTls(), 220);
            client.command("EHLO client.test");
            assertThat(client.authPlain("carol@acme.test", "pw-carol").text()).isEqualTo("535 5.7.8 This account is disabled; ask your administrator to enable it again");
        }
    }

    private SmtpClient submission(String user) throws Exception {
        SmtpClient client = SmtpClient.connect("127.0.0.1", postino.submissionPort);
        client.greetingAndEhlo();
        SmtpClient.expect(client.startTls(), 220);
        client.command("EHLO client.test");
        SmtpClient.expect(client.authPlain(user + "@acme.test", "pw-" + user), 235);
        return client;
    }

    @Test
    void aUserOverItsRateLimitIsDeferredAsARealSessionIsAndTheTraceTakesNothingFromTheBudget() throws Exception {
        SmtpClient.Reply real;
        try (SmtpClient bob = submission("bob")) {
            for (int i = 0; i < 3; i++) {
                assertThat(bob.send("bob@acme.test", List.of("r" + i + "@example.net"), "From: bob@acme.test\r\nSubject: budget\r\n\r\nx").code()).isEqualTo(250);
            }
            real = bob.command("MAIL FROM:<bob@acme.test>");
        }
        assertThat(real.code()).isEqualTo(451);
        String usage = postino.webAdmin("GET", "/ratelimits/users/bob@acme.test", null).body();

        Run trace = postinoctl("trace", "mail.eml", "--from", "bob@acme.test", "--to", "bob@example.net", "--user", "bob@acme.test");

        assertThat(trace.status()).as(trace.out() + trace.err()).isEqualTo(1);
        assertThat(trace.out()).contains("smtp\tEnforceRateLimits\trefuse\tMAIL: 451 4.7.1 Rate limit reached: user bob@acme.test may send 3 messages per minute");
        assertThat(trace.out()).containsPattern("(?m)^verdict\trefused\t451 4\\.7\\.1 Rate limit reached: user bob@acme\\.test may send 3 messages per minute");
        assertThat(real.text()).startsWith("451 4.7.1 Rate limit reached: user bob@acme.test may send 3 messages per minute");
        // A token may come back while the test runs (3 a minute); a trace that took one would raise "used".
        assertThat(used(postino.webAdmin("GET", "/ratelimits/users/bob@acme.test", null).body())).isLessThanOrEqualTo(used(usage)).isPositive();
    }

    private static int used(String usage) {
        Matcher used = Pattern.compile("\"used\":(\\d+)").matcher(usage);
        assertThat(used.find()).as(usage).isTrue();
        return Integer.parseInt(used.group(1));
    }

    @Test
    void aRecipientOfARelayDomainIsNotVerifiedOnTheInternalServerAndGoesInbound() throws Exception {
        Run trace = postinoctl("trace", "mail.eml", "--from", "someone@example.org", "--to", "staff@corp.acme.test", "--client", "203.0.113.9");

        assertThat(trace.status()).as(trace.out() + trace.err()).isZero();
        assertThat(trace.out())
            .contains("smtp\tcallout\tnot evaluated\twould call out to 127.0.0.1:" + internal.port() + " to verify <staff@corp.acme.test>")
            .contains("smtp\torganisation\tnote\tthe transaction belongs to no organisation")
            .contains("mailet\ttransport/RecipientIsInRelayDomain ToProcessor\tto processor\tstaff@corp.acme.test → 'inbound'")
            .contains("route\tstaff@corp.acme.test\tthe server of relay domain corp.acme.test (127.0.0.1:" + internal.port() + ")\n");
        assertThat(internal.connectionCount()).as("nobody asked the internal server").isZero();
    }

    @Test
    void aStrangerRelayingThroughTheMxListenerIsRefusedAsARealSessionIs() throws Exception {
        Run trace = postinoctl("trace", "mail.eml", "--from", "someone@example.org", "--to", "bob@example.net", "--client", "203.0.113.9");
        assertThat(trace.status()).as(trace.out() + trace.err()).isEqualTo(1);
        assertThat(trace.out()).containsPattern("(?m)^verdict\trefused\t5\\d\\d 5\\.7\\.\\d ");
    }

    @Test
    void recipientsOnDifferentPathsAreSplitAndEachGetsItsRoute() throws Exception {
        Run trace = postinoctl("trace", "mail.eml", "--from", "alice@acme.test", "--to", "staff@corp.acme.test", "--to", "bob@example.net",
            "--user", "alice@acme.test");

        assertThat(trace.status()).as(trace.out() + trace.err()).isZero();
        assertThat(trace.out())
            .contains("mailet\ttransport/RecipientIsInRelayDomain ToProcessor\tsplit\tmatched staff@corp.acme.test; the other recipients go on in 'transport'\n")
            .contains("route\tstaff@corp.acme.test\tthe server of relay domain corp.acme.test (127.0.0.1:" + internal.port() + ")\n")
            .contains("route\tbob@example.net\tsmarthost 127.0.0.1:" + sink.port() + "\n")
            .contains("mailet\trelay/All SignDkim\tsign\td=acme.test s=tr1\n");
        assertThat(internal.connectionCount()).isZero();
    }

    @Test
    void anOrganisationTokenMayNotTrace() throws Exception {
        String made = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:acme\"}").body();
        Matcher token = Pattern.compile("\"token\":\"([^\"]+)\"").matcher(made);
        assertThat(token.find()).as(made).isTrue();
        String body = "{\"from\":\"alice@acme.test\",\"to\":[\"bob@example.net\"],\"user\":\"alice@acme.test\",\"message\":\"From: alice@acme.test\\r\\n\\r\\nx\"}";
        assertThat(postino.webAdmin("POST", "/trace", body, Map.of("Authorization", "Bearer " + token.group(1))).statusCode()).isEqualTo(403);
        assertThat(postino.webAdmin("POST", "/trace", body).statusCode()).isEqualTo(200);
        assertThat(postino.webAdmin("POST", "/trace", "{\"from\":\"a@acme.test\"}").statusCode()).isEqualTo(400);
    }
}
