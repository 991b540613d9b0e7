package io.postino.server.smtp;

import java.util.Collection;
import java.util.List;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Request;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.CommandHandler;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;

/**
 * What James' STARTTLS lets through and RFC 3207 does not: STARTTLS in the middle of a
 * transaction (James silently dropped the envelope), after AUTH, or when TLS is already on, is
 * answered {@code 503 5.5.1} and the session goes on. Otherwise James' handler runs. Part of
 * {@link PostinoCoreHandlers}.
 */
public class StartTlsRules implements CommandHandler<SMTPSession> {
    private static final Response ALREADY_TLS = new SMTPResponse("503", "5.5.1 TLS is already active").immutable();
    private static final Response IN_TRANSACTION = new SMTPResponse("503", "5.5.1 STARTTLS is not permitted during a mail transaction; send RSET first").immutable();
    private static final Response AFTER_AUTH = new SMTPResponse("503", "5.5.1 STARTTLS is not permitted after AUTH").immutable();

    @Override
    public Collection<String> getImplCommands() {
        return List.of("STARTTLS");
    }

    @Override
    public Response onCommand(SMTPSession session, Request request) {
        if (session.isTLSStarted()) {
            return ALREADY_TLS;
        }
        if (session.getUsername() != null) {
            return AFTER_AUTH;
        }
        if (session.getAttachment(SMTPSession.SENDER, ProtocolSession.State.Transaction).isPresent()) {
            return IN_TRANSACTION;
        }
        return null;
    }
}
