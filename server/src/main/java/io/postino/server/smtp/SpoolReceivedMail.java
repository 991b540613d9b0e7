package io.postino.server.smtp;

import static org.apache.james.smtpserver.futurerelease.FutureReleaseMailParameterHook.FUTURERELEASE_HOLDFOR;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Optional;
import java.util.Set;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.commons.configuration2.Configuration;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.james.smtpserver.futurerelease.FutureReleaseParameters;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.spool.InsufficientStorage;

/**
 * Puts each received message in the spool: James' {@code SendMailHandler}, which it replaces in
 * {@link PostinoCoreHandlers}, with answers that say what went wrong. James answered every
 * failure with {@code 451 4.0.0 Error processing message} and an ERROR with a stack trace per
 * message; a session that passed {@link RequireFreeSpace} just before the disk filled up met that.
 *
 * <ul>
 *   <li>The disk is full (the spool says so, or {@code No space left on device} anywhere in the
 *   causes): {@code 452 4.3.1 Insufficient system storage; try again later}.</li>
 *   <li>Any other failure: {@code 451 4.3.0 The message could not be queued; try again later}.</li>
 * </ul>
 *
 * <p>Nothing is queued then, and the client keeps the message to try again. The first failure
 * after a success is one WARN line with the cause (no stack trace; DEBUG has it), at most one a
 * minute; the next ones DEBUG only, until a message is spooled again (INFO).</p>
 */
public class SpoolReceivedMail implements JamesMessageHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(SpoolReceivedMail.class);
    static final String INSUFFICIENT_STORAGE = "4.3.1 Insufficient system storage; try again later";
    static final String NOT_QUEUED = "4.3.0 The message could not be queued; try again later";
    private static final int MAX_CAUSES = 20;

    /** At most one WARN this often, even when spooling fails, works and fails again (sessions racing for the last space). */
    private static final Duration WARN_INTERVAL = Duration.ofMinutes(1);

    private final MailQueueFactory<?> queueFactory;
    private MailQueue queue;
    /** Guarded by this: whether the last message failed, when the last WARN was, whether this outage had one. */
    private boolean failing;
    private Instant warnedAt = Instant.EPOCH;
    private boolean warned;

    @Inject
    public SpoolReceivedMail(MailQueueFactory<?> queueFactory) {
        this.queueFactory = queueFactory;
    }

    @Override
    public void init(Configuration config) {
        queue = queueFactory.createQueue(MailQueueFactory.SPOOL);
    }

    @Override
    public void destroy() {
        try {
            queue.close();
        } catch (IOException e) {
            LOGGER.debug("Could not close the spool queue", e);
        }
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        Optional<FutureReleaseParameters.HoldFor> holdFor = session.getAttachment(FUTURERELEASE_HOLDFOR, ProtocolSession.State.Transaction);
        try {
            if (holdFor.isPresent()) {
                queue.enQueue(mail, holdFor.get().value());
            } else {
                queue.enQueue(mail);
            }
        } catch (MessagingException | RuntimeException e) {
            return refused(session, mail, e);
        }
        if (outageEnds()) {
            LOGGER.info("Received messages are spooled again");
        }
        LOGGER.info("Spooled mail {} from {} on {} for {}", mail.getName(), mail.getMaybeSender().asString(),
            session.getRemoteAddress().getAddress(), mail.getRecipients());
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.ok())
            .smtpDescription("2.6.0 Message received")
            .build();
    }

    private HookResult refused(SMTPSession session, Mail mail, Exception failure) {
        boolean full = diskFull(failure);
        String reply = full ? "452 " + INSUFFICIENT_STORAGE : "451 " + NOT_QUEUED;
        if (outageStarts()) {
            LOGGER.warn("Received messages cannot be spooled ({}): clients get '{}' until they can", causes(failure), reply);
        } else {
            LOGGER.debug("Mail {} from {} not spooled: {}", mail.getName(), session.getRemoteAddress().getAddress(), causes(failure));
        }
        LOGGER.debug("Why mail {} was not spooled", mail.getName(), failure);
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.denySoft())
            .smtpReturnCode(full ? "452" : "451")
            .smtpDescription(full ? INSUFFICIENT_STORAGE : NOT_QUEUED)
            .build();
    }

    /** @return whether to WARN: the first failure after a success, and no WARN in the last {@link #WARN_INTERVAL} */
    private synchronized boolean outageStarts() {
        if (failing) {
            return false;
        }
        failing = true;
        Instant now = Instant.now();
        if (now.isBefore(warnedAt.plus(WARN_INTERVAL))) {
            return false;
        }
        warnedAt = now;
        warned = true;
        return true;
    }

    /** @return whether to say that it works again: the outage that ends had its WARN */
    private synchronized boolean outageEnds() {
        if (!failing) {
            return false;
        }
        failing = false;
        boolean said = warned;
        warned = false;
        return said;
    }

    /** The spool's own signal, or an I/O error of a full file system at any depth. */
    static boolean diskFull(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable cause = failure; cause != null && seen.add(cause) && seen.size() <= MAX_CAUSES; cause = cause.getCause()) {
            if (cause instanceof InsufficientStorage) {
                return true;
            }
            if (cause instanceof IOException && cause.getMessage() != null
                && (cause.getMessage().contains("No space left on device") || cause.getMessage().contains("ENOSPC"))) {
                return true;
            }
        }
        return false;
    }

    /** Each distinct message of the cause chain, outermost first, on one line. */
    private static String causes(Throwable failure) {
        StringBuilder line = new StringBuilder();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable cause = failure; cause != null && seen.add(cause) && seen.size() <= MAX_CAUSES; cause = cause.getCause()) {
            String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
            if (line.indexOf(message) < 0) {
                line.append(line.length() == 0 ? "" : ": ").append(message);
            }
        }
        return line.toString();
    }
}
