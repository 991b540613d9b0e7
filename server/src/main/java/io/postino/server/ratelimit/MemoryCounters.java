package io.postino.server.ratelimit;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.EstimationProbe;
import io.github.bucket4j.local.LocalBucketBuilder;

/**
 * Buckets in this node's memory. A bucket unused for 25 hours is full again anyway (no limit
 * period is longer than a day) and is dropped; at most a million are kept.
 */
public class MemoryCounters implements CounterStore {
    private final Cache<String, Bucket> buckets = Caffeine.newBuilder()
        .expireAfterAccess(Duration.ofHours(25))
        .maximumSize(1_000_000)
        .build();

    @Override
    public Bucket bucket(String key, Supplier<BucketConfiguration> configuration) {
        return buckets.get(key, any -> {
            LocalBucketBuilder builder = Bucket.builder();
            for (Bandwidth bandwidth : configuration.get().getBandwidths()) {
                builder.addLimit(bandwidth);
            }
            return builder.build();
        });
    }

    @Override
    public CompletableFuture<EstimationProbe> estimate(String key, Supplier<BucketConfiguration> configuration, long tokens) {
        return CompletableFuture.completedFuture(bucket(key, configuration).estimateAbilityToConsume(tokens));
    }

    @Override
    public CompletableFuture<Long> consume(String key, Supplier<BucketConfiguration> configuration, long tokens) {
        return CompletableFuture.completedFuture(bucket(key, configuration).consumeIgnoringRateLimits(tokens));
    }

    @Override
    public void ping() {
    }

    @Override
    public String describe() {
        return "memory of this node";
    }
}
