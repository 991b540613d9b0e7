package io.postino.dkim;

import java.util.Locale;
import java.util.Optional;

import javax.mail.Address;
import javax.mail.MessagingException;
import javax.mail.internet.InternetAddress;
import javax.mail.internet.MimeMessage;

/** The domain a message is DKIM-signed for: that of its (first) From: address, aligned for DMARC. */
public final class SigningDomain {
    private SigningDomain() {
    }

    /** Empty when the message has no From: address that can be read. */
    public static Optional<String> of(MimeMessage message) {
        try {
            Address[] from = message.getFrom();
            if (from == null || from.length == 0 || !(from[0] instanceof InternetAddress)) {
                return Optional.empty();
            }
            String address = ((InternetAddress) from[0]).getAddress();
            if (address == null || address.lastIndexOf('@') < 0) {
                return Optional.empty();
            }
            return Optional.of(address.substring(address.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT));
        } catch (MessagingException e) {
            return Optional.empty();
        }
    }
}
