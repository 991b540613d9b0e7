package io.postino.server.smtp;

import java.util.List;

import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.LineHandler;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPRetCode;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.DataLineFilter;
import org.apache.james.protocols.smtp.dsn.DSNStatus;

/**
 * Gives the reply to a message over {@code maxmessagesize} its enhanced status code and a
 * sentence: James 3.8.1 answers a bare {@code 552 Quota exceeded} at the end of DATA. It must be
 * named in {@code <handlerchain>}, which places it around James' own size check.
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.ExplainSizeLimit"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. Reply: {@code 552 5.3.4}.</p>
 */
public class ExplainSizeLimit implements DataLineFilter {

    @Override
    public Response onLine(SMTPSession session, byte[] line, LineHandler<SMTPSession> next) {
        Response response = next.onLine(session, line);
        if (response != null && SMTPRetCode.QUOTA_EXCEEDED.equals(response.getRetCode()) && !hasEnhancedCode(response.getLines())) {
            SMTPResponse explained = new SMTPResponse(SMTPRetCode.QUOTA_EXCEEDED,
                DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SYSTEM_MSG_TOO_BIG)
                    + " Message too big: this server accepts at most " + session.getConfiguration().getMaxMessageSize() + " bytes");
            explained.setEndSession(response.isEndSession());
            return explained;
        }
        return response;
    }

    private static boolean hasEnhancedCode(List<CharSequence> lines) {
        return !lines.isEmpty() && lines.get(0).toString().matches("^(\\d{3}[ -])?[245]\\.\\d{1,3}\\.\\d{1,3}.*");
    }
}
