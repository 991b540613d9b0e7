package io.postino.organisations;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The organisations the server runs with now. A reload swaps the whole configuration at once,
 * and only when the new file is valid: an invalid file leaves the previous one in force.
 */
public final class Organisations {
    private final Optional<Path> file;
    private final AtomicReference<OrganisationsConfig> current;
    private volatile ReloadOutcome lastReload;

    private Organisations(Optional<Path> file, OrganisationsConfig config) {
        this.file = file;
        this.current = new AtomicReference<>(config);
        this.lastReload = ReloadOutcome.applied(config);
    }

    /** Reads the file; start-up fails on an invalid file, there is nothing to fall back to. */
    public static Organisations load(Path file) throws OrganisationsException {
        return new Organisations(Optional.of(file), OrganisationsFile.read(file));
    }

    /** A fixed configuration, not backed by a file (tests, embedding). */
    public static Organisations of(OrganisationsConfig config) {
        return new Organisations(Optional.empty(), config);
    }

    public OrganisationsConfig current() {
        return current.get();
    }

    public Optional<Path> file() {
        return file;
    }

    public ReloadOutcome lastReload() {
        return lastReload;
    }

    /** Re-reads the file. Never throws: the outcome says whether the new file was applied. */
    public synchronized ReloadOutcome reload() {
        if (file.isEmpty()) {
            lastReload = ReloadOutcome.applied(current.get());
            return lastReload;
        }
        try {
            OrganisationsConfig config = OrganisationsFile.read(file.get());
            current.set(config);
            lastReload = ReloadOutcome.applied(config);
        } catch (OrganisationsException e) {
            lastReload = ReloadOutcome.refused(current.get(), e);
        }
        return lastReload;
    }
}
