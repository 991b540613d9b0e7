package io.postino.mailets;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

/**
 * Adds a {@code Message-ID} and a {@code Date} header to a message that lacks them, as a
 * submission service must (RFC 6409 section 8.2 and 8.3). Headers already present are left
 * untouched, so a message is never given two Message-IDs.
 *
 * <p>Init parameters:</p>
 * <ul>
 *   <li>{@code domain}: the right-hand side of generated Message-IDs, e.g. {@code relay.example.com}.
 *   Default: the domain of the postmaster address of the mailet context.</li>
 * </ul>
 *
 * <p>Sample configuration:</p>
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsSubmission" class="io.postino.mailets.AddMissingMessageIdAndDate">
 *     <domain>relay.example.com</domain>
 * </mailet>
 * }</pre>
 */
public class AddMissingMessageIdAndDate extends GenericMailet {
    private static final Pattern DOMAIN = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");
    private static final DateTimeFormatter RFC_5322_DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    private final Clock clock;
    private String domain;

    public AddMissingMessageIdAndDate() {
        this(Clock.systemDefaultZone());
    }

    AddMissingMessageIdAndDate(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void init() throws MessagingException {
        Optional<String> configured = getInitParameterAsOptional("domain");
        if (configured.isPresent()) {
            domain = configured.get().trim();
            if (!DOMAIN.matcher(domain).matches()) {
                throw new MessagingException("AddMissingMessageIdAndDate: 'domain' must be a domain name, got '" + configured.get() + "'");
            }
        } else {
            domain = getMailetContext().getPostmaster().getDomain().asString();
        }
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        MimeMessage message = mail.getMessage();
        boolean messageIdMissing = message.getHeader("Message-ID") == null;
        boolean dateMissing = message.getHeader("Date") == null;
        if (!messageIdMissing && !dateMissing) {
            return;
        }
        String[] traceHeaders = message.getHeader("Received");
        if (messageIdMissing) {
            message.setHeader("Message-ID", "<" + UUID.randomUUID() + "@" + domain + ">");
        }
        if (dateMissing) {
            message.setHeader("Date", ZonedDateTime.now(clock).format(RFC_5322_DATE));
        }
        keepOnTop(message, traceHeaders);
    }

    /** Trace headers stay above every other header (RFC 5321 section 4.4), in their order. */
    private static void keepOnTop(MimeMessage message, String[] traceHeaders) throws MessagingException {
        if (traceHeaders == null) {
            return;
        }
        message.removeHeader("Received");
        for (int i = traceHeaders.length - 1; i >= 0; i--) {
            // JavaMail inserts a Received header above the others.
            message.addHeader("Received", traceHeaders[i]);
        }
    }

    @Override
    public String getMailetInfo() {
        return "Adds a Message-ID and a Date header when a submitted message lacks them";
    }
}
