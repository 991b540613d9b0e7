package io.postino.server.pacing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.function.Predicate;

import org.apache.mailet.Mail;

import io.postino.server.DurableFiles;

/**
 * The queues an operator has put on hold: a held queue keeps and accepts its mail, but hands none
 * out (no delivery from {@code outgoing.acme}, no processing from {@code spool.acme}) until it
 * is released. Only the queues a {@link FairMailQueue} reads can be held: {@code spool},
 * {@code outgoing} (mail without an organisation) and their {@code .<organisation>} queues.
 *
 * <p>Holds are kept in {@code <data>/store/held-queues.txt}, one queue name a line, so that a
 * restart does not release what the operator held.</p>
 */
public final class QueueHolds {
    private final Optional<Path> file;
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    private final Set<String> holdable = ConcurrentHashMap.newKeySet();
    private final List<Runnable> onRelease = new CopyOnWriteArrayList<>();
    private final List<BiFunction<String, Predicate<Mail>, Long>> discarders = new CopyOnWriteArrayList<>();

    private QueueHolds(Optional<Path> file) {
        this.file = file;
    }

    /** Holds that are never written down (tests). */
    static QueueHolds inMemory() {
        return new QueueHolds(Optional.empty());
    }

    /** The holds kept in {@code file}, read now. */
    public static QueueHolds keptIn(Path file) throws IOException {
        QueueHolds holds = new QueueHolds(Optional.of(file));
        if (Files.exists(file)) {
            Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::trim).filter(line -> !line.isEmpty()).forEach(holds.held::add);
        }
        return holds;
    }

    public boolean isHeld(String queue) {
        return held.contains(queue);
    }

    /** Queue names that can be held, sorted. */
    public Set<String> holdable() {
        return new TreeSet<>(holdable);
    }

    /** Held queue names, sorted. */
    public Set<String> held() {
        return new TreeSet<>(held);
    }

    /** @return false when the queue cannot be held (no {@link FairMailQueue} reads it) */
    public synchronized boolean hold(String queue) {
        if (!holdable.contains(queue)) {
            return false;
        }
        if (held.add(queue)) {
            write();
        }
        return true;
    }

    /** @return false when the queue was not held */
    public synchronized boolean release(String queue) {
        if (!held.remove(queue)) {
            return false;
        }
        write();
        onRelease.forEach(Runnable::run);
        return true;
    }

    /**
     * Removes the mail the reader of a held queue keeps in hand, if it matches: the one mail of
     * the queue that its own {@code remove} cannot reach, being out of it until the queue is
     * released. A queue not held keeps nothing back for long: its mail is being handed out.
     *
     * @return how many were removed (0 or 1)
     */
    public long discardKept(String queue, Predicate<Mail> which) {
        return discarders.stream().mapToLong(discarder -> discarder.apply(queue, which)).sum();
    }

    void onDiscard(BiFunction<String, Predicate<Mail>, Long> discarder) {
        discarders.add(discarder);
    }

    void register(String queue) {
        holdable.add(queue);
    }

    void onRelease(Runnable listener) {
        onRelease.add(listener);
    }

    private void write() {
        file.ifPresent(path -> {
            try {
                Files.createDirectories(path.getParent());
                Path temporary = Files.createTempFile(path.getParent(), "held-queues", ".tmp");
                DurableFiles.writeSynced(temporary, String.join("\n", new TreeSet<>(held)) + "\n", StandardCharsets.UTF_8);
                DurableFiles.moveSynced(temporary, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot record the held queues in " + path, e);
            }
        });
    }
}
