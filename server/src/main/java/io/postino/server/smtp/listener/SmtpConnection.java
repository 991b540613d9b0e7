package io.postino.server.smtp.listener;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.ProtocolSessionImpl;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.smtp.SMTPSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;

/**
 * What Postino's command handlers may do with the connection of an SMTP session beyond James'
 * session API: receive a BDAT chunk as raw octets, answer a command later without holding a
 * thread, and mark the start and end of a message transaction for the connection's timeout.
 * Available on sessions of Postino's listeners ({@link #of}).
 */
public final class SmtpConnection {
    private static final Logger LOGGER = LoggerFactory.getLogger(SmtpConnection.class);
    /** Set on a transaction when a line of its DATA was too long and skipped: the message must be refused. */
    public static final ProtocolSession.AttachmentKey<Boolean> LINE_TOO_LONG =
        ProtocolSession.AttachmentKey.of("postino.data.lineTooLong", Boolean.class);
    static final ProtocolSession.AttachmentKey<SmtpConnection> KEY = ProtocolSession.AttachmentKey.of("postino.connection", SmtpConnection.class);

    /** Receives the octets of a BDAT chunk, in pieces as they arrive; returns the reply once it has them all. */
    public interface ChunkReceiver {
        Optional<Response> onOctets(SMTPSession session, byte[] octets, boolean complete);
    }

    private final ChannelHandlerContext core;
    private final FramerControl framer;
    private ChunkReceiver receiver;
    private boolean abuseLogged;

    SmtpConnection(ChannelHandlerContext core, FramerControl framer) {
        this.core = core;
        this.framer = framer;
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

    Optional<Response> chunkOctets(SMTPSession session, byte[] octets) {
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

    /** The message of this transaction starts arriving now: its time is bounded from here (until the transaction ends). */
    public static void messageStarted(SMTPSession session) {
        session.setAttachment(ConnectionGuard.TRANSACTION_START, System.nanoTime(), ProtocolSession.State.Transaction);
    }

    /**
     * Answers the command being handled after {@code delay}, with what {@code answer} gives then,
     * on the session's own thread; reading stops meanwhile, so pipelined commands wait their turn.
     * The caller returns {@code null} as its own response.
     */
    public void answerLater(SMTPSession session, Duration delay, Supplier<Response> answer) {
        framer.pause();
        core.channel().config().setAutoRead(false);
        core.executor().schedule(() -> {
            try {
                Response response = answer.get();
                ((ProtocolSessionImpl) session).getProtocolTransport().writeResponse(response, session);
            } catch (RuntimeException e) {
                LOGGER.error("Could not answer a delayed command", e);
                core.close();
            } finally {
                framer.resume();
                core.channel().config().setAutoRead(true);
                core.channel().pipeline().fireUserEventTriggered(FramerControl.RESUME);
            }
        }, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

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
