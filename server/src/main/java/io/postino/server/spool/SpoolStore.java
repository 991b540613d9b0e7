package io.postino.server.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spool's storage: RocksDB under {@code <data>/spool}, with two column families. {@code bodies}
 * holds each message's raw octets once, under a body id; {@code items} holds one small record per
 * queued mail (which queue, when it is due, its envelope and the body it refers to). A mail
 * accepted over SMTP is one write of both, synced: RocksDB puts the writes of concurrent sessions
 * into one write-ahead-log append and one fsync (group commit). Everything after that (the mail
 * moving to the outgoing queue, a retry, its end) is an item record written without waiting for
 * the disk: a power cut loses only the newest of those, and since the log is replayed in order
 * the spool comes back as it was a moment earlier (a mail processed again, never one lost).
 *
 * <p>Bodies are large and short-lived: they go to blob files, and most are deleted before the
 * write buffer is flushed, so they are written once, to the log. When the disk is full, writes
 * fail and the store tries to resume every {@link #RESUME_INTERVAL} once space is back.</p>
 */
final class SpoolStore implements AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(SpoolStore.class);
    static final Duration RESUME_INTERVAL = Duration.ofSeconds(2);
    /** Free space below which a failed write counts as a full disk, and above which a stuck database is opened again. */
    private static final long RESUME_FREE_SPACE = 64L << 20;

    static {
        RocksDB.loadLibrary();
    }

    /** The store cannot write (disk full, I/O error): nothing was stored. */
    static final class SpoolUnavailable extends Exception {
        private final boolean diskFull;

        SpoolUnavailable(String message, Throwable cause) {
            this(message, cause, false);
        }

        SpoolUnavailable(String message, Throwable cause, boolean diskFull) {
            super(message, cause);
            this.diskFull = diskFull;
        }

        /** Whether the file system is out of space (rather than failing otherwise). */
        boolean diskFull() {
            return diskFull;
        }
    }

    /** The two column families a write can change. */
    enum Family {
        BODIES, ITEMS
    }

    /** What one atomic write does; told the column families by the store, never holding them itself. */
    interface Batch {
        void put(Family family, byte[] key, byte[] value) throws RocksDBException;

        void delete(Family family, byte[] key) throws RocksDBException;
    }

    /** Fills a {@link Batch}. */
    @FunctionalInterface
    interface BatchContents {
        void fill(Batch batch) throws RocksDBException;
    }

    private final Path directory;
    private final DBOptions options;
    private final List<ColumnFamilyOptions> familyOptions;
    private final List<ColumnFamilyDescriptor> descriptors;
    private volatile RocksDB db;
    private volatile ColumnFamilyHandle bodies;
    private volatile ColumnFamilyHandle items;
    private volatile List<ColumnFamilyHandle> handles;
    private final WriteOptions synced = new WriteOptions().setSync(true);
    private final WriteOptions unsynced = new WriteOptions().setSync(false);
    private final AtomicLong ids = new AtomicLong();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile Instant nextResume = Instant.MIN;
    /** Readers and writers hold it shared; close holds it alone, so no call reaches a closed database. */
    private final java.util.concurrent.locks.ReentrantReadWriteLock lock = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private boolean closed;
    /** False after a reopen that failed: the old database is closed and there is no new one yet. Guarded by the lock. */
    private boolean opened = true;

    private SpoolStore(Path directory, DBOptions options, List<ColumnFamilyOptions> familyOptions, List<ColumnFamilyDescriptor> descriptors,
                       RocksDB db, List<ColumnFamilyHandle> handles) {
        this.directory = directory;
        this.options = options;
        this.familyOptions = familyOptions;
        this.descriptors = descriptors;
        this.db = db;
        this.handles = handles;
        this.bodies = handles.get(1);
        this.items = handles.get(2);
    }

    static SpoolStore open(Path directory) throws RocksDBException, IOException {
        Files.createDirectories(directory);
        syncParents(directory);
        DBOptions options = new DBOptions()
            .setCreateIfMissing(true)
            .setCreateMissingColumnFamilies(true)
            .setMaxBackgroundJobs(2)
            .setMaxTotalWalSize(256L << 20)
            .setBytesPerSync(1 << 20)
            .setKeepLogFileNum(3)
            // No space reserved ahead: on a nearly full disk a reservation would fail writes that fit.
            .setAllowFAllocate(false)
            // With a file manager RocksDB itself recovers from a full disk once space is back.
            .setSstFileManager(new org.rocksdb.SstFileManager(org.rocksdb.Env.getDefault()));
        ColumnFamilyOptions defaults = new ColumnFamilyOptions();
        // Bodies stay in the memtable until it is flushed to blob files: small memtables keep the
        // process small (two of 64 MiB were a third of its memory under load); a flush every 16 MiB
        // of mail costs little.
        ColumnFamilyOptions bodyOptions = new ColumnFamilyOptions()
            .setWriteBufferSize(16L << 20)
            .setCompressionType(CompressionType.NO_COMPRESSION)
            .setEnableBlobFiles(true)
            .setMinBlobSize(2048)
            .setEnableBlobGarbageCollection(true);
        ColumnFamilyOptions itemOptions = new ColumnFamilyOptions().setWriteBufferSize(8L << 20);
        List<ColumnFamilyDescriptor> descriptors = List.of(
            new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, defaults),
            new ColumnFamilyDescriptor("bodies".getBytes(java.nio.charset.StandardCharsets.US_ASCII), bodyOptions),
            new ColumnFamilyDescriptor("items".getBytes(java.nio.charset.StandardCharsets.US_ASCII), itemOptions));
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        RocksDB db = RocksDB.open(options, directory.toString(), descriptors, handles);
        SpoolStore store = new SpoolStore(directory, options, List.of(defaults, bodyOptions, itemOptions), descriptors, db, handles);
        store.ids.set(Math.max(store.lastKey(store.bodies), store.lastKey(store.items)));
        return store;
    }

    /**
     * Makes the spool's own name durable, and that of each directory above it. RocksDB syncs the
     * files in its directory and the directory itself, but not the directory's entry in its
     * parent: on a new data directory, a power cut would lose the whole spool (and every mail
     * answered 250) on a file system that keeps only what was synced. A directory that cannot be
     * opened (a system directory not readable by Postino's user) is old enough to be on disk.
     */
    private static void syncParents(Path directory) {
        for (Path parent = directory.toAbsolutePath().getParent(); parent != null; parent = parent.getParent()) {
            try (FileChannel channel = FileChannel.open(parent, StandardOpenOption.READ)) {
                channel.force(true);
            } catch (IOException e) {
                LOGGER.debug("Not syncing {} (and above): {}", parent, e.toString());
                return;
            }
        }
    }

    private long lastKey(ColumnFamilyHandle family) {
        try (RocksIterator iterator = db.newIterator(family)) {
            iterator.seekToLast();
            return iterator.isValid() ? ByteBuffer.wrap(iterator.key()).getLong() : 0;
        }
    }

    /** A new id for a body or an item, larger than every id stored. */
    long newId() {
        return ids.incrementAndGet();
    }

    static byte[] key(long id) {
        return ByteBuffer.allocate(Long.BYTES).putLong(id).array();
    }

    /**
     * Builds a batch with {@code contents} and applies it atomically; with {@code sync}, returns
     * only once it (and everything written before it) is on disk. The batch is built and written
     * under the read lock: a {@link #reopen} (which holds the write lock) cannot close the column
     * families it names in between.
     */
    void write(BatchContents contents, boolean sync) throws SpoolUnavailable {
        RocksDBException failed;
        lock.readLock().lock();
        try {
            if (closed) {
                throw new SpoolUnavailable("The spool is closed", null);
            }
            if (!opened) {
                throw new SpoolUnavailable("The spool cannot write: " + failure.get() + " (it is being opened again)", null, true);
            }
            try (WriteBatch batch = new WriteBatch()) {
                ColumnFamilyHandle bodyFamily = bodies;
                ColumnFamilyHandle itemFamily = items;
                contents.fill(new Batch() {
                    @Override
                    public void put(Family family, byte[] key, byte[] value) throws RocksDBException {
                        batch.put(family == Family.BODIES ? bodyFamily : itemFamily, key, value);
                    }

                    @Override
                    public void delete(Family family, byte[] key) throws RocksDBException {
                        batch.delete(family == Family.BODIES ? bodyFamily : itemFamily, key);
                    }
                });
                db.write(sync ? synced : unsynced, batch);
            }
            if (failure.getAndSet(null) != null) {
                LOGGER.info("The spool at {} writes again", directory);
            }
            return;
        } catch (RocksDBException e) {
            failed = e;
        } finally {
            lock.readLock().unlock();
        }
        String reason = describe(failed);
        boolean diskFull = diskFull(failed);
        if (failure.getAndSet(reason) == null) {
            // A full disk is an operating condition Postino handles (4xx, nothing lost), not a bug: WARN, once.
            LOGGER.warn("The spool at {} cannot write: {}. Mail is refused with 4xx until it can; what is queued stays queued", directory, reason);
        }
        tryResume();
        throw new SpoolUnavailable("The spool cannot write: " + reason, failed, diskFull);
    }

    /** RocksDB's own "no space" status, or a write failing with the file system nearly full. */
    private boolean diskFull(RocksDBException e) {
        Status status = e.getStatus();
        return (status != null && status.getSubCode() == Status.SubCode.NoSpace)
            || String.valueOf(e.getMessage()).contains("No space left on device")
            || directory.toFile().getUsableSpace() < RESUME_FREE_SPACE;
    }

    /**
     * After an error (the disk was full), RocksDB may stay read-only. Once a probe write works the
     * failure is over; when it still fails with space available, the database is opened again
     * (its log replayed: nothing written before is lost). Called without the lock held.
     */
    private void tryResume() {
        Instant now = Instant.now();
        if (now.isBefore(nextResume)) {
            return;
        }
        nextResume = now.plus(RESUME_INTERVAL);
        lock.readLock().lock();
        try (WriteBatch probe = new WriteBatch()) {
            if (closed) {
                return;
            }
            if (!opened) {
                throw new RocksDBException("not open");
            }
            probe.put(PROBE, PROBE);
            db.write(synced, probe);
            if (failure.getAndSet(null) != null) {
                LOGGER.info("The spool at {} writes again", directory);
            }
            return;
        } catch (RocksDBException e) {
            LOGGER.debug("The spool cannot write yet: {}", describe(e));
        } finally {
            lock.readLock().unlock();
        }
        if (directory.toFile().getUsableSpace() > RESUME_FREE_SPACE) {
            reopen();
        }
    }

    private static final byte[] PROBE = "postino.probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Closes the database and opens it again, alone: no write or read is under way meanwhile. */
    void reopen() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            if (opened) {
                for (ColumnFamilyHandle handle : handles) {
                    handle.close();
                }
                db.close();
                opened = false;
            }
            List<ColumnFamilyHandle> reopened = new ArrayList<>();
            db = RocksDB.open(options, directory.toString(), descriptors, reopened);
            handles = reopened;
            bodies = reopened.get(1);
            items = reopened.get(2);
            opened = true;
            failure.set(null);
            LOGGER.info("The spool at {} was opened again and writes again", directory);
        } catch (RocksDBException e) {
            LOGGER.warn("The spool at {} could not be opened again yet: {}", directory, describe(e));
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Called regularly: resumes writing once the cause of a failure is gone. */
    void maintain() {
        if (failure.get() != null) {
            tryResume();
        }
    }

    /** Why the last write failed, while writes fail. */
    java.util.Optional<String> failure() {
        return java.util.Optional.ofNullable(failure.get());
    }

    byte[] body(long bodyId) throws SpoolUnavailable {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new SpoolUnavailable("The spool is closed", null);
            }
            if (!opened) {
                throw new SpoolUnavailable("The spool cannot read: it is being opened again", null);
            }
            byte[] octets = db.get(bodies, key(bodyId));
            if (octets == null) {
                throw new SpoolUnavailable("The body " + bodyId + " is not in the spool", null);
            }
            return octets;
        } catch (RocksDBException e) {
            throw new SpoolUnavailable("The spool cannot read: " + describe(e), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Every item stored, in id order (start-up). */
    void forEachItem(BiConsumer<Long, byte[]> consumer) {
        lock.readLock().lock();
        try (RocksIterator iterator = db.newIterator(items)) {
            for (iterator.seekToFirst(); iterator.isValid(); iterator.next()) {
                consumer.accept(ByteBuffer.wrap(iterator.key()).getLong(), iterator.value());
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Every body id stored (start-up: bodies no item refers to any more are removed). */
    List<Long> bodyIds() {
        List<Long> ids = new ArrayList<>();
        lock.readLock().lock();
        try (RocksIterator iterator = db.newIterator(bodies)) {
            for (iterator.seekToFirst(); iterator.isValid(); iterator.next()) {
                ids.add(ByteBuffer.wrap(iterator.key()).getLong());
            }
        } finally {
            lock.readLock().unlock();
        }
        return ids;
    }

    private static String describe(RocksDBException e) {
        Status status = e.getStatus();
        return status == null ? String.valueOf(e.getMessage()) : status.getCodeString() + " " + status.getState();
    }

    Path directory() {
        return directory;
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            closeDatabase();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void closeDatabase() {
        if (opened) {
            try {
                db.syncWal();
            } catch (RocksDBException e) {
                LOGGER.warn("Could not sync the spool's log on close: {}", describe(e));
            }
            for (ColumnFamilyHandle handle : handles) {
                handle.close();
            }
            db.close();
        }
        options.close();
        familyOptions.forEach(ColumnFamilyOptions::close);
        synced.close();
        unsynced.close();
    }
}
