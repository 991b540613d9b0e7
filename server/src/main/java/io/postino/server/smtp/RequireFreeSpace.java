package io.postino.server.smtp;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;

import io.postino.server.spool.Spool;

/**
 * Refuses mail the spool has no room for, before any of it is received (like Postfix's
 * {@code queue_minfree}): when the spool's file system has less than {@code minFree} free, or less
 * than {@code minFree} plus one and a half times the size a client declares with {@code SIZE=},
 * MAIL FROM, DATA and BDAT get {@code 452 4.3.1 Insufficient system storage}. Mail
 * already queued keeps the room it needs to move on and be delivered. The same holds for the
 * temporary directory ({@code java.io.tmpdir}) where James keeps a message larger than 100 KiB
 * while it arrives: it needs {@value #TEMPORARY_FLOOR_MIB} MiB (or {@code minFree} if that is
 * less) plus one and a half times the declared size free.
 *
 * <pre>{@code
 * <handler class="io.postino.server.smtp.RequireFreeSpace">
 *     <minFree>200M</minFree>
 * </handler>
 * }</pre>
 *
 * <ul>
 *   <li>{@code minFree}: free space to keep, in octets or with a unit ({@code K}, {@code M},
 *   {@code G}); 0 or more. Default 200M. Anything else stops start-up.</li>
 * </ul>
 */
public class RequireFreeSpace implements MailHook, MessageGate {
    /** Where James' SIZE extension keeps the declared size (its key is private; the name is what matters). */
    private static final ProtocolSession.AttachmentKey<Integer> DECLARED = ProtocolSession.AttachmentKey.of("MESG_SIZE", Integer.class);
    private static final Pattern SIZE = Pattern.compile("([0-9]+)([KMGkmg]?)");

    static final long TEMPORARY_FLOOR_MIB = 32;

    private final Spool spool;
    private final java.io.File temporary = new java.io.File(System.getProperty("java.io.tmpdir"));
    private long minFree = 200L << 20;

    @Inject
    public RequireFreeSpace(Spool spool) {
        this.spool = spool;
    }

    @Override
    public void init(Configuration config) throws ConfigurationException {
        String raw = config.getString("minFree", null);
        if (raw != null) {
            try {
                minFree = parseMinFree(raw);
            } catch (IllegalArgumentException e) {
                throw new ConfigurationException("conf/smtpserver.xml: <handler class=\"" + RequireFreeSpace.class.getName() + "\">: "
                    + e.getMessage());
            }
        }
    }

    /**
     * A {@code minFree} value in octets: a whole number with an optional unit K, M or G (powers
     * of 1024). James' own size parser takes {@code -5M} and {@code UNLIMITED} (-1), and
     * overflows silently; a negative floor would switch the guard off.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static long parseMinFree(String raw) {
        Matcher size = SIZE.matcher(raw.trim());
        if (!size.matches()) {
            throw new IllegalArgumentException("<minFree> must be a size such as 200M or 1G (a whole number of octets, "
                + "or with K, M or G), got '" + raw + "'" + (raw.trim().startsWith("-") ? ": it cannot be negative" : ""));
        }
        int shift = switch (size.group(2).toUpperCase(java.util.Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            default -> 0;
        };
        try {
            long value = Long.parseLong(size.group(1));
            if (value > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return value << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("<minFree> '" + raw + "' is too large: at most " + (Long.MAX_VALUE >> 30) + "G", e);
        }
    }

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        long declared = declared(session);
        if (room(declared)) {
            return HookResult.DECLINED;
        }
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.denySoft())
            .smtpReturnCode("452")
            .smtpDescription(insufficient(declared))
            .build();
    }

    private static long declared(SMTPSession session) {
        return session.getAttachment(DECLARED, ProtocolSession.State.Transaction).map(Integer::longValue).orElse(0L);
    }

    @Override
    public Optional<Response> beforeMessage(SMTPSession session) {
        long declared = declared(session);
        return room(declared) ? Optional.empty() : Optional.of(new SMTPResponse("452", insufficient(declared)));
    }

    private boolean room(long declared) {
        long needed = minFree + declared + declared / 2;
        // A floor near Long.MAX_VALUE plus a declared size wraps around: then there is no room.
        return needed >= minFree && spool.usableSpace() >= needed && temporaryRoom(declared);
    }

    private boolean temporaryRoom(long declared) {
        return temporary.getUsableSpace() >= Math.min(TEMPORARY_FLOOR_MIB << 20, minFree) + declared + declared / 2;
    }

    private String insufficient(long declared) {
        String where = temporaryRoom(declared) ? "the spool has " + (spool.usableSpace() >> 20) + " MiB free"
            : "the temporary directory has " + (temporary.getUsableSpace() >> 20) + " MiB free";
        return "4.3.1 Insufficient system storage: " + where
            + (declared > 0 ? " for a message of " + (declared >> 10) + " KiB" : "") + "; try again later";
    }
}
