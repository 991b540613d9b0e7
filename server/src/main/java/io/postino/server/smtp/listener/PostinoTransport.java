package io.postino.server.smtp.listener;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.netty.HandlerConstants;
import org.apache.james.protocols.netty.NettyProtocolTransport;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

/**
 * James' transport with two changes. STARTTLS puts the TLS handler in place before the
 * {@code 220} leaves (the handler lets that one write through in clear), so no octet the client
 * sends after reading it can reach the session unencrypted. And every reply tells the framer and
 * the session's timers what the session is doing: {@code 354} starts DATA, the next reply ends it.
 */
final class PostinoTransport extends NettyProtocolTransport {
    private final Channel channel;
    private final TunedEncryption encryption;
    private final FramerControl framer;
    private final ConnectionGuard guard;

    PostinoTransport(Channel channel, TunedEncryption encryption, boolean proxyRequired, FramerControl framer, ConnectionGuard guard) {
        super(channel, encryption, proxyRequired);
        this.channel = channel;
        this.encryption = encryption;
        this.framer = framer;
        this.guard = guard;
    }

    @Override
    protected void writeToClient(byte[] bytes, ProtocolSession session, boolean startTLS) {
        observe(bytes, startTLS);
        if (startTLS) {
            channel.pipeline().addFirst(HandlerConstants.SSL_HANDLER, encryption.startTlsHandler());
        }
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes));
    }

    private void observe(byte[] reply, boolean startTLS) {
        if (!startTLS && framer.startTlsPending()) {
            framer.startTlsRefused();
        }
        boolean dataReady = reply.length >= 4 && reply[0] == '3' && reply[1] == '5' && reply[2] == '4';
        if (dataReady) {
            framer.dataStarted();
            guard.transactionStarted();
        } else if (framer.inData()) {
            framer.dataEnded();
            guard.transactionEnded();
        }
    }
}
