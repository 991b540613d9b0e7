package io.postino.matchers;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMatcher;

import io.postino.organisations.Organisations;
import io.postino.organisations.PostinoAttributes;

/**
 * Matches every recipient of a mail that one of the listed organisations sent (the
 * {@code postino.organisation} attribute that Postino sets when it accepts submitted mail; mail
 * received for an organisation from the Internet carries {@code postino.recipientOrganisation}
 * instead and does not match).
 *
 * <p>Condition: one or more organisation ids of organisations.xml, separated by commas. Required.
 * An id that organisations.xml does not define stops start-up (a typo would silently never match).</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.SenderOrganisationIs=acme,acme-marketing" class="SetMimeHeader">
 *     <name>X-Acme</name>
 *     <value>yes</value>
 * </mailet>
 * }</pre>
 */
public class SenderOrganisationIs extends GenericMatcher {
    private final Organisations organisations;
    private Set<String> ids;

    @Inject
    public SenderOrganisationIs(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public void init() throws MessagingException {
        String condition = getCondition() == null ? "" : getCondition();
        ids = Arrays.stream(condition.split(","))
            .map(String::trim)
            .filter(id -> !id.isEmpty())
            .collect(Collectors.toUnmodifiableSet());
        if (ids.isEmpty()) {
            throw new MessagingException("SenderOrganisationIs needs one or more organisation ids, e.g. SenderOrganisationIs=acme");
        }
        for (String id : ids) {
            if (organisations.current().byId(id).isEmpty()) {
                throw new MessagingException("SenderOrganisationIs: organisation '" + id + "' is not defined in organisations.xml");
            }
        }
    }

    @Override
    public Collection<MailAddress> match(Mail mail) {
        boolean belongs = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .filter(ids::contains)
            .isPresent();
        return belongs ? mail.getRecipients() : List.of();
    }
}
