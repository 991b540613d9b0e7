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
    /** Who disabled each login: {@link #OPERATOR} or {@code organisation:<id>}. */
    private final java.util.Map<String, String> disabled = new ConcurrentHashMap<>();
    /** The scope of the operator's token, which may enable every user. */
    public static final String OPERATOR = "operator";

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
                .forEach(line -> {
                    String[] fields = line.split("\\s+", 2);
                    users.disabled.put(normalise(fields[0]), fields.length > 1 ? fields[1].trim() : OPERATOR);
                });
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
        return disabled.containsKey(normalise(login));
    }

    /** Disabled logins, sorted. */
    public Set<String> logins() {
        return new TreeSet<>(disabled.keySet());
    }

    /** Disables {@code login} (by the operator) and writes the list down before returning. */
    public void disable(String login) {
        disable(login, OPERATOR);
    }

    /**
     * Disables {@code login}, recording who did ({@link #OPERATOR} or {@code organisation:<id>}),
     * and writes the list down before returning. The operator disabling a user an organisation
     * disabled takes it over; anything else disabling twice is no change.
     */
    public synchronized void disable(String login, String by) {
        String key = normalise(login);
        String before = disabled.get(key);
        if (before == null || (OPERATOR.equals(by) && !OPERATOR.equals(before))) {
            disabled.put(key, by);
            write();
        }
    }

    /** Enables {@code login} again (by the operator); enabling a user that was not disabled is no change. */
    public void enable(String login) {
        enable(login, OPERATOR);
    }

    /**
     * Enables {@code login} again, unless the operator disabled it and {@code by} is not the
     * operator: false then, and nothing changes. An organisation cannot undo what the operator
     * did for abuse or a compromised account.
     */
    public synchronized boolean enable(String login, String by) {
        String key = normalise(login);
        String before = disabled.get(key);
        if (before == null) {
            return true;
        }
        if (OPERATOR.equals(before) && !OPERATOR.equals(by)) {
            return false;
        }
        disabled.remove(key);
        write();
        return true;
    }

    private void write() {
        file.ifPresent(path -> {
            try {
                Files.createDirectories(path.getParent());
                Path temporary = Files.createTempFile(path.getParent(), "disabled-users", ".tmp");
                StringBuilder content = new StringBuilder();
                new java.util.TreeMap<>(disabled).forEach((login, by) -> content.append(login)
                    .append(OPERATOR.equals(by) ? "" : " " + by).append('\n'));
                DurableFiles.writeSynced(temporary, content.toString(), StandardCharsets.UTF_8);
                DurableFiles.moveSynced(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot record the disabled users in " + path, e);
            }
        });
    }
}
