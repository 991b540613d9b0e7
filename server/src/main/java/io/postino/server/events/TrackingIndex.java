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

import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
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
import org.apache.lucene.store.FSDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;

/**
 * Message tracking: every event in a Lucene index on disk. {@link #publish} only puts the event in
 * a bounded in-memory queue; one writer thread adds what it finds there in batches and commits
 * (and makes searchable) at most once a second, so SMTP never waits on the index and at most about
 * a second of events is lost on a crash. An index that cannot be opened (corrupt, or written by
 * another Lucene) is moved aside and a fresh one started, without stopping mail. Events older than
 * the retention are deleted hourly.
 */
public class TrackingIndex implements DeliveryEvents, AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(TrackingIndex.class);
    private static final Duration COMMIT_INTERVAL = Duration.ofSeconds(1);
    private static final Duration PRUNE_INTERVAL = Duration.ofHours(1);
    private static final int BATCH = 1000;
    private static final int PAGE = 1000;

    /** A search: every filter present must match one event of the message. */
    public record TrackingQuery(Optional<String> organisation, Optional<String> sender, Optional<String> recipient,
                         Optional<String> messageId, Optional<DeliveryEvent.Type> status, Optional<Instant> since,
                         Optional<Instant> until, int limit, int offset) {
    }

    /** One message found: its id and its events, oldest first. */
    public record TrackedMessage(String mailId, List<DeliveryEvent> events) {
    }

    private final Duration retention;
    private final Clock clock;
    private final BlockingQueue<DeliveryEvent> pending;
    private final AtomicLong dropped = new AtomicLong();
    /** Events published and not yet added to the index (queued or in the writer's hands): flush waits for them. */
    private final AtomicLong outstanding = new AtomicLong();
    private final IndexWriter writer;
    private final SearcherManager searchers;
    private final Thread writerThread;
    private volatile boolean running = true;

    public TrackingIndex(Path directory, Duration retention, int queueCapacity, Clock clock) throws IOException {
        this.retention = retention;
        this.clock = clock;
        this.pending = new ArrayBlockingQueue<>(queueCapacity);
        this.writer = openWriter(directory);
        this.searchers = new SearcherManager(writer, null);
        this.writerThread = new Thread(this::writeLoop, "postino-tracking-writer");
        writerThread.setDaemon(true);
        writerThread.start();
    }

    private static IndexWriter openWriter(Path directory) throws IOException {
        Files.createDirectories(directory);
        try {
            return newWriter(directory);
        } catch (CorruptIndexException | IndexFormatTooOldException | IndexFormatTooNewException | EOFException e) {
            // Only damage moves the index aside; a lock held, a permission or a full disk is an error to fix, not data to discard.
            Path aside = directory.resolveSibling(directory.getFileName() + ".unreadable-" + System.currentTimeMillis());
            LOGGER.error("The tracking index at {} cannot be opened ({}); it is moved to {} and a new one is started. Mail is not affected.",
                directory, e.toString(), aside);
            Files.move(directory, aside);
            Files.createDirectories(directory);
            return newWriter(directory);
        }
    }

    private static IndexWriter newWriter(Path directory) throws IOException {
        IndexWriterConfig config = new IndexWriterConfig();
        config.setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND);
        config.setCommitOnClose(true);
        IndexWriter writer = new IndexWriter(FSDirectory.open(directory), config);
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
        if (dropped.incrementAndGet() % 1000 == 1) {
            LOGGER.warn("Tracking cannot keep up: {} events dropped so far (mail is not affected)", dropped.get());
        }
    }

    /** Events dropped because the writer could not keep up. */
    public long dropped() {
        return dropped.get();
    }

    private void writeLoop() {
        Instant nextPrune = clock.instant();
        long nextCommit = System.nanoTime();
        boolean uncommitted = false;
        List<DeliveryEvent> batch = new ArrayList<>(BATCH);
        List<Document> documents = new ArrayList<>(BATCH);
        while (running || !pending.isEmpty()) {
            try {
                long wait = uncommitted ? Math.max(0, nextCommit - System.nanoTime()) : COMMIT_INTERVAL.toNanos();
                DeliveryEvent first = pending.poll(wait, TimeUnit.NANOSECONDS);
                if (first != null) {
                    batch.add(first);
                    pending.drainTo(batch, BATCH - 1);
                    uncommitted = true;
                    try {
                        for (DeliveryEvent event : batch) {
                            documents.add(document(event));
                        }
                        writer.addDocuments(documents);
                    } finally {
                        outstanding.addAndGet(-batch.size());
                        batch.clear();
                        documents.clear();
                    }
                }
                // At most one commit (and search refresh) a second, tried again a second after one
                // that failed: a steady trickle of mail makes batches of a few events, and each
                // commit syncs the index files to disk.
                if (uncommitted && System.nanoTime() - nextCommit >= 0) {
                    nextCommit = System.nanoTime() + COMMIT_INTERVAL.toNanos();
                    writer.commit();
                    searchers.maybeRefresh();
                    uncommitted = false;
                }
                if (!clock.instant().isBefore(nextPrune)) {
                    prune();
                    nextPrune = clock.instant().plus(PRUNE_INTERVAL);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                LOGGER.error("Tracking index write failed; the batch is lost, mail is not affected", e);
                batch.clear();
            }
        }
    }

    /** Deletes the events older than the retention. */
    void prune() throws IOException {
        long oldest = clock.instant().minus(retention).toEpochMilli();
        writer.deleteDocuments(LongPoint.newRangeQuery("at", Long.MIN_VALUE, oldest - 1));
        writer.commit();
        searchers.maybeRefresh();
    }

    /** Blocks until what was published so far is searchable (tests, shutdown). */
    public void flush(Duration timeout) throws IOException, InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (outstanding.get() > 0 && Instant.now().isBefore(deadline)) {
            Thread.sleep(20);
        }
        synchronized (this) {
            writer.commit();
            searchers.maybeRefreshBlocking();
        }
    }

    public List<TrackedMessage> search(TrackingQuery query) throws IOException {
        IndexSearcher searcher = searchers.acquire();
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
            searchers.release(searcher);
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
        searchers.close();
        writer.close();
    }
}
