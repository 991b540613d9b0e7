package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.postino.server.metrics.PrometheusText;

/**
 * {@code GET /metrics} of the packaged server after real mail went through it over SMTP to a
 * sink: the exposition parses (with a strict reader of the format and, where it is unpacked,
 * Prometheus' own {@code promtool check metrics}), no name holds a {@code :} or an organisation
 * id, deliveries, deferrals, refusals, queues and latency carry the right labels and values, and
 * every metric that a query of the shipped Grafana dashboard names is exported.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int DELIVERED = 3;
    private static final List<Path> PROMTOOL = List.of(Path.of("/usr/bin/promtool"), Path.of("/usr/local/bin/promtool"),
        Path.of("/var/cache/postino-tests/prometheus/usr/bin/promtool"));

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;
    private String exposition;
    private PrometheusText scraped;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("metrics");
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"),
            "<authorizedAddresses>127.0.0.0/8</authorizedAddresses>", "<authorizedAddresses>127.0.0.1/32</authorizedAddresses>");
        sink = SmtpSink.start().replyToRecipients(recipient -> recipient.startsWith("later-") ? "451 4.3.0 try again later" : "250 2.1.5 OK");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());

        String token = UUID.randomUUID().toString().substring(0, 8);
        for (int i = 0; i < DELIVERED; i++) {
            send("ok-" + i + "-" + token + "@example.net");
        }
        send("later-" + token + "@example.net");
        try (SmtpClient client = SmtpClient.connectFrom("127.0.0.4", "127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<someone@example.org>"), 250);
            assertThat(client.command("RCPT TO:<stranger-" + token + "@example.net>").code()).as("a stranger may not relay").isBetween(500, 599);
        }
        assertThat(sink.awaitMessages(message -> message.recipients().get(0).endsWith(token + "@example.net"), DELIVERED, WAIT)).hasSize(DELIVERED);
        scrapeUntil(parsed -> value(parsed, "postino_messages_total", Map.of("event", "delivered", "organisation", "acme")) >= DELIVERED
            && value(parsed, "postino_messages_total", Map.of("event", "deferred", "organisation", "acme")) >= 1);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private void send(String recipient) throws Exception {
        assertThat(SmtpClient.sendInNewSession("127.0.0.1", postino.smtpPort, "app@acme.test", recipient,
            "From: app@acme.test\r\nSubject: metrics\r\n\r\nhello").code()).isEqualTo(250);
    }

    private HttpResponse<String> scrape() throws Exception {
        HttpResponse<String> response = postino.webAdmin("GET", "/metrics", null);
        assertThat(response.statusCode()).isEqualTo(200);
        return response;
    }

    /** Scrapes until the condition holds, at most {@link #WAIT}; keeps the last scrape. */
    private void scrapeUntil(java.util.function.Predicate<PrometheusText> condition) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        do {
            exposition = scrape().body();
            scraped = PrometheusText.parse(exposition);
            if (condition.test(scraped)) {
                return;
            }
            Thread.sleep(300);
        } while (Instant.now().isBefore(deadline));
        throw new AssertionError("the metrics did not get there within " + WAIT + ":\n" + exposition);
    }

    private static double value(PrometheusText parsed, String name, Map<String, String> labels) {
        return Optional.ofNullable(parsed.value(name, labels)).orElse(-1.0);
    }

    @Test
    void theExpositionIsTextFormatWithSnakeCaseNamesAndNoOrganisationInAName() throws Exception {
        HttpResponse<String> response = scrape();
        PrometheusText parsed = PrometheusText.parse(response.body());

        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
        assertThat(parsed.families().keySet()).allMatch(name -> name.matches("[a-z_][a-z0-9_]*"), "snake case, no ':'")
            .noneMatch(name -> name.contains("acme"));
        assertThat(parsed.sampleNames()).allMatch(name -> name.matches("[a-zA-Z_][a-zA-Z0-9_]*")).noneMatch(name -> name.contains("acme"))
            .contains("postino_messages_total", "postino_deliveries_total", "postino_smtp_refusals_total", "postino_queue_depth",
                "postino_queue_oldest_message_age_seconds", "postino_delivery_latency_seconds_bucket", "james_smtp_connections_total");
        assertThat(parsed.families().values()).filteredOn(family -> family.name.startsWith("postino_")).allMatch(family -> family.help != null
            && !family.help.isBlank(), "every Postino metric has a HELP text");
        assertThat(response.body()).doesNotContain("_created");
    }

    @Test
    void prometheusOwnPromtoolAcceptsTheExposition() throws Exception {
        Optional<Path> promtool = PROMTOOL.stream().filter(Files::isExecutable).findFirst();
        Assumptions.assumeTrue(promtool.isPresent(), "promtool not found in " + PROMTOOL + " (scripts/ensure-test-packages unpacks it)");
        Path file = temporary.resolve("scrape.txt");
        Files.writeString(file, scrape().body(), StandardCharsets.UTF_8);
        Process check = new ProcessBuilder(promtool.get().toString(), "check", "metrics").redirectInput(file.toFile())
            .redirectErrorStream(true).redirectOutput(temporary.resolve("promtool.txt").toFile()).start();
        try {
            assertThat(check.waitFor(60, TimeUnit.SECONDS)).as("promtool ends").isTrue();
        } finally {
            check.destroyForcibly();
        }
        String said = Files.readString(temporary.resolve("promtool.txt"));
        assertThat(check.exitValue()).as("promtool check metrics: " + said).isZero();
        assertThat(said).as("no parse error and no lint problem").isBlank();
    }

    @Test
    void deliveriesAreCountedByOrganisationRouteAndDestinationWithTheirLatency() {
        assertThat(scraped.value("postino_messages_total", Map.of("event", "received", "organisation", "acme"))).isGreaterThanOrEqualTo(DELIVERED + 1.0);
        assertThat(scraped.value("postino_messages_total", Map.of("event", "delivered", "organisation", "acme"))).isEqualTo((double) DELIVERED);
        assertThat(scraped.value("postino_deliveries_total", Map.of("outcome", "delivered", "route", "default", "destination", "example.net")))
            .isEqualTo((double) DELIVERED);
        assertThat(scraped.value("postino_deliveries_total", Map.of("outcome", "deferred", "route", "default", "destination", "example.net")))
            .isGreaterThanOrEqualTo(1.0);
        assertThat(scraped.value("postino_delivery_latency_seconds_count", Map.of("route", "default"))).isEqualTo((double) DELIVERED);
        assertThat(scraped.value("postino_delivery_latency_seconds_sum", Map.of("route", "default"))).isBetween(0.0, DELIVERED * WAIT.toSeconds() + 0.0);
        assertThat(scraped.value("postino_delivery_latency_seconds_bucket", Map.of("route", "default", "le", "432000.0"))).isEqualTo((double) DELIVERED);
    }

    @Test
    void theDeferredMailShowsInTheDepthAndAgeOfItsOrganisationsQueue() throws Exception {
        Map<String, String> lane = Map.of("queue", "outgoing", "organisation", "acme");
        scrapeUntil(parsed -> value(parsed, "postino_queue_depth", lane) == 1 && value(parsed, "postino_queue_oldest_message_age_seconds", lane) > 0);
        double before = scraped.value("postino_queue_oldest_message_age_seconds", lane);
        Thread.sleep(1500);

        scrapeUntil(parsed -> value(parsed, "postino_queue_oldest_message_age_seconds", lane) >= before + 1);

        assertThat(scraped.value("postino_queue_depth", Map.of("queue", "spool", "organisation", "none"))).isZero();
        assertThat(scraped.samples("postino_queue_depth")).extracting(sample -> sample.labels().get("queue")).contains("spool", "outgoing")
            .noneMatch(queue -> queue.contains("acme"));
    }

    @Test
    void aStrangersRefusalIsCountedByReasonWithoutOrganisation() {
        assertThat(scraped.samples("postino_smtp_refusals_total"))
            .anySatisfy(sample -> {
                assertThat(sample.labels()).containsEntry("organisation", "none").containsKey("reason");
                assertThat(sample.labels().get("reason")).matches("[a-z_]+");
                assertThat(sample.value()).isGreaterThanOrEqualTo(1.0);
            });
    }

    @Test
    void theStandardJvmAndProcessMetricsAreThere() {
        assertThat(scraped.value("jvm_memory_bytes_used", Map.of("area", "heap"))).isPositive();
        assertThat(scraped.value("jvm_memory_bytes_max", Map.of("area", "heap"))).isPositive();
        assertThat(scraped.samples("jvm_gc_collection_seconds_count")).isNotEmpty().allMatch(sample -> sample.labels().containsKey("gc"));
        assertThat(scraped.value("process_cpu_seconds_total", Map.of())).isPositive();
        assertThat(scraped.value("process_resident_memory_bytes", Map.of())).isPositive();
        assertThat(scraped.sampleNames()).contains("jvm_threads_current", "jvm_classes_currently_loaded", "process_open_fds")
            .noneMatch(name -> name.startsWith("james_jvm_"));
    }

    @Test
    void everyMetricNamedInTheShippedGrafanaDashboardIsExported() throws Exception {
        Path dashboard = PostinoProcess.distribution().resolve("grafana/postino-dashboard.json");
        JsonNode root = new ObjectMapper().readTree(dashboard.toFile());
        List<String> queries = new ArrayList<>();
        root.path("panels").forEach(panel -> panel.path("targets").forEach(target -> queries.add(target.path("expr").asText())));
        root.path("templating").path("list").forEach(variable -> {
            if (variable.path("type").asText().equals("query")) {
                queries.add(variable.path("query").isObject() ? variable.path("query").path("query").asText() : variable.path("query").asText());
            }
        });
        assertThat(queries).hasSizeGreaterThanOrEqualTo(10).noneMatch(String::isBlank);

        Set<String> named = new LinkedHashSet<>();
        for (String query : queries) {
            Set<String> metrics = metricNames(query);
            assertThat(metrics).as("metrics of " + query).isNotEmpty();
            named.addAll(metrics);
        }

        assertThat(named).as("queue depth, throughput per organisation, latency, refusals, heap, GC")
            .contains("postino_queue_depth", "postino_messages_total", "postino_delivery_latency_seconds_bucket", "postino_smtp_refusals_total",
                "jvm_memory_bytes_used", "jvm_gc_collection_seconds_sum");
        assertThat(scraped.sampleNames()).as("exported after mail went through").containsAll(named);
        assertThat(root.path("panels").findValuesAsText("title")).contains("Queue depth", "Throughput per organisation",
            "Delivery latency (received to delivered)", "SMTP refusals by reason", "JVM heap", "GC time");
    }

    @Test
    void theMetricsStillNeedTheOperatorsToken() throws Exception {
        assertThat(postino.webAdmin("GET", "/metrics", null, Map.of()).statusCode()).isEqualTo(401);
        assertThat(postino.webAdmin("GET", "/metrics", null, Map.of("Authorization", "Bearer pst_not-a-token")).statusCode()).isEqualTo(401);
    }

    @Test
    void theQueryReaderFindsTheMetricsOfAnExpressionAndNothingElse() {
        assertThat(metricNames("histogram_quantile(0.99, sum by (le) (rate(postino_delivery_latency_seconds_bucket{instance=~\"$instance\"}[$__rate_interval])))"))
            .containsExactly("postino_delivery_latency_seconds_bucket");
        assertThat(metricNames("sum(rate(a_total{x=\"b c\"}[5m] offset 1h)) by (reason) / on (instance) group_left (job) b_bytes * 1e9"))
            .containsExactly("a_total", "b_bytes");
        assertThat(metricNames("label_values(postino_queue_depth, instance)")).containsExactly("postino_queue_depth");
    }

    private static final Pattern GROUPING = Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*");
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
        "and", "or", "unless", "inf", "nan", "atan2");
    private static final Pattern LABEL_VALUES = Pattern.compile("^\\s*label_values\\(\\s*(.+?)\\s*,\\s*[A-Za-z_][A-Za-z0-9_]*\\s*\\)\\s*$");

    /**
     * The metric names a PromQL expression (or a Grafana {@code label_values(metric, label)}) reads:
     * the identifiers left once strings, label matchers, ranges, Grafana variables and grouping
     * clauses are taken out, except functions (followed by a parenthesis) and keywords.
     */
    static Set<String> metricNames(String query) {
        Matcher labelValues = LABEL_VALUES.matcher(query);
        String expression = labelValues.matches() ? labelValues.group(1) : query;
        String rest = expression.replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"")
            .replaceAll("\\{[^}]*\\}", " ")
            .replaceAll("\\[[^\\]]*\\]", " ")
            .replaceAll("\\$\\{?[A-Za-z_][A-Za-z0-9_]*\\}?", " ");
        rest = GROUPING.matcher(rest).replaceAll(" ");
        Set<String> names = new LinkedHashSet<>();
        Matcher identifier = IDENTIFIER.matcher(rest);
        while (identifier.find()) {
            String name = identifier.group();
            String after = rest.substring(identifier.end()).stripLeading();
            if (!after.startsWith("(") && !KEYWORDS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                names.add(name);
            }
        }
        return names;
    }
}
