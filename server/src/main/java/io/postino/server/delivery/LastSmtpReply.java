package io.postino.server.delivery;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;

import javax.mail.Message;

/**
 * The remote server's reply to the last delivery attempt, kept for tracking since James 3.8.1
 * does not keep it: per thread (RemoteDelivery hands the copy of a delivered mail to its
 * {@code onSuccess} processor in the thread that delivered it) and per message (a mail that failed
 * is put back in the queue from another thread).
 */
public final class LastSmtpReply {
    /**
     * The host that answered and its reply, e.g. {@code 250 2.0.0 queued as 123}, and the
     * recipients it refused at RCPT TO with their replies.
     */
    public record Reply(String host, String text, Instant at, Map<String, String> failedRecipients) {
        public Reply(String host, String text, Instant at) {
            this(host, text, at, Map.of());
        }
    }

    /** A thread's reply older than this belongs to an earlier mail: it is not used. */
    private static final Duration FRESH = Duration.ofSeconds(5);

    private static final ThreadLocal<Reply> LAST = new ThreadLocal<>();
    /** Weak keys: a message that is gone takes its reply with it. */
    private static final Map<Message, Reply> BY_MESSAGE = Collections.synchronizedMap(new WeakHashMap<>());

    private LastSmtpReply() {
    }

    static void set(Message message, Reply reply) {
        LAST.set(reply);
        BY_MESSAGE.put(message, reply);
    }

    /** A new delivery attempt starts: what this thread remembered belongs to an earlier mail. */
    static void forgetThread() {
        LAST.remove();
    }

    /** The reply to the last attempt to send this very message object; both memories are cleared. */
    public static Optional<Reply> takeFor(Message message) {
        LAST.remove();
        return Optional.ofNullable(BY_MESSAGE.remove(message));
    }

    /** The reply this thread recorded in the last few seconds, if any, which is then forgotten. */
    public static Optional<Reply> take() {
        Reply reply = LAST.get();
        LAST.remove();
        return Optional.ofNullable(reply).filter(fresh -> fresh.at().plus(FRESH).isAfter(Instant.now()));
    }
}
