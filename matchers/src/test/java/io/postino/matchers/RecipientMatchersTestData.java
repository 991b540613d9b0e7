package io.postino.matchers;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.RelayDomain;

/** acme sends as acme.test and receives corp.acme.test on its own server. */
final class RecipientMatchersTestData {
    static final RelayDomain CORP = new RelayDomain("corp.acme.test", "10.0.0.5", 25);
    static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of())
            .withInbound(Optional.empty(), Optional.empty(), List.of(CORP)))));

    private RecipientMatchersTestData() {
    }
}
