package io.postino.server.smtp;

import java.util.List;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.esmtp.EhloExtension;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;

import io.postino.organisations.PostinoAttributes;

/**
 * SMTPUTF8 (RFC 6531) on every listener: offered in EHLO, and a mail whose MAIL FROM declared it
 * carries {@link PostinoAttributes#SMTPUTF8}, so that delivery knows its headers may be UTF-8.
 * {@link CommandLine} lets UTF-8 addresses into such a transaction (and only there) and gives
 * them to James in a form it can hold ({@code io.postino.address.InternationalAddresses}).
 *
 * <p>Part of {@link PostinoCoreHandlers}, so always present; nothing to configure.</p>
 */
public class SmtpUtf8Extension implements EhloExtension, JamesMessageHook {
    @Override
    public List<String> getImplementedEsmtpFeatures(SMTPSession session) {
        return List.of("SMTPUTF8");
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        if (session.getAttachment(PostinoCommandDispatcher.SMTPUTF8, ProtocolSession.State.Transaction).orElse(false)) {
            mail.setAttribute(new Attribute(PostinoAttributes.SMTPUTF8, AttributeValue.of(true)));
        }
        return HookResult.DECLINED;
    }
}
