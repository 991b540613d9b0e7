package io.postino.server.smtp;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.MailEnvelope;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MessageHook;

import io.postino.server.smtp.listener.SmtpConnection;

/**
 * Refuses a message one of whose lines was too long to be received (more than 64 KiB, in DATA or BDAT): the line
 * was skipped, so the message is not what the client sent and must not be accepted
 * ({@code 554 5.6.0}). Part of {@link PostinoCoreHandlers}.
 */
public class RefuseDamagedMessage implements MessageHook {
    private static final HookResult DAMAGED = HookResult.builder()
        .hookReturnCode(HookReturnCode.deny())
        .smtpReturnCode("554")
        .smtpDescription("5.6.0 Message refused: a line is longer than 65536 octets (RFC 5322 allows 998)")
        .build();

    @Override
    public HookResult onMessage(SMTPSession session, MailEnvelope mail) {
        return session.getAttachment(SmtpConnection.LINE_TOO_LONG, ProtocolSession.State.Transaction).orElse(false)
            ? DAMAGED : HookResult.DECLINED;
    }
}
