package io.postino.server.smtp.listener;

import java.util.regex.Pattern;

/**
 * The connection limits an operator sets, read strictly: James takes a malformed
 * {@code connectionLimit} for "no limit" (after an ERROR line), and {@code Integer.getInteger}
 * takes a malformed {@code -Dpostino.smtp.maxConnections} for the default, while 0 there would
 * silently refuse every client. Each method throws {@link IllegalArgumentException} saying what is
 * wrong; the caller adds the file and element.
 */
public final class ConnectionLimits {
    /** The JVM property that sets the connections of all listeners together. */
    public static final String PROCESS_PROPERTY = "postino.smtp.maxConnections";
    static final int DEFAULT_PROCESS_LIMIT = 4000;
    private static final Pattern WHOLE_NUMBER = Pattern.compile("[0-9]{1,9}");

    private ConnectionLimits() {
    }

    /** {@code connectionLimit} or {@code connectionLimitPerIP}: a whole number, 0 for no limit. */
    public static int listenerLimit(String element, String raw) {
        String value = raw.trim();
        if (!WHOLE_NUMBER.matcher(value).matches()) {
            throw new IllegalArgumentException("<" + element + "> must be a whole number of connections from 0 (no limit) to 999999999, got '"
                + raw + "'");
        }
        return Integer.parseInt(value);
    }

    /** {@code -Dpostino.smtp.maxConnections}, unset for the default: at least 1. */
    public static int processLimit(String raw) {
        if (raw == null) {
            return DEFAULT_PROCESS_LIMIT;
        }
        String value = raw.trim();
        if (!WHOLE_NUMBER.matcher(value).matches() || Integer.parseInt(value) < 1) {
            throw new IllegalArgumentException("-D" + PROCESS_PROPERTY + " (in JAVA_OPTS) must be a whole number of connections from 1 to "
                + "999999999 (default " + DEFAULT_PROCESS_LIMIT + "), got '" + raw + "'" + (value.equals("0") || value.startsWith("-")
                ? ": no SMTP client could connect" : ""));
        }
        return Integer.parseInt(value);
    }
}
