package io.postino.server.metrics;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.postino.server.spool.Spool;
import io.prometheus.client.Collector;
import io.prometheus.client.GaugeMetricFamily;

/**
 * Every spool queue's depth and the age of its oldest mail, read at each scrape from the spool's
 * memory. An organisation's own queue ({@code outgoing.acme}, see FairMailQueue) is shown as
 * {@code queue="outgoing", organisation="acme"}; a shared one has {@code organisation="none"}.
 */
final class QueueMetrics extends Collector {
    private final Spool spool;
    private final BoundedLabel organisations;

    QueueMetrics(Spool spool, BoundedLabel organisations) {
        this.spool = spool;
        this.organisations = organisations;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        List<String> labels = List.of("queue", "organisation");
        GaugeMetricFamily depth = new GaugeMetricFamily("postino_queue_depth", "Mails in the queue, waiting or being processed", labels);
        GaugeMetricFamily age = new GaugeMetricFamily("postino_queue_oldest_message_age_seconds",
            "Seconds the mail that has been in the queue longest has been there (0 when the queue is empty)", labels);
        // Queues past the organisation bound share the label "other": their sizes add up.
        Map<List<String>, Long> sizes = new LinkedHashMap<>();
        Map<List<String>, Instant> oldest = new HashMap<>();
        for (Spool.QueueState state : spool.queueStates()) {
            // The error repository's name (repository:var/mail/error) is a path, not a queue of a lane.
            int dot = state.queue().contains(":") ? -1 : state.queue().indexOf('.');
            String queue = dot < 0 ? state.queue() : state.queue().substring(0, dot);
            String organisation = dot < 0 ? BoundedLabel.NONE : organisations.value(state.queue().substring(dot + 1));
            List<String> values = List.of(queue, organisation);
            sizes.merge(values, state.size(), Long::sum);
            state.oldestSince().ifPresent(since -> oldest.merge(values, since, (a, b) -> a.isBefore(b) ? a : b));
        }
        Instant now = Instant.now();
        sizes.forEach((values, size) -> {
            depth.addMetric(values, size);
            age.addMetric(values, Optional.ofNullable(oldest.get(values)).map(since -> Math.max(0, Duration.between(since, now).toMillis()) / 1000.0).orElse(0.0));
        });
        return List.of(depth, age);
    }
}
