package io.postino.organisations;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** One loaded, validated version of organisations.xml: immutable, safe to share between threads. */
public final class OrganisationsConfig {
    private final Map<String, Organisation> byId;
    private final Map<String, Organisation> byDomain;
    private final Map<String, Map.Entry<Organisation, RelayDomain>> relayDomains;
    private final Map<String, Route> routes;
    private final List<Limit> defaultLimits;
    private final Map<String, Pacing> destinations;

    /** Organisations without default limits or destination pacing. */
    public OrganisationsConfig(List<Organisation> organisations) {
        this(organisations, List.of(), List.of());
    }

    /** The caller guarantees unique ids, domains and destinations (the parser checks them). */
    public OrganisationsConfig(List<Organisation> organisations, List<Limit> defaultLimits, List<Pacing> destinations) {
        this(organisations, defaultLimits, destinations, List.of());
    }

    /** The caller also guarantees unique route names, and that every route referenced exists. */
    public OrganisationsConfig(List<Organisation> organisations, List<Limit> defaultLimits, List<Pacing> destinations, List<Route> routes) {
        Map<String, Route> named = new LinkedHashMap<>();
        routes.forEach(route -> named.put(route.name(), route));
        this.routes = named;
        this.defaultLimits = List.copyOf(defaultLimits);
        Map<String, Pacing> pacing = new LinkedHashMap<>();
        destinations.forEach(rule -> pacing.put(rule.domain(), rule));
        this.destinations = pacing;
        Map<String, Organisation> ids = new LinkedHashMap<>();
        Map<String, Organisation> domains = new LinkedHashMap<>();
        Map<String, Map.Entry<Organisation, RelayDomain>> relays = new LinkedHashMap<>();
        for (Organisation organisation : organisations) {
            ids.put(organisation.id(), organisation);
            organisation.domains().forEach(domain -> domains.put(domain, organisation));
            organisation.relayDomains().forEach(relay -> relays.put(relay.domain(), Map.entry(organisation, relay)));
        }
        this.byId = ids;
        this.byDomain = domains;
        this.relayDomains = relays;
    }

    /** The defaults of every user, organisation and client ({@code <limits>} at the top of the file). */
    public List<Limit> defaultLimits() {
        return defaultLimits;
    }

    public List<Pacing> destinations() {
        return List.copyOf(destinations.values());
    }

    /** The rule of the domain, else the {@code *} rule, else unlimited. */
    public Pacing pacingFor(String domain) {
        Pacing exact = destinations.get(domain.toLowerCase(Locale.ROOT));
        if (exact != null) {
            return exact;
        }
        return destinations.getOrDefault(Pacing.ANY_DOMAIN, Pacing.UNLIMITED);
    }

    /**
     * Limits of one user: the defaults, replaced per period and unit by its organisation's
     * {@code <user>} limits, replaced in turn by the limits given for that login.
     */
    public List<Limit> limitsOfUser(Organisation organisation, String login) {
        return merge(scoped(defaultLimits, Limit.Scope.USER),
            scoped(organisation.limits(), Limit.Scope.USER),
            organisation.userLimits().getOrDefault(login.toLowerCase(Locale.ROOT), List.of()));
    }

    /** Limits and quota of one organisation: the defaults, replaced per period and unit by its own. */
    public List<Limit> limitsOfOrganisation(Organisation organisation) {
        return merge(scoped(defaultLimits, Limit.Scope.ORGANISATION), scoped(organisation.limits(), Limit.Scope.ORGANISATION), List.of());
    }

    /** Limits of one unauthenticated client address. */
    public List<Limit> limitsOfClient() {
        return scoped(defaultLimits, Limit.Scope.CLIENT);
    }

    private static List<Limit> scoped(List<Limit> limits, Limit.Scope scope) {
        return limits.stream().filter(limit -> limit.scope() == scope).collect(Collectors.toList());
    }

    @SafeVarargs
    private static List<Limit> merge(List<Limit>... layers) {
        Map<String, Limit> merged = new LinkedHashMap<>();
        for (List<Limit> layer : layers) {
            layer.forEach(limit -> merged.put(limit.period() + "/" + limit.unit(), limit));
        }
        return List.copyOf(merged.values());
    }

    public List<Organisation> organisations() {
        return List.copyOf(byId.values());
    }

    public Optional<Organisation> byId(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    public Optional<Organisation> owningDomain(String domain) {
        return Optional.ofNullable(byDomain.get(domain.toLowerCase(Locale.ROOT)));
    }

    public List<Route> routes() {
        return List.copyOf(routes.values());
    }

    public Optional<Route> route(String name) {
        return Optional.ofNullable(routes.get(name));
    }

    /** The route an organisation's mail to this recipient domain takes; empty: the server's default. */
    public Optional<Route> routeFor(Organisation organisation, String domain) {
        return organisation.routeTo(domain).flatMap(this::route);
    }

    /** The relay domain of that name and the organisation it belongs to. */
    public Optional<Map.Entry<Organisation, RelayDomain>> relayDomain(String domain) {
        return Optional.ofNullable(relayDomains.get(domain.toLowerCase(Locale.ROOT)));
    }

    /**
     * The organisation that answers for a domain: the one sending as it or receiving for it
     * (relay domain).
     */
    public Optional<Organisation> answeringFor(String domain) {
        return owningDomain(domain).or(() -> relayDomain(domain).map(Map.Entry::getKey));
    }

    /** The organisation of a user is the one that owns the domain of its login. */
    public Optional<Organisation> ofUser(String login) {
        int at = login.lastIndexOf('@');
        if (at < 0) {
            return Optional.empty();
        }
        return owningDomain(login.substring(at + 1));
    }

    /** Trusted networks of different organisations never overlap, so at most one matches. */
    public Optional<Organisation> trustingClient(InetAddress client) {
        return byId.values().stream().filter(organisation -> organisation.trusts(client)).findFirst();
    }
}
