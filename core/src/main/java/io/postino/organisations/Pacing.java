package io.postino.organisations;

import java.util.OptionalInt;

/**
 * How fast Postino delivers to one destination domain ({@code *}: any domain without a rule of
 * its own): at most {@code connections} deliveries in progress at once and
 * {@code messagesPerMinute} delivery attempts per minute, evenly spaced. Absent values: unlimited.
 */
public record Pacing(String domain, OptionalInt connections, OptionalInt messagesPerMinute) {
    public static final String ANY_DOMAIN = "*";
    public static final Pacing UNLIMITED = new Pacing(ANY_DOMAIN, OptionalInt.empty(), OptionalInt.empty());
}
