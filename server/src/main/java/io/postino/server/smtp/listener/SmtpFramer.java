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
 */
final class SmtpFramer extends ByteToMessageDecoder {
    private static final byte LF = '\n';

    private final FramerControl control;
    private boolean discarding;
    private long discardedLength;

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
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (!in.isReadable() || control.paused()) {
            return;
        }
        control.checkNoInputDuringStartTls(in.readableBytes());
        long raw = control.rawRemaining();
        if (raw > 0) {
            int length = (int) Math.min(raw, in.readableBytes());
            out.add(new RawChunk(in.readRetainedSlice(length)));
            control.rawConsumed(length);
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
        control.lineFramed(line, in.isReadable());
        out.add(line);
    }
}
