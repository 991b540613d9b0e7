package io.postino.address;

import java.util.Set;

import com.ibm.icu.text.IDNA;

/**
 * Internationalised mailboxes (RFC 6531: a UTF-8 local part, an IDN domain) in the form James
 * 3.8.1 can hold, and back. James' {@code MailAddress} accepts neither a non-ASCII domain nor a
 * non-ASCII local part unless that is quoted, so Postino keeps such a mailbox as
 * {@code "jösé"@xn--bcher-kva.example}: the domain as its A-labels (equivalent, and what DNS and
 * a next hop without SMTPUTF8 need) and the local part quoted (RFC 5321 section 4.1.2: a quoted
 * string that could be written as a dot-string is the same local part). On the way out,
 * {@link #wireForm} gives {@code jösé@xn--bcher-kva.example} back.
 *
 * <p>Domains are converted by UTS #46 without transitional mapping (IDNA 2008), as browsers do:
 * {@code straße.de} stays {@code xn--strae-oqa.de}, where Java's IDNA 2003 would give another
 * domain, {@code strasse.de}.</p>
 */
public final class InternationalAddresses {
    private static final IDNA UTS46 = IDNA.getUTS46Instance(IDNA.NONTRANSITIONAL_TO_ASCII | IDNA.NONTRANSITIONAL_TO_UNICODE
        | IDNA.CHECK_BIDI | IDNA.CHECK_CONTEXTJ | IDNA.CHECK_CONTEXTO);
    /** RFC 5322 atext besides letters and digits. */
    private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

    private InternationalAddresses() {
    }

    public static boolean isAscii(CharSequence text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /**
     * The domain in ASCII: itself when it is ASCII, otherwise its A-labels (lower case).
     *
     * @throws IllegalArgumentException naming what IDNA 2008 forbids in it
     */
    public static String asciiDomain(String domain) {
        if (isAscii(domain)) {
            return domain;
        }
        IDNA.Info info = new IDNA.Info();
        StringBuilder ascii = UTS46.nameToASCII(domain, new StringBuilder(), info);
        if (info.hasErrors()) {
            throw new IllegalArgumentException("'" + domain + "' is not a valid internationalised domain name (" + describe(info.getErrors()) + ")");
        }
        return ascii.toString();
    }

    /** The domain for people: U-labels where it has valid A-labels, otherwise as it is. */
    public static String unicodeDomain(String domain) {
        IDNA.Info info = new IDNA.Info();
        StringBuilder unicode = UTS46.nameToUnicode(domain, new StringBuilder(), info);
        return info.hasErrors() ? domain : unicode.toString();
    }

    /**
     * A mailbox of MAIL FROM or RCPT TO ({@code local@domain}, or empty, or {@code postmaster}) in
     * the form James holds: the domain in A-labels, a non-ASCII local part quoted.
     *
     * @throws IllegalArgumentException when the domain is no valid IDN or the local part no valid dot-string
     */
    public static String storedForm(String mailbox) {
        int at = mailbox.lastIndexOf('@');
        if (at < 0) {
            return mailbox;
        }
        String local = mailbox.substring(0, at);
        String domain = asciiDomain(mailbox.substring(at + 1));
        if (!isAscii(local) && !local.startsWith("\"")) {
            if (!isDotString(local)) {
                throw new IllegalArgumentException("local part '" + local + "' is not a valid dot-string; quote it");
            }
            local = "\"" + local + "\"";
        }
        return local + "@" + domain;
    }

    /**
     * A stored address as it goes to the next hop: a quoted local part that is a non-ASCII
     * dot-string loses its quotes ({@code "jösé"@x.example} becomes {@code jösé@x.example}). Any
     * other address is returned as it is.
     */
    public static String wireForm(String address) {
        int at = address.lastIndexOf('@');
        if (at < 2 || address.charAt(0) != '"' || address.charAt(at - 1) != '"') {
            return address;
        }
        String unquoted = address.substring(1, at - 1);
        return !isAscii(unquoted) && isDotString(unquoted) ? unquoted + address.substring(at) : address;
    }

    /** RFC 6531 section 3.3: a Dot-string of atext and UTF-8 non-ASCII characters. */
    static boolean isDotString(String local) {
        if (local.isEmpty() || local.startsWith(".") || local.endsWith(".") || local.contains("..")) {
            return false;
        }
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            boolean atext = c >= 0x80 ? !Character.isISOControl(c) && !Character.isWhitespace(c)
                : Character.isLetterOrDigit(c) || ATEXT_SPECIALS.indexOf(c) >= 0 || c == '.';
            if (!atext) {
                return false;
            }
        }
        return true;
    }

    private static String describe(Set<IDNA.Error> errors) {
        return errors.stream().map(error -> error.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '))
            .sorted().reduce((a, b) -> a + ", " + b).orElse("invalid");
    }
}
