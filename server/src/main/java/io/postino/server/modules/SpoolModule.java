package io.postino.server.modules;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import javax.inject.Singleton;

import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.mailrepository.memory.MailRepositoryStoreConfiguration;
import org.apache.james.mailrepository.api.Protocol;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.mailet.Mail;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.events.TrackedMail;
import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.spool.Spool;
import io.postino.server.spool.SpoolHealthCheck;
import io.postino.server.spool.SpoolMailQueueFactory;
import io.postino.server.spool.SpoolMailRepository;

/**
 * The spool ({@code <data>/spool}): every mail queue and the error repository, in RocksDB (see
 * {@link Spool} and server/README.md).
 */
public class SpoolModule extends AbstractModule {
    @Override
    protected void configure() {
        bind(SpoolMailQueueFactory.class).in(Scopes.SINGLETON);
        bind(SpoolMailRepository.class);
        bind(MailRepositoryStoreConfiguration.Item.class).toInstance(new MailRepositoryStoreConfiguration.Item(
            List.of(new Protocol("spool")), SpoolMailRepository.class.getName(), new BaseHierarchicalConfiguration()));
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(SpoolHealthCheck.class);
    }

    @Provides
    @Singleton
    Spool spool(DeliveryEvents events, PostinoMetrics metrics) throws Exception {
        Path directory = Path.of(System.getProperty("postino.data.dir", "var"), "spool");
        return Spool.open(directory, new Spool.SpoolListener() {
            @Override
            public void processingFailed(Mail mail, int failures, Duration retryIn) {
                metrics.spoolProcessingFailure();
                publish(mail, "451 4.3.0 Processing failed (" + failures + " time(s)); tried again in " + retryIn.toSeconds() + " s");
            }

            @Override
            public void parked(Mail mail, int failures) {
                metrics.spoolParked();
                publish(mail, "451 4.3.0 Processing failed " + failures + " times; parked in the error repository for an operator");
            }

            private void publish(Mail mail, String reply) {
                try {
                    TrackedMail.events(DeliveryEvent.Type.DEFERRED, mail, Optional.empty(), Optional.of(reply)).forEach(events::publish);
                } catch (RuntimeException e) {
                    // tracking never stops mail
                }
            }
        });
    }

    // The spooler, RemoteDelivery and the WebAdmin routes each ask for a different generic key.
    @Provides
    @Singleton
    MailQueueFactory<? extends ManageableMailQueue> manageableQueues(SpoolMailQueueFactory factory) {
        return factory;
    }

    @Provides
    @Singleton
    MailQueueFactory<?> anyQueues(SpoolMailQueueFactory factory) {
        return factory;
    }

    @Provides
    @Singleton
    MailQueueFactory<? extends MailQueue> queues(SpoolMailQueueFactory factory) {
        return factory;
    }
}
