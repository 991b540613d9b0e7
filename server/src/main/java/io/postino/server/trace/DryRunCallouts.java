package io.postino.server.trace;

import java.util.Optional;

import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.RelayRecipients;

/**
 * The recipient verification a trace gives {@code VerifyRecipients} instead of the SMTP callout:
 * it contacts nobody, remembers which server would have been asked, and answers "accepted" so
 * that the trace goes on as for a mailbox that exists. Not shared between traces.
 */
final class DryRunCallouts implements RelayRecipients {
    private String asked;

    @Override
    public CalloutVerdict verify(RelayDomain relayDomain, String address) {
        asked = relayDomain.hostAndPort();
        return CalloutVerdict.accepted("not asked (dry run)");
    }

    /** The server the last verification would have asked, once. */
    Optional<String> drain() {
        Optional<String> last = Optional.ofNullable(asked);
        asked = null;
        return last;
    }
}
