package io.postino.server.trace;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An SMTP reply as the server would give it: code, enhanced status code (RFC 3463) and sentence. */
public record Refusal(String code, String enhanced, String text) {
    private static final Pattern ENHANCED = Pattern.compile("^([245]\\.\\d{1,3}\\.\\d{1,3}) (.*)$", Pattern.DOTALL);

    /** Splits James' description ({@code "5.7.1 Relaying denied"}) into its enhanced code and sentence. */
    static Refusal of(String code, String description) {
        String text = description == null ? "" : description.trim();
        Matcher matcher = ENHANCED.matcher(text);
        if (matcher.matches()) {
            return new Refusal(code, matcher.group(1), matcher.group(2));
        }
        return new Refusal(code, "", text);
    }

    String line() {
        return (code + " " + enhanced + " " + text).replaceAll(" +", " ").trim();
    }
}
