package io.postino.server.smtp.listener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads a listener's TLS certificate when its files change (certbot renewing
 * {@code fullchain.pem} and {@code privkey.pem}): their content is compared every
 * {@link #INTERVAL}, and a change, once both files are readable and stable for one interval, makes
 * the listener build its TLS context again. New connections get the new certificate; open ones
 * keep theirs. A renewed pair that cannot be used (half written, key of another certificate,
 * expired) is checked before anything is swapped, logged at WARN with the file and why, and the
 * old certificate stays until the files change again. Used by the SMTP listeners and the
 * autoconfiguration listener ({@code io.postino.server.autoconfig.AutoconfigServer}).
 */
public final class CertificateWatcher {
    private static final Logger LOGGER = LoggerFactory.getLogger(CertificateWatcher.class);
    static final Duration INTERVAL = Duration.ofSeconds(Long.getLong("postino.tls.watchSeconds", 10));
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "postino-tls-watcher");
        thread.setDaemon(true);
        return thread;
    });

    public interface Reload {
        void reload() throws Exception;
    }

    /** Why the files as they are now cannot be loaded, or empty. */
    public interface Check {
        Optional<String> problem();
    }

    private final String listener;
    private final List<Path> files;
    private final Check check;
    private final Reload reload;
    private byte[] loaded;
    private byte[] seen;
    private ScheduledFuture<?> task;

    public CertificateWatcher(String listener, List<Path> files, Check check, Reload reload) {
        this.listener = listener;
        this.files = files;
        this.check = check;
        this.reload = reload;
        this.loaded = digest();
        this.seen = loaded;
    }

    public void start() {
        task = TIMER.scheduleWithFixedDelay(this::check, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    public void stop() {
        if (task != null) {
            task.cancel(false);
        }
    }

    private void check() {
        byte[] now = digest();
        if (now == null || Arrays.equals(now, loaded)) {
            seen = now;
            return;
        }
        if (!Arrays.equals(now, seen)) {
            // Changed since the last look: wait one more interval, the renewal may still be writing.
            seen = now;
            return;
        }
        // Tried once per content: a pair that cannot be used is logged once, not every interval.
        loaded = now;
        Optional<String> problem;
        try {
            problem = check.problem();
        } catch (RuntimeException e) {
            problem = Optional.of(e.toString());
        }
        if (problem.isPresent()) {
            LOGGER.warn("{}: the changed TLS files cannot be used, keeping the previous certificate: {}", listener, problem.get());
            return;
        }
        try {
            reload.reload();
            LOGGER.info("{}: reloaded the TLS certificate from {}", listener, files);
        } catch (Exception e) {
            LOGGER.warn("{}: the changed TLS files {} cannot be used, keeping the previous certificate: {}", listener, files, e.toString());
        }
    }

    private byte[] digest() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Path file : files) {
                digest.update(Files.readAllBytes(file));
            }
            return digest.digest();
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
