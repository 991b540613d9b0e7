package io.postino.server.recipients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

import org.apache.commons.dbcp2.BasicDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.recipients.Suppression;
import io.postino.recipients.SuppressionList;
import io.postino.testing.TestClock;

/** Against H2, the embedded database Postino ships with. */
class JdbcSuppressionListTest {
    private static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");
    private BasicDataSource dataSource;
    private TestClock clock;
    private JdbcSuppressionList list;

    @BeforeEach
    void start() {
        dataSource = new BasicDataSource();
        dataSource.setDriverClassName("org.h2.Driver");
        dataSource.setUrl("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        clock = new TestClock(NOW);
        list = new JdbcSuppressionList(dataSource, Duration.ofSeconds(30), clock);
    }

    @AfterEach
    void stop() throws Exception {
        dataSource.close();
    }

    private static Suppression suppression(String organisation, String address, Optional<Instant> expiresAt) {
        return new Suppression(organisation, address, Suppression.BOUNCE, "550 5.1.1 no such user", NOW, expiresAt);
    }

    @Test
    void addsFindsAndRemovesPerOrganisationIgnoringCase() {
        list.add(suppression("acme", "Bob@Example.COM", Optional.empty()));

        assertThat(list.find("acme", "bob@example.com")).contains(suppression("acme", "bob@example.com", Optional.empty()));
        assertThat(list.find("acme", "BOB@example.com")).isPresent();
        assertThat(list.find("beta", "bob@example.com")).isEmpty();
        assertThat(list.remove("acme", "bob@EXAMPLE.com")).isTrue();
        assertThat(list.find("acme", "bob@example.com")).as("the cache is cleared on removal").isEmpty();
        assertThat(list.remove("acme", "bob@example.com")).isFalse();
    }

    @Test
    void addingAgainReplaces() {
        list.add(suppression("acme", "bob@example.com", Optional.empty()));
        list.add(new Suppression("acme", "bob@example.com", Suppression.MANUAL, "by hand", NOW, Optional.empty()));

        assertThat(list.find("acme", "bob@example.com")).map(Suppression::reason).contains(Suppression.MANUAL);
        assertThat(list.list("acme", 0, 10)).hasSize(1);
    }

    @Test
    void concurrentAddsOfOneAddressAllSucceed() throws Exception {
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            java.util.List<java.util.concurrent.Future<?>> adds = new java.util.ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String address = "same-" + (i % 5) + "@example.com";
                adds.add(threads.submit(() -> list.add(suppression("acme", address, Optional.empty()))));
            }
            for (java.util.concurrent.Future<?> add : adds) {
                add.get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(list.list("acme", 0, 10)).hasSize(5);
    }

    @Test
    void anExpiredSuppressionNoLongerApplies() {
        list.add(suppression("acme", "brief@example.com", Optional.of(NOW.plusSeconds(60))));
        assertThat(list.find("acme", "brief@example.com")).isPresent();

        clock.set(NOW.plusSeconds(61));

        assertThat(list.find("acme", "brief@example.com")).isEmpty();
        assertThat(list.list("acme", 0, 10)).isEmpty();
    }

    @Test
    void listsByAddressAPageAtATime() {
        for (String address : new String[]{"c@example.com", "a@example.com", "b@example.com"}) {
            list.add(suppression("acme", address, Optional.empty()));
        }
        list.add(suppression("beta", "a@example.com", Optional.empty()));

        assertThat(list.list("acme", 0, 2)).extracting(Suppression::address).containsExactly("a@example.com", "b@example.com");
        assertThat(list.list("acme", 2, 2)).extracting(Suppression::address).containsExactly("c@example.com");
    }

    @Test
    void survivesANewInstanceOnTheSameDatabase() {
        list.add(suppression("acme", "kept@example.com", Optional.empty()));

        JdbcSuppressionList reopened = new JdbcSuppressionList(dataSource, Duration.ZERO, clock);

        assertThat(reopened.find("acme", "kept@example.com")).isPresent();
    }

    @Test
    void aDatabaseThatCannotBeReachedIsReportedAsSuch() throws Exception {
        dataSource.close();

        assertThatThrownBy(() -> list.find("acme", "x@example.com"))
            .isInstanceOf(SuppressionList.UnavailableException.class)
            .hasMessageContaining("Cannot read the suppression list");
    }
}
