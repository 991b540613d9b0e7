package io.postino.server.events;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.ConcurrentMergeScheduler;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.server.smtp.LogSafe;

/**
 * Message tracking: every event in a Lucene index on disk. {@link #publish} only puts the event in
 * a bounded in-memory queue; one writer thread adds what it finds there in batches and commits
 * every second, so SMTP never waits on the index and at most about a second of events is lost on
 * a crash. An index that cannot be opened (corrupt, or written by another Lucene) is moved aside
 * and a fresh one started, without stopping mail. Events older than the retention are deleted
 * hourly.
 *
 * <p>When the index cannot be written (the disk is full: Lucene then closes its writer for good),
 * the writer is thrown away and opened again from the last commit, after 1 s, then twice as long
 * each time up to {@link #MAX_RETRY}, for as long as it takes; one WARN says so, one INFO says when
 * it writes again. Meanwhile nothing is lost until the queue is full: the events added since the
 * last commit are kept and added again to the new writer, new ones wait in the queue, and beyond
 * its capacity they are dropped and counted ({@link #dropped}). Searches answer from what was
 * committed before; {@link #outage} (the health check) says the index is behind.</p>
 */
public class TrackingIndex implements DeliveryEvents, AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(TrackingIndex.class);
    private static final Duration COMMIT_INTERVAL = Duration.ofSeconds(1);
    private static final Duration PRUNE_INTERVAL = Duration.ofHours(1);
    private static final Duration POLL = Duration.ofMillis(100);
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    static final Duration MAX_RETRY = Duration.ofSeconds(10);
    private static final int BATCH = 1000;
    /** Events added but not committed, at most: beyond, a commit comes before the next batch. */
    private static final int MAX_UNCOMMITTED = 10 * BATCH;
    private static final int PAGE = 1000;

    /** A search: every filter present must match one event of the message. */
    public record TrackingQuery(Optional<String> organisation, Optional<String> sender, Optional<String> recipient,
                         Optional<String> messageId, Optional<DeliveryEvent.Type> status, Optional<Instant> since,
                         Optional<Instant> until, int limit, int offset) {
    }

    /** One message found: its id and its events, oldest first. */
    public record TrackedMessage(String mailId, List<DeliveryEvent> events) {
    }

    /** The index cannot be written since {@code since}, because of {@code reason}. */
    public record Outage(Instant since, String reason) {
    }

    private final Path path;
    private final UnaryOperator<Directory> directories;
    private final Duration retention;
    private final Clock clock;
    private final int capacity;
    private final BlockingQueue<DeliveryEvent> pending;
    private final AtomicLong dropped = new AtomicLong();
    /** Events published and not yet committed (queued, in the writer's hands, or added): flush waits for them. */
    private final AtomicLong outstanding = new AtomicLong();
    /** Guarded by this: the writer and the events added to it since its last commit, in order. */
    private IndexWriter writer;
    private final List<DeliveryEvent> uncommitted = new ArrayList<>();
    /** Replaced with the writer; guarded by {@link #searcherSwap} so no search acquires from a closed one. */
    private SearcherManager searchers;
    private final Object searcherSwap = new Object();
    private volatile Outage outage;
    private volatile boolean commitSoon;
    private final Thread writerThread;
    private volatile boolean running = true;

    public TrackingIndex(Path directory, Duration retention, int queueCapacity, Clock clock) throws IOException {
        this(directory, UnaryOperator.identity(), retention, queueCapacity, clock);
    }

    /** @param directories wraps each Lucene directory opened (tests put a failing disk there) */
    TrackingIndex(Path directory, UnaryOperator<Directory> directories, Duration retention, int queueCapacity, Clock clock)
        throws IOException {
        this.path = directory;
        this.directories = directories;
        this.retention = retention;
        this.clock = clock;
        this.capacity = queueCapacity;
        this.pending = new ArrayBlockingQueue<>(queueCapacity);
        this.writer = openWriter();
        this.searchers = new SearcherManager(writer, null);
        this.writerThread = new Thread(this::writeLoop, "postino-tracking-writer");
        writerThread.setDaemon(true);
        writerThread.start();
    }

    private IndexWriter openWriter() throws IOException {
        Files.createDirectories(path);
        try {
            return newWriter(path);
        } catch (CorruptIndexException | IndexFormatTooOldException | IndexFormatTooNewException | EOFException e) {
            // Only damage moves the index aside; a lock held, a permission or a full disk is an error to fix, not data to discard.
            Path aside = path.resolveSibling(path.getFileName() + ".unreadable-" + System.currentTimeMillis());
            LOGGER.error("The tracking index at {} cannot be opened ({}); it is moved to {} and a new one is started. Mail is not affected.",
                path, e.toString(), aside);
            Files.move(path, aside);
            Files.createDirectories(path);
            return newWriter(path);
        }
    }

    private IndexWriter newWriter(Path directory) throws IOException {
        IndexWriterConfig config = new IndexWriterConfig();
        config.setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND);
        config.setCommitOnClose(true);
        config.setMergeScheduler(new ConcurrentMergeScheduler() {
            @Override
            protected void handleMergeException(Throwable failure) {
                // Lucene's default throws it on the merge thread (a stack trace on the console); a merge is simply tried again later.
                if (outage == null) {
                    LOGGER.warn("A merge of the tracking index at {} failed ({}); it is tried again later", path, reason(failure));
                }
            }
        });
        IndexWriter writer = new IndexWriter(directories.apply(FSDirectory.open(directory)), config);
        // Reading every segment once catches an index damaged on disk now rather than at a search.
        try (var reader = org.apache.lucene.index.DirectoryReader.open(writer)) {
            reader.leaves().forEach(leaf -> leaf.reader().numDocs());
        } catch (IOException | RuntimeException e) {
            writer.rollback();
            throw e;
        }
        return writer;
    }

    @Override
    public void publish(DeliveryEvent event) {
        outstanding.incrementAndGet();
        if (pending.offer(event)) {
            return;
        }
        outstanding.decrementAndGet();
        // During an outage the queue fills by design: the outage's WARN and the health check say so.
        if (dropped.incrementAndGet() % 1000 == 1 && outage == null) {
            LOGGER.warn("Tracking cannot keep up: {} events dropped so far (mail is not affected)", dropped.get());
        }
    }

    /** Events dropped: the queue was full (the writer could not keep up, or the index could not be written for long). */
    public long dropped() {
        return dropped.get();
    }

    /** Why the index cannot be written, while it cannot. */
    public Optional<Outage> outage() {
        return Optional.ofNullable(outage);
    }

    /** Events waiting to be written (queued or added since the last commit). */
    public long waiting() {
        return outstanding.get();
    }

    public Path directory() {
        return path;
    }

    private void writeLoop() {
        Instant nextPrune = clock.instant();
        Instant nextCommit = Instant.now().plus(COMMIT_INTERVAL);
        Instant nextAttempt = Instant.MIN;
        int failures = 0;
        List<DeliveryEvent> batch = new ArrayList<>(BATCH);
        while (running || (outage == null && !pending.isEmpty()) || (outage == null && hasUncommitted())) {
            try {
                if (outage != null) {
                    if (Instant.now().isBefore(nextAttempt)) {
                        Thread.sleep(POLL.toMillis());
                        continue;
                    }
                    reopen();
                    recovered();
                    failures = 0;
                    continue;
                }
                DeliveryEvent first = pending.poll(POLL.toMillis(), TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    pending.drainTo(batch, BATCH - 1);
                    add(batch);
                    batch.clear();
                }
                if (commitSoon || !running || !Instant.now().isBefore(nextCommit) || uncommittedCount() >= MAX_UNCOMMITTED) {
                    commitSoon = false;
                    commit();
                    nextCommit = Instant.now().plus(COMMIT_INTERVAL);
                }
                if (!clock.instant().isBefore(nextPrune)) {
                    prune();
                    nextPrune = clock.instant().plus(PRUNE_INTERVAL);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                batch.clear();
                failures++;
                failed(e);
                nextAttempt = Instant.now().plus(retryDelay(failures));
            }
        }
        long lost = outstanding.get();
        if (lost > 0) {
            LOGGER.warn("{} tracking events could not be written to {} before shutdown (mail is not affected)", lost, path);
        }
    }

    /** 1 s, then twice as long each time, at most {@link #MAX_RETRY}. */
    static Duration retryDelay(int failures) {
        long millis = FIRST_RETRY.toMillis() << Math.min(failures - 1, 16);
        return Duration.ofMillis(Math.min(millis, MAX_RETRY.toMillis()));
    }

    private synchronized boolean hasUncommitted() {
        return !uncommitted.isEmpty();
    }

    private synchronized int uncommittedCount() {
        return uncommitted.size();
    }

    /**
     * Adds the events to the writer. They count as uncommitted before Lucene sees them: if the
     * writer fails half way, all of them go to the next one.
     */
    private synchronized void add(List<DeliveryEvent> events) throws IOException {
        uncommitted.addAll(events);
        for (DeliveryEvent event : events) {
            addDocument(event);
        }
    }

    private void addDocument(DeliveryEvent event) throws IOException {
        try {
            writer.addDocument(document(event));
        } catch (IllegalArgumentException e) {
            if (writer.getTragicException() != null || !writer.isOpen()) {
                throw e;
            }
            // This one event cannot be indexed (a term too long, say); the writer is fine. Retrying it would never end.
            uncommitted.remove(event);
            outstanding.decrementAndGet();
            dropped.incrementAndGet();
            LOGGER.warn("A tracking event of {} cannot be indexed and is dropped: {}", event.mailId(), LogSafe.of(e.getMessage()));
        }
    }

    private synchronized void commit() throws IOException {
        if (!writer.hasUncommittedChanges()) {
            return;
        }
        writer.commit();
        committed();
    }

    /** The writer failed: it is rolled back (what it had not committed is still in {@link #uncommitted}) and opened again later. */
    private void failed(Exception e) {
        String reason = reason(e);
        synchronized (this) {
            try {
                writer.rollback();
            } catch (IOException | RuntimeException ignored) {
                // already closed by Lucene after the failure, or cannot even roll back: the next open starts from the last commit
            }
        }
        if (outage == null) {
            outage = new Outage(clock.instant(), reason);
            LOGGER.warn("The tracking index at {} cannot be written: {}. Its events wait in memory (at most {}; beyond, they are dropped "
                + "and counted) and it is opened again every {} s at most until it can. Mail is not affected", path, reason, capacity,
                MAX_RETRY.toSeconds());
        } else {
            LOGGER.debug("The tracking index at {} still cannot be written: {}", path, reason);
        }
    }

    /** Opens a new writer from the last commit and writes again what the failed one had not committed. */
    private synchronized void reopen() throws IOException {
        IndexWriter fresh = openWriter();
        writer = fresh;
        SearcherManager old;
        synchronized (searcherSwap) {
            old = searchers;
            searchers = new SearcherManager(fresh, null);
        }
        try {
            old.close();
        } catch (IOException | RuntimeException ignored) {
            // its readers stay usable by searches still holding them
        }
        for (DeliveryEvent event : new ArrayList<>(uncommitted)) {
            addDocument(event);
        }
        fresh.commit();
        committed();
    }

    /**
     * After a commit: what was added is on disk (never to be added again), and searchable before
     * {@link #flush} hears of it.
     */
    private void committed() throws IOException {
        int written = uncommitted.size();
        uncommitted.clear();
        try {
            searchers.maybeRefreshBlocking();
        } finally {
            outstanding.addAndGet(-written);
        }
    }

    private void recovered() {
        Outage ended = outage;
        outage = null;
        if (ended != null) {
            LOGGER.info("The tracking index at {} is written again after {} s ({} events dropped in all)", path,
                Duration.between(ended.since(), clock.instant()).toSeconds(), dropped.get());
        }
    }

    /** The root cause, in a line: a tragic writer says it is closed and keeps the reason as its cause. */
    private static String reason(Throwable failure) {
        Throwable root = failure;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 10; depth++) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    /** Deletes the events older than the retention. */
    synchronized void prune() throws IOException {
        long oldest = clock.instant().minus(retention).toEpochMilli();
        writer.deleteDocuments(LongPoint.newRangeQuery("at", Long.MIN_VALUE, oldest - 1));
        writer.commit();
        committed();
    }

    /**
     * Waits until what was published so far is searchable (tests, shutdown).
     *
     * @return whether it is; not while the index cannot be written
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (outstanding.get() > 0 && Instant.now().isBefore(deadline)) {
            commitSoon = true;
            Thread.sleep(20);
        }
        return outstanding.get() <= 0;
    }

    public List<TrackedMessage> search(TrackingQuery query) throws IOException {
        SearcherManager manager;
        IndexSearcher searcher;
        synchronized (searcherSwap) {
            manager = searchers;
            searcher = manager.acquire();
        }
        try {
            Sort newestFirst = new Sort(new SortField("at", SortField.Type.LONG, true));
            int wanted = query.offset() + query.limit();
            Map<String, Boolean> mailIds = new LinkedHashMap<>();
            Query filter = filter(query);
            ScoreDoc after = null;
            // Events, newest first, page by page, until enough distinct messages are found.
            while (mailIds.size() < wanted) {
                TopDocs hits = after == null ? searcher.search(filter, PAGE, newestFirst) : searcher.searchAfter(after, filter, PAGE, newestFirst);
                for (ScoreDoc hit : hits.scoreDocs) {
                    mailIds.putIfAbsent(searcher.storedFields().document(hit.doc).get("mailId"), true);
                    if (mailIds.size() >= wanted) {
                        break;
                    }
                }
                if (hits.scoreDocs.length < PAGE) {
                    break;
                }
                after = hits.scoreDocs[hits.scoreDocs.length - 1];
            }
            List<TrackedMessage> messages = new ArrayList<>();
            List<String> ids = new ArrayList<>(mailIds.keySet());
            for (String id : ids.subList(Math.min(query.offset(), ids.size()), ids.size())) {
                messages.add(new TrackedMessage(id, timeline(searcher, id)));
            }
            return messages;
        } finally {
            manager.release(searcher);
        }
    }

    private static List<DeliveryEvent> timeline(IndexSearcher searcher, String mailId) throws IOException {
        TopDocs hits = searcher.search(new TermQuery(new Term("mailId", mailId)), 10_000,
            new Sort(new SortField("at", SortField.Type.LONG, false)));
        List<DeliveryEvent> events = new ArrayList<>();
        for (ScoreDoc hit : hits.scoreDocs) {
            events.add(event(searcher.storedFields().document(hit.doc)));
        }
        return events;
    }

    private static Query filter(TrackingQuery query) {
        BooleanQuery.Builder builder = new BooleanQuery.Builder();
        builder.add(new MatchAllDocsQuery(), BooleanClause.Occur.MUST);
        query.organisation().ifPresent(value -> builder.add(new TermQuery(new Term("organisation", value)), BooleanClause.Occur.FILTER));
        query.sender().ifPresent(value -> builder.add(new TermQuery(new Term("sender", value.toLowerCase(Locale.ROOT))), BooleanClause.Occur.FILTER));
        query.recipient().ifPresent(value -> builder.add(new TermQuery(new Term("recipient", value.toLowerCase(Locale.ROOT))), BooleanClause.Occur.FILTER));
        query.messageId().ifPresent(value -> builder.add(new TermQuery(new Term("messageId", value)), BooleanClause.Occur.FILTER));
        query.status().ifPresent(value -> builder.add(new TermQuery(new Term("type", value.configName())), BooleanClause.Occur.FILTER));
        if (query.since().isPresent() || query.until().isPresent()) {
            builder.add(LongPoint.newRangeQuery("at", query.since().map(Instant::toEpochMilli).orElse(Long.MIN_VALUE),
                query.until().map(Instant::toEpochMilli).orElse(Long.MAX_VALUE)), BooleanClause.Occur.FILTER);
        }
        return builder.build();
    }

    private static Document document(DeliveryEvent event) {
        Document document = new Document();
        document.add(new StringField("mailId", event.mailId(), Field.Store.YES));
        document.add(new StringField("type", event.type().configName(), Field.Store.YES));
        long at = event.at().toEpochMilli();
        document.add(new LongPoint("at", at));
        document.add(new NumericDocValuesField("at", at));
        document.add(new StoredField("atStored", at));
        event.messageId().ifPresent(value -> document.add(new StringField("messageId", value, Field.Store.YES)));
        event.organisation().ifPresent(value -> document.add(new StringField("organisation", value, Field.Store.YES)));
        event.user().ifPresent(value -> document.add(new StringField("user", value, Field.Store.YES)));
        event.clientIp().ifPresent(value -> document.add(new StringField("clientIp", value, Field.Store.YES)));
        event.sender().ifPresent(value -> document.add(new StringField("sender", value.toLowerCase(Locale.ROOT), Field.Store.YES)));
        event.recipient().ifPresent(value -> document.add(new StringField("recipient", value.toLowerCase(Locale.ROOT), Field.Store.YES)));
        event.remoteHost().ifPresent(value -> document.add(new StoredField("remoteHost", value)));
        event.reply().ifPresent(value -> document.add(new StoredField("reply", value)));
        document.add(new StoredField("size", event.size()));
        return document;
    }

    private static DeliveryEvent event(Document document) {
        return new DeliveryEvent(DeliveryEvent.Type.fromConfigName(document.get("type")),
            Instant.ofEpochMilli(document.getField("atStored").numericValue().longValue()), document.get("mailId"),
            Optional.ofNullable(document.get("messageId")), Optional.ofNullable(document.get("organisation")),
            Optional.ofNullable(document.get("user")), Optional.ofNullable(document.get("clientIp")),
            Optional.ofNullable(document.get("sender")), Optional.ofNullable(document.get("recipient")),
            document.getField("size").numericValue().longValue(), Optional.ofNullable(document.get("remoteHost")),
            Optional.ofNullable(document.get("reply")));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        running = false;
        writerThread.join(10_000);
        synchronized (searcherSwap) {
            searchers.close();
        }
        synchronized (this) {
            // A no-op when the writer failed and was rolled back: what it held is counted as lost above.
            writer.close();
        }
    }
}
