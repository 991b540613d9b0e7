package io.postino.mailets;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.util.DurationParser;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.PostinoAttributes;
import io.postino.recipients.SmtpReplyCode;
import io.postino.recipients.Suppression;
import io.postino.recipients.SuppressionList;

/**
 * Adds to the sending organisation's suppression list the recipients whose delivery failed
 * permanently because the address is bad: the remote server refused them at RCPT TO
 * ({@code postino.failedRecipients}, recipients of this bounce only) with a listed enhanced status
 * code, or with a listed basic code when the reply has no enhanced code. When the server refused
 * the whole message instead (at MAIL FROM or after DATA), its reply ({@code postino.remoteReply})
 * suppresses every recipient of the bounced mail only with a listed enhanced code: a bare
 * "550 rejected" there may be about the sender or the content. Policy refusals (5.7.x), full mailboxes (5.2.2) and content refusals
 * (5.6.x) do not suppress by default. Mail without an organisation, and Postino's own
 * notifications, are skipped. Never changes the mail.
 *
 * <ul>
 *   <li>{@code statusCodes}: enhanced status codes (RFC 3463) that suppress, comma-separated; a code
 *   ending in {@code .*} covers its class. Default {@code 5.1.1,5.1.2,5.1.3,5.1.6,5.1.10,5.2.1}.</li>
 *   <li>{@code basicCodes}: basic reply codes that suppress when the reply has no enhanced code.
 *   Default {@code 550,551,553}.</li>
 *   <li>{@code expiresAfter}: how long the suppression lasts, e.g. {@code 90d}; empty (default):
 *   until an admin removes it.</li>
 * </ul>
 *
 * <pre>{@code
 * <processor state="bounces">
 *     <mailet match="All" class="io.postino.mailets.SuppressFailedRecipients">
 *         <expiresAfter>180d</expiresAfter>
 *     </mailet>
 *     ...
 * }</pre>
 */
public class SuppressFailedRecipients extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(SuppressFailedRecipients.class);
    private static final Pattern STATUS = Pattern.compile("[245]\\.\\d{1,3}\\.(\\d{1,3}|\\*)");

    private final SuppressionList suppressions;
    private final Clock clock;
    private List<String> statusCodes;
    private List<String> basicCodes;
    private Optional<Duration> expiresAfter;

    @Inject
    public SuppressFailedRecipients(SuppressionList suppressions) {
        this(suppressions, Clock.systemUTC());
    }

    SuppressFailedRecipients(SuppressionList suppressions, Clock clock) {
        this.suppressions = suppressions;
        this.clock = clock;
    }

    @Override
    public void init() throws MessagingException {
        statusCodes = list(getInitParameter("statusCodes", "5.1.1,5.1.2,5.1.3,5.1.6,5.1.10,5.2.1"));
        for (String code : statusCodes) {
            if (!STATUS.matcher(code).matches() || !code.startsWith("5")) {
                throw new MessagingException("SuppressFailedRecipients: <statusCodes> lists permanent enhanced codes such as 5.1.1 or 5.1.*, got '" + code + "'");
            }
        }
        basicCodes = list(getInitParameter("basicCodes", "550,551,553"));
        for (String code : basicCodes) {
            if (!code.matches("5\\d\\d")) {
                throw new MessagingException("SuppressFailedRecipients: <basicCodes> lists permanent reply codes such as 550, got '" + code + "'");
            }
        }
        String expiry = getInitParameter("expiresAfter", "").trim();
        try {
            expiresAfter = expiry.isEmpty() ? Optional.empty() : Optional.of(DurationParser.parse(expiry, ChronoUnit.DAYS));
        } catch (RuntimeException e) {
            throw new MessagingException("SuppressFailedRecipients: <expiresAfter> must be a duration such as 90d, got '" + expiry + "'");
        }
        if (expiresAfter.filter(duration -> duration.isZero() || duration.isNegative()).isPresent()) {
            throw new MessagingException("SuppressFailedRecipients: <expiresAfter> must be positive, got '" + expiry + "'");
        }
    }

    private static List<String> list(String value) {
        return Arrays.stream(value.split(",")).map(String::trim).filter(code -> !code.isEmpty()).collect(Collectors.toList());
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        Optional<String> organisation = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class);
        boolean notification = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.NOTIFICATION, Boolean.class).orElse(false);
        if (organisation.isEmpty() || notification) {
            return;
        }
        Set<String> recipients = mail.getRecipients().stream().map(recipient -> Suppression.normalise(recipient.asString()))
            .collect(Collectors.toSet());
        Map<String, String> refused = refusedRecipients(mail);
        refused.keySet().removeIf(address -> !recipients.contains(Suppression.normalise(address)));
        boolean wholeMessage = refused.isEmpty();
        if (wholeMessage) {
            AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.REMOTE_REPLY, String.class)
                .ifPresent(reply -> mail.getRecipients().forEach(recipient -> refused.put(recipient.asString(), reply)));
        }
        Instant now = clock.instant();
        for (Map.Entry<String, String> failure : refused.entrySet()) {
            if (!isBadAddress(failure.getValue(), !wholeMessage)) {
                continue;
            }
            try {
                suppressions.add(new Suppression(organisation.get(), failure.getKey(), Suppression.BOUNCE, failure.getValue(), now,
                    expiresAfter.map(now::plus)));
                LOGGER.info("{} added to the suppression list of {}: {}", failure.getKey(), organisation.get(), failure.getValue());
            } catch (RuntimeException e) {
                throw new MessagingException("Cannot add " + failure.getKey() + " to the suppression list of " + organisation.get(), e);
            }
        }
    }

    private static Map<String, String> refusedRecipients(Mail mail) {
        Map<String, String> refused = new LinkedHashMap<>();
        mail.getAttribute(PostinoAttributes.FAILED_RECIPIENTS)
            .map(Attribute::getValue)
            .map(AttributeValue::value)
            .filter(Map.class::isInstance)
            .map(Map.class::cast)
            .ifPresent(map -> map.forEach((address, reply) -> {
                Object text = reply instanceof AttributeValue ? ((AttributeValue<?>) reply).value() : reply;
                refused.put(String.valueOf(address), String.valueOf(text));
            }));
        return refused;
    }

    /**
     * Whether a remote reply says the address itself is bad. A basic code alone counts only in the
     * answer to RCPT TO: after MAIL FROM or DATA, "550 rejected" may be about anything.
     */
    boolean isBadAddress(String reply, boolean toRcpt) {
        Optional<SmtpReplyCode> code = SmtpReplyCode.parse(reply).filter(SmtpReplyCode::isPermanent);
        if (code.isEmpty()) {
            return false;
        }
        if (code.get().enhanced().isEmpty()) {
            return toRcpt && basicCodes.contains(code.get().basic());
        }
        String status = code.get().enhanced().get();
        return statusCodes.stream().anyMatch(listed -> listed.endsWith(".*")
            ? status.startsWith(listed.substring(0, listed.length() - 1))
            : status.equals(listed));
    }

    @Override
    public String getMailetInfo() {
        return "Adds permanently failed recipients to their organisation's suppression list";
    }
}
