package io.postino.server.events;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

import io.postino.events.DeliveryEvent;

/**
 * One destination of delivery events (conf/eventsinks.xml): a signed HTTP webhook, or a file of
 * JSON lines. Empty {@code organisations} or {@code types}: all of them.
 */
public record EventSink(String name, Kind kind, Set<String> organisations, Set<DeliveryEvent.Type> types,
                        Optional<URI> url, Optional<String> secret, int maxAttempts, Duration firstRetry, Duration maxRetry,
                        Optional<Path> file) {
    public enum Kind { WEBHOOK, JSON_LINES }

    public boolean wants(DeliveryEvent event) {
        return (types.isEmpty() || types.contains(event.type()))
            && (organisations.isEmpty() || event.organisation().map(organisations::contains).orElse(false));
    }
}
