package io.postino.server.pacing;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.annotation.PreDestroy;
import javax.inject.Singleton;

import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;

import io.postino.events.DeliveryEvents;
import io.postino.organisations.Organisations;
import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.spool.Spool;

/**
 * Paces deliveries per destination domain (organisations.xml {@code <destinations>}). Overrides
 * the {@code MailQueueFactory<?>} binding of the queue backend, which the mailet container and
 * RemoteDelivery use, with {@link PacedQueues} around the manageable factory.
 */
public class DestinationPacingModule extends AbstractModule {
    /** The queue RemoteDelivery delivers from, as named in mailetcontainer.xml. */
    static final MailQueueName OUTGOING = MailQueueName.of("outgoing");
    private static final Duration BUSY_RETRY = Duration.ofMillis(250);

    /** Drops idle destinations from memory once a minute. */
    public static final class Janitor {
        private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "postino-pacing-janitor");
            thread.setDaemon(true);
            return thread;
        });

        Janitor(DestinationLanes lanes) {
            executor.scheduleWithFixedDelay(() -> lanes.forgetIdle(Instant.now()), 1, 1, TimeUnit.MINUTES);
        }

        @PreDestroy
        public void stop() {
            executor.shutdownNow();
        }
    }

    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class)
            .addBinding().to(QueueHoldRoutes.class);
        Multibinder.newSetBinder(binder(), Routes.class)
            .addBinding().to(QueueSummaryRoutes.class);
    }

    @Provides
    @Singleton
    DestinationLanes lanes(Organisations organisations, HeldDestinations held) {
        return new DestinationLanes(organisations::current, BUSY_RETRY, held);
    }

    @Provides
    @Singleton
    Janitor janitor(DestinationLanes lanes) {
        return new Janitor(lanes);
    }

    @Provides
    @Singleton
    MailQueueFactory<?> pacedQueues(MailQueueFactory<? extends ManageableMailQueue> queues, DestinationLanes lanes, Janitor janitor,
                                    DeliveryEvents events, Organisations organisations, PostinoMetrics metrics, QueueHolds holds,
                                    HeldDestinations held, Spool spool) {
        // A delete through /mailQueues also takes the mail a held queue's reader keeps in hand.
        spool.onRemoval(holds::discardKept);
        return new PacedQueues(queues, OUTGOING, lanes, events, organisations::current, metrics, holds, held);
    }

    @Provides
    @Singleton
    QueueHolds holds() throws IOException {
        return QueueHolds.keptIn(Path.of(System.getProperty("postino.data.dir", "var"), "store", "held-queues.txt"));
    }

    @Provides
    @Singleton
    HeldDestinations heldDestinations() throws IOException {
        return HeldDestinations.keptIn(Path.of(System.getProperty("postino.data.dir", "var"), "store", "held-destinations.txt"));
    }
}
