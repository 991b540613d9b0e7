package io.postino.recipients;

import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * An address an organisation no longer sends to.
 *
 * @param organisation the organisation's id
 * @param address the suppressed address, lower case
 * @param reason why: {@code bounce} (a permanent delivery failure), {@code complaint} or {@code manual}
 * @param detail the remote server's reply or the admin's comment, may be empty
 * @param createdAt when it was added
 * @param expiresAt when it stops applying; empty: never
 */
public record Suppression(String organisation, String address, String reason, String detail, Instant createdAt,
                          Optional<Instant> expiresAt) {
    public static final String BOUNCE = "bounce";
    public static final String COMPLAINT = "complaint";
    public static final String MANUAL = "manual";

    public Suppression {
        address = normalise(address);
        detail = detail == null ? "" : detail;
    }

    /** Addresses are compared ignoring case, as almost every mail system does. */
    public static String normalise(String address) {
        return address.trim().toLowerCase(Locale.ROOT);
    }

    public boolean activeAt(Instant when) {
        return expiresAt.map(when::isBefore).orElse(true);
    }
}
