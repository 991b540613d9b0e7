package io.postino.server.smtp.listener;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.netty.BasicChannelInboundHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;

/**
 * Guards one connection: takes its place in the listener's {@link ConnectionBudget} (or refuses
 * it with {@code 421} before James sees it), closes it with {@code 421 4.4.2} when it has been
 * idle for the budget's current idle timeout, and when one message transaction (DATA, or BDAT up
 * to LAST) lasts longer than the transaction timeout, so that a client trickling a message one
 * octet a second cannot hold its place for ever. Idle means no complete line or chunk: octets
 * that never finish a line do not count.
 */
final class ConnectionGuard extends ChannelDuplexHandler {
    /** Set while a command's answer is being worked out off the connection's thread: the client is waiting for us, not idle. */
    static final AttributeKey<Boolean> ANSWER_PENDING = AttributeKey.valueOf("postino.answerPending");
    private static final Logger LOGGER = LoggerFactory.getLogger(ConnectionGuard.class);
    private static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

    private final ConnectionBudget budget;
    private final Duration transactionTimeout;
    private final boolean implicitTls;
    private final ListenerMetrics metrics;
    /** When the message transaction under way started receiving its message (cleared with the transaction). */
    static final ProtocolSession.AttachmentKey<Long> TRANSACTION_START = ProtocolSession.AttachmentKey.of("postino.transactionStart", Long.class);

    private volatile long lastActivity = System.nanoTime();
    private InetAddress client;
    private ScheduledFuture<?> checks;
    private boolean closing;

    ConnectionGuard(ConnectionBudget budget, Duration transactionTimeout, boolean implicitTls, ListenerMetrics metrics) {
        this.budget = budget;
        this.transactionTimeout = transactionTimeout;
        this.implicitTls = implicitTls;
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        ConnectionBudget.Refusal refusal = budget.admit(client);
        if (refusal != null) {
            client = null;
            metrics.connectionRefused(refusal, ctx.channel().remoteAddress());
            if (implicitTls) {
                ctx.close();
            } else {
                ctx.writeAndFlush(Unpooled.wrappedBuffer((refusal.reply + "\r\n").getBytes(StandardCharsets.US_ASCII)))
                    .addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        checks = ctx.executor().scheduleAtFixedRate(() -> check(ctx), CHECK_INTERVAL.toMillis(), CHECK_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        lastActivity = System.nanoTime();
        super.channelRead(ctx, msg);
    }

    /** A reply is activity too: the idle time of a client that waited for a slow answer starts after it. */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        lastActivity = System.nanoTime();
        super.write(ctx, msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (checks != null) {
            checks.cancel(false);
        }
        if (client != null) {
            budget.release(client);
            client = null;
            super.channelInactive(ctx);
        }
    }

    private void check(ChannelHandlerContext ctx) {
        if (closing) {
            return;
        }
        long now = System.nanoTime();
        ProtocolSession session = (ProtocolSession) ctx.channel().attr(BasicChannelInboundHandler.SESSION_ATTRIBUTE_KEY).get();
        long started = session == null ? 0 : session.getAttachment(TRANSACTION_START, ProtocolSession.State.Transaction).orElse(0L);
        if (started != 0 && now - started > transactionTimeout.toNanos()) {
            close(ctx, "421 4.4.2 The message took longer than " + transactionTimeout.toSeconds()
                + " seconds to arrive; closing the connection", "transaction timeout");
            return;
        }
        int idle = budget.idleTimeoutSeconds();
        if (Boolean.TRUE.equals(ctx.channel().attr(ANSWER_PENDING).get())) {
            return;
        }
        if (now - lastActivity > TimeUnit.SECONDS.toNanos(idle)) {
            close(ctx, "421 4.4.2 Idle for " + idle + " seconds; closing the connection", "idle timeout");
        }
    }

    private void close(ChannelHandlerContext ctx, String reply, String reason) {
        closing = true;
        metrics.timedOut(reason);
        LOGGER.info("Closing the connection of {}: {}", ListenerMetrics.describe(ctx.channel().remoteAddress()), reason);
        ctx.writeAndFlush(Unpooled.wrappedBuffer((reply + "\r\n").getBytes(StandardCharsets.US_ASCII)))
            .addListener(ChannelFutureListener.CLOSE);
    }
}
