package io.postino.server.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.james.domainlist.memory.MemoryDomainList;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.james.transport.mailets.RemoteDelivery.ThreadState;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.server.spool.Spool;
import io.postino.server.spool.SpoolMailQueueFactory;

/**
 * The James version Postino ships still holds its JavaMail session pools where this mailet
 * reaches them, so that they keep their sessions. No thread is started and no DNS is asked.
 */
class RemoteDeliveryTest {
    @TempDir
    Path directory;
    private Spool spool;

    @BeforeEach
    void open() throws Exception {
        spool = Spool.open(directory, (mail, count, retryIn) -> { });
    }

    @AfterEach
    void close() {
        spool.close();
    }

    private RemoteDelivery initialised(FakeMailetConfig.Builder config) throws Exception {
        RemoteDelivery mailet = new RemoteDelivery(null, new MemoryDomainList(null), new SpoolMailQueueFactory(spool),
            new RecordingMetricFactory(), ThreadState.DO_NOT_START_THREADS);
        mailet.init(config.mailetContext(FakeMailContext.defaultContext()).setProperty("outgoing", "outgoing")
            .setProperty("gateway", "127.0.0.1:2525").setProperty("heloName", "postino.test").setProperty("deliveryThreads", "16").build());
        return mailet;
    }

    @Test
    void itsSessionPoolKeepsItsSessions() throws Exception {
        RemoteDelivery mailet = initialised(FakeMailetConfig.builder().mailetName("outgoing"));
        List<GenericObjectPool<?>> pools = mailet.keepSessions();
        assertThat(pools).hasSize(1);
        @SuppressWarnings("unchecked")
        GenericObjectPool<Object> pool = (GenericObjectPool<Object>) pools.get(0);

        for (int round = 0; round < 2; round++) {
            List<Object> borrowed = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                borrowed.add(pool.borrowObject());
            }
            for (Object session : borrowed) {
                pool.returnObject(session);
            }
        }

        assertThat(pool.getCreatedCount()).as("sessions made for 20 deliveries at once, twice").isEqualTo(20);
        assertThat(pool.getNumIdle()).isEqualTo(20);
        mailet.destroy();
        assertThat(pool.isClosed()).isTrue();
    }

    @Test
    void withSmtpsBothPoolsKeepTheirSessions() throws Exception {
        RemoteDelivery mailet = initialised(FakeMailetConfig.builder().mailetName("outgoing").setProperty("sslEnable", "true"));

        assertThat(mailet.keepSessions()).hasSize(2);
    }
}
