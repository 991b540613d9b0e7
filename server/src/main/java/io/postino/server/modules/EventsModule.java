package io.postino.server.modules;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.annotation.PreDestroy;
import javax.inject.Singleton;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;

import io.postino.events.DeliveryEvents;
import io.postino.organisations.Organisations;
import io.postino.server.events.CamelEventSinks;
import io.postino.server.events.EventHub;
import io.postino.server.events.EventSink;
import io.postino.server.events.EventSinksFile;
import io.postino.server.events.TrackingHealthCheck;
import io.postino.server.events.TrackingIndex;
import io.postino.server.events.TrackingRoutes;
import io.postino.server.events.WebhookRoutes;
import io.postino.server.metrics.PostinoMetrics;

/**
 * Delivery events: counted, indexed for message tracking under {@code <data>/tracking}
 * (conf/tracking.properties: {@code retention.days}, default 30; {@code queue.capacity}, default
 * 100000), searchable with WebAdmin {@code GET /tracking} (health check {@code Tracking}: degraded while the
 * index cannot be written), and published to the webhooks and files
 * of conf/eventsinks.xml (optional).
 */
public class EventsModule extends AbstractModule {
    public static final String EVENT_SINKS = "eventsinks.xml";

    /** Closes the index on shutdown: what was published is written first. */
    public static final class TrackingLifecycle {
        private final TrackingIndex index;

        TrackingLifecycle(TrackingIndex index) {
            this.index = index;
        }

        @PreDestroy
        public void close() throws Exception {
            index.close();
        }
    }

    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(TrackingRoutes.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(WebhookRoutes.class);
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(TrackingHealthCheck.class);
    }

    @Provides
    @Singleton
    TrackingIndex trackingIndex(FileSystem fileSystem, PropertiesProvider properties) throws IOException, ConfigurationException {
        Configuration configuration;
        try {
            configuration = properties.getConfiguration("tracking");
        } catch (FileNotFoundException e) {
            configuration = new BaseConfiguration();
        }
        int days = configuration.getInt("retention.days", 30);
        int capacity = configuration.getInt("queue.capacity", 100_000);
        if (days < 1 || capacity < 1) {
            throw new ConfigurationException("conf/tracking.properties: retention.days and queue.capacity must be at least 1");
        }
        return new TrackingIndex(fileSystem.getFile("file://var/tracking").toPath(), Duration.ofDays(days), capacity, Clock.systemUTC());
    }

    @Provides
    @Singleton
    TrackingLifecycle trackingLifecycle(TrackingIndex index) {
        return new TrackingLifecycle(index);
    }

    /** The sinks of conf/eventsinks.xml, if any, closed on shutdown. */
    public static final class SinksLifecycle {
        private final Optional<CamelEventSinks> sinks;

        SinksLifecycle(Optional<CamelEventSinks> sinks) {
            this.sinks = sinks;
        }

        @PreDestroy
        public void close() throws Exception {
            if (sinks.isPresent()) {
                sinks.get().close();
            }
        }
    }

    @Provides
    @Singleton
    SinksLifecycle sinks(FileSystem fileSystem) throws Exception {
        File file = fileSystem.getFile("file://conf/" + EVENT_SINKS);
        if (!file.exists()) {
            return new SinksLifecycle(Optional.empty());
        }
        List<EventSink> sinks = EventSinksFile.read(file.toPath(), path -> resolve(fileSystem, path));
        if (sinks.isEmpty()) {
            return new SinksLifecycle(Optional.empty());
        }
        return new SinksLifecycle(Optional.of(new CamelEventSinks(sinks, fileSystem.getFile("file://var/events").toPath(), 100_000)));
    }

    @Provides
    @Singleton
    WebhookRoutes webhookRoutes(SinksLifecycle sinks, Organisations organisations, JsonTransformer json) {
        return new WebhookRoutes(sinks.sinks, organisations, json);
    }

    /** {@code var/...} is in the data directory; an absolute path is itself. */
    static Path resolve(FileSystem fileSystem, String path) {
        try {
            return path.startsWith("/") ? Path.of(path) : fileSystem.getFile("file://" + path).toPath();
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** {@code enabled} of conf/tracking.properties (default true): whether events are indexed at all. */
    static boolean trackingEnabled(PropertiesProvider properties) throws ConfigurationException {
        Configuration configuration;
        try {
            configuration = properties.getConfiguration("tracking");
        } catch (FileNotFoundException e) {
            return true;
        }
        String enabled = configuration.getString("enabled", "true").trim();
        if (!enabled.equals("true") && !enabled.equals("false")) {
            throw new ConfigurationException("conf/tracking.properties: enabled must be true or false, got '" + enabled + "'");
        }
        return enabled.equals("true");
    }

    @Provides
    @Singleton
    DeliveryEvents events(PostinoMetrics metrics, Organisations organisations, TrackingIndex index, TrackingLifecycle lifecycle,
                          SinksLifecycle sinks, PropertiesProvider properties) throws ConfigurationException {
        List<DeliveryEvents> consumers = new ArrayList<>();
        if (trackingEnabled(properties)) {
            consumers.add(index);
        }
        sinks.sinks.ifPresent(consumers::add);
        return new EventHub(metrics, organisations::current, consumers);
    }
}
