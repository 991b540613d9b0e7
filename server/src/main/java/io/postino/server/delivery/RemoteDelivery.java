package io.postino.server.delivery;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.commons.pool2.ObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.queue.api.MailQueueFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * James' {@code RemoteDelivery}, with the same parameters, that keeps its JavaMail sessions
 * between deliveries.
 *
 * <p>James 3.8.1 borrows a {@code javax.mail.Session} from a pool for each delivery, and the pool
 * keeps at most 8 idle ones (commons-pool's default) while up to 20 mails are delivered at once
 * (its scheduler on 2 cores; James 3.8.1 ignores {@code deliveryThreads}): with
 * more than 8 deliveries at once, sessions given back are thrown away and new ones made. Making one
 * and its first transport reads JavaMail's configuration files from every jar of the class path
 * (about 240 µs of CPU with the 280 jars of {@code lib/}; 5 % of all CPU samples in a JFR profile
 * of the relay benchmark). Here the pool keeps every session it made: never more than there were
 * deliveries at once. {@link SMTPTransport} keeps a kept session from remembering every server it
 * connected to, and keeps connections to next hops between deliveries ({@link NextHopConnections}).</p>
 *
 * <pre>{@code
 * <mailet match="All" class="io.postino.server.delivery.RemoteDelivery">
 *     <outgoing>outgoing</outgoing>
 *     <!-- ... every parameter of James' RemoteDelivery -->
 * </mailet>
 * }</pre>
 *
 * <p>Named like its parent on purpose: the same mailet, configured the same way.</p>
 */
public class RemoteDelivery extends org.apache.james.transport.mailets.RemoteDelivery {
    private static final Logger LOGGER = LoggerFactory.getLogger(RemoteDelivery.class);

    private List<GenericObjectPool<?>> pools = List.of();

    @Inject
    public RemoteDelivery(DNSService dnsServer, DomainList domainList, MailQueueFactory<?> queueFactory, MetricFactory metricFactory) {
        super(dnsServer, domainList, queueFactory, metricFactory);
    }

    RemoteDelivery(DNSService dnsServer, DomainList domainList, MailQueueFactory<?> queueFactory, MetricFactory metricFactory,
                   ThreadState threads) {
        super(dnsServer, domainList, queueFactory, metricFactory, threads);
    }

    @Override
    public void init() throws MessagingException {
        super.init();
        NextHopConnections.SHARED.retain();
        try {
            pools = keepSessions();
        } catch (MessagingException e) {
            destroy();
            throw e;
        }
        LOGGER.debug("RemoteDelivery {}: {} JavaMail session pools keep their sessions", getMailetName(), pools.size());
    }

    @Override
    public void destroy() {
        super.destroy();
        pools.forEach(GenericObjectPool::close);
        NextHopConnections.SHARED.release();
    }

    /**
     * Lets every session pool of this mailet keep all its idle sessions; the pools it changed
     * (one, or two when smtps is enabled). Reaches into James' private fields: they are those of
     * the James version Postino ships, which {@code RemoteDeliveryTest} checks.
     */
    List<GenericObjectPool<?>> keepSessions() throws MessagingException {
        try {
            Object runnable = field(org.apache.james.transport.mailets.RemoteDelivery.class, "deliveryRunnable").get(this);
            Object delivrer = field(runnable.getClass(), "mailDelivrer").get(runnable);
            Object toHost = field(delivrer.getClass(), "mailDelivrerToHost").get(delivrer);
            List<GenericObjectPool<?>> changed = new ArrayList<>();
            for (String name : new String[]{"smtpSessionPool", "smtpsSessionPool"}) {
                ObjectPool<?> pool = (ObjectPool<?>) field(toHost.getClass(), name).get(toHost);
                if (pool instanceof GenericObjectPool<?> generic && !changed.contains(generic)) {
                    generic.setMaxIdle(-1);
                    changed.add(generic);
                }
            }
            return changed;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new MessagingException("RemoteDelivery " + getMailetName()
                + ": cannot reach James' JavaMail session pool (not the James version Postino was built with?): " + e, e);
        }
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field field = type.getDeclaredField(name);
        field.setAccessible(true);
        return field;
    }
}
