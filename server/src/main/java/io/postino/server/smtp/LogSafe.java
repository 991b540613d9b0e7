package io.postino.server.smtp;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/**
 * Client input as it may appear in a log line: printable ASCII as is, every other octet as
 * {@code \xNN}, at most {@link #MAX} characters. A client cannot forge log lines, ring the
 * terminal's bell or fill the log with one command.
 */
public final class LogSafe {
    static final int MAX = 200;
    /** SASL mechanisms (IANA registry, the common part): a word that is none of them may be a credential. */
    private static final Set<String> MECHANISMS = Set.of("PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "XOAUTH2",
        "OAUTHBEARER", "GSSAPI", "NTLM", "EXTERNAL", "ANONYMOUS", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS");

    private LogSafe() {
    }

    public static String of(String text) {
        return text == null ? "null" : of(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A command line as it may appear in a log. AUTH carries credentials: of an AUTH line only the
     * verb and a known mechanism are shown (the initial response never, nor a word in the
     * mechanism's place that could be one), and a line that may be a client's answer to an AUTH
     * challenge ({@code mayBeCredential}: it followed an AUTH and is no known command) not at all.
     */
    public static String command(byte[] line, boolean mayBeCredential) {
        if (mayBeCredential) {
            return "a line of " + line.length + " octets after AUTH (not shown: it may be a credential)";
        }
        String verb = leadingWord(line);
        int length = line.length;
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
            length--;
        }
        if (!verb.startsWith("AUTH")) {
            // The line end is no part of what the client got wrong.
            return of(java.util.Arrays.copyOf(line, length));
        }
        if (verb.equals("AUTH")) {
            int start = skipBlanks(line, skipBlanks(line, 0) + verb.length());
            int end = start;
            while (end < length && end - start <= 20 && isMechanismOctet(line[end])) {
                end++;
            }
            String mechanism = new String(line, start, end - start, StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
            if (MECHANISMS.contains(mechanism)) {
                return "AUTH " + mechanism + (end < length ? " (" + (length - end) + " more octets not shown)" : "");
            }
        }
        return "AUTH (" + length + " octets, not shown)";
    }

    /** The ASCII letters a line starts with, upper-cased: the verb of a well-formed command. */
    static String leadingWord(byte[] line) {
        int start = skipBlanks(line, 0);
        int end = start;
        while (end < line.length && isLetter(line[end])) {
            end++;
        }
        return new String(line, start, end - start, StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
    }

    private static int skipBlanks(byte[] line, int from) {
        int i = from;
        while (i < line.length && (line[i] == ' ' || line[i] == '\t')) {
            i++;
        }
        return i;
    }

    private static boolean isLetter(byte octet) {
        return (octet >= 'A' && octet <= 'Z') || (octet >= 'a' && octet <= 'z');
    }

    /** RFC 4422 section 3.1: upper-case letters, digits, '-' and '_' (lower case tolerated). */
    private static boolean isMechanismOctet(byte octet) {
        return isLetter(octet) || (octet >= '0' && octet <= '9') || octet == '-' || octet == '_';
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
