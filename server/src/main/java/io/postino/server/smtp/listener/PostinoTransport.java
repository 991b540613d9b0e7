package io.postino.server.smtp.listener;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.netty.HandlerConstants;
import org.apache.james.protocols.netty.NettyProtocolTransport;
import org.apache.james.protocols.smtp.SMTPSession;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

/**
 * James' transport with two changes. STARTTLS puts the TLS handler in place before the
 * {@code 220} leaves (the handler lets that one write through in clear), so no octet the client
 * sends after reading it can reach the session unencrypted. And every reply tells the framer and
 * the session's timers what the session is doing (and the EHLO before STARTTLS is forgotten, so
 * the client must greet again inside TLS): {@code 354} starts DATA, the next reply ends it; a
 * {@code 2xx} that ends DATA, a {@code 235} (AUTH) and STARTTLS are progress
 * ({@link FramerControl#progress}), a {@code 250 2.1.0} starts a transaction
 * ({@link FramerControl#senderAccepted}), and any other {@code 4xx} or {@code 5xx} counts as a
 * command that sends no mail ({@link FramerControl#junkCommand}).
 */
final class PostinoTransport extends NettyProtocolTransport {
    private final Channel channel;
    private final TunedEncryption encryption;
    private final FramerControl framer;

    private final InetSocketAddress remote;

    PostinoTransport(Channel channel, TunedEncryption encryption, boolean proxyRequired, FramerControl framer) {
        super(channel, encryption, proxyRequired);
        this.channel = channel;
        this.encryption = encryption;
        this.framer = framer;
        this.remote = named((InetSocketAddress) channel.remoteAddress());
    }

    /**
     * The client's address named by its own literal: James asks for the host name of the client
     * (logs, Received, the mail's remote host), and a reverse DNS lookup per connection, on a
     * thread of the listener, let a flood from addresses without PTR records (or a slow
     * resolver) stall every greeting. Postino does no reverse lookups (as Postfix with
     * {@code smtpd_peername_lookup = no}).
     */
    static InetSocketAddress named(InetSocketAddress address) {
        if (address == null || address.getAddress() == null) {
            return address;
        }
        try {
            InetAddress literal = InetAddress.getByAddress(address.getAddress().getHostAddress(), address.getAddress().getAddress());
            return new InetSocketAddress(literal, address.getPort());
        } catch (UnknownHostException e) {
            return address;
        }
    }

    @Override
    public InetSocketAddress getRemoteAddress() {
        return remote;
    }

    @Override
    protected void writeToClient(byte[] bytes, ProtocolSession session, boolean startTLS) {
        observe(session, bytes, startTLS);
        if (startTLS) {
            channel.pipeline().addFirst(HandlerConstants.SSL_HANDLER, encryption.startTlsHandler());
            // RFC 3207 section 4.2: nothing learnt before TLS counts after it, EHLO included.
            session.removeAttachment(SMTPSession.CURRENT_HELO_MODE, ProtocolSession.State.Connection);
            session.removeAttachment(SMTPSession.CURRENT_HELO_NAME, ProtocolSession.State.Connection);
        }
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes));
    }

    private void observe(ProtocolSession session, byte[] reply, boolean startTLS) {
        if (!startTLS && framer.startTlsPending()) {
            framer.startTlsRefused();
        }
        if (reply.length >= 3 && (reply[0] == '4' || reply[0] == '2') && reply[1] == '2' && reply[2] == '1') {
            framer.sessionEnded();
        }
        boolean dataReady = reply.length >= 4 && reply[0] == '3' && reply[1] == '5' && reply[2] == '4';
        if (startTLS || reply.length >= 3 && (reply[0] == '2' && framer.inData() || reply[0] == '2' && reply[1] == '3' && reply[2] == '5')) {
            framer.progress();
        } else if (reply.length >= 9 && new String(reply, 0, 9, StandardCharsets.US_ASCII).equals("250 2.1.0")) {
            framer.senderAccepted();
        } else if (reply.length >= 3 && (reply[0] == '4' || reply[0] == '5') && !(reply[1] == '2' && reply[2] == '1')) {
            // A refused command sends no mail either (421 ends the session anyway).
            framer.junkCommand();
        }
        if (dataReady) {
            framer.dataStarted();
            session.setAttachment(ConnectionGuard.TRANSACTION_START, System.nanoTime(), ProtocolSession.State.Transaction);
        } else if (framer.inData()) {
            framer.dataEnded();
        }
    }
}
