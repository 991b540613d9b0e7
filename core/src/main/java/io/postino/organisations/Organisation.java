package io.postino.organisations;

import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A tenant: the domains it sends as, the networks trusted to send for it without AUTH, and the
 * identity policy of its users. Domains and addresses are kept in lower case.
 */
public final class Organisation {
    private final String id;
    private final String name;
    private final Set<String> domains;
    private final List<Cidr> trustedNetworks;
    private final IdentityPolicy identityPolicy;
    private final Map<String, Set<String>> allowedAddresses;
    private final List<Limit> limits;
    private final Map<String, List<Limit>> userLimits;
    private final Optional<String> postmaster;
    private final Optional<String> abuse;
    private final List<RelayDomain> relayDomains;
    private final Optional<String> route;
    private final Map<String, String> routeOverrides;
    private final boolean dkimRequired;
    private final Optional<MailboxServer> mailboxServer;

    /** An organisation without limits of its own (the defaults apply). */
    public Organisation(String id, String name, Set<String> domains, List<Cidr> trustedNetworks,
                        IdentityPolicy identityPolicy, Map<String, Set<String>> allowedAddresses) {
        this(id, name, domains, trustedNetworks, identityPolicy, allowedAddresses, List.of(), Map.of());
    }

    /**
     * @param limits organisation-scope limits and quota, and user-scope limits for all its users
     * @param userLimits login (lower case) to user-scope limits that override the others for that user
     */
    public Organisation(String id, String name, Set<String> domains, List<Cidr> trustedNetworks,
                        IdentityPolicy identityPolicy, Map<String, Set<String>> allowedAddresses,
                        List<Limit> limits, Map<String, List<Limit>> userLimits) {
        this.id = id;
        this.name = name;
        this.domains = Set.copyOf(domains);
        this.trustedNetworks = List.copyOf(trustedNetworks);
        this.identityPolicy = identityPolicy;
        this.allowedAddresses = Map.copyOf(allowedAddresses);
        this.limits = List.copyOf(limits);
        this.userLimits = Map.copyOf(userLimits);
        this.postmaster = Optional.empty();
        this.abuse = Optional.empty();
        this.relayDomains = List.of();
        this.route = Optional.empty();
        this.routeOverrides = Map.of();
        this.dkimRequired = false;
        this.mailboxServer = Optional.empty();
    }

    private Organisation(Organisation base, Optional<String> postmaster, Optional<String> abuse, List<RelayDomain> relayDomains,
                         Optional<String> route, Map<String, String> routeOverrides, boolean dkimRequired,
                         Optional<MailboxServer> mailboxServer) {
        this.id = base.id;
        this.name = base.name;
        this.domains = base.domains;
        this.trustedNetworks = base.trustedNetworks;
        this.identityPolicy = base.identityPolicy;
        this.allowedAddresses = base.allowedAddresses;
        this.limits = base.limits;
        this.userLimits = base.userLimits;
        this.postmaster = postmaster;
        this.abuse = abuse;
        this.relayDomains = List.copyOf(relayDomains);
        this.route = route;
        this.routeOverrides = Map.copyOf(routeOverrides);
        this.dkimRequired = dkimRequired;
        this.mailboxServer = mailboxServer;
    }

    /**
     * This organisation with what it receives: where {@code postmaster@} and {@code abuse@} of its
     * domains go, and its relay domains.
     */
    public Organisation withInbound(Optional<String> postmaster, Optional<String> abuse, List<RelayDomain> relayDomains) {
        return new Organisation(this, postmaster, abuse, relayDomains, route, routeOverrides, dkimRequired, mailboxServer);
    }

    /**
     * This organisation with its way out: its default route, routes per destination domain (lower
     * case), and whether its mail must be DKIM-signed.
     */
    public Organisation withDelivery(Optional<String> route, Map<String, String> routeOverrides, boolean dkimRequired) {
        return new Organisation(this, postmaster, abuse, relayDomains, route, routeOverrides, dkimRequired, mailboxServer);
    }

    /** This organisation with the mailbox server its people read their mail on, if it declared one. */
    public Organisation withMailboxServer(Optional<MailboxServer> mailboxServer) {
        return new Organisation(this, postmaster, abuse, relayDomains, route, routeOverrides, dkimRequired, mailboxServer);
    }

    /** Its own IMAP or POP3 server ({@code <mailboxServer>}), named by the client autoconfiguration documents. */
    public Optional<MailboxServer> mailboxServer() {
        return mailboxServer;
    }

    /** The route of its mail, by name; empty: the server's default (MX, or POSTINO_SMARTHOST). */
    public Optional<String> route() {
        return route;
    }

    /** Destination domain (lower case) to the name of the route its mail takes there. */
    public Map<String, String> routeOverrides() {
        return routeOverrides;
    }

    /** The name of the route for mail to this recipient domain, if the organisation chose one. */
    public Optional<String> routeTo(String domain) {
        return Optional.ofNullable(routeOverrides.get(domain.toLowerCase(Locale.ROOT))).or(() -> route);
    }

    /** Mail of a sender domain without a DKIM key is refused rather than sent unsigned. */
    public boolean dkimRequired() {
        return dkimRequired;
    }

    public String id() {
        return id;
    }

    public String name() {
        return name;
    }

    public Set<String> domains() {
        return domains;
    }

    public List<Cidr> trustedNetworks() {
        return trustedNetworks;
    }

    public IdentityPolicy identityPolicy() {
        return identityPolicy;
    }

    /** Login (lower case) to the extra envelope senders that user may use. */
    public Map<String, Set<String>> allowedAddresses() {
        return allowedAddresses;
    }

    /** Limits declared in this organisation's {@code <limits>}, except the per-login ones. */
    public List<Limit> limits() {
        return limits;
    }

    /** Login (lower case) to the limits declared for that user alone. */
    public Map<String, List<Limit>> userLimits() {
        return userLimits;
    }

    /** Where mail for {@code postmaster@} its domains goes; empty: to the server's postmaster. */
    public Optional<String> postmaster() {
        return postmaster;
    }

    /** Where mail for {@code abuse@} its domains goes; empty: to the server's postmaster. */
    public Optional<String> abuse() {
        return abuse;
    }

    /** Inbound domains whose mailboxes live on the organisation's own server. */
    public List<RelayDomain> relayDomains() {
        return relayDomains;
    }

    public boolean ownsDomain(String domain) {
        return domains.contains(domain.toLowerCase(Locale.ROOT));
    }

    public boolean trusts(InetAddress client) {
        return trustedNetworks.stream().anyMatch(network -> network.contains(client));
    }

    public Set<String> allowedAddressesOf(String login) {
        return allowedAddresses.getOrDefault(login.toLowerCase(Locale.ROOT), Set.of());
    }
}
