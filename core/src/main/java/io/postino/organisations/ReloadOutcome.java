package io.postino.organisations;

import java.time.Instant;
import java.util.Optional;

/**
 * What the last (re)load of organisations.xml did: applied, or refused with the problem while
 * the previous configuration kept running.
 */
public record ReloadOutcome(Instant at, boolean applied, int organisations, Optional<OrganisationsException> problem) {
    static ReloadOutcome applied(OrganisationsConfig config) {
        return new ReloadOutcome(Instant.now(), true, config.organisations().size(), Optional.empty());
    }

    static ReloadOutcome refused(OrganisationsConfig kept, OrganisationsException problem) {
        return new ReloadOutcome(Instant.now(), false, kept.organisations().size(), Optional.of(problem));
    }
}
