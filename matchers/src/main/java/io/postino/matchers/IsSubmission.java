package io.postino.matchers;

import java.util.Collection;
import java.util.List;
import java.util.Optional;


import org.apache.james.core.MailAddress;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;

/**
 * Matches every recipient of a mail that was <em>submitted</em> to Postino: the SMTP client
 * authenticated (SMTP AUTH), or connected from a network listed in the listener's
 * {@code authorizedAddresses}. Mail that arrived for the domains Postino serves from anyone
 * else, and mail that Postino generated itself (bounces), does not match.
 *
 * <p>Postino uses it to apply what only a submission service should do to a message (add a
 * missing Message-ID and Date, later: sender policies).</p>
 *
 * <p>No condition.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsSubmission" class="io.postino.mailets.AddMissingMessageIdAndDate"/>
 * }</pre>
 */
public class IsSubmission extends WithoutCondition {
    static final AttributeName AUTHORISED_NETWORK = AttributeName.of("org.apache.james.SMTPIsAuthNetwork");


    @Override
    public Collection<MailAddress> match(Mail mail) {
        if (isAuthenticated(mail) || isFromAuthorisedNetwork(mail)) {
            return mail.getRecipients();
        }
        return List.of();
    }

    private boolean isAuthenticated(Mail mail) {
        return mail.getAttribute(Mail.SMTP_AUTH_USER).isPresent();
    }

    private boolean isFromAuthorisedNetwork(Mail mail) {
        Optional<Object> value = AttributeUtils.getValueAndCastFromMail(mail, AUTHORISED_NETWORK, Object.class);
        return value.map(v -> Boolean.parseBoolean(v.toString())).orElse(false);
    }
}
