package io.postino.matchers;

import java.util.Collection;
import java.util.List;


import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

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
public class IsAuthenticatedSender extends WithoutCondition {

    @Override
    public Collection<MailAddress> match(Mail mail) {
        boolean authenticated = mail.getAttribute(PostinoAttributes.USER).isPresent()
            || mail.getAttribute(Mail.SMTP_AUTH_USER).isPresent();
        return authenticated ? mail.getRecipients() : List.of();
    }
}
