package io.postino.server.smtp.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import javax.annotation.PreDestroy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.postino.server.ratelimit.CounterStoreUnavailable;

/**
 * The counts in Redis, shared by every node using the same Redis (the rate limits' Redis of
 * {@code conf/ratelimits.properties}). Each decision is one Lua script, so concurrent attempts
 * on several nodes take their turns one after the other. Keys under {@code postino:auth:} expire
 * with the window or the block.
 */
public class RedisAuthThrottleStore implements AuthThrottleStore, AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(RedisAuthThrottleStore.class);
    private static final String PREFIX = "postino:auth:";
    private static final Duration RECONNECT_INTERVAL = Duration.ofSeconds(2);

    private static final String DELAY = "local function delay(f, cap) if f <= 0 then return 0 end "
        + "return math.min(1000 * 2 ^ math.min(f - 1, 30), cap) end ";

    /** KEYS: block, pair. ARGV: now, window, maxDelay, ttl, parallelLogins. Returns {wait, blockedUntil}. */
    private static final String RESERVE = DELAY
        + "local now = tonumber(ARGV[1]) "
        + "local blocked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0') "
        + "if blocked > now then return {0, blocked} end "
        + "local f = tonumber(redis.call('HGET', KEYS[2], 'f') or '0') "
        + "local last = tonumber(redis.call('HGET', KEYS[2], 'l') or '0') "
        + "local p = tonumber(redis.call('HGET', KEYS[2], 'p') or '0') "
        + "if f > 0 and last < now - tonumber(ARGV[2]) then f = 0 p = 0 end "
        + "local turn = math.max(now, tonumber(redis.call('HGET', KEYS[2], 'n') or '0')) "
        + "local wait = turn - now "
        + "if wait <= tonumber(ARGV[3]) then "
        + "  p = p + 1 "
        + "  local counted = f + p "
        + "  local s = tonumber(redis.call('HGET', KEYS[2], 's') or '0') "
        + "  if f == 0 and s > now - tonumber(ARGV[2]) then counted = math.max(0, p - tonumber(ARGV[5]) + 1) end "
        + "  redis.call('HSET', KEYS[2], 'n', turn + delay(counted, tonumber(ARGV[3])), 'p', p) "
        + "  redis.call('PEXPIRE', KEYS[2], ARGV[4]) "
        + "end "
        + "return {wait, 0}";

    /**
     * KEYS: pair, logins, failures, block. ARGV: now, window, maxDelay, sprayLogins,
     * clientFailures, block, login, ttl, failure id. Returns {blockedUntil or 0, logins, failures}.
     */
    private static final String FAILED = DELAY
        + "local now = tonumber(ARGV[1]) local window = tonumber(ARGV[2]) "
        + "local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0') "
        + "local last = tonumber(redis.call('HGET', KEYS[1], 'l') or '0') "
        + "if last < now - window then f = 0 end "
        + "f = f + 1 "
        + "local p = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'p') or '0') - 1) "
        + "local nextTurn = math.max(tonumber(redis.call('HGET', KEYS[1], 'n') or '0'), now + delay(f + p, tonumber(ARGV[3]))) "
        + "redis.call('HSET', KEYS[1], 'f', f, 'l', now, 'n', nextTurn, 'p', p) "
        + "redis.call('PEXPIRE', KEYS[1], ARGV[8]) "
        + "redis.call('ZADD', KEYS[2], now, ARGV[7]) "
        + "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window) "
        + "redis.call('PEXPIRE', KEYS[2], window) "
        + "redis.call('ZADD', KEYS[3], now, ARGV[9]) "
        + "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window) "
        + "redis.call('PEXPIRE', KEYS[3], window) "
        + "local logins = redis.call('ZCARD', KEYS[2]) local failures = redis.call('ZCARD', KEYS[3]) "
        + "if tonumber(redis.call('HGET', KEYS[4], 'until') or '0') > now then return {0, logins, failures} end "
        + "if logins >= tonumber(ARGV[4]) or failures >= tonumber(ARGV[5]) then "
        + "  local blockedUntil = now + tonumber(ARGV[6]) "
        + "  redis.call('HSET', KEYS[4], 'until', blockedUntil, 'logins', logins, 'failures', failures) "
        + "  redis.call('PEXPIRE', KEYS[4], ARGV[6]) "
        + "  return {blockedUntil, logins, failures} "
        + "end "
        + "return {0, logins, failures}";

    /** KEYS: pair. ARGV: now, ttl. The pair starts afresh, remembering when it logged in. */
    private static final String SUCCEEDED = "redis.call('DEL', KEYS[1]) "
        + "redis.call('HSET', KEYS[1], 's', ARGV[1]) "
        + "redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
        + "return 1";

    private final RedisURI uri;
    private final RedisClient client;
    private final Duration timeout;
    private volatile StatefulRedisConnection<String, String> connection;
    private Instant nextConnectAttempt = Instant.MIN;

    public RedisAuthThrottleStore(RedisURI uri, Duration timeout) {
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

    private RedisCommands<String, String> redis() {
        StatefulRedisConnection<String, String> connected = connection;
        if (connected == null) {
            connected = connect();
        }
        return connected.sync();
    }

    private synchronized StatefulRedisConnection<String, String> connect() {
        if (connection != null) {
            return connection;
        }
        if (Instant.now().isBefore(nextConnectAttempt)) {
            throw new CounterStoreUnavailable("Redis at " + describe() + " is unreachable", null);
        }
        try {
            connection = client.connect();
            connection.setTimeout(timeout);
            return connection;
        } catch (RuntimeException e) {
            nextConnectAttempt = Instant.now().plus(RECONNECT_INTERVAL);
            throw new CounterStoreUnavailable("Redis at " + describe() + " is unreachable: " + e.getMessage(), e);
        }
    }

    private static String pair(String client, String login) {
        return PREFIX + "pair:" + client + "|" + login;
    }

    private static String block(String client) {
        return PREFIX + "block:" + client;
    }

    private <T> T call(java.util.function.Function<RedisCommands<String, String>, T> command) {
        try {
            return command.apply(redis());
        } catch (CounterStoreUnavailable e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CounterStoreUnavailable("Redis at " + describe() + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public Reservation reserve(String client, String login, Instant now, ThrottlePolicy policy) {
        List<Long> result = call(redis -> redis.eval(RESERVE, ScriptOutputType.MULTI, new String[]{block(client), pair(client, login)},
            String.valueOf(now.toEpochMilli()), String.valueOf(policy.window().toMillis()), String.valueOf(policy.maxDelay().toMillis()),
            String.valueOf(policy.window().toMillis()), String.valueOf(policy.parallelLogins())));
        if (result.get(1) > 0) {
            return Reservation.blocked(Instant.ofEpochMilli(result.get(1)));
        }
        return Reservation.after(Duration.ofMillis(result.get(0)));
    }

    @Override
    public void succeeded(String client, String login, Instant now, ThrottlePolicy policy) {
        call(redis -> redis.eval(SUCCEEDED, ScriptOutputType.INTEGER, new String[]{pair(client, login)},
            String.valueOf(now.toEpochMilli()), String.valueOf(policy.window().toMillis())));
    }

    @Override
    public Optional<Instant> failed(String client, String login, Instant now, ThrottlePolicy policy) {
        List<Long> result = call(redis -> redis.eval(FAILED, ScriptOutputType.MULTI,
            new String[]{pair(client, login), PREFIX + "logins:" + client, PREFIX + "failures:" + client, block(client)},
            String.valueOf(now.toEpochMilli()), String.valueOf(policy.window().toMillis()), String.valueOf(policy.maxDelay().toMillis()),
            String.valueOf(policy.sprayLogins()), String.valueOf(policy.clientFailures()), String.valueOf(policy.block().toMillis()),
            login, String.valueOf(policy.window().toMillis()), UUID.randomUUID().toString()));
        return result.get(0) > 0 ? Optional.of(Instant.ofEpochMilli(result.get(0))) : Optional.empty();
    }

    @Override
    public List<Block> blocks(Instant now) {
        return call(redis -> {
            List<Block> blocks = new ArrayList<>();
            for (String key : keys(redis, PREFIX + "block:*")) {
                Map<String, String> fields = redis.hgetall(key);
                long until = Long.parseLong(fields.getOrDefault("until", "0"));
                if (until > now.toEpochMilli()) {
                    blocks.add(new Block(key.substring((PREFIX + "block:").length()), Optional.empty(),
                        Long.parseLong(fields.getOrDefault("failures", "0")), Instant.ofEpochMilli(until),
                        "failed logins for " + fields.getOrDefault("logins", "?") + " different users, "
                            + fields.getOrDefault("failures", "?") + " in all"));
                }
            }
            for (String key : keys(redis, PREFIX + "pair:*")) {
                Map<String, String> fields = redis.hgetall(key);
                long next = Long.parseLong(fields.getOrDefault("n", "0"));
                long failures = Long.parseLong(fields.getOrDefault("f", "0"));
                if (next > now.toEpochMilli() && failures > 0) {
                    String name = key.substring((PREFIX + "pair:").length());
                    int bar = name.indexOf('|');
                    blocks.add(new Block(name.substring(0, bar), Optional.of(name.substring(bar + 1)), failures,
                        Instant.ofEpochMilli(next), failures + " failed logins: each attempt waits its turn"));
                }
            }
            return blocks;
        });
    }

    private static List<String> keys(RedisCommands<String, String> redis, String pattern) {
        List<String> keys = new ArrayList<>();
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = redis.scan(cursor, ScanArgs.Builder.matches(pattern).limit(500));
            keys.addAll(page.getKeys());
            cursor = page;
        } while (!cursor.isFinished() && keys.size() < 100_000);
        return keys;
    }

    @Override
    public boolean clear(String client, Optional<String> login) {
        return call(redis -> {
            if (login.isPresent()) {
                return redis.del(pair(client, login.get())) > 0;
            }
            List<String> keys = new ArrayList<>(keys(redis, PREFIX + "pair:" + escapeGlob(client) + "|*"));
            keys.add(block(client));
            keys.add(PREFIX + "logins:" + client);
            keys.add(PREFIX + "failures:" + client);
            return redis.del(keys.toArray(String[]::new)) > 0;
        });
    }

    private static String escapeGlob(String text) {
        return text.replaceAll("([*?\\[\\]\\\\])", "\\\\$1");
    }

    @Override
    public String describe() {
        return "redis://" + uri.getHost() + ":" + uri.getPort();
    }

    @Override
    @PreDestroy
    public synchronized void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown();
        LOGGER.debug("Closed the authentication counters' Redis connection");
    }
}
