package io.postino.server.smtp.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.lettuce.core.RedisURI;

/**
 * The same rules in memory and in Redis (the machine's, on 127.0.0.1:6379, as the test suite
 * needs anyway). Each run uses its own client addresses, so keys of earlier runs do not matter.
 */
class AuthThrottleStoreTest {
    private static final ThrottlePolicy POLICY = new ThrottlePolicy(Duration.ofSeconds(8), Duration.ofMinutes(15), 3, 100,
        Duration.ofMinutes(15), 1);
    private static final ThrottlePolicy FOUR_AT_ONCE = new ThrottlePolicy(Duration.ofSeconds(8), Duration.ofMinutes(15), 3, 100,
        Duration.ofMinutes(15), 4);
    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    static Stream<AuthThrottleStore> stores() {
        return Stream.of(new MemoryAuthThrottleStore(), new RedisAuthThrottleStore(RedisURI.create("redis://127.0.0.1:6379"), Duration.ofSeconds(2)));
    }

    private static String client() {
        return "198.51.100." + (1 + (UUID.randomUUID().hashCode() & 0x7f)) + "-" + UUID.randomUUID();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void attemptsTakeTurnsCountingPendingOnesAsFailures(AuthThrottleStore store) {
        String client = client();
        assertThat(store.reserve(client, "alice", NOW, POLICY).waitFor()).isZero();
        assertThat(store.reserve(client, "alice", NOW, POLICY).waitFor()).isEqualTo(Duration.ofSeconds(1));
        assertThat(store.reserve(client, "alice", NOW, POLICY).waitFor()).isEqualTo(Duration.ofSeconds(3));
        assertThat(store.reserve(client, "bob", NOW, POLICY).waitFor()).as("another login").isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void parallelLoginsOfAPairThatLoggedInAndHasNotFailedAreCheckedAtOnceUpToTheLimit(AuthThrottleStore store) {
        String client = client();
        store.succeeded(client, "alice", NOW, FOUR_AT_ONCE);
        for (int i = 0; i < 4; i++) {
            assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor()).as("attempt %d", i + 1).isZero();
        }
        assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor()).as("the fifth").isEqualTo(Duration.ofSeconds(1));
        assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor()).as("the sixth").isEqualTo(Duration.ofSeconds(3));

        store.succeeded(client, "alice", NOW, FOUR_AT_ONCE);

        assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor()).as("after a success").isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void aPairThatHasNotLoggedInWithinTheWindowGetsNoParallelAttempts(AuthThrottleStore store) {
        String client = client();
        store.succeeded(client, "alice", NOW.minus(Duration.ofMinutes(16)), FOUR_AT_ONCE);

        assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor()).isZero();
        assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor()).as("a guesser's second attempt").isEqualTo(Duration.ofSeconds(1));
        assertThat(store.reserve(client, "mallory", NOW, FOUR_AT_ONCE).waitFor()).isZero();
        assertThat(store.reserve(client, "mallory", NOW, FOUR_AT_ONCE).waitFor()).as("never logged in").isEqualTo(Duration.ofSeconds(1));
    }

    @ParameterizedTest
    @MethodSource("stores")
    void theFirstFailureCountsTheAttemptsStillPending(AuthThrottleStore store) {
        String client = client();
        store.succeeded(client, "alice", NOW, FOUR_AT_ONCE);
        for (int i = 0; i < 4; i++) {
            store.reserve(client, "alice", NOW, FOUR_AT_ONCE);
        }

        store.failed(client, "alice", NOW, FOUR_AT_ONCE);

        assertThat(store.reserve(client, "alice", NOW, FOUR_AT_ONCE).waitFor())
            .as("one failure and three pending: as if four had failed one after the other").isEqualTo(Duration.ofSeconds(8));
    }

    @ParameterizedTest
    @MethodSource("stores")
    void onceAPairHasFailedEveryPendingAttemptCountsAgain(AuthThrottleStore store) {
        String client = client();
        store.succeeded(client, "alice", NOW, FOUR_AT_ONCE);
        store.reserve(client, "alice", NOW, FOUR_AT_ONCE);
        store.failed(client, "alice", NOW, FOUR_AT_ONCE);
        Instant later = NOW.plusSeconds(1);

        assertThat(store.reserve(client, "alice", later, FOUR_AT_ONCE).waitFor()).isZero();
        assertThat(store.reserve(client, "alice", later, FOUR_AT_ONCE).waitFor())
            .as("one failure and one pending: no free parallel attempts any more").isEqualTo(Duration.ofSeconds(2));
    }

    @ParameterizedTest
    @MethodSource("stores")
    void failuresDelayTheNextTurnAndASuccessStartsAfresh(AuthThrottleStore store) {
        String client = client();
        Instant at = NOW;
        for (int i = 0; i < 3; i++) {
            Duration wait = store.reserve(client, "alice", at, POLICY).waitFor();
            at = at.plus(wait);
            store.failed(client, "alice", at, POLICY);
        }
        assertThat(store.reserve(client, "alice", at, POLICY).waitFor()).isEqualTo(Duration.ofSeconds(4));
        assertThat(store.blocks(at).stream().filter(block -> block.client().equals(client))).hasSize(1);

        store.succeeded(client, "alice", at, POLICY);

        assertThat(store.reserve(client, "alice", at, POLICY).waitFor()).isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void failuresForManyLoginsBlockTheClientUntilCleared(AuthThrottleStore store) {
        String client = client();
        Optional<Instant> blocked = Optional.empty();
        for (String login : new String[]{"a", "b", "c"}) {
            store.reserve(client, login, NOW, POLICY);
            blocked = store.failed(client, login, NOW, POLICY);
        }
        assertThat(blocked).contains(NOW.plus(POLICY.block()));
        assertThat(store.reserve(client, "alice", NOW, POLICY).blockedUntil()).contains(NOW.plus(POLICY.block()));
        assertThat(store.blocks(NOW)).anySatisfy(block -> {
            assertThat(block.client()).isEqualTo(client);
            assertThat(block.login()).isEmpty();
        });

        assertThat(store.clear(client, Optional.empty())).isTrue();

        assertThat(store.reserve(client, "alice", NOW, POLICY).blockedUntil()).isEmpty();
        assertThat(store.blocks(NOW)).noneMatch(block -> block.client().equals(client));
        assertThat(store.clear(client, Optional.of("nobody"))).isFalse();
    }
}
