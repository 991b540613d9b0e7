package io.postino.mailets;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;
import javax.mail.BodyPart;
import javax.mail.MessagingException;
import javax.mail.Multipart;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.transport.mailets.DSNBounce;
import org.apache.mailet.Mail;
import org.apache.mailet.MailetContext;

import io.postino.address.InternationalAddresses;

/**
 * James' {@code DSNBounce} (same parameters), whose delivery-status part (RFC 3464) names a UTF-8
 * recipient so that it arrives. DSNBounce writes every recipient as
 * {@code Final-Recipient: rfc822; <address>} into a part without a charset, so
 * {@code "jösé"@xn--bcher-kva.example} arrived as ISO-8859-1 octets and a character beyond
 * Latin-1 as "?". Such a recipient is written as RFC 6533 section 3 says for
 * message/delivery-status: the address as it goes on the wire, each character that is not
 * printable ASCII (and "+", "=", "\") as {@code \x{HEX}}, so
 * {@code Final-Recipient: utf-8; j\x{F6}s\x{E9}@xn--bcher-kva.example}. ASCII recipients and
 * the rest of the DSN are left as DSNBounce makes them.
 *
 * <p>Sample configuration, in the processor RemoteDelivery bounces to:</p>
 * <pre>{@code
 * <mailet match="All" class="io.postino.mailets.DSNBounceWithUtf8Recipients">
 *     <passThrough>false</passThrough>
 *     <attachment>heads</attachment>
 * </mailet>
 * }</pre>
 */
public class DSNBounceWithUtf8Recipients extends DSNBounce {
    private static final Pattern FINAL_RECIPIENT = Pattern.compile("^Final-Recipient: rfc822;[^\r\n]*", Pattern.MULTILINE);
    private static final String DELIVERY_STATUS = "message/delivery-status";
    /**
     * The recipients of the mail being bounced on this thread. DSNBounce writes one Final-Recipient
     * per recipient, in their order, and the text it wrote has lost what Latin-1 cannot hold: the
     * fields are written anew from these.
     */
    private static final ThreadLocal<List<MailAddress>> BOUNCED = new ThreadLocal<>();

    @Inject
    public DSNBounceWithUtf8Recipients(DNSService dns) {
        super(dns);
    }

    @Override
    public void service(Mail originalMail) throws MessagingException {
        BOUNCED.set(List.copyOf(originalMail.getRecipients()));
        try {
            super.service(originalMail);
        } finally {
            BOUNCED.remove();
        }
    }

    /** DSNBounce hands its DSN to the mailet context: it is mended on the way. */
    @Override
    public MailetContext getMailetContext() {
        MailetContext context = super.getMailetContext();
        return (MailetContext) Proxy.newProxyInstance(MailetContext.class.getClassLoader(), new Class<?>[]{MailetContext.class},
            (proxy, method, arguments) -> {
                List<MailAddress> bounced = BOUNCED.get();
                if (method.getName().equals("sendMail") && arguments != null && arguments.length == 1 && arguments[0] instanceof Mail
                    && bounced != null) {
                    mend(((Mail) arguments[0]).getMessage(), bounced);
                }
                try {
                    return method.invoke(context, arguments);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
    }

    private static void mend(MimeMessage dsn, List<MailAddress> recipients) throws MessagingException, IOException {
        if (recipients.stream().allMatch(recipient -> InternationalAddresses.isAscii(recipient.asString()))
            || !(dsn.getContent() instanceof Multipart)) {
            return;
        }
        Multipart parts = (Multipart) dsn.getContent();
        for (int i = 0; i < parts.getCount(); i++) {
            BodyPart part = parts.getBodyPart(i);
            if (part.isMimeType(DELIVERY_STATUS)) {
                String fields = new String(part.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                String contentType = part.getContentType();
                part.setContent(typeRecipients(fields, recipients), "text/plain; charset=us-ascii");
                part.setHeader("Content-Type", contentType);
                dsn.setContent(parts);
                dsn.saveChanges();
                return;
            }
        }
    }

    /**
     * The fields with the n-th Final-Recipient written anew from the n-th recipient when that one
     * is not ASCII (RFC 6533 utf-8 address type); unchanged if the fields do not name one
     * recipient each.
     */
    static String typeRecipients(String fields, List<MailAddress> recipients) {
        Matcher matcher = FINAL_RECIPIENT.matcher(fields);
        StringBuilder typed = new StringBuilder();
        int index = 0;
        while (matcher.find()) {
            if (index >= recipients.size()) {
                return fields;
            }
            String address = recipients.get(index++).asString();
            String field = InternationalAddresses.isAscii(address) ? matcher.group()
                : "Final-Recipient: utf-8; " + xtext(InternationalAddresses.wireForm(address));
            matcher.appendReplacement(typed, Matcher.quoteReplacement(field));
        }
        if (index != recipients.size()) {
            return fields;
        }
        matcher.appendTail(typed);
        return typed.toString();
    }

    /** RFC 6533 utf-8-addr-xtext: QCHAR as it is, every other character as {@code \x{HEXPOINT}}, upper-case, at least two digits. */
    static String xtext(String address) {
        StringBuilder xtext = new StringBuilder();
        address.codePoints().forEach(c -> {
            boolean qchar = c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\';
            if (qchar) {
                xtext.appendCodePoint(c);
            } else {
                xtext.append("\\x{").append(String.format("%02X", c)).append('}');
            }
        });
        return xtext.toString();
    }
}
