package io.postino.server.metrics;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

import javax.inject.Singleton;

import io.postino.events.DeliveryEvent;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Histogram;

/**
 * Postino's own metrics, in the registry that {@code GET /metrics} writes out: snake-case names
 * ({@code [a-z_][a-z0-9_]*}, no {@code :}), and what varies (organisation, route, destination,
 * reason) in labels, each with a bounded number of values ({@link BoundedLabel}): at most
 * {@value #ORGANISATIONS} organisations, {@value #ROUTES} routes, {@value #DESTINATIONS}
 * destination domains and {@value #REASONS} reasons, the later ones counted as {@code other}.
 * See conf/README.md, "Metrics", for every name.
 */
@Singleton
public class PostinoMetrics {
    public static final int ORGANISATIONS = 100;
    public static final int ROUTES = 20;
    public static final int DESTINATIONS = 50;
    public static final int REASONS = 40;
    /** Received to delivered: a local hop takes well under a second, a retried mail hours or days. */
    static final double[] LATENCY_BUCKETS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 432000};

    private final CollectorRegistry registry = new CollectorRegistry(true);
    private final BoundedLabel organisation = new BoundedLabel("organisation", ORGANISATIONS);
    private final BoundedLabel route = new BoundedLabel("route", ROUTES);
    private final BoundedLabel destination = new BoundedLabel("destination", DESTINATIONS);
    private final BoundedLabel reason = new BoundedLabel("reason", REASONS);

    private final Counter messages = Counter.build("postino_messages", "Steps in the life of a message, one per recipient: received, rejected, queued, "
            + "deferred, delivered, bounced, suppressed, rate_limited")
        .labelNames("event", "organisation").register(registry);
    private final Counter deliveries = Counter.build("postino_deliveries", "Delivery outcomes per recipient (delivered, deferred, bounced) by route and destination domain")
        .labelNames("outcome", "route", "destination").register(registry);
    private final Counter refusals = Counter.build("postino_smtp_refusals", "Commands refused at SMTP time, by the hook that refused them; "
            + "organisation none: a client neither logged in nor on a trusted network")
        .labelNames("reason", "organisation").register(registry);
    private final Histogram latency = Histogram.build("postino_delivery_latency_seconds", "Time from the end of DATA to the remote server's acceptance, per recipient")
        .labelNames("route").buckets(LATENCY_BUCKETS).register(registry);
    private final Counter connectionsRefused = Counter.build("postino_smtp_connections_refused", "Connections a listener refused (connection limits)")
        .labelNames("reason").register(registry);
    private final Counter connectionsClosed = Counter.build("postino_smtp_connections_closed", "Connections a listener closed on a client (timeouts)")
        .labelNames("reason").register(registry);
    private final Counter clientErrors = Counter.build("postino_smtp_client_errors", "Protocol errors of clients (over-long lines, bad framing)")
        .labelNames("reason").register(registry);
    private final Counter rateLimitRefusals = Counter.build("postino_ratelimit_refusals", "Mail refused by a rate limit, by the limit's scope, period and unit")
        .labelNames("scope", "period", "unit").register(registry);
    private final Counter rateLimitChargeFailures = Counter.build("postino_ratelimit_charge_failures", "Charges the rate-limit counters did not record")
        .register(registry);
    private final Counter spoolProcessingFailures = Counter.build("postino_spool_processing_failures", "Mails whose processing failed and is retried")
        .register(registry);
    private final Counter spoolParked = Counter.build("postino_spool_parked", "Mails parked in the error repository after repeated processing failures")
        .register(registry);

    public CollectorRegistry registry() {
        return registry;
    }

    public BoundedLabel organisations() {
        return organisation;
    }

    /** An event, with the route its organisation's configuration gives for its recipient. */
    public void event(DeliveryEvent event, Optional<String> routeName) {
        messages.labels(label(event.type()), organisation.value(event.organisation())).inc();
        if (event.type() == DeliveryEvent.Type.DELIVERED || event.type() == DeliveryEvent.Type.DEFERRED || event.type() == DeliveryEvent.Type.BOUNCED) {
            deliveries.labels(label(event.type()), routeLabel(routeName), destination.value(event.recipient().map(PostinoMetrics::domain))).inc();
        }
    }

    public void delivered(Optional<String> routeName, Duration sinceReceived) {
        latency.labels(routeLabel(routeName)).observe(Math.max(0, sinceReceived.toNanos()) / 1e9);
    }

    public void smtpRefusal(String hook, Optional<String> organisationId) {
        refusals.labels(reason.value(hook), organisation.value(organisationId)).inc();
    }

    public void connectionRefused(String why) {
        connectionsRefused.labels(reason.value(why)).inc();
    }

    public void connectionClosed(String why) {
        connectionsClosed.labels(reason.value(why)).inc();
    }

    public void clientError(String kind) {
        clientErrors.labels(reason.value(kind)).inc();
    }

    public void rateLimitRefusal(String scope, String period, String unit) {
        rateLimitRefusals.labels(scope, period, unit).inc();
    }

    public void rateLimitChargeFailure() {
        rateLimitChargeFailures.inc();
    }

    public void spoolProcessingFailure() {
        spoolProcessingFailures.inc();
    }

    public void spoolParked() {
        spoolParked.inc();
    }

    private String routeLabel(Optional<String> routeName) {
        return routeName.filter(name -> !name.isBlank()).map(route::value).orElse("default");
    }

    private static String label(DeliveryEvent.Type type) {
        return type.name().toLowerCase(Locale.ROOT);
    }

    private static String domain(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? "" : address.substring(at + 1);
    }
}
