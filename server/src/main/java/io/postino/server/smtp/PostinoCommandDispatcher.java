package io.postino.server.smtp;

import java.util.Optional;

import org.apache.james.protocols.api.BaseRequest;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.CommandDispatcher;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.smtp.listener.SmtpConnection;

/**
 * James' command dispatcher, fed only lines that pass {@link CommandLine}'s checks; a refused
 * line gets its reply (e.g. {@code 501 5.1.3} for a NUL in an address, {@code 500 5.5.2} for a
 * line over 512 octets) and the session goes on. A handler that fails is Postino's bug: logged
 * with its stack trace and answered {@code 451 4.3.0}.
 *
 * <p>Part of {@link PostinoCoreHandlers}, so always present; nothing to configure.</p>
 */
public class PostinoCommandDispatcher extends CommandDispatcher<SMTPSession> {
    private static final Logger LOGGER = LoggerFactory.getLogger(PostinoCommandDispatcher.class);
    /** Set for a transaction whose MAIL FROM declared SMTPUTF8 and was accepted. */
    public static final ProtocolSession.AttachmentKey<Boolean> SMTPUTF8 = ProtocolSession.AttachmentKey.of("postino.smtputf8", Boolean.class);

    /** Protocol errors (syntax, sequence, unknown commands) that end a session, as Postfix's smtpd_hard_error_limit. */
    static final int ERROR_LIMIT = 20;
    private static final ProtocolSession.AttachmentKey<Integer> ERRORS = ProtocolSession.AttachmentKey.of("postino.protocolErrors", Integer.class);
    /** Set from an AUTH line to the next known command: a line between may be a credential sent out of turn. */
    private static final ProtocolSession.AttachmentKey<Boolean> AFTER_AUTH = ProtocolSession.AttachmentKey.of("postino.afterAuth", Boolean.class);

    private static final Response HANDLER_FAILED = new SMTPResponse("451", "4.3.0 Internal error while handling the command; try again later").immutable();

    @Override
    public Response onLine(SMTPSession session, byte[] line) {
        return counted(session, answer(session, line));
    }

    private static Response counted(SMTPSession session, Response response) {
        if (response != null && isProtocolError(response.getRetCode())) {
            int errors = session.getAttachment(ERRORS, ProtocolSession.State.Connection).orElse(0) + 1;
            session.setAttachment(ERRORS, errors, ProtocolSession.State.Connection);
            if (errors >= ERROR_LIMIT) {
                SMTPResponse closing = new SMTPResponse("421", "4.7.0 Too many protocol errors; closing the connection");
                closing.setEndSession(true);
                return closing;
            }
        }
        return response;
    }

    private static boolean isProtocolError(String code) {
        return code != null && (code.startsWith("50") || code.equals("555"));
    }

    private Response answer(SMTPSession session, byte[] line) {
        boolean mayBeCredential = followsAuth(session, line);
        boolean utf8Transaction = session.getAttachment(SMTPUTF8, ProtocolSession.State.Transaction).orElse(false);
        CommandLine.Checked checked = CommandLine.check(line, utf8Transaction, true,
            session.getConfiguration().getMaxMessageSize());
        if (checked.refusal() != null) {
            SmtpConnection.of(session).ifPresent(connection -> connection.noteAbuse("refused " + LogSafe.command(line, mayBeCredential)
                + ": " + LogSafe.of(checked.refusal().code() + " " + checked.refusal().text())));
            return new SMTPResponse(checked.refusal().code(), checked.refusal().text());
        }
        CommandLine command = checked.command();
        Optional<SmtpConnection> connection = SmtpConnection.of(session);
        if ((command.verb().equals("MAIL") || command.verb().equals("RCPT")) && connection.isPresent()) {
            // Their hooks ask the database, DNS and Redis: not on the thread that serves other connections.
            connection.get().answerAsync(session, () -> counted(session, handle(session, command)));
            return null;
        }
        return handle(session, command);
    }

    /**
     * Whether the line may be a client's answer to an AUTH challenge that was not given (AUTH
     * refused, or pipelined): it follows an AUTH line and is no known command. Remembers AUTH
     * lines for the lines after them.
     */
    private static boolean followsAuth(SMTPSession session, byte[] line) {
        String word = LogSafe.leadingWord(line);
        boolean after = session.getAttachment(AFTER_AUTH, ProtocolSession.State.Connection).orElse(false);
        if (word.startsWith("AUTH")) {
            session.setAttachment(AFTER_AUTH, true, ProtocolSession.State.Connection);
            return false;
        }
        if (CommandLine.isKnownVerb(word)) {
            session.removeAttachment(AFTER_AUTH, ProtocolSession.State.Connection);
            return false;
        }
        return after;
    }

    private Response handle(SMTPSession session, CommandLine command) {
        try {
            Response response = dispatchCommandHandlers(session, new BaseRequest(command.verb(), command.argument()));
            if (command.verb().equals("MAIL") && command.hasMailParameter("SMTPUTF8") && response != null
                && response.getRetCode().startsWith("2")) {
                session.setAttachment(SMTPUTF8, true, ProtocolSession.State.Transaction);
            }
            return response;
        } catch (RuntimeException e) {
            if (SmtpConnection.of(session).map(connection -> !connection.isOpen()).orElse(false)) {
                // The client left while its MAIL or RCPT was being checked on the lookup pool and
                // the session was torn down under the handler: nobody waits for this answer.
                LOGGER.debug("Handling {} from {} failed after the client disconnected", command.verb(), session.getRemoteAddress(), e);
                return HANDLER_FAILED;
            }
            LOGGER.error("Handling {} from {} failed", CommandLine.isKnownVerb(command.verb()) ? command.verb() : "an unknown command",
                session.getRemoteAddress(), e);
            return HANDLER_FAILED;
        }
    }
}
