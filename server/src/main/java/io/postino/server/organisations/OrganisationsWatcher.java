package io.postino.server.organisations;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.Organisations;
import io.postino.organisations.ReloadOutcome;

/**
 * Reloads organisations.xml when it changes on disk: polls its modification time and size every
 * {@link #INTERVAL}, which costs one stat call. A file caught half-written fails validation and
 * is retried at the next change; the configuration in force stays until a valid file is read.
 */
public final class OrganisationsWatcher {
    static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final Logger LOGGER = LoggerFactory.getLogger(OrganisationsWatcher.class);

    private final Organisations organisations;
    private final Path file;
    private final ScheduledExecutorService executor;
    private String seen;

    private OrganisationsWatcher(Organisations organisations, Path file) {
        this.organisations = organisations;
        this.file = file;
        this.seen = stamp(file);
        this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "postino-organisations-watcher");
            thread.setDaemon(true);
            return thread;
        });
    }

    public static OrganisationsWatcher start(Organisations organisations, Path file) {
        OrganisationsWatcher watcher = new OrganisationsWatcher(organisations, file);
        watcher.executor.scheduleWithFixedDelay(watcher::check, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return watcher;
    }

    private void check() {
        try {
            String current = stamp(file);
            if (Objects.equals(current, seen)) {
                return;
            }
            seen = current;
            log(organisations.reload(), "changed on disk");
        } catch (RuntimeException e) {
            LOGGER.error("Watching {} failed", file, e);
        }
    }

    static void log(ReloadOutcome outcome, String trigger) {
        if (outcome.applied()) {
            LOGGER.info("organisations.xml {}: reloaded, {} organisations in force", trigger, outcome.organisations());
        } else {
            LOGGER.error("organisations.xml {} but was NOT applied, the previous configuration ({} organisations) stays in force: {}",
                trigger, outcome.organisations(), outcome.problem().map(Throwable::getMessage).orElse("unknown problem"));
        }
    }

    private static String stamp(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis() + "/" + Files.size(file);
        } catch (IOException e) {
            return "absent";
        }
    }

    public void stop() {
        executor.shutdownNow();
    }
}
