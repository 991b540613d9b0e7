package io.postino.matchers;

import java.util.Collection;
import java.util.List;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMatcher;

import io.postino.organisations.PostinoAttributes;

/**
 * Matches every recipient of a mail whose sender logged in with SMTP AUTH (the
 * {@code postino.user} attribute, or James' {@code org.apache.james.SMTPAuthUser}). Mail from a
 * trusted network, the operator's networks or the Internet does not match.
 *
 * <p>No condition.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsAuthenticatedSender" class="SetMimeHeader">
 *     <name>X-Submitted-By-User</name>
 *     <value>yes</value>
 * </mailet>
 * }</pre>
 */
public class IsAuthenticatedSender extends GenericMatcher {
    @Override
    public void init() throws MessagingException {
        if (getCondition() != null && !getCondition().isBlank()) {
            throw new MessagingException("IsAuthenticatedSender takes no condition, got '" + getCondition() + "'");
        }
    }

    @Override
    public Collection<MailAddress> match(Mail mail) {
        boolean authenticated = mail.getAttribute(PostinoAttributes.USER).isPresent()
            || mail.getAttribute(Mail.SMTP_AUTH_USER).isPresent();
        return authenticated ? mail.getRecipients() : List.of();
    }
}
