package io.postino.server.users;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.james.core.Username;

import io.postino.server.DurableFiles;

/**
 * The users an operator (or their organisation's admin) has disabled: a disabled user keeps its
 * password and its place in the users repository, but cannot log in to send ({@code 535 5.7.8},
 * told only after the right password) and a session it opened before cannot start another mail.
 * James 3.8.1's users repository has no such state, so Postino keeps it.
 *
 * <p>Kept in {@code <data>/store/disabled-users.txt}, one login a line (lower case), written
 * whole to a new file, synced and renamed over the old one, so that a restart or a power cut
 * never enables a user again. Deleting a user leaves its line: a user created again with the
 * same login stays disabled until enabled.</p>
 */
public final class DisabledUsers {
    /** The file's name in {@code <data>/store}. */
    public static final String FILE = "disabled-users.txt";

    private final Optional<Path> file;
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();

    private DisabledUsers(Optional<Path> file) {
        this.file = file;
    }

    /** A list that is never written down (tests). */
    public static DisabledUsers inMemory() {
        return new DisabledUsers(Optional.empty());
    }

    /** The list kept in {@code file}, read now; a missing file is an empty list. */
    public static DisabledUsers keptIn(Path file) throws IOException {
        DisabledUsers users = new DisabledUsers(Optional.of(file));
        if (Files.exists(file)) {
            Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                .map(String::trim)
                .filter(line -> !line.isEmpty() && !line.startsWith("#"))
                .map(DisabledUsers::normalise)
                .forEach(users.disabled::add);
        }
        return users;
    }

    /** Case does not matter, as for James' logins. */
    private static String normalise(String login) {
        return login.toLowerCase(Locale.ROOT);
    }

    public boolean isDisabled(Username user) {
        return isDisabled(user.asString());
    }

    public boolean isDisabled(String login) {
        return disabled.contains(normalise(login));
    }

    /** Disabled logins, sorted. */
    public Set<String> logins() {
        return new TreeSet<>(disabled);
    }

    /** Disables {@code login} and writes the list down before returning; disabling twice is no change. */
    public synchronized void disable(String login) {
        if (disabled.add(normalise(login))) {
            write();
        }
    }

    /** Enables {@code login} again; enabling a user that was not disabled is no change. */
    public synchronized void enable(String login) {
        if (disabled.remove(normalise(login))) {
            write();
        }
    }

    private void write() {
        file.ifPresent(path -> {
            try {
                Files.createDirectories(path.getParent());
                Path temporary = Files.createTempFile(path.getParent(), "disabled-users", ".tmp");
                String content = disabled.isEmpty() ? "" : String.join("\n", new TreeSet<>(disabled)) + "\n";
                DurableFiles.writeSynced(temporary, content, StandardCharsets.UTF_8);
                DurableFiles.moveSynced(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot record the disabled users in " + path, e);
            }
        });
    }
}
