package io.postino.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import org.apache.james.core.healthcheck.ResultStatus;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FilterDirectory;
import org.apache.lucene.store.FilterIndexOutput;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexOutput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.postino.events.DeliveryEvent;
import reactor.core.publisher.Mono;

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

    /** A disk that can be made full: every write then fails as Linux's does. */
    private final AtomicBoolean diskFull = new AtomicBoolean();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();

    private final class FullDisk extends FilterDirectory {
        FullDisk(Directory in) {
            super(in);
        }

        @Override
        public IndexOutput createOutput(String name, IOContext context) throws IOException {
            refuseWhenFull();
            return new FullDiskOutput(in.createOutput(name, context));
        }

        @Override
        public IndexOutput createTempOutput(String prefix, String suffix, IOContext context) throws IOException {
            refuseWhenFull();
            return new FullDiskOutput(in.createTempOutput(prefix, suffix, context));
        }
    }

    private final class FullDiskOutput extends FilterIndexOutput {
        FullDiskOutput(IndexOutput out) {
            super("full disk " + out, out.getName(), out);
        }

        @Override
        public void writeByte(byte b) throws IOException {
            refuseWhenFull();
            super.writeByte(b);
        }

        @Override
        public void writeBytes(byte[] b, int offset, int length) throws IOException {
            refuseWhenFull();
            super.writeBytes(b, offset, length);
        }
    }

    private void refuseWhenFull() throws IOException {
        if (diskFull.get()) {
            throw new IOException("No space left on device");
        }
    }

    private TrackingIndex openOnDiskThatFills(int capacity) throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(TrackingIndex.class);
        log.start();
        logger.addAppender(log);
        return new TrackingIndex(directory.resolve("tracking"), FullDisk::new, Duration.ofDays(30), capacity, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @AfterEach
    void detachLog() {
        ((Logger) LoggerFactory.getLogger(TrackingIndex.class)).detachAppender(log);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    private List<String> logged(Level level) {
        return log.list.stream().filter(line -> line.getLevel().equals(level)).map(ILoggingEvent::getFormattedMessage).toList();
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

    @Test
    void afterADiskFullTheIndexIsOpenedAgainAndNoEventIsLost() throws Exception {
        try (TrackingIndex index = openOnDiskThatFills(1000)) {
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "before", "acme", "bob@example.net"));
            assertThat(index.flush(Duration.ofSeconds(10))).isTrue();

            diskFull.set(true);
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "during", "acme", "bob@example.net"));
            await("the outage is noticed", () -> index.outage().isPresent());
            assertThat(index.outage().get().reason()).contains("No space left on device");
            assertThat(index.flush(Duration.ofMillis(200))).as("nothing can be written now").isFalse();
            assertThat(index.search(query("acme", null, null))).as("searches answer from the last commit")
                .extracting(TrackingIndex.TrackedMessage::mailId).containsExactly("before");
            Thread.sleep(TrackingIndex.FIRST_RETRY.toMillis() * 2);

            diskFull.set(false);
            await("the index writes again", () -> index.outage().isEmpty());
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "after", "acme", "bob@example.net"));
            assertThat(index.flush(Duration.ofSeconds(10))).isTrue();

            assertThat(index.search(query("acme", null, null))).extracting(TrackingIndex.TrackedMessage::mailId)
                .containsExactlyInAnyOrder("before", "during", "after");
            assertThat(index.dropped()).isZero();
        }
        assertThat(logged(Level.ERROR)).isEmpty();
        assertThat(logged(Level.WARN)).as("one WARN for the outage, whatever the retries").hasSize(1)
            .allSatisfy(line -> assertThat(line).contains("cannot be written: IOException: No space left on device"));
        assertThat(logged(Level.INFO)).anySatisfy(line -> assertThat(line).contains("is written again"));
    }

    @Test
    void eventsBeyondTheQueueDuringAnOutageAreDroppedAndCounted() throws Exception {
        try (TrackingIndex index = openOnDiskThatFills(5)) {
            diskFull.set(true);
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "first", "acme", "bob@example.net"));
            await("the outage is noticed", () -> index.outage().isPresent());
            for (int i = 0; i < 20; i++) {
                index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "m" + i, "acme", "bob@example.net"));
            }
            assertThat(index.dropped()).as("the queue holds 5, the writer takes none while it cannot write").isEqualTo(15);

            diskFull.set(false);
            await("the index writes again", () -> index.outage().isEmpty());
            assertThat(index.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(index.search(query("acme", null, null))).extracting(TrackingIndex.TrackedMessage::mailId)
                .containsExactlyInAnyOrder("first", "m0", "m1", "m2", "m3", "m4");
        }
    }

    @Test
    void theHealthCheckIsDegradedWhileTheIndexCannotBeWritten() throws Exception {
        try (TrackingIndex index = openOnDiskThatFills(1000)) {
            TrackingHealthCheck check = new TrackingHealthCheck(index);
            assertThat(Mono.from(check.check()).block().getStatus()).isEqualTo(ResultStatus.HEALTHY);

            diskFull.set(true);
            index.publish(event(DeliveryEvent.Type.RECEIVED, NOW, "during", "acme", "bob@example.net"));
            await("the outage is noticed", () -> index.outage().isPresent());
            var degraded = Mono.from(check.check()).block();
            assertThat(degraded.getStatus()).isEqualTo(ResultStatus.DEGRADED);
            assertThat(degraded.getCause()).hasValueSatisfying(cause -> assertThat(cause)
                .contains("cannot be written", "No space left on device", "1 events wait", "Mail is not affected"));

            diskFull.set(false);
            await("the index writes again", () -> index.outage().isEmpty());
            assertThat(Mono.from(check.check()).block().getStatus()).isEqualTo(ResultStatus.HEALTHY);
        }
    }
}
