package io.postino.server.smtp;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.UnknownHook;

import io.postino.server.smtp.listener.SmtpConnection;

/**
 * Closes the connection of a client that keeps sending commands this server does not know (a
 * scanner, another protocol spoken to the SMTP port): each of the first {@code maxUnknownCmdCount}
 * is answered {@code 500 5.5.1 Command not recognized} ({@link UnknownCommand}), the next one
 * {@code 421 4.7.0 Too many unknown commands; closing the connection} and the connection closes.
 * They count for the whole connection: RSET or a new transaction does not start them again (James'
 * {@code MaxUnknownCmdHandler} counted per transaction and answered {@code 521} without an
 * enhanced status code). The closing is logged once, at WARN.
 *
 * <pre>{@code
 * <handler class="io.postino.server.smtp.LimitUnknownCommands">
 *     <maxUnknownCmdCount>5</maxUnknownCmdCount>
 * </handler>
 * }</pre>
 *
 * <ul>
 *   <li>{@code maxUnknownCmdCount}: unknown commands answered before the connection is closed, at
 *   least 0. Default 5.</li>
 * </ul>
 */
public class LimitUnknownCommands implements UnknownHook {
    static final int DEFAULT_MAX = 5;
    private static final ProtocolSession.AttachmentKey<Integer> COUNT = ProtocolSession.AttachmentKey.of("postino.unknownCommands", Integer.class);
    private static final HookResult CLOSE = HookResult.builder()
        .hookReturnCode(HookReturnCode.disconnected(HookReturnCode.Action.DENY))
        .smtpReturnCode("421")
        .smtpDescription("4.7.0 Too many unknown commands; closing the connection")
        .build();

    private int max = DEFAULT_MAX;

    @Override
    public void init(Configuration config) throws ConfigurationException {
        String raw = config.getString("maxUnknownCmdCount", String.valueOf(DEFAULT_MAX)).trim();
        try {
            max = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            max = -1;
        }
        if (max < 0) {
            throw new ConfigurationException("LimitUnknownCommands: <maxUnknownCmdCount> must be a number of commands (0 or more), got '" + raw + "'");
        }
    }

    @Override
    public HookResult doUnknown(SMTPSession session, String command) {
        int count = session.getAttachment(COUNT, ProtocolSession.State.Connection).orElse(0) + 1;
        session.setAttachment(COUNT, count, ProtocolSession.State.Connection);
        if (count <= max) {
            return HookResult.DECLINED;
        }
        SmtpConnection.of(session).ifPresent(connection ->
            // Not the commands themselves: a client that sent AUTH's answers out of turn sent its credentials as "commands".
            connection.noteAbuse(count + " unknown commands: closing the connection"));
        return CLOSE;
    }
}
