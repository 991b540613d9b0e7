package io.postino.server.smtp;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.Hook;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookResultHook;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;
import org.apache.james.protocols.smtp.hook.MessageHook;
import org.apache.james.protocols.smtp.hook.RcptHook;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.james.smtpserver.SMTPConstants;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;
import io.postino.server.metrics.PostinoMetrics;

/**
 * Records what the SMTP listeners decide: {@code received} for each recipient of a message James
 * queued, {@code rejected} (or {@code rate-limited}, for EnforceRateLimits' answers) for every
 * MAIL FROM, RCPT TO or message refused by a hook (the message size check included), with the
 * reply. Protocol errors (bad sequence, syntax) are not mail and are not recorded. Refusals of
 * strangers (clients neither logged in nor trusted) are only counted, per refusing hook
 * ({@code postino_smtp_refusals_strangers_<hook>}), so a scanner cannot fill the tracking index.
 * Never changes an answer.
 *
 * <p>Place it first in the handler chain, so that it sees the address of every MAIL FROM and
 * RCPT TO before another hook refuses it.</p>
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.RecordSmtpEvents"/>
 * </handlerchain>
 * }</pre>
 */
public class RecordSmtpEvents implements MailHook, RcptHook, HookResultHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(RecordSmtpEvents.class);
    private static final ProtocolSession.AttachmentKey<MaybeSender> ATTEMPTED_SENDER = ProtocolSession.AttachmentKey.of("postino.attemptedSender", MaybeSender.class);
    private static final ProtocolSession.AttachmentKey<MailAddress> ATTEMPTED_RECIPIENT = ProtocolSession.AttachmentKey.of("postino.attemptedRecipient", MailAddress.class);

    private final DeliveryEvents events;
    private final PostinoMetrics metrics;

    @Inject
    public RecordSmtpEvents(DeliveryEvents events, PostinoMetrics metrics) {
        this.events = events;
        this.metrics = metrics;
    }

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        session.setAttachment(ATTEMPTED_SENDER, sender, ProtocolSession.State.Transaction);
        return HookResult.DECLINED;
    }

    @Override
    public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress rcpt) {
        session.setAttachment(ATTEMPTED_RECIPIENT, rcpt, ProtocolSession.State.Transaction);
        return HookResult.DECLINED;
    }

    @Override
    public HookResult onHookResult(SMTPSession session, HookResult result, long executionTime, Hook hook) {
        try {
            HookReturnCode.Action action = result.getResult().getAction();
            if (hook instanceof SpoolReceivedMail && action == HookReturnCode.Action.OK) {
                session.getAttachment(SMTPConstants.MAIL, ProtocolSession.State.Transaction).ifPresent(mail -> received(session, mail));
            } else if (action == HookReturnCode.Action.DENY || action == HookReturnCode.Action.DENYSOFT) {
                rejected(session, result, hook);
            }
        } catch (RuntimeException e) {
            // Tracking must never change an SMTP answer.
            LOGGER.warn("Could not record an SMTP event", e);
        }
        return result;
    }

    private void received(SMTPSession session, Mail mail) {
        Optional<String> messageId;
        long size;
        try {
            messageId = Optional.ofNullable(mail.getMessage().getMessageID());
            size = mail.getMessageSize();
        } catch (MessagingException e) {
            messageId = Optional.empty();
            size = -1;
        }
        // When the message was accepted (end of DATA), not now: the spooler may already have queued
        // it by the time James tells us it is in the spool.
        Instant accepted = mail.getLastUpdated() == null ? Instant.now() : mail.getLastUpdated().toInstant();
        for (MailAddress recipient : mail.getRecipients()) {
            events.publish(new DeliveryEvent(DeliveryEvent.Type.RECEIVED, accepted, mail.getName(), messageId, organisation(session),
                user(session), client(session), mail.getMaybeSender().asOptional().map(MailAddress::asString),
                Optional.of(recipient.asString()), size, Optional.empty(), Optional.of("250 2.6.0 Message received")));
        }
    }

    private void rejected(SMTPSession session, HookResult result, Hook hook) {
        if (!(hook instanceof MailHook || hook instanceof RcptHook || hook instanceof JamesMessageHook || hook instanceof MessageHook)) {
            return;
        }
        if (session.getUsername() == null && !session.isRelayingAllowed()) {
            // A stranger (neither logged in nor on a trusted network): counted, not tracked, so
            // that a scanner cannot fill the tracking index and push real events out.
            metrics.smtpRefusal(reason(hook), Optional.empty());
            return;
        }
        metrics.smtpRefusal(reason(hook), organisation(session));
        DeliveryEvent.Type type = hook instanceof EnforceRateLimits ? DeliveryEvent.Type.RATE_LIMITED : DeliveryEvent.Type.REJECTED;
        Optional<String> sender = session.getAttachment(ATTEMPTED_SENDER, ProtocolSession.State.Transaction).flatMap(MaybeSender::asOptional)
            .map(MailAddress::asString);
        List<Optional<String>> recipients;
        if (hook instanceof RcptHook && !(hook instanceof MailHook && isMailStage(session))) {
            recipients = List.of(session.getAttachment(ATTEMPTED_RECIPIENT, ProtocolSession.State.Transaction).map(MailAddress::asString));
        } else if (hook instanceof JamesMessageHook || hook instanceof MessageHook) {
            recipients = session.getAttachment(SMTPSession.RCPT_LIST, ProtocolSession.State.Transaction)
                .map(list -> list.stream().map(address -> Optional.of(address.asString())).toList())
                .orElse(List.of(Optional.empty()));
        } else {
            recipients = List.of(Optional.empty());
        }
        String reply = Optional.ofNullable(result.getSmtpRetCode()).map(code -> code + " ").orElse("")
            + Optional.ofNullable(result.getSmtpDescription()).orElse("");
        String id = "rejected-" + UUID.randomUUID();
        Instant now = Instant.now();
        for (Optional<String> recipient : recipients) {
            events.publish(new DeliveryEvent(type, now, id, Optional.empty(), organisation(session), user(session), client(session),
                sender, recipient, -1, Optional.empty(), Optional.of(reply.trim())));
        }
    }

    /** The refusing hook's class, in snake case: a small, fixed set of label values. */
    private static String reason(Hook hook) {
        return hook.getClass().getSimpleName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** Before any RCPT of the transaction was attempted, a refusal by a MAIL-and-RCPT hook is about MAIL FROM. */
    private static boolean isMailStage(SMTPSession session) {
        return session.getAttachment(ATTEMPTED_RECIPIENT, ProtocolSession.State.Transaction).isEmpty();
    }

    private static Optional<String> organisation(SMTPSession session) {
        return session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction);
    }

    private static Optional<String> user(SMTPSession session) {
        return Optional.ofNullable(session.getUsername()).map(username -> username.asString());
    }

    private static Optional<String> client(SMTPSession session) {
        return Optional.of(session.getRemoteAddress().getAddress().getHostAddress());
    }
}
