package io.postino.server.smtp;

import java.util.List;
import java.util.Map;
import java.util.Set;

import io.postino.organisations.Cidr;
import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;

/** acme (exact, trusts 198.51.100.0/24) and beta (domain), as the hook tests use them. */
final class HooksTestData {
    static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(Cidr.parse("198.51.100.0/24")), IdentityPolicy.EXACT, Map.of()),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.DOMAIN, Map.of()))));

    private HooksTestData() {
    }
}
