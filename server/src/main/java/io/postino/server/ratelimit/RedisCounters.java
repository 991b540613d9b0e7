package io.postino.server.ratelimit;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.annotation.PreDestroy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.EstimationProbe;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.distributed.proxy.optimization.DelayParameters;
import io.github.bucket4j.distributed.proxy.optimization.Optimization;
import io.github.bucket4j.distributed.proxy.optimization.Optimizations;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;

/**
 * Buckets in Redis, shared by every node that points at the same Redis (Bucket4j's
 * compare-and-swap proxy over Lettuce), with the optimisations of {@link #optimisation}. A key expires once its bucket would be full again. The
 * connection is opened lazily and re-tried at most every {@link #RECONNECT_INTERVAL} while Redis
 * is down; commands fail at once instead of queueing while disconnected.
 */
public class RedisCounters implements CounterStore, AutoCloseable {
    static final Duration RECONNECT_INTERVAL = Duration.ofSeconds(2);
    private static final Duration LOCAL_ACCOUNTING = Duration.ofMillis(500);
    private static final Logger LOGGER = LoggerFactory.getLogger(RedisCounters.class);

    private final RedisURI uri;
    private final RedisClient client;
    private final Duration timeout;
    private volatile StatefulRedisConnection<String, byte[]> connection;
    private volatile ProxyManager<String> proxyManager;
    private volatile AsyncProxyManager<String> asyncProxyManager;
    private Instant nextConnectAttempt = Instant.MIN;
    private final Cache<String, AsyncBucketProxy> proxies = Caffeine.newBuilder()
        .expireAfterAccess(Duration.ofHours(1))
        .maximumSize(100_000)
        // What a delaying proxy counted locally is written before the proxy is forgotten.
        .removalListener((String key, AsyncBucketProxy proxy, RemovalCause cause) -> {
            if (proxy != null) {
                proxy.getOptimizationController().syncImmediately();
            }
        })
        .build();

    public RedisCounters(RedisURI uri, Duration timeout) {
        this.uri = uri;
        this.timeout = timeout;
        this.client = RedisClient.create(uri);
        client.setDefaultTimeout(timeout);
        client.setOptions(ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(SocketOptions.builder().connectTimeout(timeout).build())
            .build());
    }

    private ProxyManager<String> proxyManager() {
        ProxyManager<String> connected = proxyManager;
        return connected != null ? connected : connect();
    }

    private synchronized ProxyManager<String> connect() {
        if (proxyManager != null) {
            return proxyManager;
        }
        if (Instant.now().isBefore(nextConnectAttempt)) {
            throw new CounterStoreUnavailable("Redis at " + describe() + " is unreachable (next attempt within " + RECONNECT_INTERVAL.toSeconds() + " s)", null);
        }
        try {
            connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
            connection.setTimeout(timeout);
            ProxyManager<String> manager = Bucket4jLettuce.casBasedBuilder(connection)
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofMinutes(1)))
                .requestTimeout(timeout)
                .build();
            asyncProxyManager = manager.asAsync();
            proxyManager = manager;
            LOGGER.info("Rate-limit counters connected to Redis at {}", describe());
            return proxyManager;
        } catch (RuntimeException e) {
            nextConnectAttempt = Instant.now().plus(RECONNECT_INTERVAL);
            throw new CounterStoreUnavailable("Redis at " + describe() + " is unreachable: " + e.getMessage(), e);
        }
    }

    @Override
    public CompletableFuture<EstimationProbe> estimate(String key, Supplier<BucketConfiguration> configuration, long tokens) {
        return asyncBucket(key, configuration).estimateAbilityToConsume(tokens);
    }

    @Override
    public CompletableFuture<Long> consume(String key, Supplier<BucketConfiguration> configuration, long tokens) {
        return asyncBucket(key, configuration).consumeIgnoringRateLimits(tokens);
    }

    private AsyncBucketProxy asyncBucket(String key, Supplier<BucketConfiguration> configuration) {
        proxyManager();
        StatefulRedisConnection<String, byte[]> current = connection;
        if (current != null && !current.isOpen()) {
            // A delaying proxy would answer from what it counted locally: while Redis is away the
            // limits must fail as configured, not pass unseen until the next write.
            throw new CounterStoreUnavailable("Redis at " + describe() + " is disconnected (reconnecting)", null);
        }
        // One proxy per key, kept: the optimisations live in the proxy.
        return proxies.get(key, any -> {
            BucketConfiguration bucket = configuration.get();
            return asyncProxyManager.builder().withOptimization(optimisation(bucket))
                .build(key, () -> CompletableFuture.completedFuture(bucket));
        });
    }

    /**
     * Batching for small limits: concurrent requests on one key go to Redis as one
     * compare-and-swap. Delaying for limits of 100 and more: this node counts locally and writes to
     * Redis once it has used 1 % of the limit or every half second, so each node may pass a shared
     * limit by about 1 % before it sees the others' use (written on shutdown and when the proxy is
     * dropped; lost if the node dies).
     */
    static Optimization optimisation(BucketConfiguration configuration) {
        long smallest = Long.MAX_VALUE;
        for (Bandwidth bandwidth : configuration.getBandwidths()) {
            smallest = Math.min(smallest, bandwidth.getCapacity());
        }
        long unsynchronised = smallest / 100;
        if (unsynchronised < 1) {
            return Optimizations.batching();
        }
        return Optimizations.delaying(new DelayParameters(unsynchronised, LOCAL_ACCOUNTING));
    }

    @Override
    public Bucket bucket(String key, Supplier<BucketConfiguration> configuration) {
        return proxyManager().builder().build(key, configuration);
    }

    @Override
    public void ping() {
        proxyManager();
        try {
            connection.async().ping().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new CounterStoreUnavailable("Redis at " + describe() + " does not answer: " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return "redis://" + uri.getHost() + ":" + uri.getPort();
    }

    @Override
    @PreDestroy
    public synchronized void close() {
        try {
            CompletableFuture.allOf(proxies.asMap().values().stream()
                    .map(proxy -> proxy.getOptimizationController().syncImmediately())
                    .toArray(CompletableFuture[]::new))
                .get(timeout.toMillis() * 4, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOGGER.warn("Could not write the last local counts to Redis at {}: {}", describe(), e.toString());
        }
        if (connection != null) {
            connection.close();
        }
        client.shutdown();
    }
}
