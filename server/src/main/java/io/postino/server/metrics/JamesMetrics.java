package io.postino.server.metrics;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import com.codahale.metrics.MetricRegistry;

import io.prometheus.client.Collector;
import io.prometheus.client.dropwizard.DropwizardExports;
import io.prometheus.client.dropwizard.samplebuilder.SampleBuilder;

/**
 * James' own metrics (its Dropwizard registry: SMTP commands, mailet timers, queues) under names
 * Prometheus accepts without {@code :}: {@code james_} and the name in snake case, every other
 * character an underscore ({@code SMTP:command:RCPT} becomes {@code james_smtp_command_rcpt}).
 * James' Dropwizard JVM gauges ({@code jvm.*}) are left out: the standard {@code jvm_*} and
 * {@code process_*} metrics of Prometheus' hotspot exports replace them.
 */
final class JamesMetrics extends Collector {
    private static final Pattern CAMEL = Pattern.compile("([a-z0-9])([A-Z])");
    private static final Pattern NOT_ALLOWED = Pattern.compile("[^a-z0-9_]+");
    private static final Pattern UNDERSCORES = Pattern.compile("_+");

    private final DropwizardExports exports;

    JamesMetrics(MetricRegistry registry) {
        this.exports = new DropwizardExports(registry, (name, metric) -> !name.startsWith("jvm."), new SnakeCaseSamples());
    }

    @Override
    public List<MetricFamilySamples> collect() {
        return exports.collect();
    }

    /** {@code james_} and the Dropwizard name in snake case. */
    static String name(String dropwizardName) {
        String snake = CAMEL.matcher(dropwizardName).replaceAll("$1_$2").toLowerCase(Locale.ROOT);
        snake = UNDERSCORES.matcher(NOT_ALLOWED.matcher(snake).replaceAll("_")).replaceAll("_");
        snake = snake.replaceAll("^_|_$", "");
        return "james_" + snake;
    }

    private static final class SnakeCaseSamples implements SampleBuilder {
        @Override
        public MetricFamilySamples.Sample createSample(String dropwizardName, String nameSuffix, List<String> additionalLabelNames,
                                                       List<String> additionalLabelValues, double value) {
            return new MetricFamilySamples.Sample(name(dropwizardName) + (nameSuffix == null ? "" : nameSuffix),
                additionalLabelNames, additionalLabelValues, value);
        }
    }
}
