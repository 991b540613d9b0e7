package io.postino.server.smtp;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;

import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Request;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.LineHandler;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.esmtp.EhloExtension;
import org.apache.james.server.core.MailImpl;
import org.apache.james.server.core.MimeMessageInputStreamSource;
import org.apache.james.smtpserver.ExtendedSMTPSession;
import org.apache.james.smtpserver.JamesDataCmdHandler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.postino.server.smtp.listener.SmtpConnection;

/**
 * CHUNKING (RFC 3030): {@code BDAT <octets> [LAST]} sends the message in chunks of exactly that
 * many octets, read as they are (no dot-stuffing, no end-of-data line). Each chunk goes through
 * the same pipeline as DATA: the same data line filters (bare line feeds, size limit, Received
 * header), then, at LAST, the same message hooks (sender identity, DKIM requirement, rate limits,
 * tracking) and the same queue. The octets of a refused chunk are still read, so the session
 * stays in step.
 *
 * <ul>
 *   <li>Each chunk but the last: {@code 250 2.0.0 <n> octets received}. LAST: the answer DATA would
 *   give at its end.</li>
 *   <li>Before MAIL FROM and RCPT TO: {@code 503 5.5.1}; after a refused chunk, every chunk of the
 *   transaction up to LAST gets the same refusal; too big: {@code 552 5.3.4}.</li>
 *   <li>DATA and BDAT cannot be mixed in one transaction ({@code 503 5.5.1}, see {@link DataRules}).</li>
 *   <li>A malformed BDAT cannot say how many octets follow: {@code 501 5.5.4}, and the connection is closed.</li>
 *   <li>A line longer than DATA accepts ({@link SmtpConnection#DATA_LINE_LIMIT} octets, line end
 *   included) is read and dropped, never held: the message is refused at LAST as DATA refuses it
 *   ({@code 554 5.6.0}, {@link RefuseDamagedMessage}). A session holds at most one such line start
 *   whatever its chunks' sizes; the chunks themselves go to the spool line by line.</li>
 * </ul>
 *
 * <p>Part of {@link PostinoCoreHandlers}; nothing to configure.</p>
 */
public class BdatCmdHandler extends JamesDataCmdHandler implements EhloExtension {
    private static final Pattern ARGUMENTS = Pattern.compile("([0-9]{1,18})( +LAST)? *", Pattern.CASE_INSENSITIVE);
    private static final byte[] END_OF_DATA = {'.', '\r', '\n'};

    /**
     * The state of a BDAT transaction: the refusal, if any, and the start of a line that a read
     * or a chunk cut off. That start is kept up to {@link SmtpConnection#DATA_LINE_LIMIT} octets;
     * beyond, the line is too long, and the rest of it is read and dropped, as DATA does. So a
     * session holds at most that much, whatever the size of its chunks.
     */
    static final class Transfer {
        private static final int INITIAL_CAPACITY = 1024;

        private byte[] partialLine = new byte[0];
        private int partialLength;
        private boolean discarding;
        private long received;
        private Response refusal;

        /** Keeps {@code octets[from, to)} after what is kept, if the line stays short enough; false when it became too long. */
        private boolean keep(ByteBuf octets, int from, int to) {
            int length = partialLength + (to - from);
            if (length > SmtpConnection.DATA_LINE_LIMIT) {
                return false;
            }
            if (length > partialLine.length) {
                int capacity = Math.max(INITIAL_CAPACITY, partialLine.length * 2);
                partialLine = Arrays.copyOf(partialLine, Math.min(SmtpConnection.DATA_LINE_LIMIT, Math.max(capacity, length)));
            }
            octets.getBytes(from, partialLine, partialLength, to - from);
            partialLength = length;
            return true;
        }

        private ByteBuf kept() {
            return Unpooled.wrappedBuffer(partialLine, 0, partialLength);
        }

        private void forget() {
            partialLength = 0;
        }
    }

    static final ProtocolSession.AttachmentKey<Transfer> TRANSFER = ProtocolSession.AttachmentKey.of("postino.bdat", Transfer.class);

    @Inject
    public BdatCmdHandler(MetricFactory metricFactory) {
        super(metricFactory);
    }

    @Override
    public Collection<String> getImplCommands() {
        return List.of("BDAT");
    }

    @Override
    public List<String> getImplementedEsmtpFeatures(SMTPSession session) {
        return SmtpConnection.of(session).isPresent() ? List.of("CHUNKING") : List.of();
    }

    @Override
    public Response onCommand(SMTPSession session, Request request) {
        Matcher matcher = ARGUMENTS.matcher(Optional.ofNullable(request.getArgument()).orElse(""));
        Optional<SmtpConnection> connection = SmtpConnection.of(session);
        if (!matcher.matches() || connection.isEmpty()) {
            SMTPResponse response = new SMTPResponse("501", "5.5.4 Usage: BDAT <octets> [LAST]; closing the connection, the octets that follow cannot be read");
            response.setEndSession(true);
            return response;
        }
        long octets = Long.parseLong(matcher.group(1));
        boolean last = matcher.group(2) != null;
        Transfer transfer = session.getAttachment(TRANSFER, ProtocolSession.State.Transaction).orElse(null);
        if (transfer == null) {
            transfer = new Transfer();
            transfer.refusal = firstChunkRefusal(session);
            if (transfer.refusal == null) {
                start(session);
            } else {
                // Its octets are read and dropped, but within the transaction's time like any other.
                SmtpConnection.messageStarted(session);
            }
            session.setAttachment(TRANSFER, transfer, ProtocolSession.State.Transaction);
        }
        long limit = session.getConfiguration().getMaxMessageSize();
        if (transfer.refusal == null && limit > 0 && transfer.received + octets > limit) {
            transfer.refusal = new SMTPResponse("552", "5.3.4 Message too big: this server accepts at most " + limit + " octets");
        }
        transfer.received += octets;
        Transfer current = transfer;
        if (octets == 0) {
            return chunkDone(session, current, last);
        }
        connection.get().expectChunk(octets, (s, data, complete) -> {
            if (current.refusal == null) {
                connection.get().progress();
                feed(s, current, data);
            }
            return complete ? Optional.of(chunkDone(s, current, last)) : Optional.empty();
        });
        return null;
    }

    private Response firstChunkRefusal(SMTPSession session) {
        if (session.getAttachment(SMTPSession.SENDER, ProtocolSession.State.Transaction).isEmpty()) {
            return new SMTPResponse("503", "5.5.1 Send MAIL FROM first");
        }
        if (session.getAttachment(SMTPSession.RCPT_LIST, ProtocolSession.State.Transaction).map(List::isEmpty).orElse(true)) {
            return new SMTPResponse("503", "5.5.1 Send RCPT TO first");
        }
        return DataRules.gates(gates, session).orElse(null);
    }

    private List<MessageGate> gates = List.of();

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public List getMarkerInterfaces() {
        List markers = new java.util.ArrayList(super.getMarkerInterfaces());
        markers.add(MessageGate.class);
        return markers;
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void wireExtensions(Class interfaceName, List extension) throws org.apache.james.protocols.api.handler.WiringException {
        if (MessageGate.class.equals(interfaceName)) {
            gates = List.copyOf((List<MessageGate>) extension);
            return;
        }
        super.wireExtensions(interfaceName, extension);
    }

    /** What JamesDataCmdHandler does before its 354: the message's buffer, no STARTTLS watch inside the message. */
    private static void start(SMTPSession session) {
        try {
            ((ExtendedSMTPSession) session).setMimeMessageInputStreamSource(MimeMessageInputStreamSource.create(MailImpl.getId()));
        } catch (Exception e) {
            throw new IllegalStateException("Cannot prepare to receive a message", e);
        }
        session.stopDetectingCommandInjection();
        SmtpConnection.messageStarted(session);
    }

    /** Gives the chunk to the DATA chain line by line, dot-stuffed so that no line ends the data early. */
    private void feed(SMTPSession session, Transfer transfer, ByteBuf data) {
        int start = data.readerIndex();
        int end = data.writerIndex();
        while (start < end) {
            int lineFeed = data.indexOf(start, end, (byte) '\n');
            if (lineFeed < 0) {
                if (!transfer.discarding && !transfer.keep(data, start, end)) {
                    tooLong(session, transfer, true);
                }
                return;
            }
            lineEnds(session, transfer, data, start, lineFeed + 1);
            start = lineFeed + 1;
        }
    }

    /** {@code data[from, to)} ends with a line feed, and so does the line it belongs to. */
    private void lineEnds(SMTPSession session, Transfer transfer, ByteBuf data, int from, int to) {
        if (transfer.discarding) {
            transfer.discarding = false;
        } else if (transfer.partialLength == 0 && to - from <= SmtpConnection.DATA_LINE_LIMIT) {
            line(session, transfer, data, from, to, true);
        } else if (transfer.partialLength > 0 && transfer.keep(data, from, to)) {
            line(session, transfer, transfer.kept(), 0, transfer.partialLength, true);
            transfer.forget();
        } else {
            tooLong(session, transfer, false);
        }
    }

    /**
     * The line being received is longer than DATA accepts: what was kept of it is dropped, and so
     * is the rest of it if {@code goesOn}; the message is refused at LAST.
     */
    private static void tooLong(SMTPSession session, Transfer transfer, boolean goesOn) {
        transfer.forget();
        transfer.discarding = goesOn;
        SmtpConnection.of(session).ifPresentOrElse(
            connection -> connection.lineTooLong(session, "a BDAT line of more than " + SmtpConnection.DATA_LINE_LIMIT + " octets"),
            () -> session.setAttachment(SmtpConnection.LINE_TOO_LONG, true, ProtocolSession.State.Transaction));
    }

    /**
     * Gives {@code octets[from, to)} to the DATA chain as one line ending with CRLF: a bare LF ends
     * a line as CRLF does (as in DATA), a line without an end (the last of the message) gets one,
     * and a leading dot is stuffed.
     */
    private void line(SMTPSession session, Transfer transfer, ByteBuf octets, int from, int to, boolean ended) {
        if (transfer.refusal != null) {
            return;
        }
        int content = ended ? to - from - 1 : to - from;
        if (ended && content > 0 && octets.getByte(to - 2) == '\r') {
            content--;
        }
        boolean dot = to > from && octets.getByte(from) == '.';
        byte[] stuffed = new byte[(dot ? 1 : 0) + content + 2];
        int offset = 0;
        if (dot) {
            stuffed[offset++] = '.';
        }
        octets.getBytes(from, stuffed, offset, content);
        stuffed[stuffed.length - 2] = '\r';
        stuffed[stuffed.length - 1] = '\n';
        Response response = dataChain().onLine(session, stuffed);
        if (response != null) {
            transfer.refusal = response;
        }
    }

    private Response chunkDone(SMTPSession session, Transfer transfer, boolean last) {
        if (!last) {
            return transfer.refusal != null ? transfer.refusal
                : new SMTPResponse("250", "2.0.0 " + transfer.received + " octets received");
        }
        if (transfer.refusal != null) {
            Response refusal = transfer.refusal;
            session.resetState();
            return refusal;
        }
        if (transfer.partialLength > 0) {
            line(session, transfer, transfer.kept(), 0, transfer.partialLength, false);
            transfer.forget();
            if (transfer.refusal != null) {
                session.resetState();
                return transfer.refusal;
            }
        }
        // The end of the data: the chain runs the message hooks, queues the mail and resets the transaction.
        Response response = dataChain().onLine(session, END_OF_DATA);
        return response != null ? response : new SMTPResponse("451", "4.3.0 The message could not be completed; try again");
    }

    private LineHandler<SMTPSession> dataChain() {
        return getLineHandler();
    }
}
