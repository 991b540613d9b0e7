package io.postino.server.smtp.listener;

import java.time.Duration;

import org.apache.james.protocols.api.ClientAuth;
import org.apache.james.protocols.netty.Encryption;

import io.netty.handler.ssl.SslHandler;

/**
 * James' encryption (context, protocols and ciphers from {@code <tls>}) with a bounded TLS
 * handshake, so that a client that opens TLS and then sends nothing, or sends it slowly, holds its
 * connection for {@link #HANDSHAKE_TIMEOUT} at most; and, for STARTTLS, a handler that lets the
 * {@code 220} through in clear while already standing in front of everything read afterwards.
 */
final class TunedEncryption implements Encryption {
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private final Encryption delegate;

    TunedEncryption(Encryption delegate) {
        this.delegate = delegate;
    }

    @Override
    public boolean isStartTLS() {
        return delegate.isStartTLS();
    }

    @Override
    public boolean supportsEncryption() {
        return delegate.supportsEncryption();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return delegate.getEnabledCipherSuites();
    }

    @Override
    public ClientAuth getClientAuth() {
        return delegate.getClientAuth();
    }

    @Override
    public SslHandler sslHandler() {
        return bounded(new SslHandler(delegate.sslHandler().engine()));
    }

    /** The first write (the {@code 220} reply) leaves unencrypted; TLS applies from then on. */
    SslHandler startTlsHandler() {
        return bounded(new SslHandler(delegate.sslHandler().engine(), true));
    }

    private static SslHandler bounded(SslHandler handler) {
        handler.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT.toMillis());
        return handler;
    }
}
