package io.postino.server.smtp;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

import io.postino.address.HiddenCharacters;
import io.postino.address.InternationalAddresses;

/**
 * One SMTP command line as the client sent it, checked before James parses it: the octets a
 * command may contain (no NUL or other control character, and 8-bit octets only as UTF-8 in the
 * addresses of an SMTPUTF8 transaction, without C1 controls, bidi controls, zero-width or
 * separator characters: {@link HiddenCharacters}), the length of the line and of the paths in it
 * (RFC 5321 section 4.5.3.1), and the parameters of MAIL FROM and RCPT TO. James silently strips
 * or keeps much of this (a NUL at the end of an address, an unknown parameter, {@code SIZE=-1}).
 */
public final class CommandLine {
    /** RFC 5321 section 4.5.3.1.4, CRLF included. */
    static final int COMMAND_LIMIT = 512;
    /** RFC 1870 (SIZE, 26), RFC 4954 (AUTH=, 500), RFC 6152 (BODY=8BITMIME) and RFC 6531 (SMTPUTF8) extend MAIL FROM. */
    static final int MAIL_LIMIT = COMMAND_LIMIT + 26 + 500 + 14 + 9;
    /** RFC 4954 section 4. */
    static final int AUTH_LIMIT = 12_288;
    static final int PATH_LIMIT = 256;
    static final int LOCAL_PART_LIMIT = 64;
    static final int DOMAIN_LIMIT = 255;
    private static final Set<String> KNOWN_VERBS = Set.of("EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT",
        "VRFY", "EXPN", "HELP", "AUTH", "STARTTLS");

    /** Why a line is refused: the reply's code and its text (enhanced code first). */
    public record Refusal(String code, String text) {
    }

    private final String verb;
    private final String argument;
    private final Set<String> mailParameters;

    private CommandLine(String verb, String argument, Set<String> mailParameters) {
        this.verb = verb;
        this.argument = argument;
        this.mailParameters = mailParameters;
    }

    public String verb() {
        return verb;
    }

    /**
     * The argument, decoded (UTF-8 where allowed, otherwise ASCII), or null. An internationalised
     * path of MAIL FROM or RCPT TO is given in the form James can hold
     * ({@link InternationalAddresses#storedForm}: A-labels, a UTF-8 local part quoted).
     */
    public String argument() {
        return argument;
    }

    /** Upper-cased names of the MAIL FROM parameters. */
    public boolean hasMailParameter(String name) {
        return mailParameters.contains(name);
    }

    /**
     * Checks {@code line} (its terminating CRLF or LF included).
     *
     * @param utf8Transaction whether MAIL FROM of this transaction declared SMTPUTF8 (RCPT TO may then carry UTF-8)
     * @param smtpUtf8Offered whether the listener offers SMTPUTF8 (MAIL FROM may then declare it)
     * @param maxMessageSize the listener's size limit in octets, 0 for none
     * @return the command, or the reason to refuse the line
     */
    public static Checked check(byte[] line, boolean utf8Transaction, boolean smtpUtf8Offered, long maxMessageSize) {
        int end = line.length;
        if (end > 0 && line[end - 1] == '\n') {
            end--;
            if (end > 0 && line[end - 1] == '\r') {
                end--;
            }
        }
        boolean eightBit = false;
        for (int i = 0; i < end; i++) {
            int octet = line[i] & 0xff;
            if (octet < 0x20 || octet == 0x7f) {
                return refused(verbOf(line, end), "501", "Syntax error: control characters (here 0x%02x) are not allowed in commands", octet);
            }
            eightBit |= octet >= 0x80;
        }
        String verb = verbOf(line, end);
        int limit = switch (verb) {
            case "MAIL" -> MAIL_LIMIT;
            case "AUTH" -> AUTH_LIMIT;
            default -> COMMAND_LIMIT;
        };
        if (end + 2 > limit) {
            return Checked.refusal(new Refusal("500", "5.5.2 Line too long: " + shown(verb) + " may be at most " + limit
                + " octets (RFC 5321 section 4.5.3.1.4)"));
        }
        String text;
        if (eightBit) {
            boolean mayCarryUtf8 = verb.equals("RCPT") ? utf8Transaction : verb.equals("MAIL") && smtpUtf8Offered && declaresSmtpUtf8(line, end);
            if (!mayCarryUtf8) {
                return verb.equals("MAIL") || verb.equals("RCPT")
                    ? Checked.refusal(new Refusal("553", "5.6.7 Non-ASCII address: it needs the SMTPUTF8 extension (RFC 6531), declared in MAIL FROM"))
                    : Checked.refusal(new Refusal("500", "5.5.2 Syntax error: non-ASCII characters are not allowed in " + shown(verb)));
            }
            try {
                text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(line, 0, end)).toString();
            } catch (CharacterCodingException e) {
                return Checked.refusal(new Refusal("501", addressCode(verb) + " Syntax error: the command is not valid UTF-8"));
            }
        } else {
            text = new String(line, 0, end, StandardCharsets.US_ASCII);
        }
        int space = text.indexOf(' ');
        String argument = space < 0 ? null : text.substring(space + 1);
        Set<String> parameters = new HashSet<>();
        if (verb.equals("MAIL") || verb.equals("RCPT")) {
            String[] rewritten = new String[1];
            Optional<Refusal> refusal = checkPathAndParameters(verb, argument, maxMessageSize, smtpUtf8Offered, parameters, rewritten);
            if (refusal.isPresent()) {
                return Checked.refusal(refusal.get());
            }
            argument = rewritten[0] != null ? rewritten[0] : argument;
        }
        return new Checked(new CommandLine(verb, argument, parameters), null);
    }

    /** A checked line: the command, or why it is refused. */
    public record Checked(CommandLine command, Refusal refusal) {
        static Checked refusal(Refusal refusal) {
            return new Checked(null, refusal);
        }
    }

    private static Checked refused(String verb, String code, String format, Object... arguments) {
        return Checked.refusal(new Refusal(code, addressCode(verb) + " " + String.format(format, arguments)));
    }

    private static String addressCode(String verb) {
        return switch (verb) {
            case "MAIL" -> "5.1.7";
            case "RCPT" -> "5.1.3";
            default -> "5.5.2";
        };
    }

    /**
     * A refusal names the command only when it is one this server knows: the client's own octets
     * (8-bit, hundreds of them) would go back in the reply and into the log.
     */
    /** Whether {@code verb} (upper case) is a command of SMTP or of an extension Postino offers. */
    static boolean isKnownVerb(String verb) {
        return KNOWN_VERBS.contains(verb);
    }

    private static String shown(String verb) {
        return KNOWN_VERBS.contains(verb) ? "a " + verb + " command" : "a command";
    }

    private static String verbOf(byte[] line, int end) {
        int i = 0;
        while (i < end && line[i] != ' ') {
            i++;
        }
        return new String(line, 0, i, StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
    }

    private static boolean declaresSmtpUtf8(byte[] line, int end) {
        String ascii = new String(line, 0, end, StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT);
        int close = ascii.lastIndexOf('>');
        return close >= 0 && (" " + ascii.substring(close + 1) + " ").contains(" SMTPUTF8 ");
    }

    /**
     * The path between angle brackets (RFC 5321 section 4.1.2; a quoted local part may hold a
     * {@code >}), its lengths, and the parameters after it.
     */
    private static Optional<Refusal> checkPathAndParameters(String verb, String argument, long maxMessageSize,
                                                            boolean smtpUtf8Offered, Set<String> parameters, String[] rewritten) {
        String prefix = verb.equals("MAIL") ? "FROM:" : "TO:";
        if (argument == null || !argument.toUpperCase(Locale.ROOT).startsWith(prefix)) {
            return Optional.empty(); // James answers the syntax error
        }
        String rest = argument.substring(prefix.length()).stripLeading();
        if (!rest.startsWith("<")) {
            // James reads the parameters of an address without brackets too (addressBracketsEnforcement=false).
            int space = rest.indexOf(' ');
            return space < 0 ? Optional.empty() : checkParameters(verb, rest.substring(space), maxMessageSize, smtpUtf8Offered, parameters);
        }
        // James ends the path at the first '>' (MAIL) or the last one (RCPT), whatever quotes say:
        // the parameters it will read are those after that one.
        int close = verb.equals("MAIL") ? rest.indexOf('>') : rest.lastIndexOf('>');
        if (close < 0) {
            return Optional.empty();
        }
        if (closingBracket(rest) != close) {
            return Optional.of(new Refusal("501", addressCode(verb) + " Syntax error: a '>' inside the address"));
        }
        String path = rest.substring(0, close + 1);
        String code = addressCode(verb);
        if (octets(path) > PATH_LIMIT) {
            return Optional.of(new Refusal("501", code + " Address too long: a path may be at most " + PATH_LIMIT
                + " octets (RFC 5321 section 4.5.3.1.3)"));
        }
        String mailbox = path.substring(1, path.length() - 1);
        int colon = mailbox.startsWith("@") ? mailbox.indexOf(':') : -1;
        mailbox = colon >= 0 ? mailbox.substring(colon + 1) : mailbox;
        int at = mailbox.lastIndexOf('@');
        if (at < 0 && !mailbox.isEmpty() && !(verb.equals("RCPT") && mailbox.equalsIgnoreCase("postmaster"))) {
            return Optional.of(new Refusal("501", code + " Address without a domain: write user@domain"));
        }
        if (at >= 0) {
            if (octets(mailbox.substring(0, at)) > LOCAL_PART_LIMIT) {
                return Optional.of(new Refusal("501", code + " Address too long: a local part may be at most " + LOCAL_PART_LIMIT
                    + " octets (RFC 5321 section 4.5.3.1.1)"));
            }
            if (octets(mailbox.substring(at + 1)) > DOMAIN_LIMIT) {
                return Optional.of(new Refusal("501", code + " Address too long: a domain may be at most " + DOMAIN_LIMIT
                    + " octets (RFC 5321 section 4.5.3.1.2)"));
            }
        }
        String options = rest.substring(close + 1);
        if (!options.isEmpty() && !options.startsWith(" ")) {
            return Optional.of(new Refusal("501", "5.5.4 Syntax error: parameters must follow the address after a space"));
        }
        if (!InternationalAddresses.isAscii(path)) {
            // ASCII controls were refused with the line; these hide in UTF-8 (IDNA even drops some, such as U+200B).
            OptionalInt hidden = HiddenCharacters.first(path);
            if (hidden.isPresent()) {
                return Optional.of(new Refusal("501", code + " Syntax error: the address contains a control or invisible character ("
                    + HiddenCharacters.name(hidden.getAsInt()) + ")"));
            }
        }
        if (!InternationalAddresses.isAscii(mailbox)) {
            try {
                rewritten[0] = prefix + "<" + InternationalAddresses.storedForm(mailbox) + ">" + options;
            } catch (IllegalArgumentException e) {
                return Optional.of(new Refusal("501", code + " Syntax error: " + e.getMessage()));
            }
        }
        return checkParameters(verb, options, maxMessageSize, smtpUtf8Offered, parameters);
    }

    private static Optional<Refusal> checkParameters(String verb, String options, long maxMessageSize, boolean smtpUtf8Offered,
                                                     Set<String> parameters) {
        for (String option : options.trim().split(" +")) {
            if (option.isEmpty()) {
                continue;
            }
            Optional<Refusal> refusal = verb.equals("MAIL")
                ? checkMailParameter(option, maxMessageSize, smtpUtf8Offered, parameters)
                : Optional.of(new Refusal("555", "5.5.4 RCPT TO parameter " + nameOf(option) + " is not supported"));
            if (refusal.isPresent()) {
                return refusal;
            }
        }
        return Optional.empty();
    }

    private static Optional<Refusal> checkMailParameter(String option, long maxMessageSize, boolean smtpUtf8Offered, Set<String> parameters) {
        String name = nameOf(option);
        String value = option.contains("=") ? option.substring(option.indexOf('=') + 1) : null;
        if (!parameters.add(name)) {
            return Optional.of(new Refusal("501", "5.5.4 MAIL FROM parameter " + name + " is given twice"));
        }
        switch (name) {
            case "SIZE":
                if (value == null || !value.matches("[0-9]{1,20}")) {
                    return Optional.of(new Refusal("501", "5.5.4 SIZE must be a non-negative number of octets (RFC 1870)"));
                }
                if (maxMessageSize > 0 && new BigInteger(value).compareTo(BigInteger.valueOf(maxMessageSize)) > 0) {
                    return Optional.of(new Refusal("552", "5.3.4 Message too big: this server accepts at most " + maxMessageSize + " octets"));
                }
                return Optional.empty();
            case "BODY":
                if (value == null || !(value.equalsIgnoreCase("7BIT") || value.equalsIgnoreCase("8BITMIME"))) {
                    return Optional.of(new Refusal("501", "5.5.4 BODY must be 7BIT or 8BITMIME"));
                }
                return Optional.empty();
            case "AUTH":
                return value == null || value.isEmpty()
                    ? Optional.of(new Refusal("501", "5.5.4 AUTH= needs a value (RFC 4954 section 5)"))
                    : Optional.empty();
            case "SMTPUTF8":
                if (!smtpUtf8Offered) {
                    return Optional.of(new Refusal("555", "5.5.4 MAIL FROM parameter SMTPUTF8 is not supported"));
                }
                return value == null ? Optional.empty() : Optional.of(new Refusal("501", "5.5.4 SMTPUTF8 takes no value"));
            default:
                return Optional.of(new Refusal("555", "5.5.4 MAIL FROM parameter " + name + " is not supported"));
        }
    }

    private static String nameOf(String option) {
        int equals = option.indexOf('=');
        return (equals < 0 ? option : option.substring(0, equals)).toUpperCase(Locale.ROOT);
    }

    private static int closingBracket(String rest) {
        boolean quoted = false;
        for (int i = 1; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c == '\\' && quoted) {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == '>' && !quoted) {
                return i;
            }
        }
        return -1;
    }

    private static int octets(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
