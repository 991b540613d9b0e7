package io.postino.matchers;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.RelayRecipients;

/**
 * Matches the recipients of relay domains that the organisation's own server refuses (5xx to an
 * SMTP callout). Unknown answers (server unreachable, 4xx) match nothing: delivery will retry.
 *
 * <p>No condition. Uses the callout settings and cache of conf/recipients.properties.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsUnknownRelayRecipient" class="Bounce">
 *     <passThrough>false</passThrough>
 * </mailet>
 * }</pre>
 */
public class IsUnknownRelayRecipient extends WithoutCondition {
    private final RelayRecipients relayRecipients;
    private final Organisations organisations;

    @Inject
    public IsUnknownRelayRecipient(RelayRecipients relayRecipients, Organisations organisations) {
        this.relayRecipients = relayRecipients;
        this.organisations = organisations;
    }


    @Override
    public Collection<MailAddress> match(Mail mail) {
        return mail.getRecipients().stream()
            .filter(recipient -> {
                Optional<Map.Entry<Organisation, RelayDomain>> relay = organisations.current().relayDomain(recipient.getDomain().asString());
                return relay.isPresent()
                    && relayRecipients.verify(relay.get().getValue(), recipient.asString()).outcome() == CalloutVerdict.Outcome.REFUSED;
            })
            .collect(Collectors.toList());
    }
}
