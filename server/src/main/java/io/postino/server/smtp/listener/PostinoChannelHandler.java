package io.postino.server.smtp.listener;

import java.io.IOException;
import java.util.Optional;

import javax.net.ssl.SSLException;

import org.apache.james.protocols.api.Protocol;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.ProtocolSessionImpl;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.netty.BasicChannelInboundHandler;
import org.apache.james.protocols.netty.CommandInjectionDetectedException;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.smtpserver.netty.SMTPChannelInboundHandler;
import org.apache.james.smtpserver.netty.SmtpMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.NotSslRecordException;
import io.postino.server.smtp.LogSafe;

/**
 * James' SMTP session handler with Postino's connection: sessions get a {@link SmtpConnection},
 * BDAT chunks reach their receiver, and what clients do wrong is answered and logged as their
 * error, not ours: a failed TLS handshake, a reset or injected input after STARTTLS is one line
 * at INFO or WARN, never an ERROR with a stack trace; a line too long gets {@code 500 5.5.2} and
 * the session goes on (inside DATA the message is refused at its end instead, see
 * {@link SmtpConnection#LINE_TOO_LONG}).
 */
final class PostinoChannelHandler extends SMTPChannelInboundHandler {
    private static final Logger LOGGER = LoggerFactory.getLogger(PostinoChannelHandler.class);

    private static final Response COMMAND_TOO_LONG = new SMTPResponse("500",
        "5.5.2 Line too long: a command line may be at most 512 octets (RFC 5321 section 4.5.3.1.4)").immutable();

    private final TunedEncryption encryption;
    private final ListenerMetrics metrics;

    PostinoChannelHandler(Protocol protocol, TunedEncryption encryption, boolean proxyRequired, SmtpMetrics smtpMetrics, ListenerMetrics metrics) {
        super(protocol, encryption, proxyRequired, smtpMetrics);
        this.encryption = encryption;
        this.metrics = metrics;
    }

    @Override
    protected ProtocolSession createSession(ChannelHandlerContext ctx) {
        FramerControl framer = ctx.channel().attr(FramerControl.KEY).get();
        ProtocolSession session = protocol.newSession(new PostinoTransport(ctx.channel(), encryption, proxyRequired, framer));
        session.setAttachment(SmtpConnection.KEY, new SmtpConnection(ctx, framer, metrics), ProtocolSession.State.Connection);
        return session;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof RawChunk) {
            RawChunk chunk = (RawChunk) msg;
            try {
                SMTPSession session = (SMTPSession) ctx.channel().attr(BasicChannelInboundHandler.SESSION_ATTRIBUTE_KEY).get();
                SmtpConnection.of(session)
                    .flatMap(connection -> connection.chunkOctets(session, chunk.content()))
                    .ifPresent(response -> ((ProtocolSessionImpl) session).getProtocolTransport().writeResponse(response, session));
            } finally {
                chunk.release();
            }
            return;
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        ProtocolSession session = (ProtocolSession) ctx.channel().attr(BasicChannelInboundHandler.SESSION_ATTRIBUTE_KEY).get();
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (root instanceof TooLongFrameException && session != null) {
            FramerControl framer = ctx.channel().attr(FramerControl.KEY).get();
            if (framer.ended()) {
                return;
            }
            Optional<SmtpConnection> connection = connection(session);
            if (framer.inData() && connection.isPresent()) {
                connection.get().lineTooLong((SMTPSession) session, root.getMessage());
            } else {
                ((ProtocolSessionImpl) session).getProtocolTransport().writeResponse(COMMAND_TOO_LONG, session);
                connection.ifPresent(present -> present.noteAbuse(root.getMessage() + " (too long)"));
                metrics.clientError("line_too_long");
            }
            return;
        }
        String client = ListenerMetrics.describe(ctx.channel().remoteAddress());
        if (root instanceof CommandInjectionDetectedException) {
            metrics.clientError("starttls_injection");
            LOGGER.warn("{} sent more input after STARTTLS before the TLS handshake (command injection); closing the connection", client);
        } else if (notTls(cause)) {
            // Netty's message hex-dumps all the client sent, which after STARTTLS may be an AUTH in clear.
            metrics.clientError("tls_handshake");
            LOGGER.info("TLS with {} failed: {} (the client sent something that is no TLS record; not shown)", client,
                NotSslRecordException.class.getSimpleName());
        } else if (root instanceof SSLException) {
            metrics.clientError("tls_handshake");
            LOGGER.info("TLS with {} failed: {}", client, LogSafe.of(root.getMessage()));
        } else if (root instanceof IOException) {
            metrics.clientError("connection_reset");
            LOGGER.info("Connection of {} lost: {}", client, root.getMessage());
        } else {
            super.exceptionCaught(ctx, cause);
            return;
        }
        ctx.close();
    }

    private static boolean notTls(Throwable cause) {
        Throwable one = cause;
        for (int depth = 0; one != null && depth < 10; depth++) {
            if (one instanceof NotSslRecordException) {
                return true;
            }
            one = one.getCause();
        }
        return false;
    }

    private static Optional<SmtpConnection> connection(ProtocolSession session) {
        return session instanceof SMTPSession ? SmtpConnection.of((SMTPSession) session) : Optional.empty();
    }
}
