package io.postino.server.smtp;

import java.nio.charset.StandardCharsets;

/**
 * Client input as it may appear in a log line: printable ASCII as is, every other octet as
 * {@code \xNN}, at most {@link #MAX} characters. A client cannot forge log lines, ring the
 * terminal's bell or fill the log with one command.
 */
public final class LogSafe {
    static final int MAX = 200;

    private LogSafe() {
    }

    public static String of(String text) {
        return text == null ? "null" : of(text.getBytes(StandardCharsets.UTF_8));
    }

    public static String of(byte[] octets) {
        StringBuilder escaped = new StringBuilder();
        for (byte octet : octets) {
            if (escaped.length() >= MAX) {
                return escaped.append("...(").append(octets.length).append(" octets)").toString();
            }
            int value = octet & 0xff;
            if (value >= 0x20 && value < 0x7f && value != '\\') {
                escaped.append((char) value);
            } else {
                escaped.append(String.format("\\x%02x", value));
            }
        }
        return escaped.toString();
    }
}
