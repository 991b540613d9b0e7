package io.postino.server.trace;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.commons.configuration2.HierarchicalConfiguration;
import org.apache.commons.configuration2.tree.ImmutableNode;

import io.postino.organisations.Cidr;

/**
 * One {@code <smtpserver>} of conf/smtpserver.xml, as the server loaded it: what a trace needs to
 * answer like that listener (its port, TLS, authorised networks, AUTH announcement, size limit,
 * identity check) and its {@code <handlerchain>} in order.
 */
record Listener(String name, int port, boolean implicitTls, boolean startTls, List<Cidr> authorisedNetworks, String announce,
                long maxMessageSize, boolean verifyIdentity, List<Handler> handlers) {

    /** A {@code <handler class="...">} and its own configuration (what James hands to its init). */
    record Handler(String className, HierarchicalConfiguration<ImmutableNode> configuration) {
    }

    /**
     * The listener a trace for {@code port} stands for: the one bound to that port, else, for the
     * standard ports 25, 587 and 465, the relay, submission and implicit-TLS listener whatever
     * port they are bound to (POSTINO_SMTP_PORT, POSTINO_SUBMISSION_PORT, POSTINO_SMTPS_PORT).
     */
    static Optional<Listener> forPort(HierarchicalConfiguration<ImmutableNode> smtpservers, int port) {
        List<Listener> listeners = new ArrayList<>();
        for (HierarchicalConfiguration<ImmutableNode> server : smtpservers.configurationsAt("smtpserver")) {
            if (server.getBoolean("[@enabled]", true)) {
                listeners.add(of(server));
            }
        }
        Optional<Listener> bound = listeners.stream().filter(listener -> listener.port() == port).findFirst();
        if (bound.isPresent()) {
            return bound;
        }
        String property = switch (port) {
            case 25 -> "postino.smtp.port";
            case 587 -> "postino.submission.port";
            case 465 -> "postino.smtps.port";
            default -> null;
        };
        if (property == null || System.getProperty(property) == null) {
            return Optional.empty();
        }
        int actual = Integer.parseInt(System.getProperty(property));
        return listeners.stream().filter(listener -> listener.port() == actual).findFirst();
    }

    private static Listener of(HierarchicalConfiguration<ImmutableNode> server) {
        String bind = server.getString("bind", "0.0.0.0:25");
        int port = Integer.parseInt(bind.substring(bind.lastIndexOf(':') + 1).trim());
        List<Cidr> networks = new ArrayList<>();
        for (String network : server.getString("authorizedAddresses", "").split("[,\\s]+")) {
            if (!network.isBlank()) {
                networks.add(Cidr.parse(network));
            }
        }
        List<Handler> handlers = new ArrayList<>();
        for (HierarchicalConfiguration<ImmutableNode> handler : server.configurationsAt("handlerchain.handler")) {
            handlers.add(new Handler(handler.getString("[@class]"), handler));
        }
        return new Listener(server.getString("jmxName", "smtpserver"), port, server.getBoolean("tls[@socketTLS]", false),
            server.getBoolean("tls[@startTLS]", false), List.copyOf(networks), server.getString("auth.announce", "never").trim().toLowerCase(Locale.ROOT),
            server.getLong("maxmessagesize", 0) * 1024, server.getBoolean("verifyIdentity", false), List.copyOf(handlers));
    }

    static HierarchicalConfiguration<ImmutableNode> empty() {
        return new BaseHierarchicalConfiguration();
    }

    boolean isAuthorised(InetAddress client) {
        return authorisedNetworks.stream().anyMatch(network -> network.contains(client));
    }

    /** What James' {@code auth.announce} means: always, never, or forUnauthorizedAddresses. */
    boolean announcesAuth(InetAddress client) {
        return switch (announce) {
            case "always", "true", "announce" -> true;
            case "forunauthorizedaddresses" -> !isAuthorised(client);
            default -> false;
        };
    }
}
