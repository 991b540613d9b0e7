package io.postino.server.smtp.listener;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * Cuts what a client sends into what the SMTP session reads: lines (delimiter kept) while it
 * speaks commands or sends DATA, and exactly the announced number of raw octets after a
 * {@code BDAT} command (RFC 3030), whatever they contain.
 *
 * <p>It runs on the same thread as the session handler right behind it (both are added on the
 * listener's executor), so a command handler that switches the mode, e.g. BDAT, does so before
 * the next octet is framed. A line longer than the mode allows is skipped up to its end and
 * reported as a {@link TooLongFrameException}: the session answers it (or, inside DATA, refuses
 * the message at its end) and stays usable. Pipelined input after STARTTLS is refused (see
 * {@link FramerControl#lineFramed}).</p>
 *
 * <p>It frames nothing while a command's answer is pending ({@link FramerControl#pause}) or while
 * the client does not read its replies (the channel is not writable: netty's outbound buffer
 * is above its high-water mark), and tells {@link FramerControl} what it consumed, which stops
 * and restarts reading from the socket. After {@link FramerControl#FRAMES_PER_TURN} frames in a
 * row it lets the thread serve the other connections it has before going on. What a client sent
 * before it left is dropped unread: there is no one to answer.</p>
 */
final class SmtpFramer extends ByteToMessageDecoder {
    private static final byte LF = '\n';

    private final FramerControl control;
    private boolean discarding;
    private long discardedLength;
    private int framesThisTurn;
    private boolean turnYielded;

    SmtpFramer(FramerControl control) {
        this.control = control;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof SslHandshakeCompletionEvent && ((SslHandshakeCompletionEvent) event).isSuccess()) {
            control.tlsStarted();
        }
        if (event == FramerControl.RESUME) {
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
            return;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        framesThisTurn = 0;
        try {
            super.channelRead(ctx, msg);
        } finally {
            control.readIfCaughtUp(ctx.channel());
        }
    }

    /**
     * Unlike {@link ByteToMessageDecoder}'s, asks for no further read when nothing was framed:
     * while paused that would read on, one buffer at a time, past {@link FramerControl#INPUT_LIMIT}.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        discardSomeReadBytes();
        ctx.fireChannelReadComplete();
    }

    /** The client read its replies: framing goes on. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        skipUnread(in);
    }

    private void skipUnread(ByteBuf in) {
        control.framed(in.readableBytes());
        in.skipBytes(in.readableBytes());
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (!in.isReadable() || control.paused() || !ctx.channel().isWritable()) {
            return;
        }
        if (!ctx.channel().isActive() || control.ended()) {
            skipUnread(in);
            return;
        }
        if (framesThisTurn >= FramerControl.FRAMES_PER_TURN) {
            yieldTurn(ctx);
            return;
        }
        int before = in.readerIndex();
        try {
            frame(ctx, in, out);
        } finally {
            control.framed(in.readerIndex() - before);
        }
    }

    private void yieldTurn(ChannelHandlerContext ctx) {
        if (turnYielded) {
            return;
        }
        turnYielded = true;
        ctx.executor().execute(() -> {
            turnYielded = false;
            try {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            } catch (Exception e) {
                ctx.fireExceptionCaught(e);
            }
        });
    }

    private void frame(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        control.checkNoInputDuringStartTls(in.readableBytes());
        long raw = control.rawRemaining();
        if (raw > 0) {
            int length = (int) Math.min(raw, in.readableBytes());
            out.add(new RawChunk(in.readRetainedSlice(length)));
            control.rawConsumed(length);
            framesThisTurn++;
            return;
        }
        int limit = control.lineLimit();
        int eol = in.indexOf(in.readerIndex(), in.writerIndex(), LF);
        if (discarding) {
            if (eol < 0) {
                discardedLength += in.readableBytes();
                in.skipBytes(in.readableBytes());
            } else {
                long length = discardedLength + eol - in.readerIndex() + 1;
                in.readerIndex(eol + 1);
                discarding = false;
                discardedLength = 0;
                ctx.fireExceptionCaught(new TooLongFrameException("line of " + length + " octets"));
            }
            return;
        }
        if (eol < 0) {
            if (in.readableBytes() > limit) {
                discarding = true;
                discardedLength = in.readableBytes();
                in.skipBytes(in.readableBytes());
            }
            return;
        }
        int length = eol - in.readerIndex() + 1;
        if (length > limit) {
            in.readerIndex(eol + 1);
            ctx.fireExceptionCaught(new TooLongFrameException("line of " + length + " octets"));
            return;
        }
        ByteBuf line = in.readRetainedSlice(length);
        try {
            control.lineFramed(line, in.isReadable());
        } catch (RuntimeException e) {
            line.release();
            throw e;
        }
        framesThisTurn++;
        if (control.inData()) {
            control.progress();
        }
        out.add(line);
    }
}
