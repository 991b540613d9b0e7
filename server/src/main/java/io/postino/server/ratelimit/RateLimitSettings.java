package io.postino.server.ratelimit;

import java.net.URI;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

import org.apache.commons.configuration2.Configuration;
import org.apache.james.util.DurationParser;

import io.lettuce.core.RedisURI;

/**
 * {@code conf/ratelimits.properties}: where the counters live and what happens when they cannot
 * be reached. Read at start-up.
 *
 * <ul>
 *   <li>{@code store}: {@code memory} (this node only, the default) or {@code redis} (shared by
 *   the nodes that use the same Redis).</li>
 *   <li>{@code redis.uri}: default {@code redis://127.0.0.1:6379}.</li>
 *   <li>{@code redis.timeout}: per command, default {@code 500ms}.</li>
 *   <li>{@code onStoreFailure}: {@code open} (accept mail unlimited while the store is down, the
 *   default) or {@code closed} (answer 451 4.3.0 until it is back).</li>
 * </ul>
 */
public record RateLimitSettings(Store store, RedisURI redisUri, Duration redisTimeout, boolean failOpen) {
    public static final String FILE = "ratelimits.properties";

    public enum Store { MEMORY, REDIS }

    public static final RateLimitSettings DEFAULTS = new RateLimitSettings(Store.MEMORY, RedisURI.create("redis://127.0.0.1:6379"),
        Duration.ofMillis(500), true);

    /** @throws IllegalArgumentException naming the key and what is wrong (the caller names the file) */
    public static RateLimitSettings from(Configuration properties) {
        Store store = choice(properties, "store", "memory", "memory", "redis").equals("redis") ? Store.REDIS : Store.MEMORY;
        String uri = properties.getString("redis.uri", "redis://127.0.0.1:6379").trim();
        RedisURI redisUri;
        try {
            if (!URI.create(uri).getScheme().startsWith("redis")) {
                throw new IllegalArgumentException("scheme");
            }
            redisUri = RedisURI.create(uri);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("redis.uri must look like redis://host:port, got '" + uri + "'");
        }
        Duration timeout;
        String rawTimeout = properties.getString("redis.timeout", "500ms").trim();
        try {
            timeout = DurationParser.parse(rawTimeout, ChronoUnit.MILLIS);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("redis.timeout must be a duration such as 500ms or 2s, got '" + rawTimeout + "'");
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("redis.timeout must be positive, got '" + rawTimeout + "'");
        }
        boolean failOpen = choice(properties, "onStoreFailure", "open", "open", "closed").equals("open");
        return new RateLimitSettings(store, redisUri, timeout, failOpen);
    }

    private static String choice(Configuration properties, String key, String fallback, String... allowed) {
        String value = properties.getString(key, fallback).trim().toLowerCase(Locale.ROOT);
        for (String option : allowed) {
            if (option.equals(value)) {
                return value;
            }
        }
        throw new IllegalArgumentException(key + " must be one of " + String.join(", ", allowed) + ", got '" + value + "'");
    }
}
