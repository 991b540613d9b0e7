package io.postino.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.apache.commons.configuration2.BaseConfiguration;
import org.junit.jupiter.api.Test;

class RateLimitSettingsTest {
    @Test
    void defaultsAreMemoryAndFailOpen() {
        RateLimitSettings settings = RateLimitSettings.from(new BaseConfiguration());

        assertThat(settings.store()).isEqualTo(RateLimitSettings.Store.MEMORY);
        assertThat(settings.failOpen()).isTrue();
        assertThat(settings.redisTimeout()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void readsRedisSettings() {
        BaseConfiguration properties = new BaseConfiguration();
        properties.addProperty("store", "Redis");
        properties.addProperty("redis.uri", "redis://127.0.0.1:6380");
        properties.addProperty("redis.timeout", "2s");
        properties.addProperty("onStoreFailure", "closed");

        RateLimitSettings settings = RateLimitSettings.from(properties);

        assertThat(settings.store()).isEqualTo(RateLimitSettings.Store.REDIS);
        assertThat(settings.redisUri().getPort()).isEqualTo(6380);
        assertThat(settings.redisTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(settings.failOpen()).isFalse();
    }

    @Test
    void namesTheBadKey() {
        BaseConfiguration properties = new BaseConfiguration();
        properties.addProperty("onStoreFailure", "maybe");

        assertThatThrownBy(() -> RateLimitSettings.from(properties))
            .hasMessage("onStoreFailure must be one of open, closed, got 'maybe'");
    }

    @Test
    void refusesANonRedisUri() {
        BaseConfiguration properties = new BaseConfiguration();
        properties.addProperty("redis.uri", "http://127.0.0.1:6379");

        assertThatThrownBy(() -> RateLimitSettings.from(properties)).hasMessageContaining("redis.uri must look like redis://host:port");
    }
}
