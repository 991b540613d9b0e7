package io.postino.server.smtp;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.Hook;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookResultHook;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;
import org.apache.james.protocols.smtp.hook.RcptHook;

import io.postino.organisations.Limit;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.server.ratelimit.RateLimiter;

/**
 * Enforces the rate limits and quotas of organisations.xml at SMTP time:
 * <ul>
 *   <li>MAIL FROM over a message limit: {@code 451 4.7.1};</li>
 *   <li>RCPT TO over a recipient limit or the daily quota: {@code 452 4.7.1};</li>
 *   <li>counters unavailable while limits fail closed: {@code 451 4.3.0}.</li>
 * </ul>
 * The reply names the limit and when it frees up. Limits apply to the user after AUTH, to the
 * organisation the transaction was attributed to, and to the client (IPv4 address or IPv6 /64)
 * when there is no user. What counts is what was accepted: the message and its recipients are
 * charged when it is queued ({@link SpoolReceivedMail} answered OK), so refused recipients and
 * aborted or refused transactions cost nothing.
 *
 * <p>Place it after {@link EnforceSenderIdentity}: it needs the organisation.</p>
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.EnforceSenderIdentity"/>
 *     <handler class="io.postino.server.smtp.EnforceVisibleSender"/>
 *     <handler class="io.postino.server.smtp.EnforceRateLimits"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters: the limits are in organisations.xml, the counters in ratelimits.properties.</p>
 */
public class EnforceRateLimits implements MailHook, RcptHook, HookResultHook {
    private final Organisations organisations;
    private final RateLimiter rateLimiter;

    @Inject
    public EnforceRateLimits(Organisations organisations, RateLimiter rateLimiter) {
        this.organisations = organisations;
        this.rateLimiter = rateLimiter;
    }

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        return answer(rateLimiter.check(subjects(session), Limit.Unit.MESSAGES, 1), "451", "send");
    }

    @Override
    public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress rcpt) {
        long accepted = session.getRcptCount();
        return answer(rateLimiter.check(subjects(session), Limit.Unit.RECIPIENTS, accepted + 1), "452", "send to");
    }

    /** Charges a message once it is queued ({@link SpoolReceivedMail} answered OK), never before. */
    @Override
    public HookResult onHookResult(SMTPSession session, HookResult result, long executionTime, Hook hook) {
        if (hook instanceof SpoolReceivedMail && result.getResult().getAction() == HookReturnCode.Action.OK) {
            List<RateLimiter.Subject> subjects = subjects(session);
            rateLimiter.charge(subjects, Limit.Unit.MESSAGES, 1);
            rateLimiter.charge(subjects, Limit.Unit.RECIPIENTS, session.getRcptCount());
        }
        return result;
    }

    private List<RateLimiter.Subject> subjects(SMTPSession session) {
        OrganisationsConfig config = organisations.current();
        List<RateLimiter.Subject> subjects = new ArrayList<>();
        Optional<Organisation> organisation = session.getAttachment(OrganisationSession.SENDING_ORGANISATION, ProtocolSession.State.Transaction)
            .flatMap(config::byId);
        if (session.getUsername() != null) {
            String login = session.getUsername().asString();
            organisation.ifPresent(owner -> subjects.add(new RateLimiter.Subject(Limit.Scope.USER, login, config.limitsOfUser(owner, login))));
        } else {
            String client = ClientAddress.of(session.getRemoteAddress().getAddress());
            subjects.add(new RateLimiter.Subject(Limit.Scope.CLIENT, client, config.limitsOfClient()));
        }
        organisation.ifPresent(owner -> subjects.add(new RateLimiter.Subject(Limit.Scope.ORGANISATION, owner.id(), config.limitsOfOrganisation(owner))));
        return subjects;
    }

    private static HookResult answer(RateLimiter.Decision decision, String code, String verb) {
        if (decision.allowed()) {
            return HookResult.DECLINED;
        }
        if (decision.storeUnavailable()) {
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.denySoft())
                .smtpReturnCode("451")
                .smtpDescription("4.3.0 Rate-limit counters are unavailable; try again later")
                .build();
        }
        Limit limit = decision.limit().orElseThrow();
        RateLimiter.Subject subject = decision.subject().orElseThrow();
        long seconds = Math.max(1, (decision.retryAfter().toMillis() + 999) / 1000);
        String sentence = limit.isQuota()
            ? "Quota reached: " + subject.describe() + " has used " + limit.describe() + "; it renews in " + seconds + " seconds (midnight UTC)"
            : "Rate limit reached: " + subject.describe() + " may " + verb + " " + limit.describe() + "; try again in " + seconds + " seconds";
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.denySoft())
            .smtpReturnCode(code)
            .smtpDescription("4.7.1 " + sentence)
            .build();
    }
}
