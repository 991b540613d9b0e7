package io.postino.server.smtp;

import javax.inject.Inject;

import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.dsn.DSNStatus;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;

import io.postino.server.users.DisabledUsers;

/**
 * Refuses MAIL FROM in a session whose user was disabled ({@link DisabledUsers}) after it
 * logged in, so that disabling a user stops its open connections at their next mail, not only
 * its next login ({@link ThrottleAuthentication} refuses those).
 *
 * <p>Reply: {@code 550 5.7.1 This account was disabled ...}. Not {@code 530 5.7.0}
 * ("authentication required"): the session is logged in and AUTH cannot be given twice in one
 * session (RFC 4954), so a client that took 530 at its word would get {@code 503} and retry in a
 * loop; 550 is a permanent refusal that a mail client shows its user as it is, and 5.7.1
 * ("delivery not authorized", RFC 3463) is what it is. A client that connects again is told at
 * AUTH that the account is disabled.</p>
 *
 * <p>A session that did not log in (a trusted network on port 25, an organisation's
 * {@code <trustedNetwork>}) may not use a disabled login as its envelope sender either:
 * {@code 550 5.7.1 <alice@acme.test> is a disabled account ...}. Disabling an account stops mail
 * from that address through Postino, not only its logins.</p>
 *
 * <p>Part of {@link PostinoCoreHandlers}, on every listener; nothing to configure.</p>
 */
public class RefuseDisabledUser implements MailHook {
    private static final HookResult DISABLED = HookResult.builder()
        .hookReturnCode(HookReturnCode.deny())
        .smtpReturnCode("550")
        .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SECURITY_AUTH)
            + " This account was disabled after it logged in; ask your administrator to enable it again")
        .build();

    private final DisabledUsers disabled;

    @Inject
    public RefuseDisabledUser(DisabledUsers disabled) {
        this.disabled = disabled;
    }

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        if (session.getUsername() != null && disabled.isDisabled(session.getUsername())) {
            return DISABLED;
        }
        if (session.getUsername() == null && !sender.isNullSender() && disabled.isDisabled(sender.asString())) {
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.deny())
                .smtpReturnCode("550")
                .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SECURITY_AUTH)
                    + " <" + sender.asString() + "> is a disabled account and cannot send, logged in or not;"
                    + " ask your administrator to enable it again")
                .build();
        }
        return HookResult.DECLINED;
    }
}
