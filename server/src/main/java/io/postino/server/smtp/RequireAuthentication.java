package io.postino.server.smtp;

import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.dsn.DSNStatus;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;

/**
 * Refuses MAIL FROM until the client has authenticated, whatever network it connects from: the
 * rule of the submission listeners (587 and 465, RFC 6409).
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.RequireAuthentication"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. Reply: {@code 530 5.7.0}.</p>
 */
public class RequireAuthentication implements MailHook {
    private static final HookResult AUTHENTICATION_REQUIRED = HookResult.builder()
        .hookReturnCode(HookReturnCode.deny())
        .smtpReturnCode("530")
        .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SECURITY_OTHER)
            + " Authentication required: log in with AUTH before MAIL FROM on this port")
        .build();

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        if (session.getUsername() == null) {
            return AUTHENTICATION_REQUIRED;
        }
        return HookResult.DECLINED;
    }
}
