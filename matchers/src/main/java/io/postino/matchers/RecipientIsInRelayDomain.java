package io.postino.matchers;

import java.util.Collection;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMatcher;

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
public class RecipientIsInRelayDomain extends GenericMatcher {
    private final Organisations organisations;

    @Inject
    public RecipientIsInRelayDomain(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public void init() throws MessagingException {
        if (getCondition() != null && !getCondition().isBlank()) {
            throw new MessagingException("RecipientIsInRelayDomain takes no condition, got '" + getCondition() + "'");
        }
    }

    @Override
    public Collection<MailAddress> match(Mail mail) {
        return mail.getRecipients().stream()
            .filter(recipient -> organisations.current().relayDomain(recipient.getDomain().asString()).isPresent())
            .collect(Collectors.toList());
    }
}
