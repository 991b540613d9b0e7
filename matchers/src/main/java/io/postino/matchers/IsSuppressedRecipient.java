package io.postino.matchers;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;

import io.postino.organisations.PostinoAttributes;
import io.postino.recipients.SuppressionList;

/**
 * Matches the recipients on the suppression list of the organisation that sent the mail
 * ({@code postino.organisation}). Mail without an organisation matches nothing. The SMTP listeners
 * refuse these recipients at RCPT TO already; this catches mail that entered another way.
 *
 * <p>No condition.</p>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsSuppressedRecipient" class="ToProcessor">
 *     <processor>suppressed</processor>
 * </mailet>
 * }</pre>
 */
public class IsSuppressedRecipient extends WithoutCondition {
    private final SuppressionList suppressions;

    @Inject
    public IsSuppressedRecipient(SuppressionList suppressions) {
        this.suppressions = suppressions;
    }


    /** @throws MessagingException when the list cannot be read: the mail goes to the error processor, nothing is lost */
    @Override
    public Collection<MailAddress> match(Mail mail) throws MessagingException {
        Optional<String> organisation = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class);
        if (organisation.isEmpty()) {
            return List.of();
        }
        try {
            return mail.getRecipients().stream()
                .filter(recipient -> suppressions.find(organisation.get(), recipient.asString()).isPresent())
                .collect(Collectors.toList());
        } catch (RuntimeException e) {
            throw new MessagingException("Cannot read the suppression list of '" + organisation.get() + "': " + e.getMessage(), e);
        }
    }
}
