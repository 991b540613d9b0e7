package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The web console in a real browser: Debian's Chromium, headless, driven by playwright-core
 * (src/test/resources/console/console-browser-test.cjs) against the packaged server. Screenshots
 * go to target/console-screenshots/. Skipped, saying why, without node, Chromium or playwright-core
 * (scripts/ensure-test-packages installs them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleIntegrationTest {
    private static final Path PLAYWRIGHT = Path.of("/var/cache/postino-tests/playwright/node_modules");
    private static final List<Path> CHROMIUM = List.of(Path.of("/usr/lib/chromium/chromium"), Path.of("/usr/bin/chromium"));
    private static final String ORGANISATIONS = "<organisations>"
        + "<organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain></organisation>"
        + "<organisation id=\"beta\" name=\"Beta\"><domain>beta.test</domain></organisation></organisations>";

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("console");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        for (String domain : List.of("acme.test", "beta.test")) {
            assertThat(postino.webAdmin("PUT", "/domains/" + domain, null).statusCode()).isEqualTo(204);
        }
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    @Test
    void theConsolePageIsServedWithItsProtectionsAndARebindingNameIsRefused() throws Exception {
        HttpResponse<String> page = postino.webAdmin("GET", "/console/", null, java.util.Map.of());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Security-Policy")).get().asString().contains("frame-ancestors 'none'");
        assertThat(page.body()).contains("console.js");
        assertThat(postino.webAdminRaw("GET", "/console/", java.util.Map.of("Host", "evil.example:" + postino.webAdminPort), null).status())
            .isEqualTo(403);
        assertThat(postino.webAdmin("GET", "/console/../tokens", null, java.util.Map.of()).statusCode()).isNotEqualTo(200);
    }

    @Test
    void anAdminFindsAMailHoldsAndReleasesItsQueueSuppressesAnAddressAndAnOrganisationAdminIsRefusedAnotherOrganisation()
        throws Exception {
        Optional<Path> node = Optional.of(Path.of("/usr/bin/node")).filter(Files::isExecutable);
        Optional<Path> chromium = CHROMIUM.stream().filter(Files::isExecutable).findFirst();
        Assumptions.assumeTrue(node.isPresent() && chromium.isPresent() && Files.isDirectory(PLAYWRIGHT.resolve("playwright-core")),
            "the browser test needs node, Debian's chromium and playwright-core in " + PLAYWRIGHT + " (scripts/ensure-test-packages)");
        HttpResponse<String> made = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:acme\"}");
        assertThat(made.statusCode()).isEqualTo(201);
        String acmeToken = field(made.body(), "token");
        String recipient = "console-" + System.nanoTime() + "@example.net";
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient,
            "From: app@acme.test\r\nSubject: console\r\n\r\nhello").code()).isEqualTo(250);
        sink.awaitMessages(message -> message.recipients().contains(recipient), 1, Duration.ofSeconds(60));

        Path screenshots = Path.of("target", "console-screenshots").toAbsolutePath();
        Files.createDirectories(screenshots);
        Path script = Path.of(getClass().getResource("/console/console-browser-test.cjs").toURI());
        Path output = temporary.resolve("browser.json");
        ProcessBuilder builder = new ProcessBuilder(node.get().toString(), script.toString())
            .redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().put("NODE_PATH", PLAYWRIGHT.toString());
        builder.environment().put("CONSOLE_URL", "http://127.0.0.1:" + postino.webAdminPort + "/console/");
        builder.environment().put("OPERATOR_TOKEN", postino.operatorToken());
        builder.environment().put("ORGANISATION_TOKEN", acmeToken);
        builder.environment().put("RECIPIENT", recipient);
        builder.environment().put("SMTP_PORT", String.valueOf(postino.smtpPort));
        builder.environment().put("SCREENSHOTS", screenshots.toString());
        builder.environment().put("CHROMIUM", chromium.get().toString());
        Process browser = builder.start();
        try {
            assertThat(browser.waitFor(5, TimeUnit.MINUTES)).as("the browser script ends").isTrue();
        } finally {
            browser.descendants().forEach(ProcessHandle::destroyForcibly);
            browser.destroyForcibly();
        }
        String said = Files.readString(output, StandardCharsets.UTF_8);
        assertThat(said).as("browser script output").contains("\"ok\":true");
        assertThat(said).contains("This token is unknown or revoked", "\"operatorWho\":\"Operator\"", "\"trackingFound\":true",
            "\"deliveredWhileHeld\":false", "\"deliveredAfterRelease\":true", "_domainkey.acme.test", "\"tokenAfterLogout\":null",
            "Admin of organisation acme", "\"organisationHome\":\"#/organisations/acme\"", "Refused (403)",
            "\"otherOrganisationShown\":false");
        String suppressed = field(said, "suppressed");
        assertThat(postino.webAdmin("GET", "/organisations/acme/suppressions/" + URLEncoder.encode(suppressed, StandardCharsets.UTF_8), null)
            .statusCode()).isEqualTo(200);
        assertThat(postino.webAdmin("GET", "/organisations/acme/users", null).body()).contains("bob@acme.test");
        String held = field(said, "heldRecipient");
        long releasedAt = Long.parseLong(matcher(said, "\"releasedAt\":(\\d+)"));
        List<SmtpSink.Message> delivered = sink.awaitMessages(message -> message.recipients().contains(held), 1, Duration.ofSeconds(30));
        assertThat(delivered).hasSize(1);
        assertThat(delivered.get(0).receivedAt()).as("the held mail reached the sink only after its release")
            .isAfter(Instant.ofEpochMilli(releasedAt));
        assertThat(postino.webAdmin("GET", "/mailQueueHolds", null).body()).contains("\"held\":[]");
        for (String name : List.of("01-login", "02-organisations", "03-tracking", "04-queues-held", "05-organisation", "07-health",
            "08-organisation-admin", "09-other-organisation-refused")) {
            assertThat(screenshots.resolve(name + ".png")).isNotEmptyFile();
        }
    }

    private static String field(String json, String name) {
        return matcher(json, "\"" + name + "\":\"([^\"]+)\"");
    }

    private static String matcher(String text, String pattern) {
        Matcher matcher = Pattern.compile(pattern).matcher(text);
        assertThat(matcher.find()).as(pattern + " in " + text).isTrue();
        return matcher.group(1);
    }
}
