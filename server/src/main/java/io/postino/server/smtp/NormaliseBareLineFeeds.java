package io.postino.server.smtp;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.LineHandler;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.DataLineFilter;

/**
 * Accepts bare LF line endings in DATA while making SMTP smuggling impossible: see
 * {@link DataLineEndings} for the rules. It must come before James' own DATA filters, which is
 * where handlers named in {@code <handlerchain>} are placed.
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.NormaliseBareLineFeeds"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters.</p>
 */
public class NormaliseBareLineFeeds implements DataLineFilter {
    private static final ProtocolSession.AttachmentKey<Boolean> PREVIOUS_LINE_ENDED_WITH_CRLF =
        ProtocolSession.AttachmentKey.of("postino.data.previousLineEndedWithCrlf", Boolean.class);

    @Override
    public Response onLine(SMTPSession session, byte[] line, LineHandler<SMTPSession> next) {
        // The DATA command line itself ended with CRLF, so a message may be empty.
        boolean previous = session.getAttachment(PREVIOUS_LINE_ENDED_WITH_CRLF, ProtocolSession.State.Transaction).orElse(true);
        DataLineEndings.Line normalised = DataLineEndings.normalise(line, previous);
        if (normalised.endOfData()) {
            session.removeAttachment(PREVIOUS_LINE_ENDED_WITH_CRLF, ProtocolSession.State.Transaction);
        } else {
            session.setAttachment(PREVIOUS_LINE_ENDED_WITH_CRLF, normalised.endedWithCrlf(), ProtocolSession.State.Transaction);
        }
        return next.onLine(session, normalised.bytes());
    }
}
