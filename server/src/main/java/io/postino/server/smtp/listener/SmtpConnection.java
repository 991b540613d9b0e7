package io.postino.server.smtp.listener;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.ProtocolSessionImpl;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.postino.server.smtp.ClientAddress;

/**
 * What Postino's command handlers may do with the connection of an SMTP session beyond James'
 * session API: receive a BDAT chunk as raw octets, answer a command later without holding a
 * thread, and mark the start and end of a message transaction for the connection's timeout.
 * Available on sessions of Postino's listeners ({@link #of}).
 */
public final class SmtpConnection {
    private static final Logger LOGGER = LoggerFactory.getLogger(SmtpConnection.class);
    /** Set on a transaction when a line of its DATA or BDAT was too long and skipped: the message must be refused. */
    public static final ProtocolSession.AttachmentKey<Boolean> LINE_TOO_LONG =
        ProtocolSession.AttachmentKey.of("postino.data.lineTooLong", Boolean.class);
    /**
     * Longest line of a message, line end included, whether it comes with DATA or BDAT: a longer
     * one is skipped and the message refused ({@link #lineTooLong}).
     */
    public static final int DATA_LINE_LIMIT = FramerControl.DATA_LINE_LIMIT;
    static final ProtocolSession.AttachmentKey<SmtpConnection> KEY = ProtocolSession.AttachmentKey.of("postino.connection", SmtpConnection.class);

    /**
     * Receives the octets of a BDAT chunk, in pieces as they arrive (each piece is what one read
     * brought, never more than the chunk); returns the reply once it has them all. {@code octets}
     * is valid only during the call: it is released afterwards, and must be read, not kept.
     */
    public interface ChunkReceiver {
        Optional<Response> onOctets(SMTPSession session, ByteBuf octets, boolean complete);
    }

    private final ChannelHandlerContext core;
    private final FramerControl framer;
    private final ListenerMetrics metrics;
    private final String network;
    private ChunkReceiver receiver;
    private boolean abuseLogged;

    SmtpConnection(ChannelHandlerContext core, FramerControl framer, ListenerMetrics metrics) {
        this.core = core;
        this.framer = framer;
        this.metrics = metrics;
        SocketAddress remote = core.channel().remoteAddress();
        this.network = remote instanceof InetSocketAddress && ((InetSocketAddress) remote).getAddress() != null
            ? ClientAddress.networkOf(((InetSocketAddress) remote).getAddress()) : "unknown";
    }

    /** The connection of a session of a Postino listener; empty for other sessions (tests, other servers). */
    public static Optional<SmtpConnection> of(SMTPSession session) {
        return session.getAttachment(KEY, ProtocolSession.State.Connection);
    }

    /** The next {@code octets} the client sends go to {@code receiver}, not to the command reader. */
    public void expectChunk(long octets, ChunkReceiver receiver) {
        this.receiver = receiver;
        framer.expectRaw(octets);
    }

    Optional<Response> chunkOctets(SMTPSession session, ByteBuf octets) {
        ChunkReceiver current = receiver;
        if (current == null) {
            return Optional.empty();
        }
        boolean complete = framer.rawRemaining() == 0;
        if (complete) {
            receiver = null;
        }
        return current.onOctets(session, octets, complete);
    }

    /**
     * A line of the message being received was longer than {@link #DATA_LINE_LIMIT} and was
     * skipped: the message is refused at its end ({@code RefuseDamagedMessage}), the client's
     * error logged once per session and counted ({@code postino_smtp_client_errors_line_too_long}).
     */
    public void lineTooLong(SMTPSession session, String what) {
        session.setAttachment(LINE_TOO_LONG, true, ProtocolSession.State.Transaction);
        metrics.clientError("line_too_long");
        noteAbuse(what + " (too long)");
    }

    /** The message of this transaction starts arriving now: its time is bounded from here (until the transaction ends). */
    public static void messageStarted(SMTPSession session) {
        session.setAttachment(ConnectionGuard.TRANSACTION_START, System.nanoTime(), ProtocolSession.State.Transaction);
    }

    /** The session moved towards delivering mail (an accepted BDAT chunk arrived): see {@code ConnectionGuard}. */
    public void progress() {
        framer.progress();
    }

    /** Whether the client is still connected. */
    public boolean isOpen() {
        return core.channel().isActive();
    }

    /**
     * Answers the command being handled after {@code delay}, with what {@code answer} gives then
     * (worked out as with {@link #answerAsync}); framing stops meanwhile, so pipelined commands
     * wait their turn (and reading stops once they reach {@link FramerControl#INPUT_LIMIT}).
     * The caller returns {@code null} as its own response.
     */
    public void answerLater(SMTPSession session, Duration delay, Supplier<Response> answer) {
        framer.pause();
        core.executor().schedule(() -> answerAsync(session, answer), delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Answers the command being handled with what {@code answer} gives, computed on a pool of its
     * own ({@link FairLookups}, shared fairly between client networks) rather than on the thread that
     * serves this and other connections: a hook that waits for a database, DNS or Redis (MAIL FROM,
     * RCPT TO, AUTH) then delays only its own client, never another client's greeting. Framing stops meanwhile, so pipelined commands wait
     * their turn (and reading stops once they reach {@link FramerControl#INPUT_LIMIT}). The caller returns {@code null} as its own response.
     */
    public void answerAsync(SMTPSession session, Supplier<Response> answer) {
        framer.pause();
        core.channel().attr(ConnectionGuard.ANSWER_PENDING).set(true);
        try {
            LOOKUPS.execute(network, () -> {
                Response response;
                try {
                    response = answer.get();
                } catch (RuntimeException e) {
                    LOGGER.error("Could not answer a command", e);
                    response = new SMTPResponse("451", "4.3.0 Internal error while handling the command; try again later");
                }
                Response reply = response;
                core.executor().execute(() -> write(session, reply));
            });
        } catch (RejectedExecutionException e) {
            write(session, new SMTPResponse("451", "4.3.2 Too busy to answer just now; try again later"));
        }
    }

    private void write(SMTPSession session, Response response) {
        try {
            core.channel().attr(ConnectionGuard.ANSWER_PENDING).set(false);
            if (response != null) {
                ((ProtocolSessionImpl) session).getProtocolTransport().writeResponse(response, session);
            }
        } catch (RuntimeException e) {
            LOGGER.error("Could not write an answer", e);
            core.close();
        } finally {
            framer.resume();
            core.channel().pipeline().fireUserEventTriggered(FramerControl.RESUME);
        }
    }

    /** Where commands wait for stores and DNS, shared fairly between client networks. */
    private static final FairLookups LOOKUPS = new FairLookups(FairLookups.THREADS, FairLookups.PER_NETWORK, FairLookups.MAX_WAITING);

    /**
     * Logs what a client did wrong once per session at WARN (later times at DEBUG), so that a
     * misbehaving client is visible without filling the log. {@code what} must already be escaped
     * ({@link io.postino.server.smtp.LogSafe}).
     */
    public void noteAbuse(String what) {
        String client = ListenerMetrics.describe(core.channel().remoteAddress());
        if (!abuseLogged) {
            abuseLogged = true;
            LOGGER.warn("Protocol error from {}: {} (further errors of this session are logged at DEBUG)", client, what);
        } else {
            LOGGER.debug("Protocol error from {}: {}", client, what);
        }
    }

    static void writeOn(ChannelHandlerContext ctx, String reply) {
        ctx.writeAndFlush(Unpooled.wrappedBuffer((reply + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }
}
