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

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

/**
 * Guards one connection: takes its place in the listener's {@link ConnectionBudget} (or refuses
 * it with {@code 421} before James sees it), closes it with {@code 421 4.4.2} when it has been
 * idle for the budget's current idle timeout, and when one message transaction (DATA, or BDAT up
 * to LAST) lasts longer than the transaction timeout, so that a client trickling a message one
 * octet a second cannot hold its place for ever. Idle means no complete line or chunk: octets
 * that never finish a line do not count.
 *
 * <p>Keeping a connection busy is not enough to keep it, either. More than {@link #JUNK_LIMIT}
 * commands that send no mail (NOOP, RSET, HELO, EHLO, HELP, VRFY, EXPN, ETRN, and any command
 * refused with 4xx or 5xx) since the session's last progress ({@link FramerControl#progress}: a
 * line of a message, an accepted BDAT chunk, a message accepted, TLS, AUTH) close it with
 * {@code 421 4.7.0}, as Postfix's {@code smtpd_junk_command_limit}. While the listener is at
 * least half full, a connection without progress for twice the current idle timeout is closed,
 * and when it is full a newcomer takes the place of the connection that has gone longest without
 * progress (at least {@link ConnectionBudget#EVICTION_MIN_AGE}), which is told {@code 421 4.7.0}:
 * a flood of connections kept alive with NOOPs, from however many networks, cannot lock honest
 * clients out. Neither befalls a connection waiting for our answer, nor one in its first
 * transaction since its last progress (30 s at most, {@link FramerControl#senderAccepted}). A
 * closing connection whose client does not read its last reply is closed without it after 5 s.</p>
 */
final class ConnectionGuard extends ChannelDuplexHandler implements ConnectionBudget.Place {
    /** Set while a command's answer is being worked out off the connection's thread: the client is waiting for us, not idle. */
    static final AttributeKey<Boolean> ANSWER_PENDING = AttributeKey.valueOf("postino.answerPending");
    private static final Logger LOGGER = LoggerFactory.getLogger(ConnectionGuard.class);
    private static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);
    /** Commands that send no mail allowed in a row, as Postfix's default {@code smtpd_junk_command_limit}. */
    static final int JUNK_LIMIT = 100;
    /** How long a closing connection's last reply may take to leave before the connection is closed without it. */
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

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
    private volatile ChannelHandlerContext context;
    private volatile boolean evicted;

    ConnectionGuard(ConnectionBudget budget, Duration transactionTimeout, boolean implicitTls, ListenerMetrics metrics) {
        this.budget = budget;
        this.transactionTimeout = transactionTimeout;
        this.implicitTls = implicitTls;
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        context = ctx;
        ConnectionBudget.Refusal refusal = budget.admit(client, this);
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
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof ByteBuf && !framer(ctx).inData() && (isJunk((ByteBuf) msg) ? framer(ctx).junkCommand() : framer(ctx).junkCommands()) > JUNK_LIMIT) {
            ReferenceCountUtil.release(msg);
            close(ctx, "421 4.7.0 More than " + JUNK_LIMIT + " commands in a row that send no mail; closing the connection", "junk commands");
            return;
        }
        super.channelRead(ctx, msg);
    }

    private static FramerControl framer(ChannelHandlerContext ctx) {
        return ctx.channel().attr(FramerControl.KEY).get();
    }

    /** A command line that sends no mail (not a line of a message: DATA lines are read here too). */
    private boolean isJunk(ByteBuf line) {
        FramerControl framer = framer(context);
        if (framer.inData() || line.readableBytes() < 4) {
            return false;
        }
        int at = line.readerIndex();
        String verb = line.toString(at, Math.min(5, line.readableBytes()), StandardCharsets.US_ASCII).toUpperCase(java.util.Locale.ROOT);
        String word = verb.length() == 5 && (verb.charAt(4) == ' ' || verb.charAt(4) == '\r' || verb.charAt(4) == '\n') ? verb.substring(0, 4) : verb.length() == 4 ? verb : null;
        return word != null && JUNK.contains(word);
    }

    private static final java.util.Set<String> JUNK = java.util.Set.of("NOOP", "RSET", "HELO", "EHLO", "HELP", "VRFY", "EXPN", "ETRN");

    @Override
    public long lastProgress() {
        ChannelHandlerContext ctx = context;
        FramerControl framer = ctx == null ? null : framer(ctx);
        return framer == null ? System.nanoTime() : framer.lastProgress();
    }

    @Override
    public boolean shielded() {
        ChannelHandlerContext ctx = context;
        return ctx != null && (Boolean.TRUE.equals(ctx.channel().attr(ANSWER_PENDING).get()) || framer(ctx).firstTransactionUnderWay());
    }

    /** Gives this connection's place to a newcomer: closed with {@code 421 4.7.0} on its own thread. */
    @Override
    public void evict() {
        evicted = true;
        ChannelHandlerContext ctx = context;
        ctx.executor().execute(() -> {
            if (!closing) {
                close(ctx, "421 4.7.0 Too many connections; closing this one, which sent no mail lately, to make room", "evicted");
            }
        });
    }

    @Override
    public boolean evicted() {
        return evicted;
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
            budget.release(client, this);
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
        } else if (budget.shortOfPlaces() && now - lastProgress() > TimeUnit.SECONDS.toNanos(2L * idle) && !framer(ctx).firstTransactionUnderWay()) {
            close(ctx, "421 4.4.2 No mail sent for " + 2 * idle + " seconds while the server is busy; closing the connection", "no progress");
        }
    }

    private void close(ChannelHandlerContext ctx, String reply, String reason) {
        closing = true;
        framer(ctx).sessionEnded();
        metrics.timedOut(reason);
        LOGGER.info("Closing the connection of {}: {}", ListenerMetrics.describe(ctx.channel().remoteAddress()), reason);
        ctx.writeAndFlush(Unpooled.wrappedBuffer((reply + "\r\n").getBytes(StandardCharsets.US_ASCII)))
            .addListener(ChannelFutureListener.CLOSE);
        // A client that reads nothing never lets the reply leave: closed anyway, reply or not.
        ctx.executor().schedule(() -> ctx.channel().close(), CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    }
}
