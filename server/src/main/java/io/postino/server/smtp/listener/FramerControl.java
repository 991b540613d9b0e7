package io.postino.server.smtp.listener;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.james.protocols.netty.CommandInjectionDetectedException;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * What the {@link SmtpFramer} of one connection must know about the session: whether DATA is
 * being received (longer lines are allowed), how many raw octets a BDAT command announced, and
 * whether a STARTTLS is in flight. Set by the session's thread, which is also the framer's.
 *
 * <p>It also holds the connection's input back. Octets read from the socket and not framed yet
 * (waiting for the connection's thread, or for an answer that is being worked out, or for a
 * client that does not read its replies) are counted; beyond {@link #INPUT_LIMIT} the channel
 * stops reading, so TCP makes the client wait, and it reads again once the framer has caught up.
 * A client that pipelines commands without reading the replies therefore costs at most that
 * much input plus netty's outbound high-water mark, whatever it sends.</p>
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

    /**
     * Octets read and not framed beyond which the channel stops reading. Above
     * {@link #DATA_LINE_LIMIT}, so that the longest line the framer waits for always fits.
     */
    static final int INPUT_LIMIT = 128 * 1024;
    /** Lines or chunks framed in one go before the framer lets the thread serve other connections. */
    static final int FRAMES_PER_TURN = 64;

    /** Fired through the pipeline to make the framer read what arrived while it was paused. */
    static final Object RESUME = new Object();

    private volatile boolean data;
    private volatile boolean paused;
    private volatile long rawRemaining;
    private volatile boolean startTlsPending;
    private volatile boolean tlsActive;
    private final AtomicLong unframed = new AtomicLong();
    private volatile boolean ended;
    private volatile long lastProgress = System.nanoTime();
    private int junkCommands;
    private int transactionsSinceProgress;
    private volatile long shieldedUntil;
    private volatile boolean shielded;
    /** How long the first transaction after a progress is spared eviction and the no-progress timeout. */
    static final long FIRST_TRANSACTION_GRACE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);

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

    /** {@code octets} were read from the client (on the channel's I/O thread, before they reach the framer). */
    void received(Channel channel, int octets) {
        if (unframed.addAndGet(octets) > INPUT_LIMIT && channel.config().isAutoRead()) {
            channel.config().setAutoRead(false);
        }
    }

    /** The framer consumed {@code octets} (framed, or skipped as part of a line too long). */
    void framed(int octets) {
        unframed.addAndGet(-octets);
    }

    /**
     * Reads again if the framer has caught up. Called by the framer after each pass: whatever
     * stopped reading, data read before that has reached the framer after the stop, so a pass
     * always follows the last stop.
     */
    void readIfCaughtUp(Channel channel) {
        if (unframed.get() <= INPUT_LIMIT && !channel.config().isAutoRead() && channel.isActive()) {
            channel.config().setAutoRead(true);
        }
    }

    long unframed() {
        return unframed.get();
    }

    /** The session ended (a 221 or 421 was sent): what the client sent after it is not read. */
    void sessionEnded() {
        ended = true;
    }

    boolean ended() {
        return ended;
    }

    /**
     * The session moved towards delivering mail: a line or chunk of a message arrived, a message
     * was accepted, TLS or AUTH succeeded. What {@link ConnectionGuard} measures a stalled
     * connection by when the listener is short of places.
     */
    void progress() {
        lastProgress = System.nanoTime();
        junkCommands = 0;
        transactionsSinceProgress = 0;
        shielded = false;
    }

    /**
     * MAIL FROM was accepted. The first transaction after a progress (or the connection's start)
     * is spared eviction and the no-progress timeout for {@link #FIRST_TRANSACTION_GRACE_NANOS}:
     * an honest client between its MAIL and the end of its message is not the one to close.
     * Later ones are not: a client that starts transactions and abandons them does not send mail.
     */
    void senderAccepted() {
        if (transactionsSinceProgress++ == 0) {
            shieldedUntil = System.nanoTime() + FIRST_TRANSACTION_GRACE_NANOS;
            shielded = true;
        }
    }

    /** Whether the session is in its first transaction since its last progress, within the grace. */
    boolean firstTransactionUnderWay() {
        return shielded && System.nanoTime() - shieldedUntil < 0;
    }

    int junkCommands() {
        return junkCommands;
    }

    long lastProgress() {
        return lastProgress;
    }

    /**
     * Counts a command that sends no mail (NOOP, RSET, HELO..., or any command refused with 4xx or
     * 5xx); returns how many came since the last progress.
     */
    int junkCommand() {
        return ++junkCommands;
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
