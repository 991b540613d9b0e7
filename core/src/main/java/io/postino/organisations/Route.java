package io.postino.organisations;

import java.util.List;
import java.util.Optional;

/**
 * A named road out, declared in organisations.xml {@code <routes>}: direct delivery to the
 * recipients' MX hosts ({@code mx}) or through a smarthost, from one of its source addresses with
 * that address's HELO name.
 *
 * @param name unique name, referenced by organisations' {@code <routing>}
 * @param kind mx or smarthost
 * @param host the smarthost's host name or address; empty for mx
 * @param port the smarthost's port (25 when not given); 0 for mx
 * @param tls the TLS policy
 * @param username the smarthost's AUTH login, if it needs one
 * @param password its password
 * @param sources addresses to connect from, each with its HELO name, used in turn; empty: the
 *                machine's default address and the server's HELO name
 */
public record Route(String name, Kind kind, Optional<String> host, int port, Tls tls, Optional<String> username,
                    Optional<String> password, List<Source> sources) {
    public enum Kind { MX, SMARTHOST }

    /**
     * NONE: never STARTTLS. OPPORTUNISTIC: STARTTLS when offered (the default). REQUIRED: STARTTLS
     * or no delivery (a temporary failure). IMPLICIT: TLS from the first byte (port 465), smarthost only.
     */
    public enum Tls { NONE, OPPORTUNISTIC, REQUIRED, IMPLICIT }

    /** A local address to connect from and the HELO name that goes with it. */
    public record Source(String address, String helo) {
    }

    public Route {
        sources = List.copyOf(sources);
    }
}
