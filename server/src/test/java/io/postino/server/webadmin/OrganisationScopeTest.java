package io.postino.server.webadmin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.OrganisationsConfig;

class OrganisationScopeTest {
    private static final OrganisationsConfig CONFIG = new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test", "acme.example", "kilo.test"), List.of(), IdentityPolicy.EXACT, Map.of()),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.EXACT, Map.of())));

    private static boolean acme(String method, String path) {
        return OrganisationScope.allows("acme", CONFIG, method, path, Optional.empty());
    }

    @Test
    void itsOwnOrganisationAndUsers() {
        assertThat(acme("GET", "/organisations/acme")).isTrue();
        assertThat(acme("GET", "/organisations/acme/users")).isTrue();
        assertThat(acme("GET", "/organisations/acme/autoconfig-records")).isTrue();
        assertThat(acme("GET", "/organisations/beta/autoconfig-records")).isFalse();
        assertThat(acme("DELETE", "/organisations/acme/autoconfig-records")).isFalse();
        assertThat(acme("GET", "/organisations/acme/webhooks")).isTrue();
        assertThat(acme("GET", "/organisations/beta/webhooks")).isFalse();
        assertThat(acme("PUT", "/organisations/acme/webhooks")).isFalse();
        assertThat(acme("GET", "/mailQueueSummary")).isFalse();
        assertThat(acme("POST", "/organisations/acme")).isFalse();
        assertThat(acme("GET", "/organisations")).isFalse();
        assertThat(acme("POST", "/organisations/reload")).isFalse();
    }

    @Test
    void itsOwnScopeButNotTheServersQueueHolds() {
        assertThat(acme("GET", "/whoami")).isTrue();
        assertThat(acme("DELETE", "/whoami")).isFalse();
        assertThat(acme("GET", "/whoami/x")).isFalse();
        assertThat(acme("GET", "/mailQueueHolds")).isFalse();
        assertThat(acme("PUT", "/mailQueueHolds/outgoing")).isFalse();
        assertThat(acme("PUT", "/mailQueueHolds/domains/acme.test")).as("a destination hold stops every organisation's mail").isFalse();
        assertThat(acme("DELETE", "/mailQueueHolds/routes/eu")).isFalse();
    }

    @Test
    void disablesAndEnablesItsOwnUsersOnly() {
        assertThat(acme("PUT", "/disabledUsers/alice@acme.test")).isTrue();
        assertThat(acme("DELETE", "/disabledUsers/alice@kilo.test")).isTrue();
        assertThat(acme("PUT", "/disabledUsers/bob@beta.test")).isFalse();
        assertThat(acme("DELETE", "/disabledUsers/bob@beta.test")).isFalse();
        assertThat(acme("PUT", "/disabledUsers/bob%40beta.test@acme.test")).isFalse();
        assertThat(acme("GET", "/disabledUsers")).isFalse();
        assertThat(acme("GET", "/disabledUsers/alice@acme.test")).isFalse();
    }

    @Test
    void notAnotherOrganisationsData() {
        assertThat(acme("GET", "/organisations/beta")).isFalse();
        assertThat(acme("GET", "/organisations/beta/suppressions")).isFalse();
        assertThat(acme("PUT", "/users/bob@beta.test")).isFalse();
        assertThat(acme("GET", "/dkim/domains/beta.test")).isFalse();
        assertThat(acme("GET", "/ratelimits/organisations/beta")).isFalse();
        assertThat(acme("GET", "/ratelimits/users/bob@beta.test")).isFalse();
        assertThat(OrganisationScope.allows("acme", CONFIG, "GET", "/tracking", Optional.of("beta"))).isFalse();
    }

    @Test
    void itsSuppressionsUsersDkimUsageAndTracking() {
        assertThat(acme("GET", "/organisations/acme/suppressions")).isTrue();
        assertThat(acme("PUT", "/organisations/acme/suppressions/x+tag@y.test")).isTrue();
        assertThat(acme("DELETE", "/organisations/acme/suppressions/x@y.test")).isTrue();
        assertThat(acme("PUT", "/users/alice@acme.test")).isTrue();
        assertThat(acme("PUT", "/users/alice@acme.example")).isTrue();
        assertThat(acme("DELETE", "/users/alice@acme.test")).isTrue();
        assertThat(acme("GET", "/dkim/domains/acme.test")).isTrue();
        assertThat(acme("POST", "/dkim/domains/acme.test/keys")).isTrue();
        assertThat(acme("GET", "/ratelimits/organisations/acme")).isTrue();
        assertThat(acme("GET", "/ratelimits/users/alice@acme.test")).isTrue();
        assertThat(OrganisationScope.allows("acme", CONFIG, "GET", "/tracking", Optional.of("acme"))).isTrue();
    }

    /** The path comes decoded: what Jetty decoded, strips or resolves is gone, and nothing is decoded again. */
    @Test
    void anotherOrganisationsUserUnderAnySpellingIsRefused() {
        for (String method : List.of("PUT", "DELETE", "HEAD")) {
            for (String login : List.of("carol@beta.test;x@acme.test", "carol@beta.test@acme.test", "carol@beta.test%40acme.test",
                "carol%40beta.test@acme.test", "carol@beta.test\\@acme.test", "carol@beta.test/x@acme.test", "carol@BETA.TEST",
                "carol@beta.test+acme.test", "@acme.test", "carol", "carol@")) {
                assertThat(acme(method, "/users/" + login)).as(method + " " + login).isFalse();
                assertThat(acme("GET", "/ratelimits/users/" + login)).as("usage of " + login).isFalse();
            }
        }
        assertThat(acme("PUT", "/users/carol@beta.test/../alice@acme.test")).isFalse();
        assertThat(acme("PUT", "/users/./alice@acme.test")).isFalse();
        assertThat(acme("PUT", "/users//alice@acme.test")).isFalse();
    }

    @Test
    void itsOwnDomainsMatchInAnyCaseButOnlyAsTheyAreSpelt() {
        assertThat(acme("PUT", "/users/alice@ACME.Test")).isTrue();
        assertThat(acme("PUT", "/users/alice+tag@acme.test")).isTrue();
        assertThat(acme("GET", "/dkim/domains/ACME.TEST")).isTrue();
        assertThat(acme("PUT", "/users/alice@acme.test.")).as("trailing dot").isFalse();
        assertThat(acme("GET", "/dkim/domains/acme.test.")).as("trailing dot").isFalse();
        assertThat(acme("GET", "/dkim/domains/acme.test;x")).isFalse();
        // The Kelvin sign lower-cases to 'k': only ASCII is compared.
        assertThat(acme("PUT", "/users/alice@\u212Ailo.test")).isFalse();
        assertThat(acme("GET", "/dkim/domains/\u212Ailo.test")).isFalse();
        assertThat(acme("PUT", "/users/alice@kilo.test")).isTrue();
    }

    @Test
    void itsOwnQueuesOnly() {
        assertThat(OrganisationScope.allows("acme", CONFIG, "GET", "/mailQueueSummary", Optional.of("acme"))).isTrue();
        assertThat(OrganisationScope.allows("acme", CONFIG, "GET", "/mailQueueSummary", Optional.of("beta"))).isFalse();
        assertThat(OrganisationScope.allows("acme", CONFIG, "GET", "/mailQueueSummary", Optional.empty())).isFalse();
        assertThat(OrganisationScope.allows("acme", CONFIG, "DELETE", "/mailQueueSummary/mails", Optional.of("acme"))).isTrue();
        assertThat(OrganisationScope.allows("acme", CONFIG, "DELETE", "/mailQueueSummary/mails", Optional.empty())).isFalse();
        assertThat(OrganisationScope.allows("acme", CONFIG, "DELETE", "/mailQueueSummary", Optional.of("acme"))).isFalse();
        assertThat(acme("PUT", "/mailQueueHolds/outgoing.acme")).isTrue();
        assertThat(acme("DELETE", "/mailQueueHolds/spool.acme")).isTrue();
        assertThat(acme("PUT", "/mailQueueHolds/outgoing.beta")).isFalse();
        assertThat(acme("PUT", "/mailQueueHolds/outgoing")).isFalse();
        assertThat(acme("PUT", "/mailQueueHolds/domains/example.net")).isFalse();
        assertThat(acme("GET", "/mailQueueHolds")).isFalse();
        assertThat(acme("GET", "/mailQueues/outgoing.acme/mails")).isTrue();
        assertThat(acme("PATCH", "/mailQueues/outgoing.acme/mails")).isTrue();
        assertThat(acme("DELETE", "/mailQueues/spool.acme/mails")).isTrue();
        assertThat(acme("GET", "/mailQueues/outgoing.acme")).isTrue();
        assertThat(acme("DELETE", "/mailQueues/outgoing.acme")).isFalse();
        assertThat(acme("GET", "/mailQueues/outgoing.beta/mails")).isFalse();
        assertThat(acme("GET", "/mailQueues/outgoing.acme.beta/mails")).isFalse();
        assertThat(acme("DELETE", "/mailQueues/outgoing/mails")).isFalse();
    }

    @Test
    void trackingWithoutItsOrganisationIsRefused() {
        assertThat(acme("GET", "/tracking")).isFalse();
    }

    @Test
    void notTheServersOwnRoutes() {
        for (String path : List.of("/domains", "/domains/acme.test", "/users", "/mailQueues", "/mailRepositories", "/tokens",
            "/authentication/blocks", "/metrics", "/healthcheck", "/servers", "/address/aliases", "/tasks")) {
            assertThat(acme("GET", path)).as(path).isFalse();
        }
        assertThat(acme("POST", "/users/alice@acme.test/verify")).isFalse();
        assertThat(acme("GET", "/users/alice@acme.test/../../domains")).isFalse();
    }

    @Test
    void aRemovedOrganisationsTokenMayDoNothing() {
        assertThat(OrganisationScope.allows("gone", CONFIG, "GET", "/organisations/gone", Optional.empty())).isFalse();
    }
}
