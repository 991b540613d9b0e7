package io.postino.server.organisations;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

import javax.annotation.PreDestroy;

import org.apache.james.lifecycle.api.Startable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.Organisations;
import io.postino.organisations.ReloadOutcome;

/**
 * Reloads organisations.xml when it changes on disk: every {@link #INTERVAL} it reads the file
 * (a few kilobytes) and compares a checksum, so even an edit that keeps the size and the
 * modification time is seen. A file caught half-written fails validation and is read again at
 * the next change; the configuration in force stays until a valid file is read.
 */
public final class OrganisationsWatcher implements Startable {
    static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final Logger LOGGER = LoggerFactory.getLogger(OrganisationsWatcher.class);

    private final Organisations organisations;
    private final Path file;
    private final ScheduledExecutorService executor;
    private long seen;

    public OrganisationsWatcher(Organisations organisations, Path file) {
        this.organisations = organisations;
        this.file = file;
        this.seen = checksum(file);
        this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "postino-organisations-watcher");
            thread.setDaemon(true);
            return thread;
        });
    }

    public void start() {
        executor.scheduleWithFixedDelay(this::check, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void check() {
        try {
            long current = checksum(file);
            if (current == seen) {
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

    private static long checksum(Path file) {
        try {
            CRC32 crc = new CRC32();
            crc.update(Files.readAllBytes(file));
            return crc.getValue();
        } catch (IOException e) {
            return -1;
        }
    }

    @PreDestroy
    public void stop() {
        executor.shutdownNow();
    }
}
