package io.postino.server.ratelimit;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.EstimationProbe;

/**
 * Where the token buckets of the rate limits live: this node's memory, or Redis for several nodes.
 * The operations SMTP uses are asynchronous so that checks of several subjects run side by side
 * and charges never hold up a reply; a store in memory completes them at once.
 */
public interface CounterStore {
    /** Whether {@code tokens} fit, and if not how long until they do. */
    CompletableFuture<EstimationProbe> estimate(String key, Supplier<BucketConfiguration> configuration, long tokens);

    /** Takes {@code tokens}, into debt if need be. */
    CompletableFuture<Long> consume(String key, Supplier<BucketConfiguration> configuration, long tokens);

    /** Synchronous access, for reports. @throws CounterStoreUnavailable when the store cannot be reached */
    Bucket bucket(String key, Supplier<BucketConfiguration> configuration);

    /** Checks that the store answers. @throws CounterStoreUnavailable when it does not */
    void ping();

    String describe();
}
