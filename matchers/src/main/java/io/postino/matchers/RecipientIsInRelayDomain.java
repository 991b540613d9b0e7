package io.postino.matchers;

import java.util.Collection;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisations;

/**
 * Matches the recipients in a relay domain of any organisation ({@code <relayDomain>} in
 * organisations.xml): inbound mail for a mail server of the organisation's own.
 *
 * <p>No condition.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.RecipientIsInRelayDomain" class="ToProcessor">
 *     <processor>inbound</processor>
 * </mailet>
 * }</pre>
 */
public class RecipientIsInRelayDomain extends WithoutCondition {
    private final Organisations organisations;

    @Inject
    public RecipientIsInRelayDomain(Organisations organisations) {
        this.organisations = organisations;
    }


    @Override
    public Collection<MailAddress> match(Mail mail) {
        return mail.getRecipients().stream()
            .filter(recipient -> organisations.current().relayDomain(recipient.getDomain().asString()).isPresent())
            .collect(Collectors.toList());
    }
}
