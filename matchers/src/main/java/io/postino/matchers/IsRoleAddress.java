package io.postino.matchers;

import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisations;

/**
 * Matches the recipients {@code postmaster@} and {@code abuse@} of a domain Postino serves (one of
 * James' domains, or a domain or relay domain of an organisation): the addresses every mail domain
 * must answer for (RFC 5321 §4.5.1, RFC 2142), which {@code RouteRoleAddresses} delivers.
 *
 * <p>No condition.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsRoleAddress" class="io.postino.mailets.RouteRoleAddresses"/>
 * }</pre>
 */
public class IsRoleAddress extends WithoutCondition {
    /** The local parts this matcher matches. */
    public static final Set<String> LOCAL_PARTS = Set.of("postmaster", "abuse");

    private final Organisations organisations;

    @Inject
    public IsRoleAddress(Organisations organisations) {
        this.organisations = organisations;
    }


    @Override
    public Collection<MailAddress> match(Mail mail) {
        return mail.getRecipients().stream()
            .filter(recipient -> LOCAL_PARTS.contains(recipient.getLocalPart().toLowerCase(Locale.ROOT)))
            .filter(recipient -> organisations.current().answeringFor(recipient.getDomain().asString()).isPresent()
                || getMailetContext().isLocalServer(recipient.getDomain()))
            .collect(Collectors.toList());
    }
}
