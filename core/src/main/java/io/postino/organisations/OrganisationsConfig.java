package io.postino.organisations;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** One loaded, validated version of organisations.xml: immutable, safe to share between threads. */
public final class OrganisationsConfig {
    public static final OrganisationsConfig EMPTY = new OrganisationsConfig(List.of());

    private final Map<String, Organisation> byId;
    private final Map<String, Organisation> byDomain;

    /** The caller guarantees unique ids and domains (the parser checks them). */
    public OrganisationsConfig(List<Organisation> organisations) {
        Map<String, Organisation> ids = new LinkedHashMap<>();
        Map<String, Organisation> domains = new LinkedHashMap<>();
        for (Organisation organisation : organisations) {
            ids.put(organisation.id(), organisation);
            organisation.domains().forEach(domain -> domains.put(domain, organisation));
        }
        this.byId = ids;
        this.byDomain = domains;
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
