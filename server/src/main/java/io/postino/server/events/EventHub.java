package io.postino.server.events;

import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.Route;
import io.postino.server.metrics.PostinoMetrics;

/**
 * Where every event goes: counted for Prometheus ({@code postino_messages_total{event,organisation}},
 * and for deliveries {@code postino_deliveries_total{outcome,route,destination}}), then handed to
 * each consumer (tracking index, event sinks), none of which may block.
 */
public class EventHub implements DeliveryEvents {
    private final PostinoMetrics metrics;
    private final Supplier<OrganisationsConfig> organisations;
    private final List<DeliveryEvents> consumers;

    /** @param organisations the configuration in force, for the route of a delivery */
    public EventHub(PostinoMetrics metrics, Supplier<OrganisationsConfig> organisations, List<DeliveryEvents> consumers) {
        this.metrics = metrics;
        this.organisations = organisations;
        this.consumers = List.copyOf(consumers);
    }

    @Override
    public void publish(DeliveryEvent event) {
        try {
            metrics.event(event, route(event));
        } catch (RuntimeException e) {
            // a metric never stops an event
        }
        for (DeliveryEvents consumer : consumers) {
            consumer.publish(event);
        }
    }

    /** The route the sending organisation's configuration gives for the recipient's domain, if any. */
    private Optional<String> route(DeliveryEvent event) {
        if (event.organisation().isEmpty() || event.recipient().isEmpty()) {
            return Optional.empty();
        }
        String recipient = event.recipient().get();
        String domain = recipient.substring(recipient.lastIndexOf('@') + 1);
        OrganisationsConfig config = organisations.get();
        return config.byId(event.organisation().get()).flatMap(organisation -> config.routeFor(organisation, domain)).map(Route::name);
    }
}
