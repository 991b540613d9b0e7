package io.postino.server.events;

import java.util.List;

import org.apache.james.metrics.api.MetricFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;

/**
 * Where every event goes: counted for Prometheus ({@code postino_events_<type>} and
 * {@code postino_events_<type>_<organisation>}), then handed to each consumer (tracking index,
 * later the webhooks), none of which may block.
 */
public class EventHub implements DeliveryEvents {
    private final MetricFactory metrics;
    private final List<DeliveryEvents> consumers;

    public EventHub(MetricFactory metrics, List<DeliveryEvents> consumers) {
        this.metrics = metrics;
        this.consumers = List.copyOf(consumers);
    }

    @Override
    public void publish(DeliveryEvent event) {
        String type = event.type().configName().replace('-', '_');
        metrics.generate("postino_events_" + type).increment();
        event.organisation().ifPresent(organisation -> metrics.generate("postino_events_" + type + "_" + organisation.replace('-', '_')).increment());
        for (DeliveryEvents consumer : consumers) {
            consumer.publish(event);
        }
    }
}
