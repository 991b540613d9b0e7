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
 * What must hold before James' DATA starts: no BDAT chunk in this transaction yet (RFC 3030
 * section 3: {@code 503 5.5.1}). Otherwise James' handler runs. Part of {@link PostinoCoreHandlers}.
 */
public class DataRules implements CommandHandler<SMTPSession> {
    private static final Response AFTER_BDAT = new SMTPResponse("503", "5.5.1 DATA cannot follow BDAT in one transaction").immutable();

    @Override
    public Collection<String> getImplCommands() {
        return List.of("DATA");
    }

    @Override
    public Response onCommand(SMTPSession session, Request request) {
        if (session.getAttachment(BdatCmdHandler.TRANSFER, ProtocolSession.State.Transaction).isPresent()) {
            return AFTER_BDAT;
        }
        return null;
    }
}
