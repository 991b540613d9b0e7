package io.postino.mailets;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.apache.james.jdkim.api.Headers;

/**
 * The header fields of a message exactly as its header section has them, for jDKIM to sign: each
 * field is {@code Name: value} with its folding CRLFs and without the CRLF that ends it, which is
 * what jDKIM's simple and relaxed canonicalizations start from. Read from the octets in one scan,
 * without mime4j: jDKIM's own {@code Message} parses the whole message and looks mime4j's services
 * up on the class path (a scan of the jars) for every message and every signed header name.
 *
 * <p>jDKIM hashes a field as {@code String.getBytes()} of the platform charset, so a field with
 * 8-bit octets (UTF-8 headers of SMTPUTF8 mail, RFC 6532) is decoded with that charset;
 * {@link #hashedAsWritten} tells whether that gives back its octets.
 */
final class RawHeaders implements Headers {
    private final byte[] octets;
    private final Charset charset;
    /** Per field: where it starts and ends (before its last CRLF), its name in lower case, whether it has 8-bit octets. */
    private final List<Field> fields;

    private RawHeaders(byte[] octets, Charset charset, List<Field> fields) {
        this.octets = octets;
        this.charset = charset;
        this.fields = fields;
    }

    /** The fields of a header section: {@code length} octets from the start of {@code octets}, CRLF line ends. */
    static RawHeaders of(byte[] octets, int length) {
        return of(octets, length, Charset.defaultCharset());
    }

    static RawHeaders of(byte[] octets, int length, Charset charset) {
        List<Field> fields = new ArrayList<>();
        int lineStart = 0;
        int fieldStart = -1;
        boolean eightBit = false;
        while (lineStart < length) {
            int lineEnd = lineEnd(octets, lineStart, length);
            boolean continuation = octets[lineStart] == ' ' || octets[lineStart] == '\t';
            if (!continuation) {
                addField(octets, fieldStart, lineStart - 2, eightBit, fields);
                fieldStart = -1;
                if (lineEnd == lineStart) {
                    // The empty line that ends the header section.
                    break;
                }
                fieldStart = lineStart;
                eightBit = false;
            }
            for (int i = lineStart; i < lineEnd && !eightBit; i++) {
                eightBit = octets[i] < 0;
            }
            lineStart = Math.min(length, lineEnd + 2);
            if (lineStart == length) {
                addField(octets, fieldStart, lineEnd, eightBit, fields);
                fieldStart = -1;
            }
        }
        return new RawHeaders(octets, charset, Collections.unmodifiableList(fields));
    }

    /** Where the line starting at {@code start} ends: at its CRLF, or at {@code length} if it has none. */
    private static int lineEnd(byte[] octets, int start, int length) {
        for (int i = start; i + 1 < length; i++) {
            if (octets[i] == '\r' && octets[i + 1] == '\n') {
                return i;
            }
        }
        return length;
    }

    /** A field from {@code start} to {@code end}, if it is one: a name of printable characters then a colon (RFC 5322 §2.2). */
    private static void addField(byte[] octets, int start, int end, boolean eightBit, List<Field> fields) {
        if (start < 0) {
            return;
        }
        int colon = start;
        while (colon < end && octets[colon] != ':') {
            colon++;
        }
        int nameEnd = colon;
        // Obsolete syntax (RFC 5322 §4.5.8) allows whitespace before the colon.
        while (nameEnd > start && (octets[nameEnd - 1] == ' ' || octets[nameEnd - 1] == '\t')) {
            nameEnd--;
        }
        if (colon == end || nameEnd == start) {
            return;
        }
        for (int i = start; i < nameEnd; i++) {
            if (octets[i] < 33 || octets[i] > 126) {
                return;
            }
        }
        String name = new String(octets, start, nameEnd - start, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
        fields.add(new Field(start, end, name, eightBit));
    }

    @Override
    public List<String> getFields() {
        List<String> all = new ArrayList<>(fields.size());
        for (Field field : fields) {
            all.add(text(field));
        }
        return Collections.unmodifiableList(all);
    }

    /** The fields called {@code name} (in any case), in the order of the message. */
    @Override
    public List<String> getFields(String name) {
        String wanted = name.toLowerCase(Locale.ROOT);
        List<String> named = new ArrayList<>(2);
        for (Field field : fields) {
            if (field.name.equals(wanted)) {
                named.add(text(field));
            }
        }
        return Collections.unmodifiableList(named);
    }

    /**
     * Whether jDKIM hashes every field called one of {@code names} as its octets are: true unless one
     * has 8-bit octets that the platform charset does not read back as they were (malformed UTF-8,
     * or a JVM whose charset is not UTF-8: run it with {@code -Dfile.encoding=UTF-8}).
     */
    boolean hashedAsWritten(Collection<String> names) {
        for (Field field : fields) {
            if (field.eightBit && names.contains(field.name)) {
                byte[] hashed = text(field).getBytes(charset);
                if (!Arrays.equals(hashed, 0, hashed.length, octets, field.start, field.end)) {
                    return false;
                }
            }
        }
        return true;
    }

    private String text(Field field) {
        // ISO-8859-1 maps each 7-bit octet to its character, as every charset a JVM runs with does.
        return new String(octets, field.start, field.end - field.start, field.eightBit ? charset : StandardCharsets.ISO_8859_1);
    }

    private record Field(int start, int end, String name, boolean eightBit) {
    }
}
