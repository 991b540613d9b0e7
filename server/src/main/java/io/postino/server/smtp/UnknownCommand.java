package io.postino.server.smtp;

import javax.inject.Inject;

import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.UnknownCmdHandler;

/**
 * Answers a command no handler knows {@code 500 5.5.1 Command not recognized}, without echoing
 * what the client sent (James' handler repeats the verb). The {@code UnknownHook}s of the handler
 * chain, such as {@link LimitUnknownCommands}, are asked first. Part of {@link PostinoCoreHandlers}.
 */
public class UnknownCommand extends UnknownCmdHandler {
    private static final Response NOT_RECOGNIZED = new SMTPResponse("500", "5.5.1 Command not recognized").immutable();

    @Inject
    public UnknownCommand(MetricFactory metricFactory) {
        super(metricFactory);
    }

    @Override
    protected Response doCoreCmd(SMTPSession session, String command, String parameters) {
        return NOT_RECOGNIZED;
    }
}
