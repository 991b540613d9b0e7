package io.postino.server.smtp.listener;

import java.nio.charset.StandardCharsets;

import org.apache.james.protocols.netty.CommandInjectionDetectedException;

import io.netty.buffer.ByteBuf;
import io.netty.util.AttributeKey;

/**
 * What the {@link SmtpFramer} of one connection must know about the session: whether DATA is
 * being received (longer lines are allowed), how many raw octets a BDAT command announced, and
 * whether a STARTTLS is in flight. Set by the session's thread, which is also the framer's.
 */
final class FramerControl {
    static final AttributeKey<FramerControl> KEY = AttributeKey.valueOf("postino.framer");

    /**
     * Longest command line framed (RFC 4954 allows AUTH lines of 12,288 octets); each command's own
     * limit is checked by {@code PostinoCommandDispatcher}.
     */
    static final int COMMAND_LINE_LIMIT = 12_288 + 2;
    /** Longest line of a message accepted in DATA. RFC 5322 allows 998; real mail sometimes has more. */
    static final int DATA_LINE_LIMIT = 65_536;

    /** Fired through the pipeline to make the framer read what arrived while it was paused. */
    static final Object RESUME = new Object();

    private volatile boolean data;
    private volatile boolean paused;
    private volatile long rawRemaining;
    private volatile boolean startTlsPending;
    private volatile boolean tlsActive;

    /** Frames nothing until {@link #resume}: a command is being answered later. */
    void pause() {
        paused = true;
    }

    void resume() {
        paused = false;
    }

    boolean paused() {
        return paused;
    }

    int lineLimit() {
        return data ? DATA_LINE_LIMIT : COMMAND_LINE_LIMIT;
    }

    boolean inData() {
        return data;
    }

    void dataStarted() {
        data = true;
    }

    void dataEnded() {
        data = false;
    }

    /** The next {@code octets} arriving are a BDAT chunk. */
    void expectRaw(long octets) {
        rawRemaining = octets;
    }

    long rawRemaining() {
        return rawRemaining;
    }

    void rawConsumed(int octets) {
        rawRemaining -= octets;
    }

    /**
     * RFC 3207: what a client sends after STARTTLS and before the TLS handshake must not be read as
     * commands of the encrypted session (the CVE-2011-0411 command injection).
     */
    void lineFramed(ByteBuf line, boolean moreInput) {
        if (tlsActive || data || line.readableBytes() > 12) {
            return;
        }
        String command = line.toString(StandardCharsets.US_ASCII).trim();
        if (command.equalsIgnoreCase("STARTTLS")) {
            if (moreInput) {
                throw new CommandInjectionDetectedException();
            }
            startTlsPending = true;
        }
    }

    void checkNoInputDuringStartTls(int octets) {
        if (startTlsPending && octets > 0) {
            throw new CommandInjectionDetectedException();
        }
    }

    /** STARTTLS was refused: plain commands go on. */
    void startTlsRefused() {
        startTlsPending = false;
    }

    /** The TLS handshake completed: what arrives now was decrypted. */
    void tlsStarted() {
        startTlsPending = false;
        tlsActive = true;
    }

    boolean startTlsPending() {
        return startTlsPending;
    }
}
