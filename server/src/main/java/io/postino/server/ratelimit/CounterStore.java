package io.postino.server.ratelimit;

import java.util.function.Supplier;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;

/** Where the token buckets of the rate limits live: this node's memory, or Redis for several nodes. */
public interface CounterStore {
    /** @throws CounterStoreUnavailable when the store cannot be reached */
    Bucket bucket(String key, Supplier<BucketConfiguration> configuration);

    /** Checks that the store answers. @throws CounterStoreUnavailable when it does not */
    void ping();

    String describe();
}
