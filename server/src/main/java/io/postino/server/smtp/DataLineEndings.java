package io.postino.server.smtp;

import java.util.Arrays;

/**
 * The line-ending rules of Postino's DATA phase, apart from any session so they can be tested
 * alone. Lines arrive split on LF, delimiter included.
 *
 * <ul>
 *   <li>A line ending in a bare LF is stored as if it ended in CRLF: applications that send
 *   bare LF still get their mail through (what Postfix calls {@code normalize}).</li>
 *   <li>Only {@code CRLF . CRLF} ends the data. A lone dot reached any other way
 *   ({@code LF . LF}, {@code LF . CRLF}, {@code CRLF . LF}) is message content, so nothing that
 *   follows it can be read as a new SMTP command (SMTP smuggling, CVE-2023-51764 family).</li>
 * </ul>
 */
final class DataLineEndings {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte DOT = '.';

    /** A line as the rest of the DATA chain must see it, and whether it ended in CRLF. */
    record Line(byte[] bytes, boolean endedWithCrlf, boolean endOfData) {
    }

    private DataLineEndings() {
    }

    static Line normalise(byte[] line, boolean previousEndedWithCrlf) {
        boolean crlf = endsWith(line, CR, LF);
        byte[] bytes = crlf ? line : withCrlf(line);
        boolean loneDot = bytes.length == 3 && bytes[0] == DOT;
        if (loneDot && !(previousEndedWithCrlf && crlf)) {
            // Dot-stuffed, so that the line is kept as a content line holding one dot.
            return new Line(new byte[]{DOT, DOT, CR, LF}, crlf, false);
        }
        return new Line(bytes, crlf, loneDot);
    }

    private static byte[] withCrlf(byte[] line) {
        int contentLength = line.length;
        if (contentLength > 0 && line[contentLength - 1] == LF) {
            contentLength--;
        }
        byte[] result = Arrays.copyOf(line, contentLength + 2);
        result[contentLength] = CR;
        result[contentLength + 1] = LF;
        return result;
    }

    private static boolean endsWith(byte[] line, byte first, byte second) {
        return line.length >= 2 && line[line.length - 2] == first && line[line.length - 1] == second;
    }
}
