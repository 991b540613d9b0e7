package io.postino.server.trace;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.handler.ProtocolHandler;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;
import org.apache.james.protocols.smtp.hook.MessageHook;
import org.apache.james.protocols.smtp.hook.RcptHook;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Mail;

import com.google.inject.Injector;

import io.postino.server.smtp.OrganisationSession;
import io.postino.server.smtp.PostinoCoreHandlers;

/**
 * The SMTP stage of a trace: the hooks of one listener called as its session would call them, in
 * the order James wires them (the {@code <handlerchain>} of conf/smtpserver.xml first, then the
 * core handlers of {@link PostinoCoreHandlers}), at MAIL FROM, at each RCPT TO and after DATA,
 * on a {@link DryRunSession}.
 *
 * <p>Only hooks known to decide without side effects are called (the same instances the server
 * builds, through its injector); the rate limits are only checked, never charged (the charge is
 * made by {@code EnforceRateLimits.onHookResult} once a message is queued, which a trace never
 * calls), by a rate limiter of the trace's own, so that a refusal counts in no metric. The others are reported as skipped with the reason: the event recorder, the spooler,
 * AUTH (the trace assumes the login succeeded), a recipient callout to an organisation's internal
 * server (reported as "would call out", assumed accepted). The first refusal ends the stage with
 * the reply the server would give.</p>
 */
final class SmtpTrace {
    /** Hooks that decide from the session, the configuration and read-only stores, and change nothing else. */
    private static final Set<String> DECIDING = Set.of(
        "io.postino.server.smtp.RequireAuthentication",
        "io.postino.server.smtp.RefuseDisabledUser",
        "io.postino.server.smtp.RequireFreeSpace",
        "io.postino.server.smtp.EnforceSenderIdentity",
        "io.postino.server.smtp.EnforceRateLimits",
        "io.postino.server.smtp.RejectAddressRouting",
        "io.postino.server.smtp.EnforceVisibleSender",
        "io.postino.server.smtp.RequireDkimKey",
        "io.postino.server.smtp.StampOrganisation",
        "io.postino.server.smtp.SmtpUtf8Extension",
        "io.postino.server.smtp.VerifyRecipients",
        "org.apache.james.smtpserver.fastfail.MaxRcptHandler",
        "org.apache.james.smtpserver.AuthRequiredToRelayRcptHook",
        "org.apache.james.protocols.smtp.core.PostmasterAbuseRcptHook",
        "org.apache.james.smtpserver.AddDefaultAttributesMessageHook");
    /** James' check of MAIL FROM against the login, at MAIL and again at RCPT; it needs James' own session class. */
    private static final String SENDER_AUTH = "org.apache.james.smtpserver.SenderAuthIdentifyVerificationHook";
    /** Hooks a trace leaves out, and why. */
    private static final Map<String, String> SKIPPED = Map.of(
        "io.postino.server.smtp.RecordSmtpEvents", "records SMTP events and metrics: not done in a dry run",
        "io.postino.server.smtp.SpoolReceivedMail", "would queue the message: not done in a dry run",
        "io.postino.server.smtp.ThrottleAuthentication", "checks AUTH passwords: the trace assumes the login succeeded",
        "io.postino.server.smtp.RefuseDamagedMessage", "judges the lines as the client sends them: not evaluated on the message given",
        "io.postino.server.smtp.ReceivedHeader", "would add the Received: header",
        "org.apache.james.protocols.smtp.core.esmtp.MailSizeEsmtpExtension", "the size limit: see the size step at MAIL FROM");

    private final Injector injector;
    private final Map<String, Object> ownInstances;
    private final DryRunCallouts callouts;

    /**
     * @param ownInstances hooks built for the trace instead of the server's, by class name:
     *        {@code VerifyRecipients} over {@code callouts}, {@code EnforceRateLimits} over a rate
     *        limiter whose refusals count in no metric of the server
     */
    SmtpTrace(Injector injector, Map<String, Object> ownInstances, DryRunCallouts callouts) {
        this.injector = injector;
        this.ownInstances = Map.copyOf(ownInstances);
        this.callouts = callouts;
    }

    /** What the SMTP stage found: its steps, and the refusal that ended it, if any. */
    record Outcome(List<TraceStep> steps, Optional<Refusal> refusal) {
    }

    Outcome run(Listener listener, DryRunSession dryRun, MaybeSender sender, List<MailAddress> recipients, Mail mail, long size) {
        List<TraceStep> steps = new ArrayList<>();
        SMTPSession session = dryRun.session();
        List<Object> hooks = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> order = new ArrayList<>();
        listener.handlers().forEach(handler -> order.add(handler.className()));
        order.addAll(new PostinoCoreHandlers().getHandlers());
        for (String className : order) {
            Optional<Listener.Handler> configured = listener.handlers().stream().filter(handler -> handler.className().equals(className)).findFirst();
            hooks.add(instantiate(className, configured.map(Listener.Handler::configuration).orElseGet(Listener::empty), steps));
            names.add(className.substring(className.lastIndexOf('.') + 1));
        }

        steps.add(new TraceStep("smtp", "connect", "note", listener.name() + " (port " + listener.port() + ") from " + session.getRemoteAddress().getAddress().getHostAddress()
            + (listener.isAuthorised(session.getRemoteAddress().getAddress()) ? ", an authorised address (authorizedAddresses)" : "")
            + (session.getUsername() == null ? ", no AUTH" : ", AUTH as " + session.getUsername().asString() + " (password not checked)")));

        steps.add(new TraceStep("smtp", "MAIL FROM", "note", "<" + sender.asString() + ">" + (size > 0 ? " SIZE=" + size : "")));
        if (listener.maxMessageSize() > 0 && size > listener.maxMessageSize()) {
            return refused(steps, "size", Refusal.of("552", "5.3.4 Message too big: this server accepts at most " + listener.maxMessageSize() + " bytes"));
        }
        steps.add(new TraceStep("smtp", "size", "pass", size + " octets" + (listener.maxMessageSize() > 0 ? ", at most " + listener.maxMessageSize() : ", no limit")));
        for (int i = 0; i < hooks.size(); i++) {
            String name = names.get(i);
            Optional<HookResult> result = mail(hooks.get(i), name, order.get(i), session, sender, listener, steps);
            Optional<Refusal> refusal = result.flatMap(one -> judge(one, name, steps, "MAIL"));
            if (refusal.isPresent()) {
                return new Outcome(steps, refusal);
            }
            if (isOk(result)) {
                // James asks no further hook once one accepted the command.
                break;
            }
        }
        steps.add(new TraceStep("smtp", "organisation", "note", session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction)
            .map(id -> "the transaction belongs to organisation " + id)
            .orElse("the transaction belongs to no organisation (mail from the Internet for the served domains)")));
        for (MailAddress recipient : recipients) {
            steps.add(new TraceStep("smtp", "RCPT TO", "note", "<" + recipient.asString() + ">"));
            boolean accepted = false;
            for (int i = 0; i < hooks.size() && !accepted; i++) {
                Object hook = hooks.get(i);
                if (order.get(i).equals(SENDER_AUTH)) {
                    mail(hook, names.get(i), order.get(i), session, sender, listener, steps);
                    continue;
                }
                if (!(hook instanceof RcptHook)) {
                    continue;
                }
                Optional<HookResult> result = call(names.get(i), order.get(i), RcptHook.class, steps, () -> ((RcptHook) hook).doRcpt(session, sender, recipient, Map.of()));
                callouts.drain().ifPresent(asked -> steps.add(new TraceStep("smtp", "callout", "not evaluated", "would call out to " + asked + " to verify <" + recipient.asString() + ">: not done in a dry run, assumed accepted")));
                if (result.isEmpty()) {
                    continue;
                }
                Optional<Refusal> refusal = judge(result.get(), names.get(i), steps, "RCPT");
                if (refusal.isPresent()) {
                    return new Outcome(steps, refusal);
                }
                accepted = result.get().getResult().getAction() == HookReturnCode.Action.OK;
            }
            dryRun.recipientAccepted();
        }
        steps.add(new TraceStep("smtp", "DATA", "note", size + " octets"));
        // James calls the raw message hooks before the ones that see the Mail.
        for (int i = 0; i < hooks.size(); i++) {
            if (implementsPhase(order.get(i), MessageHook.class)) {
                String className = order.get(i);
                steps.add(new TraceStep("smtp", names.get(i), SKIPPED.containsKey(className) ? "skipped" : "not evaluated",
                    SKIPPED.getOrDefault(className, "not known to be free of side effects")));
            }
        }
        for (int i = 0; i < hooks.size(); i++) {
            Object hook = hooks.get(i);
            if (!(hook instanceof JamesMessageHook)) {
                continue;
            }
            Optional<HookResult> result = call(names.get(i), order.get(i), JamesMessageHook.class, steps, () -> ((JamesMessageHook) hook).onMessage(session, mail));
            if (result.isEmpty()) {
                continue;
            }
            Optional<Refusal> refusal = judge(result.get(), names.get(i), steps, "DATA");
            if (refusal.isPresent()) {
                return new Outcome(steps, refusal);
            }
            if (isOk(result)) {
                break;
            }
        }
        return new Outcome(steps, Optional.empty());
    }

    private static boolean isOk(Optional<HookResult> result) {
        return result.isPresent() && result.get().getResult().getAction() == HookReturnCode.Action.OK;
    }

    private Optional<HookResult> mail(Object hook, String name, String className, SMTPSession session, MaybeSender sender, Listener listener, List<TraceStep> steps) {
        if (className.equals(SENDER_AUTH)) {
            steps.add(new TraceStep("smtp", name, listener.verifyIdentity() ? "not evaluated" : "pass",
                listener.verifyIdentity() ? "needs James' own session class" : "verifyIdentity is false on this listener"));
            return Optional.empty();
        }
        if (!(hook instanceof MailHook)) {
            return Optional.empty();
        }
        return call(name, className, MailHook.class, steps, () -> ((MailHook) hook).doMail(session, sender));
    }

    private Object instantiate(String className, org.apache.commons.configuration2.HierarchicalConfiguration<?> configuration, List<TraceStep> steps) {
        if (ownInstances.containsKey(className)) {
            return ownInstances.get(className);
        }
        if (!DECIDING.contains(className)) {
            return new Unknown(className);
        }
        try {
            Object hook = injector.getInstance(Class.forName(className));
            if (hook instanceof ProtocolHandler) {
                ((ProtocolHandler) hook).init(configuration);
            }
            return hook;
        } catch (Exception | LinkageError e) {
            steps.add(new TraceStep("smtp", className, "not evaluated", "cannot be built for a trace: " + e));
            return new Unknown(className);
        }
    }

    /** Stands for a hook the trace does not call; reported once per command it would take part in. */
    private record Unknown(String className) implements MailHook, RcptHook, JamesMessageHook {
        @Override
        public HookResult doMail(SMTPSession session, MaybeSender sender) {
            throw new Skip(SKIPPED.getOrDefault(className, "not known to be free of side effects"));
        }

        @Override
        public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress rcpt) {
            throw new Skip(SKIPPED.getOrDefault(className, "not known to be free of side effects"));
        }

        @Override
        public HookResult onMessage(SMTPSession session, Mail mail) {
            throw new Skip(SKIPPED.getOrDefault(className, "not known to be free of side effects"));
        }
    }

    private static final class Skip extends RuntimeException {
        Skip(String reason) {
            super(reason, null, false, false);
        }
    }

    private interface Call {
        HookResult call() throws Exception;
    }

    private static Optional<HookResult> call(String name, String className, Class<?> phase, List<TraceStep> steps, Call call) {
        try {
            return Optional.of(call.call());
        } catch (Skip e) {
            if (implementsPhase(className, phase)) {
                steps.add(new TraceStep("smtp", name, SKIPPED.containsKey(className) ? "skipped" : "not evaluated", e.getMessage()));
            }
            return Optional.empty();
        } catch (UnsupportedOperationException e) {
            steps.add(new TraceStep("smtp", name, "not evaluated", e.getMessage()));
            return Optional.empty();
        } catch (Exception e) {
            steps.add(new TraceStep("smtp", name, "not evaluated", "failed: " + e));
            return Optional.empty();
        }
    }

    /** Whether a hook takes part in that command (the core package's command handlers take part in none). */
    private static boolean implementsPhase(String className, Class<?> phase) {
        try {
            return phase.isAssignableFrom(Class.forName(className));
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    private static Optional<Refusal> judge(HookResult result, String name, List<TraceStep> steps, String command) {
        HookReturnCode.Action action = result.getResult().getAction();
        switch (action) {
            case DENY:
            case DENYSOFT: {
                String code = Optional.ofNullable(result.getSmtpRetCode()).orElse(action == HookReturnCode.Action.DENY ? "554" : "451");
                Refusal refusal = Refusal.of(code, result.getSmtpDescription());
                steps.add(new TraceStep("smtp", name, "refuse", command + ": " + refusal.line()));
                return Optional.of(refusal);
            }
            case OK:
                steps.add(new TraceStep("smtp", name, "accept", command + (result.getSmtpDescription() == null ? "" : ": " + result.getSmtpDescription())));
                return Optional.empty();
            default:
                steps.add(new TraceStep("smtp", name, "pass", command));
                return Optional.empty();
        }
    }

    private static Outcome refused(List<TraceStep> steps, String name, Refusal refusal) {
        steps.add(new TraceStep("smtp", name, "refuse", refusal.line()));
        return new Outcome(steps, Optional.of(refusal));
    }
}
