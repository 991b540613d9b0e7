package io.postino.server.smtp.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

class FairLookupsTest {
    @Test
    void aNetworkWhoseLookupsHangLeavesThePoolToTheOthers() throws Exception {
        FairLookups lookups = new FairLookups(8, 2, 100);
        CountDownLatch hung = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        for (int i = 0; i < 20; i++) {
            lookups.execute("198.51.100.0/24", () -> {
                started.incrementAndGet();
                await(hung);
            });
        }
        CountDownLatch other = new CountDownLatch(1);
        lookups.execute("203.0.113.0/24", other::countDown);

        assertThat(other.await(5, TimeUnit.SECONDS)).as("another network's lookup ran").isTrue();
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (started.get() < 2 && System.nanoTime() < settle) {
            Thread.sleep(10);
        }
        Thread.sleep(200);
        assertThat(started.get()).as("lookups of the hung network running at once").isEqualTo(2);
        assertThat(lookups.pending("198.51.100.0/24")).isEqualTo(20);

        hung.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (lookups.pending("198.51.100.0/24") > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(started.get()).as("the waiting ones ran in turn").isEqualTo(20);
        assertThat(lookups.pending("198.51.100.0/24")).isZero();
    }

    @Test
    void beyondTheWaitingBoundALookupIsRefused() {
        FairLookups lookups = new FairLookups(1, 1, 2);
        CountDownLatch hung = new CountDownLatch(1);
        try {
            for (int i = 0; i < 3; i++) {
                lookups.execute("n", () -> await(hung));
            }
            assertThatThrownBy(() -> lookups.execute("n", () -> { })).isInstanceOf(RejectedExecutionException.class);
        } finally {
            hung.countDown();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
