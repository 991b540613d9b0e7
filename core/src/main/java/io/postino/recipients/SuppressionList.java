package io.postino.recipients;

import java.util.List;
import java.util.Optional;

/**
 * Each organisation's suppressed recipients, kept in the database. Every method throws
 * {@link UnavailableException} when the list cannot be read or written.
 */
public interface SuppressionList {
    /** The list cannot be read or written just now; callers answer with a temporary failure. */
    class UnavailableException extends RuntimeException {
        public UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The suppression of this address for this organisation, if one is in force (not expired). */
    Optional<Suppression> find(String organisation, String address);

    /** Adds the suppression, or replaces the one already there for that address. */
    void add(Suppression suppression);

    /** @return false when the address was not suppressed */
    boolean remove(String organisation, String address);

    /** Suppressions in force, by address, a page at a time. */
    List<Suppression> list(String organisation, int offset, int limit);
}
