package io.postino.server.modules;

import java.io.FileNotFoundException;

import javax.inject.Singleton;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

import io.postino.server.ratelimit.CounterStore;
import io.postino.server.ratelimit.MemoryCounters;
import io.postino.server.ratelimit.RateLimitCountersHealthCheck;
import io.postino.server.ratelimit.RateLimitRoutes;
import io.postino.server.ratelimit.RateLimitSettings;
import io.postino.server.ratelimit.RateLimiter;
import io.postino.server.ratelimit.RedisCounters;
import io.postino.server.smtp.auth.AuthThrottleStore;
import io.postino.server.smtp.auth.AuthenticationBlockRoutes;
import io.postino.server.smtp.auth.MemoryAuthThrottleStore;
import io.postino.server.smtp.auth.RedisAuthThrottleStore;

/**
 * Rate limits: the counters (memory or Redis, from conf/ratelimits.properties), the limiter the
 * SMTP hook asks, its health check and its WebAdmin routes; and the counters of failed SMTP logins.
 */
public class RateLimitModule extends AbstractModule {
    @Override
    protected void configure() {
        bind(RateLimiter.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(RateLimitCountersHealthCheck.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(RateLimitRoutes.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(AuthenticationBlockRoutes.class);
    }

    @Provides
    @Singleton
    RateLimitSettings settings(PropertiesProvider properties) throws ConfigurationException {
        Configuration configuration;
        try {
            configuration = properties.getConfiguration("ratelimits");
        } catch (FileNotFoundException e) {
            configuration = new BaseConfiguration();
        }
        try {
            return RateLimitSettings.from(configuration);
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException("conf/" + RateLimitSettings.FILE + ": " + e.getMessage());
        }
    }

    @Provides
    @Singleton
    CounterStore counters(RateLimitSettings settings) {
        if (settings.store() == RateLimitSettings.Store.REDIS) {
            return new RedisCounters(settings.redisUri(), settings.redisTimeout());
        }
        return new MemoryCounters();
    }

    /** Failed SMTP logins (ThrottleAuthentication) live where the rate limits' counters do. */
    @Provides
    @Singleton
    AuthThrottleStore authenticationCounters(RateLimitSettings settings) {
        if (settings.store() == RateLimitSettings.Store.REDIS) {
            return new RedisAuthThrottleStore(settings.redisUri(), settings.redisTimeout());
        }
        return new MemoryAuthThrottleStore();
    }
}
