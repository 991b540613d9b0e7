package io.postino.server.smtp;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.dsn.DSNStatus;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.RcptHook;

/**
 * Refuses, from clients that may not relay, recipients whose local part still carries a route
 * to another host: {@code user%other.example@served.example}, {@code host!user@served.example}
 * or a quoted {@code "user@other.example"@served.example}. A server behind Postino could
 * otherwise forward them and make the pair an open relay (what Postfix's
 * {@code allow_untrusted_routing = no} prevents). Source routes ({@code <@a,@b:user@c>}) need no
 * rule: James drops the route and checks {@code user@c} like any other recipient.
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.RejectAddressRouting"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. Reply: {@code 550 5.7.1}.</p>
 */
public class RejectAddressRouting implements RcptHook {
    private static final HookResult ROUTING_REFUSED = HookResult.builder()
        .hookReturnCode(HookReturnCode.deny())
        .smtpReturnCode("550")
        .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SECURITY_AUTH)
            + " Relaying denied: address routing characters (%, !, @) in the local part are not accepted")
        .build();

    @Override
    public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress rcpt) {
        if (session.isRelayingAllowed() || session.getUsername() != null) {
            return HookResult.DECLINED;
        }
        String localPart = rcpt.getLocalPart();
        if (localPart.indexOf('%') >= 0 || localPart.indexOf('!') >= 0 || localPart.indexOf('@') >= 0) {
            return ROUTING_REFUSED;
        }
        return HookResult.DECLINED;
    }
}
