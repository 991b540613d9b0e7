package io.postino.recipients;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The codes at the start of an SMTP reply: the basic code (RFC 5321), e.g. {@code 550}, and the
 * enhanced status code when there is one (RFC 3463), e.g. {@code 5.1.1}.
 */
public record SmtpReplyCode(String basic, Optional<String> enhanced) {
    private static final Pattern REPLY = Pattern.compile("^\\s*([2-5]\\d\\d)[ -]?(?:([2-5]\\.\\d{1,3}\\.\\d{1,3})\\b)?");

    /** Empty when the text does not start with a reply code. */
    public static Optional<SmtpReplyCode> parse(String reply) {
        Matcher matcher = REPLY.matcher(reply);
        if (!matcher.find()) {
            return Optional.empty();
        }
        return Optional.of(new SmtpReplyCode(matcher.group(1), Optional.ofNullable(matcher.group(2))));
    }

    public boolean isPermanent() {
        return basic.startsWith("5");
    }
}
