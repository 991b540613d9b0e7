package io.postino.server.delivery;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import javax.mail.Address;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.SendFailedException;
import javax.mail.internet.InternetAddress;
import javax.mail.internet.MimeMessage;

import com.sun.mail.smtp.SMTPAddressFailedException;
import com.sun.mail.smtp.SMTPAddressSucceededException;
import com.sun.mail.smtp.SMTPSendFailedException;
import com.sun.mail.smtp.SMTPSenderFailedException;

import io.postino.address.InternationalAddresses;

/**
 * The envelope of one delivery as SMTPUTF8 (RFC 6531) sees it: which addresses are UTF-8 once
 * unquoted ({@link InternationalAddresses#wireForm}), and whether the headers are. JavaMail 1.6.2
 * writes each char of a command as one octet, so a UTF-8 address goes to it as its UTF-8 octets,
 * one char each, and what it reports back (refused recipients) is mapped to the mail's own addresses.
 */
final class Utf8Envelope {
    private final String wireSender;
    private final boolean utf8Headers;
    private final Map<Address, InternetAddress> originals = new IdentityHashMap<>();
    private final List<InternetAddress> utf8Recipients = new ArrayList<>();
    private final List<InternetAddress> asciiRecipients = new ArrayList<>();
    private final InternetAddress[] recipients;
    private final InternetAddress[] wireRecipients;

    private Utf8Envelope(String sender, Address[] recipients, boolean utf8Headers) {
        this.wireSender = sender == null ? null : InternationalAddresses.wireForm(sender);
        this.utf8Headers = utf8Headers;
        this.recipients = new InternetAddress[recipients.length];
        this.wireRecipients = new InternetAddress[recipients.length];
        for (int i = 0; i < recipients.length; i++) {
            InternetAddress recipient = new Recipient(((InternetAddress) recipients[i]).getAddress());
            this.recipients[i] = recipient;
            String wire = InternationalAddresses.wireForm(recipient.getAddress());
            InternetAddress octets = new InternetAddress();
            octets.setAddress(asOctetChars(wire));
            wireRecipients[i] = octets;
            originals.put(octets, recipient);
            (InternationalAddresses.isAscii(wire) ? asciiRecipients : utf8Recipients).add(recipient);
        }
    }

    /**
     * @param sender the envelope sender as RemoteDelivery gives it to JavaMail ({@code mail.smtp.from}), or null
     * @param smtpUtf8Declared whether the client declared SMTPUTF8, so that its 8-bit headers are UTF-8
     */
    static Utf8Envelope of(String sender, Address[] recipients, Message message, boolean smtpUtf8Declared) throws MessagingException {
        return new Utf8Envelope(sender, recipients, smtpUtf8Declared && hasUtf8Headers(message));
    }

    /** Whether any of this needs the next hop to offer SMTPUTF8. */
    boolean needsSmtpUtf8() {
        return !utf8Recipients.isEmpty() || everyRecipientNeedsIt();
    }

    /** A UTF-8 sender or UTF-8 headers concern every recipient. */
    boolean everyRecipientNeedsIt() {
        return utf8Headers || (wireSender != null && !InternationalAddresses.isAscii(wireSender));
    }

    String why() {
        if (utf8Headers) {
            return "its headers are UTF-8";
        }
        return wireSender != null && !InternationalAddresses.isAscii(wireSender) ? "its sender's address is UTF-8" : "the recipient's address is UTF-8";
    }

    /** The sender for JavaMail's {@code mail.smtp.from}: its UTF-8 octets, one char each. */
    String wireSenderOctets() {
        return wireSender == null ? null : asOctetChars(wireSender);
    }

    /**
     * A recipient as the transport gives it to JavaMail and reports it back to RemoteDelivery.
     * James reads the recipients of a failure back with {@code new MailAddress(address.toString())},
     * and InternetAddress writes an address with a quoted local part (every UTF-8 one, as James
     * holds them: {@code "jösé"@xn--bcher-kva.example}) in angle brackets, which MailAddress
     * refuses: such a recipient fell out of the failure, and James then bounced the whole mail,
     * recipients already delivered included. This one writes the bare address.
     */
    static final class Recipient extends InternetAddress {
        private static final long serialVersionUID = 1L;

        Recipient(String address) {
            setAddress(address);
        }

        @Override
        public String toString() {
            return getAddress();
        }
    }

    /** The recipients as given, in their order, as James can read them back from a failure ({@link Recipient}). */
    InternetAddress[] recipients() {
        return recipients.clone();
    }

    /** The recipients for JavaMail, in the order given: wire form, UTF-8 octets one char each. */
    InternetAddress[] wireRecipients() {
        return wireRecipients.clone();
    }

    List<InternetAddress> asciiRecipients() {
        return List.copyOf(asciiRecipients);
    }

    List<InternetAddress> utf8Recipients() {
        return List.copyOf(utf8Recipients);
    }

    /** The 553 5.6.7 failure of recipients that cannot go to a next hop without SMTPUTF8, one chained failure each. */
    static MessagingException refusals(List<InternetAddress> recipients, String reply) {
        MessagingException first = null;
        for (InternetAddress recipient : recipients) {
            SMTPAddressFailedException failure = new SMTPAddressFailedException(recipient, "RCPT TO:<" + recipient.getAddress() + ">", 553, reply);
            if (first == null) {
                first = failure;
            } else {
                first.setNextException(failure);
            }
        }
        return first;
    }

    /** The same failure, with the addresses JavaMail was given replaced by the mail's own. */
    MessagingException translate(MessagingException failure) {
        List<Exception> chain = new ArrayList<>();
        Exception next = failure;
        for (int depth = 0; next != null && depth < 10_000; depth++) {
            chain.add(next);
            next = next instanceof MessagingException ? ((MessagingException) next).getNextException() : null;
        }
        MessagingException head = null;
        for (Exception link : chain) {
            Exception copy = link instanceof MessagingException ? copy((MessagingException) link) : link;
            if (head == null) {
                if (!(copy instanceof MessagingException)) {
                    return failure;
                }
                head = (MessagingException) copy;
            } else {
                head.setNextException(copy);
            }
        }
        return head;
    }

    private MessagingException copy(MessagingException link) {
        String text = link.getMessage();
        if (link instanceof SMTPAddressFailedException) {
            SMTPAddressFailedException f = (SMTPAddressFailedException) link;
            return new SMTPAddressFailedException(original(f.getAddress()), f.getCommand(), f.getReturnCode(), text);
        }
        if (link instanceof SMTPAddressSucceededException) {
            SMTPAddressSucceededException s = (SMTPAddressSucceededException) link;
            return new SMTPAddressSucceededException(original(s.getAddress()), s.getCommand(), s.getReturnCode(), text);
        }
        if (link instanceof SMTPSenderFailedException) {
            SMTPSenderFailedException s = (SMTPSenderFailedException) link;
            return new SMTPSenderFailedException(s.getAddress(), s.getCommand(), s.getReturnCode(), text);
        }
        if (link instanceof SMTPSendFailedException) {
            SMTPSendFailedException s = (SMTPSendFailedException) link;
            return new SMTPSendFailedException(s.getCommand(), s.getReturnCode(), text, null,
                originals(s.getValidSentAddresses()), originals(s.getValidUnsentAddresses()), originals(s.getInvalidAddresses()));
        }
        if (link instanceof SendFailedException) {
            SendFailedException s = (SendFailedException) link;
            return new SendFailedException(text, null, originals(s.getValidSentAddresses()), originals(s.getValidUnsentAddresses()),
                originals(s.getInvalidAddresses()));
        }
        return new MessagingException(text);
    }

    private InternetAddress original(InternetAddress wire) {
        InternetAddress original = originals.get(wire);
        return original == null ? wire : original;
    }

    private Address[] originals(Address[] wire) {
        if (wire == null) {
            return null;
        }
        Address[] mapped = new Address[wire.length];
        for (int i = 0; i < wire.length; i++) {
            Address original = originals.get(wire[i]);
            mapped[i] = original == null ? wire[i] : original;
        }
        return mapped;
    }

    /** Header lines hold one octet per char (as received); 8-bit ones count only when they are valid UTF-8. */
    private static boolean hasUtf8Headers(Message message) throws MessagingException {
        if (!(message instanceof MimeMessage)) {
            return false;
        }
        @SuppressWarnings("unchecked")
        Enumeration<String> lines = ((MimeMessage) message).getAllHeaderLines();
        while (lines.hasMoreElements()) {
            String line = lines.nextElement();
            if (!InternationalAddresses.isAscii(line) && isUtf8(line)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isUtf8(String octetChars) {
        for (int i = 0; i < octetChars.length(); i++) {
            if (octetChars.charAt(i) > 0xff) {
                return false;
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(octetChars.getBytes(StandardCharsets.ISO_8859_1)));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    private static String asOctetChars(String text) {
        return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }
}
