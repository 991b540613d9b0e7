package io.postino.server.smtp;

import java.util.List;

import org.apache.james.protocols.api.handler.CommandHandlerResultLogger;
import org.apache.james.protocols.lib.handler.HandlersPackage;
import org.apache.james.protocols.smtp.core.ExpnCmdHandler;
import org.apache.james.protocols.smtp.core.HeloCmdHandler;
import org.apache.james.protocols.smtp.core.HelpCmdHandler;
import org.apache.james.protocols.smtp.core.NoopCmdHandler;
import org.apache.james.protocols.smtp.core.PostmasterAbuseRcptHook;
import org.apache.james.protocols.smtp.core.QuitCmdHandler;
import org.apache.james.protocols.smtp.core.RsetCmdHandler;
import org.apache.james.protocols.smtp.core.VrfyCmdHandler;
import org.apache.james.protocols.smtp.core.esmtp.EhloCmdHandler;
import org.apache.james.protocols.smtp.core.esmtp.MailSizeEsmtpExtension;
import org.apache.james.protocols.smtp.core.esmtp.StartTlsCmdHandler;
import org.apache.james.protocols.smtp.core.log.HookResultLogger;
import org.apache.james.smtpserver.AddDefaultAttributesMessageHook;
import org.apache.james.smtpserver.AuthRequiredToRelayRcptHook;
import org.apache.james.smtpserver.DataLineJamesMessageHookHandler;
import org.apache.james.smtpserver.JamesDataCmdHandler;
import org.apache.james.smtpserver.JamesMailCmdHandler;
import org.apache.james.smtpserver.JamesRcptCmdHandler;
import org.apache.james.smtpserver.JamesWelcomeMessageHandler;
import org.apache.james.smtpserver.SenderAuthIdentifyVerificationHook;

/**
 * The command handlers every Postino listener has, whatever {@code <handlerchain>} lists: James'
 * own ({@code CoreCmdHandlerLoader}) with these changes, so that no configuration can leave them out.
 *
 * <ul>
 *   <li>{@link PostinoCommandDispatcher} instead of James' dispatcher: command lines are checked
 *   first ({@link CommandLine}).</li>
 *   <li>{@link AuthOverTlsCmdHandler} instead of James' AUTH: only over TLS. James' password hook
 *   is left out: the handler chain names the AUTH hook ({@link ThrottleAuthentication}), and a
 *   listener without one does not start.</li>
 *   <li>{@link RefuseDisabledUser}: a session whose user was disabled after it logged in cannot
 *   start another mail.</li>
 *   <li>{@link RefuseDamagedMessage}: a message with a line too long to receive is refused.</li>
 *   <li>{@link BdatCmdHandler}: CHUNKING (RFC 3030) through the same pipeline as DATA, and
 *   {@link DataRules} before James' DATA.</li>
 *   <li>{@link StartTlsRules} before James' STARTTLS: not during a transaction, after AUTH or twice.</li>
 *   <li>{@link UnknownCommand} instead of James' handler of unknown commands: {@code 500 5.5.1}
 *   without echoing the command ({@link LimitUnknownCommands} closes the connection after a few).</li>
 *   <li>{@link SpoolReceivedMail} instead of James' {@code SendMailHandler}: a full disk is
 *   {@code 452 4.3.1}, any other spool failure {@code 451 4.3.0}, without a stack trace per message.</li>
 * </ul>
 */
public class PostinoCoreHandlers implements HandlersPackage {
    private static final List<String> HANDLERS = List.of(
        JamesWelcomeMessageHandler.class.getName(),
        PostinoCommandDispatcher.class.getName(),
        AuthOverTlsCmdHandler.class.getName(),
        RefuseDisabledUser.class.getName(),
        DataRules.class.getName(),
        JamesDataCmdHandler.class.getName(),
        BdatCmdHandler.class.getName(),
        EhloCmdHandler.class.getName(),
        ExpnCmdHandler.class.getName(),
        HeloCmdHandler.class.getName(),
        HelpCmdHandler.class.getName(),
        JamesMailCmdHandler.class.getName(),
        NoopCmdHandler.class.getName(),
        QuitCmdHandler.class.getName(),
        JamesRcptCmdHandler.class.getName(),
        RsetCmdHandler.class.getName(),
        VrfyCmdHandler.class.getName(),
        MailSizeEsmtpExtension.class.getName(),
        AuthRequiredToRelayRcptHook.class.getName(),
        SenderAuthIdentifyVerificationHook.class.getName(),
        PostmasterAbuseRcptHook.class.getName(),
        ReceivedHeader.class.getName(),
        DataLineJamesMessageHookHandler.class.getName(),
        StartTlsRules.class.getName(),
        StartTlsCmdHandler.class.getName(),
        RefuseDamagedMessage.class.getName(),
        SmtpUtf8Extension.class.getName(),
        AddDefaultAttributesMessageHook.class.getName(),
        SpoolReceivedMail.class.getName(),
        UnknownCommand.class.getName(),
        CommandHandlerResultLogger.class.getName(),
        HookResultLogger.class.getName());

    @Override
    public List<String> getHandlers() {
        return HANDLERS;
    }
}
