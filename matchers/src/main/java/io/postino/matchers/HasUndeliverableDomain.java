package io.postino.matchers;

import java.util.Collection;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisations;
import io.postino.recipients.RecipientDomains;

/**
 * Matches the recipients whose domain cannot receive mail, as DNS says today: it does not exist,
 * has a null MX (RFC 7505), or has neither MX nor A/AAAA. A DNS timeout matches nothing (the
 * delivery will retry). Relay domains are not looked up: their server is known.
 *
 * <p>No condition. Uses the DNS settings and cache of conf/recipients.properties.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.HasUndeliverableDomain" class="Bounce">
 *     <passThrough>false</passThrough>
 * </mailet>
 * }</pre>
 */
public class HasUndeliverableDomain extends WithoutCondition {
    private final RecipientDomains domains;
    private final Organisations organisations;

    @Inject
    public HasUndeliverableDomain(RecipientDomains domains, Organisations organisations) {
        this.domains = domains;
        this.organisations = organisations;
    }


    @Override
    public Collection<MailAddress> match(Mail mail) {
        return mail.getRecipients().stream()
            .filter(recipient -> organisations.current().relayDomain(recipient.getDomain().asString()).isEmpty())
            .filter(recipient -> domains.check(recipient.getDomain().asString()).isPermanentFailure())
            .collect(Collectors.toList());
    }
}
