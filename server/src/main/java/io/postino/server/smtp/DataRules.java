package io.postino.server.smtp;

import java.util.Collection;
import java.util.List;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Request;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.CommandHandler;
import org.apache.james.protocols.api.handler.ExtensibleHandler;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;

/**
 * What must hold before James' DATA starts: no BDAT chunk in this transaction yet (RFC 3030
 * section 3: {@code 503 5.5.1}), and every {@link MessageGate} (room in the spool) agrees.
 * Otherwise James' handler runs. Part of {@link PostinoCoreHandlers}.
 */
public class DataRules implements CommandHandler<SMTPSession>, ExtensibleHandler {
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
        if (session.getAttachment(SMTPSession.SENDER, ProtocolSession.State.Transaction).isEmpty()
            || session.getAttachment(SMTPSession.RCPT_LIST, ProtocolSession.State.Transaction).map(List::isEmpty).orElse(true)) {
            return null; // James answers the sequence error
        }
        return gates(gates, session).orElse(null);
    }

    private List<MessageGate> gates = List.of();

    static java.util.Optional<Response> gates(List<MessageGate> gates, SMTPSession session) {
        for (MessageGate gate : gates) {
            java.util.Optional<Response> refusal = gate.beforeMessage(session);
            if (refusal.isPresent()) {
                return refusal;
            }
        }
        return java.util.Optional.empty();
    }

    @Override
    public List<Class<?>> getMarkerInterfaces() {
        return List.of(MessageGate.class);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void wireExtensions(Class<?> interfaceName, List<?> extension) {
        if (MessageGate.class.equals(interfaceName)) {
            gates = List.copyOf((List<MessageGate>) extension);
        }
    }
}
