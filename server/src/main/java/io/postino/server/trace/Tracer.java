package io.postino.server.trace;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.commons.configuration2.HierarchicalConfiguration;
import org.apache.commons.configuration2.tree.ImmutableNode;
import org.apache.james.core.Username;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.mailetcontainer.impl.CompositeProcessorImpl;
import org.apache.james.server.core.MailImpl;
import org.apache.james.server.core.MimeMessageInputStreamSource;
import org.apache.james.server.core.MimeMessageWrapper;
import org.apache.james.server.core.configuration.ConfigurationProvider;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.api.UsersRepositoryException;
import org.apache.mailet.Mail;

import com.google.inject.Injector;

import io.postino.organisations.Organisations;
import io.postino.recipients.RecipientDomains;
import io.postino.recipients.SuppressionList;
import io.postino.server.recipients.RecipientSettings;
import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.ratelimit.CounterStore;
import io.postino.server.ratelimit.RateLimitSettings;
import io.postino.server.ratelimit.RateLimiter;
import io.postino.server.smtp.EnforceRateLimits;
import io.postino.server.smtp.VerifyRecipients;
import io.postino.server.users.DisabledUsers;

/**
 * A dry run of the whole pipeline for one envelope and message: the SMTP stage of the listener
 * ({@link SmtpTrace}), then, if it would be accepted, the mail container ({@link MailetTrace}),
 * with the real hooks, matchers and mailets of the running server. Nothing is queued, sent,
 * charged or recorded; where a step cannot be evaluated without that, the trace says so.
 */
public class Tracer {
    private final Injector injector;
    private final ConfigurationProvider configurations;
    private final CompositeProcessorImpl processors;
    private final Organisations organisations;
    private final DomainList domainList;
    private final SuppressionList suppressions;
    private final RecipientDomains recipientDomains;
    private final RecipientSettings recipientSettings;
    private final UsersRepository users;
    private final EnforceRateLimits rateLimits;
    private final DisabledUsers disabledUsers;

    @Inject
    public Tracer(Injector injector, ConfigurationProvider configurations, CompositeProcessorImpl processors, Organisations organisations,
                  DomainList domainList, SuppressionList suppressions, RecipientDomains recipientDomains, RecipientSettings recipientSettings,
                  UsersRepository users, CounterStore counters, RateLimitSettings rateLimitSettings, DisabledUsers disabledUsers) {
        this.injector = injector;
        this.configurations = configurations;
        this.processors = processors;
        this.organisations = organisations;
        this.domainList = domainList;
        this.suppressions = suppressions;
        this.recipientDomains = recipientDomains;
        this.recipientSettings = recipientSettings;
        this.users = users;
        this.disabledUsers = disabledUsers;
        // The server's counters, read only; its own limiter would count a refusal in its metrics.
        this.rateLimits = new EnforceRateLimits(organisations, new RateLimiter(counters, rateLimitSettings, new PostinoMetrics()));
    }

    /** @throws IllegalArgumentException when no listener answers for the port */
    public Map<String, Object> trace(TraceRequest request) throws Exception {
        HierarchicalConfiguration<ImmutableNode> smtpservers = configurations.getConfiguration("smtpserver");
        Listener listener = Listener.forPort(smtpservers, request.port())
            .orElseThrow(() -> new IllegalArgumentException("No SMTP listener for port " + request.port() + " in conf/smtpserver.xml"));
        List<TraceStep> steps = new ArrayList<>();
        Optional<Refusal> login = request.user().flatMap(this::loginRefusal);
        if (login.isPresent()) {
            Refusal refusal = login.get();
            steps.add(new TraceStep("smtp", "AUTH", "refuse", request.user().get() + ": " + refusal.line()));
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("steps", steps);
            result.put("route", Map.of());
            result.put("dkim", List.of());
            result.put("verdict", verdict(false, refusal));
            return result;
        }
        DryRunCallouts callouts = new DryRunCallouts();
        VerifyRecipients verifyRecipients = new VerifyRecipients(organisations, domainList, suppressions, callouts, recipientDomains, recipientSettings);
        DryRunSession session = DryRunSession.of(listener, request.client(), request.user(), request.helo());
        Mail mail = MailImpl.builder()
            .name(MailImpl.getId())
            .sender(request.sender())
            .addRecipients(request.recipients())
            .mimeMessage(new MimeMessageWrapper(MimeMessageInputStreamSource.create("trace-" + MailImpl.getId(), new ByteArrayInputStream(request.message()))))
            .state(Mail.DEFAULT)
            .build();
        try {
            SmtpTrace.Outcome smtp = new SmtpTrace(injector, Map.of(VerifyRecipients.class.getName(), verifyRecipients, EnforceRateLimits.class.getName(), rateLimits), callouts)
                .run(listener, session, request.sender(), request.recipients(), mail, request.message().length);
            steps.addAll(smtp.steps());
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("steps", steps);
            if (smtp.refusal().isPresent()) {
                result.put("route", Map.of());
                result.put("dkim", List.of());
                result.put("verdict", verdict(false, smtp.refusal().get()));
                return result;
            }
            MailetTrace.Outcome mailets = new MailetTrace(processors, organisations).run(mail);
            steps.addAll(mailets.steps());
            result.put("route", mailets.routes());
            result.put("dkim", mailets.dkim());
            List<String> undelivered = request.recipients().stream().map(Object::toString)
                .filter(recipient -> !mailets.routes().containsKey(recipient)).collect(Collectors.toList());
            // The client is told 250 either way; what the pipeline then does with a recipient is in the steps.
            String text = "Message would be accepted (dry run: nothing was queued)"
                + (undelivered.isEmpty() ? "" : "; not delivered: " + String.join(" ", undelivered) + " (see the mailet steps)");
            result.put("verdict", verdict(true, new Refusal("250", "2.0.0", text)));
            return result;
        } finally {
            LifecycleUtil.dispose(mail);
        }
    }

    /**
     * What AUTH answers a login that cannot succeed whatever the password (the trace never checks
     * one): ThrottleAuthentication's replies for a missing user and for a disabled one.
     */
    private Optional<Refusal> loginRefusal(String login) {
        if (!userExists(login)) {
            return Optional.of(new Refusal("535", "5.7.8", "Authentication credentials invalid"));
        }
        if (disabledUsers.isDisabled(login)) {
            return Optional.of(new Refusal("535", "5.7.8", "This account is disabled; ask your administrator to enable it again"));
        }
        return Optional.empty();
    }

    private boolean userExists(String login) {
        try {
            return users.contains(Username.of(login));
        } catch (UsersRepositoryException | RuntimeException e) {
            return true;
        }
    }

    private static Map<String, Object> verdict(boolean accepted, Refusal reply) {
        Map<String, Object> verdict = new LinkedHashMap<>();
        verdict.put("accepted", accepted);
        verdict.put("code", reply.code());
        verdict.put("enhanced", reply.enhanced());
        verdict.put("text", reply.text());
        return verdict;
    }

}
