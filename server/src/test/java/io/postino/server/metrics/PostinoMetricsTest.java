package io.postino.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.james.queue.api.MailQueueName;
import org.apache.james.server.core.MailImpl;
import org.apache.james.server.core.MimeMessageInputStreamSource;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.codahale.metrics.MetricRegistry;

import io.postino.events.DeliveryEvent;
import io.postino.server.spool.Spool;
import io.postino.server.spool.SpoolMailQueueFactory;
import io.prometheus.client.hotspot.DefaultExports;

class PostinoMetricsTest {
    private final PostinoMetrics metrics = new PostinoMetrics();

    private static DeliveryEvent event(DeliveryEvent.Type type, String organisation, String recipient) {
        return new DeliveryEvent(type, Instant.now(), "m1", Optional.empty(), Optional.ofNullable(organisation), Optional.empty(),
            Optional.empty(), Optional.of("app@acme.test"), Optional.of(recipient), 10, Optional.empty(), Optional.empty());
    }

    private String exposition() throws Exception {
        StringWriter out = new StringWriter();
        PrometheusRoutes.write(out, metrics.registry().metricFamilySamples());
        return out.toString();
    }

    @Test
    void theOrganisationIsALabelNotPartOfTheName() throws Exception {
        metrics.event(event(DeliveryEvent.Type.DELIVERED, "acme-corp", "bob@example.net"), Optional.of("smarthost"));

        PrometheusText parsed = PrometheusText.parse(exposition());

        assertThat(parsed.sampleNames()).noneMatch(name -> name.contains("acme")).noneMatch(name -> name.contains(":"));
        assertThat(parsed.value("postino_messages_total", Map.of("event", "delivered", "organisation", "acme-corp"))).isEqualTo(1.0);
        assertThat(parsed.value("postino_deliveries_total", Map.of("outcome", "delivered", "route", "smarthost", "destination", "example.net")))
            .isEqualTo(1.0);
    }

    @Test
    void destinationsPastTheBoundAreCountedAsOther() throws Exception {
        for (int i = 0; i < 500; i++) {
            metrics.event(event(DeliveryEvent.Type.DEFERRED, "acme", "bob@d" + i + ".test"), Optional.empty());
        }

        PrometheusText parsed = PrometheusText.parse(exposition());

        Set<String> destinations = parsed.samples("postino_deliveries_total").stream().map(sample -> sample.labels().get("destination"))
            .collect(Collectors.toSet());
        assertThat(destinations).hasSize(PostinoMetrics.DESTINATIONS + 1).contains("d0.test", BoundedLabel.OTHER).doesNotContain("d499.test");
        assertThat(parsed.value("postino_deliveries_total", Map.of("outcome", "deferred", "route", "default", "destination", "other")))
            .isEqualTo(500.0 - PostinoMetrics.DESTINATIONS);
    }

    @Test
    void theLatencyHistogramHasCumulativeBucketsInSeconds() throws Exception {
        metrics.delivered(Optional.empty(), Duration.ofSeconds(3));
        metrics.delivered(Optional.empty(), Duration.ofMillis(200));

        PrometheusText parsed = PrometheusText.parse(exposition());

        assertThat(parsed.value("postino_delivery_latency_seconds_bucket", Map.of("route", "default", "le", "0.25"))).isEqualTo(1.0);
        assertThat(parsed.value("postino_delivery_latency_seconds_bucket", Map.of("route", "default", "le", "2.5"))).isEqualTo(1.0);
        assertThat(parsed.value("postino_delivery_latency_seconds_bucket", Map.of("route", "default", "le", "5.0"))).isEqualTo(2.0);
        assertThat(parsed.value("postino_delivery_latency_seconds_bucket", Map.of("route", "default", "le", "+Inf"))).isEqualTo(2.0);
        assertThat(parsed.value("postino_delivery_latency_seconds_sum", Map.of("route", "default"))).isEqualTo(3.2);
    }

    @Test
    void refusalsCarryTheirReasonAndCountersHaveNoCreatedSamples() throws Exception {
        metrics.smtpRefusal("verify_recipients", Optional.of("acme"));
        metrics.smtpRefusal("verify_recipients", Optional.empty());
        metrics.rateLimitRefusal("user", "minute", "messages");

        String text = exposition();
        PrometheusText parsed = PrometheusText.parse(text);

        assertThat(parsed.value("postino_smtp_refusals_total", Map.of("reason", "verify_recipients", "organisation", "none"))).isEqualTo(1.0);
        assertThat(parsed.value("postino_ratelimit_refusals_total", Map.of("scope", "user", "period", "minute", "unit", "messages"))).isEqualTo(1.0);
        assertThat(text).doesNotContain("_created");
    }

    @Test
    void theWholeExpositionWithJvmJamesAndQueueMetricsParses(@TempDir Path directory) throws Exception {
        DefaultExports.register(metrics.registry());
        MetricRegistry james = new MetricRegistry();
        james.meter("SMTP:connections").mark();
        james.timer("mailetContainer-RemoteDelivery").update(Duration.ofMillis(5));
        james.counter("jvm.threads.count").inc();
        metrics.registry().register(new JamesMetrics(james));
        try (Spool spool = Spool.open(directory, Spool.SpoolListener.NONE)) {
            MailImpl mail = MailImpl.builder().name("m1").sender("app@acme.test").addRecipient("bob@example.net").build();
            MimeMessageInputStreamSource source = MimeMessageInputStreamSource.create("m1");
            source.getWritableOutputStream().write("Subject: x\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            source.getWritableOutputStream().close();
            mail.setMessageContent(source);
            mail.setAttribute(new Attribute(AttributeName.of("postino.organisation"), AttributeValue.of("acme")));
            new SpoolMailQueueFactory(spool).createQueue(MailQueueName.of("outgoing.acme")).enQueue(mail);
            metrics.registry().register(new QueueMetrics(spool, metrics.organisations()));

            PrometheusText parsed = PrometheusText.parse(exposition());

            assertThat(parsed.sampleNames()).contains("jvm_memory_bytes_used", "jvm_gc_collection_seconds_sum", "process_cpu_seconds_total",
                "james_smtp_connections_total", "james_mailet_container_remote_delivery_count", "postino_queue_depth")
                .noneMatch(name -> name.contains(":")).noneMatch(name -> name.contains("acme"))
                .doesNotContain("james_jvm_threads_count");
            assertThat(parsed.value("postino_queue_depth", Map.of("queue", "outgoing", "organisation", "acme"))).isEqualTo(1.0);
            assertThat(parsed.value("postino_queue_oldest_message_age_seconds", Map.of("queue", "outgoing", "organisation", "acme")))
                .isBetween(0.0, 60.0);
        }
    }

    @Test
    void jamesNamesBecomeSnakeCaseWithoutColons() {
        assertThat(JamesMetrics.name("SMTP:command:RCPT")).isEqualTo("james_smtp_command_rcpt");
        assertThat(JamesMetrics.name("spoolProcessing.inFlight")).isEqualTo("james_spool_processing_in_flight");
        assertThat(JamesMetrics.name("mailetContainer-RemoteDelivery")).isEqualTo("james_mailet_container_remote_delivery");
    }

    @Test
    void theStrictReaderRefusesWhatAScrapeWouldRefuse() {
        assertThatThrownBy(() -> PrometheusText.parse("a:b 1\n")).hasMessageContaining("':'");
        assertThatThrownBy(() -> PrometheusText.parse("a{x=\"1\"} 1\na{x=\"1\"} 2\n")).hasMessageContaining("twice");
        assertThatThrownBy(() -> PrometheusText.parse("# TYPE a counter\n# TYPE a gauge\na 1\n")).hasMessageContaining("second TYPE");
        assertThatThrownBy(() -> PrometheusText.parse("a 1\nb 1\na{x=\"2\"} 1\n")).hasMessageContaining("not together");
        assertThatThrownBy(() -> PrometheusText.parse("a{x=1} 1\n")).hasMessageContaining("not quoted");
        assertThatThrownBy(() -> PrometheusText.parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"))
            .hasMessageContaining("cumulative");
        assertThatThrownBy(() -> PrometheusText.parse("a one\n")).hasMessageContaining("bad number");
    }
}
