package io.postino.server.smtp;

import java.util.Optional;

import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.ProtocolHandler;
import org.apache.james.protocols.smtp.SMTPSession;

/**
 * A handler asked before a message starts to arrive (DATA, or the first BDAT chunk): a refusal
 * here is answered instead of {@code 354} (for BDAT, after the chunk's octets are read). Used by
 * {@link RequireFreeSpace}.
 */
public interface MessageGate extends ProtocolHandler {
    Optional<Response> beforeMessage(SMTPSession session);
}
