package io.postino.server.delivery;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.postino.organisations.Route;

/**
 * The route of the mail RemoteDelivery is delivering on this thread (and whether it was received
 * with SMTPUTF8). James' RemoteDelivery takes
 * a mail from its queue, looks up its mail servers and talks to them on one thread, then marks
 * the mail done: the outgoing queue ({@code PacedMailQueue}) sets the route when the mail is
 * taken and clears it when it is done, and Postino's DNS service and SMTP transport read it in
 * between. JavaMail creates the transport itself, so this is how the route reaches it.
 */
public final class CurrentDelivery {
    private static final ThreadLocal<Route> ROUTE = new ThreadLocal<>();
    private static final ThreadLocal<Boolean> SMTPUTF8 = new ThreadLocal<>();
    private static final ConcurrentHashMap<String, AtomicInteger> TURNS = new ConcurrentHashMap<>();

    private CurrentDelivery() {
    }

    public static void set(Optional<Route> route) {
        if (route.isPresent()) {
            ROUTE.set(route.get());
        } else {
            ROUTE.remove();
        }
    }

    public static void clear() {
        ROUTE.remove();
        SMTPUTF8.remove();
    }

    /** Whether the client of the mail being delivered declared SMTPUTF8 (its headers may be UTF-8). */
    public static void smtpUtf8(boolean declared) {
        if (declared) {
            SMTPUTF8.set(true);
        } else {
            SMTPUTF8.remove();
        }
    }

    public static boolean smtpUtf8() {
        return SMTPUTF8.get() != null;
    }

    public static Optional<Route> route() {
        return Optional.ofNullable(ROUTE.get());
    }

    /** The route's source addresses in turn, one per mail; empty when it has none. */
    static Optional<Route.Source> nextSource(Route route) {
        if (route.sources().isEmpty()) {
            return Optional.empty();
        }
        int turn = TURNS.computeIfAbsent(route.name(), any -> new AtomicInteger()).getAndIncrement();
        return Optional.of(route.sources().get(Math.floorMod(turn, route.sources().size())));
    }
}
