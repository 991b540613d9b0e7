package io.postino.recipients;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Collectors;

/**
 * Suppression lists held in memory, lost on restart: for tests of mailets, matchers and hooks
 * written against {@link SuppressionList}. The server keeps its lists in the database.
 */
public final class MemorySuppressionList implements SuppressionList {
    private final ConcurrentSkipListMap<String, Suppression> suppressions = new ConcurrentSkipListMap<>();
    private final Clock clock;
    private volatile boolean unavailable;

    public MemorySuppressionList(Clock clock) {
        this.clock = clock;
    }

    /** While true every call throws {@link UnavailableException}, as a list whose database is down. */
    public void setUnavailable(boolean unavailable) {
        this.unavailable = unavailable;
    }

    private void checkAvailable() {
        if (unavailable) {
            throw new UnavailableException("the suppression list is unavailable (database down)", null);
        }
    }

    private static String key(String organisation, String address) {
        return organisation + "\n" + Suppression.normalise(address);
    }

    @Override
    public Optional<Suppression> find(String organisation, String address) {
        checkAvailable();
        return Optional.ofNullable(suppressions.get(key(organisation, address))).filter(found -> found.activeAt(clock.instant()));
    }

    @Override
    public void add(Suppression suppression) {
        checkAvailable();
        suppressions.put(key(suppression.organisation(), suppression.address()), suppression);
    }

    @Override
    public boolean remove(String organisation, String address) {
        checkAvailable();
        return suppressions.remove(key(organisation, address)) != null;
    }

    @Override
    public List<Suppression> list(String organisation, int offset, int limit) {
        checkAvailable();
        return suppressions.subMap(organisation + "\n", organisation + "\n\uffff").values().stream()
            .filter(found -> found.activeAt(clock.instant()))
            .skip(offset)
            .limit(limit)
            .collect(Collectors.toList());
    }
}
