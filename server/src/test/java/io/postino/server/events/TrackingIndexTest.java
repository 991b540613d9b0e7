package io.postino.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.events.DeliveryEvent;

class TrackingIndexTest {
    private static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");

    @TempDir
    Path directory;

    private static DeliveryEvent event(DeliveryEvent.Type type, Instant at, String mailId, String organisation, String recipient) {
        return new DeliveryEvent(type, at, mailId, Optional.of("<" + mailId + "@acme.test>"), Optional.ofNullable(organisation),
            Optional.empty(), Optional.of("192.0.2.1"), Optional.of("App@acme.test"), Optional.of(recipient), 100, Optional.empty(),
            Optional.of("250 ok"));
    }

    private static TrackingIndex.TrackingQuery query(String organisation, String recipient, DeliveryEvent.Type status) {
        return new TrackingIndex.TrackingQuery(Optional.ofNullable(organisation), Optional.empty(), Optional.ofNullable(recipient),
            Optional.empty(), Optional.ofNullable(status), Optional.empty(), Optional.empty(), 50, 0);
    }

    private TrackingIndex open(Duration retention) throws Exception {
        return new TrackingIndex(directory.resolve("tracking"), retention, 1000, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void aMessageIsFoundByAnyOfItsEventsWithItsWholeTimelineOldestFirst() throws Exception {
        try (TrackingIndex index = open(Duration.ofDays(30))) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW.minusSeconds(3), "m1", "acme", "bob@example.net"));
            index.publish(event(DeliveryEvent.Type.DELIVERED, NOW.minusSeconds(1), "m1", "acme", "bob@example.net"));
            index.publish(event(DeliveryEvent.Type.QUEUED, NOW.minusSeconds(2), "m1", "acme", "bob@example.net"));
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "m2", "beta", "carol@example.net"));
            index.flush(Duration.ofSeconds(10));

            List<TrackingIndex.TrackedMessage> found = index.search(query(null, null, DeliveryEvent.Type.DELIVERED));

            assertThat(found).hasSize(1);
            assertThat(found.get(0).mailId()).isEqualTo("m1");
            assertThat(found.get(0).events()).extracting(DeliveryEvent::type)
                .containsExactly(DeliveryEvent.Type.RECEIVED, DeliveryEvent.Type.QUEUED, DeliveryEvent.Type.DELIVERED);
            assertThat(found.get(0).events().get(0).sender()).contains("app@acme.test");
        }
    }

    @Test
    void filtersCombineAndNewestMessagesComeFirst() throws Exception {
        try (TrackingIndex index = open(Duration.ofDays(30))) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW.minusSeconds(10), "old", "acme", "bob@example.net"));
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "new", "acme", "bob@example.net"));
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "other", "beta", "bob@example.net"));
            index.flush(Duration.ofSeconds(10));

            assertThat(index.search(query("acme", "BOB@example.net", null))).extracting(TrackingIndex.TrackedMessage::mailId)
                .containsExactly("new", "old");
            assertThat(index.search(new TrackingIndex.TrackingQuery(Optional.of("acme"), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.of(NOW.minusSeconds(5)), Optional.empty(), 50, 0)))
                .extracting(TrackingIndex.TrackedMessage::mailId).containsExactly("new");
            assertThat(index.search(new TrackingIndex.TrackingQuery(Optional.of("acme"), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), 1, 1)))
                .extracting(TrackingIndex.TrackedMessage::mailId).containsExactly("old");
        }
    }

    @Test
    void eventsOlderThanTheRetentionArePruned() throws Exception {
        try (TrackingIndex index = open(Duration.ofDays(1))) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW.minus(Duration.ofDays(2)), "ancient", "acme", "bob@example.net"));
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW.minusSeconds(60), "recent", "acme", "bob@example.net"));
            index.flush(Duration.ofSeconds(10));

            index.prune();

            assertThat(index.search(query("acme", null, null))).extracting(TrackingIndex.TrackedMessage::mailId).containsExactly("recent");
        }
    }

    @Test
    void theIndexSurvivesClosingAndOpening() throws Exception {
        try (TrackingIndex index = open(Duration.ofDays(30))) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "kept", "acme", "bob@example.net"));
        }
        try (TrackingIndex index = open(Duration.ofDays(30))) {
            assertThat(index.search(query("acme", null, null))).extracting(TrackingIndex.TrackedMessage::mailId).containsExactly("kept");
        }
    }

    @Test
    void anUnreadableIndexIsMovedAsideAndAFreshOneStarted() throws Exception {
        try (TrackingIndex index = open(Duration.ofDays(30))) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "lost", "acme", "bob@example.net"));
        }
        try (Stream<Path> files = Files.list(directory.resolve("tracking"))) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.write(file, "garbage".getBytes(StandardCharsets.US_ASCII));
            }
        }

        try (TrackingIndex index = open(Duration.ofDays(30))) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "fresh", "acme", "bob@example.net"));
            index.flush(Duration.ofSeconds(10));

            assertThat(index.search(query("acme", null, null))).extracting(TrackingIndex.TrackedMessage::mailId).containsExactly("fresh");
        }
        try (Stream<Path> siblings = Files.list(directory)) {
            assertThat(siblings.map(path -> path.getFileName().toString())).anyMatch(name -> name.startsWith("tracking.unreadable-"));
        }
    }

    @Test
    void aFullQueueDropsEventsInsteadOfWaitingAndCountsThem() throws Exception {
        try (TrackingIndex index = new TrackingIndex(directory.resolve("small"), Duration.ofDays(1), 1, Clock.fixed(NOW, ZoneOffset.UTC))) {
            for (int i = 0; i < 10_000; i++) {
                index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "m" + i, "acme", "bob@example.net"));
            }
            assertThat(index.dropped()).isPositive();
        }
    }
}
