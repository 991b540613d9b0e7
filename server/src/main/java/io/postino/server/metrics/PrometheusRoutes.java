package io.postino.server.metrics;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import javax.inject.Inject;
import javax.inject.Singleton;

import org.apache.james.webadmin.PublicRoutes;

import com.codahale.metrics.MetricRegistry;

import io.postino.server.spool.Spool;
import io.prometheus.client.Collector;
import io.prometheus.client.exporter.common.TextFormat;
import io.prometheus.client.hotspot.DefaultExports;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * {@code GET /metrics} on WebAdmin, in Prometheus' text format 0.0.4: Postino's metrics
 * ({@link PostinoMetrics}), the spool's queues ({@link QueueMetrics}), the standard JVM and
 * process metrics of Prometheus' hotspot exports ({@code jvm_*}, {@code process_*}) and James'
 * own ({@link JamesMetrics}). {@code ?name[]=a&name[]=b} keeps only those samples, as James'
 * route did. It replaces James' {@code MetricsRoutes} at the same path, behind the same token
 * check ({@code WebAdminGuardRoutes}).
 */
@Singleton
public class PrometheusRoutes implements PublicRoutes {
    public static final String BASE = "/metrics";

    private final PostinoMetrics metrics;

    @Inject
    public PrometheusRoutes(PostinoMetrics metrics, MetricRegistry james, Spool spool) {
        this.metrics = metrics;
        DefaultExports.register(metrics.registry());
        metrics.registry().register(new QueueMetrics(spool, metrics.organisations()));
        metrics.registry().register(new JamesMetrics(james));
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, this::metrics);
    }

    private Object metrics(Request request, Response response) throws IOException {
        Set<String> names = Optional.ofNullable(request.queryParamsValues("name[]")).map(Set::of).orElse(Set.of());
        response.status(200);
        response.type(TextFormat.CONTENT_TYPE_004);
        Enumeration<Collector.MetricFamilySamples> families = names.isEmpty() ? metrics.registry().metricFamilySamples()
            : metrics.registry().filteredMetricFamilySamples(names);
        try (Writer writer = new BufferedWriter(response.raw().getWriter())) {
            write(writer, families);
        }
        return "";
    }

    /** The families in text format 0.0.4, without {@code _created} samples. */
    static void write(Writer writer, Enumeration<Collector.MetricFamilySamples> families) throws IOException {
        List<Collector.MetricFamilySamples> written = new ArrayList<>();
        while (families.hasMoreElements()) {
            written.add(withoutCreated(families.nextElement()));
        }
        TextFormat.write004(writer, Collections.enumeration(written));
    }

    /**
     * Without the client's {@code *_created} samples (when each counter series was created): as
     * many series again, which no dashboard here reads, and not part of the 0.0.4 format.
     */
    static Collector.MetricFamilySamples withoutCreated(Collector.MetricFamilySamples family) {
        if (family.type != Collector.Type.COUNTER && family.type != Collector.Type.HISTOGRAM && family.type != Collector.Type.SUMMARY) {
            return family;
        }
        List<Collector.MetricFamilySamples.Sample> kept = family.samples.stream()
            .filter(sample -> !sample.name.equals(family.name + "_created"))
            .toList();
        return new Collector.MetricFamilySamples(family.name, family.unit, family.type, family.help, kept);
    }
}
