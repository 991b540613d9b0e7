package io.postino.server.smtp.listener;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Counts what is read from the client on the channel's I/O thread, before it is handed to the
 * connection's thread, so that {@link FramerControl} can stop reading while the framer is behind
 * (see {@link FramerControl#INPUT_LIMIT}). Sits right before the framer, behind TLS: it counts
 * plaintext, as the framer does.
 */
final class InputMeter extends ChannelInboundHandlerAdapter {
    static final String NAME = "postinoInputMeter";

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf) {
            ctx.channel().attr(FramerControl.KEY).get().received(ctx.channel(), ((ByteBuf) msg).readableBytes());
        }
        ctx.fireChannelRead(msg);
    }
}
