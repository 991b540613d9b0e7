package io.postino.server.smtp;

import java.util.Optional;

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
import org.apache.james.util.Size;

import io.postino.server.spool.Spool;

/**
 * Refuses mail the spool has no room for, before any of it is received (like Postfix's
 * {@code queue_minfree}): when the spool's file system has less than {@code minFree} free, or less
 * than {@code minFree} plus one and a half times the size a client declares with {@code SIZE=},
 * MAIL FROM, DATA and BDAT get {@code 452 4.3.1 Insufficient system storage}. Mail
 * already queued keeps the room it needs to move on and be delivered.
 *
 * <pre>{@code
 * <handler class="io.postino.server.smtp.RequireFreeSpace">
 *     <minFree>200M</minFree>
 * </handler>
 * }</pre>
 *
 * <ul>
 *   <li>{@code minFree}: free space to keep, with a unit ({@code K}, {@code M}, {@code G}).
 *   Default 200M.</li>
 * </ul>
 */
public class RequireFreeSpace implements MailHook, MessageGate {
    /** Where James' SIZE extension keeps the declared size (its key is private; the name is what matters). */
    private static final ProtocolSession.AttachmentKey<Integer> DECLARED = ProtocolSession.AttachmentKey.of("MESG_SIZE", Integer.class);

    private final Spool spool;
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
                minFree = Size.parse(raw.trim()).asBytes();
            } catch (RuntimeException e) {
                throw new ConfigurationException("RequireFreeSpace: <minFree> must be a size such as 200M or 1G, got '" + raw + "'");
            }
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
        return spool.usableSpace() >= minFree + declared + declared / 2;
    }

    private String insufficient(long declared) {
        return "4.3.1 Insufficient system storage: the spool has " + (spool.usableSpace() >> 20) + " MiB free"
            + (declared > 0 ? " for a message of " + (declared >> 10) + " KiB" : "") + "; try again later";
    }
}
