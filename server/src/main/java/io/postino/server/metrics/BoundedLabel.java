package io.postino.server.metrics;

import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The values one label may take: the first {@code limit} distinct values seen since start-up are
 * kept as they are, any later one becomes {@value #OTHER}, so that a label whose values come from
 * outside (recipient domains) cannot grow the exposition without end. An absent value is
 * {@value #NONE}. Values are lower case.
 */
public final class BoundedLabel {
    public static final String OTHER = "other";
    public static final String NONE = "none";

    private final String name;
    private final int limit;
    private final Set<String> kept = ConcurrentHashMap.newKeySet();

    public BoundedLabel(String name, int limit) {
        this.name = name;
        this.limit = limit;
    }

    public String name() {
        return name;
    }

    public int limit() {
        return limit;
    }

    public String value(Optional<String> raw) {
        return raw.map(this::value).orElse(NONE);
    }

    public String value(String raw) {
        if (raw == null || raw.isBlank()) {
            return NONE;
        }
        String value = raw.trim().toLowerCase(Locale.ROOT);
        if (kept.contains(value)) {
            return value;
        }
        synchronized (this) {
            if (kept.size() < limit) {
                kept.add(value);
                return value;
            }
        }
        return kept.contains(value) ? value : OTHER;
    }
}
