package io.postino.server.trace;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.mailetcontainer.impl.CompositeProcessorImpl;
import org.apache.james.mailetcontainer.impl.MailetProcessorImpl;
import org.apache.james.mailetcontainer.impl.MatcherMailetPair;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Mail;
import org.apache.mailet.Mailet;
import org.apache.mailet.AttributeUtils;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.Route;

/**
 * The mailet stage of a trace: the processors of the running mail container (the matchers and
 * mailets the server built from conf/mailetcontainer.xml), walked from {@code root} with a copy
 * of the mail as James' spooler would, splitting it where a matcher matches only some of its
 * recipients and following every change of state, until each part is ghosted.
 *
 * <p>Matchers are called only when they are known to decide without side effects (James'
 * {@code All}, {@code RelayLimit}, {@code HostIsLocal} ..., Postino's own but
 * {@code IsUnknownRelayRecipient}, which calls out); any other is reported "not evaluated" and
 * taken as not matching. Mailets that decide are simulated: {@code ToProcessor} follows its
 * processor, {@code RejectUnauthorisedSender} and {@code SignDkim} run for real on the copy (they
 * change nothing but that mail), as do header and attribute mailets ({@code RemoveMimeHeader},
 * {@code AddMissingMessageIdAndDate} ...), {@code SplitByRoute} and {@code RemoteDelivery} report the route
 * of each recipient, repositories, bounces and {@code Null} end the part. Any other mailet is
 * listed as "would run (not simulated)" and the walk goes on.</p>
 */
final class MailetTrace {
    private static final int MAX_STEPS = 500;
    private static final Pattern TAG = Pattern.compile("(?:^|;)\\s*([ds])=([^;]*)");
    private static final Set<String> FREE_MATCHERS = Set.of(
        "org.apache.mailet.base.MatcherInverter",
        "org.apache.james.transport.matchers.All",
        "org.apache.james.transport.matchers.RelayLimit",
        "org.apache.james.transport.matchers.HostIsLocal",
        "org.apache.james.transport.matchers.HostIs",
        "org.apache.james.transport.matchers.RecipientIs",
        "org.apache.james.transport.matchers.RecipientIsLocal",
        "org.apache.james.transport.matchers.SenderIs",
        "org.apache.james.transport.matchers.SenderIsLocal",
        "org.apache.james.transport.matchers.SenderIsNull",
        "org.apache.james.transport.matchers.HasHeader",
        "org.apache.james.transport.matchers.HasMailAttribute",
        "org.apache.james.transport.matchers.SMTPAuthSuccessful",
        "org.apache.james.transport.matchers.SMTPIsAuthNetwork",
        "io.postino.matchers.HasUndeliverableDomain",
        "io.postino.matchers.IsAuthenticatedSender",
        "io.postino.matchers.IsRoleAddress",
        "io.postino.matchers.IsSubmission",
        "io.postino.matchers.IsSuppressedRecipient",
        "io.postino.matchers.RecipientIsInRelayDomain",
        "io.postino.matchers.SenderOrganisationIs");

    /** Mailets that change nothing but the mail they are given: they run on the copy. */
    private static final Set<String> RUN_ON_COPY = Set.of(
        "org.apache.james.transport.mailets.RemoveMimeHeader",
        "org.apache.james.transport.mailets.AddHeader",
        "org.apache.james.transport.mailets.SetMimeHeader",
        "org.apache.james.transport.mailets.SetMailAttribute",
        "org.apache.james.transport.mailets.RemoveMailAttribute",
        "io.postino.mailets.AddMissingMessageIdAndDate");

    private final CompositeProcessorImpl processors;
    private final Organisations organisations;

    MailetTrace(CompositeProcessorImpl processors, Organisations organisations) {
        this.processors = processors;
        this.organisations = organisations;
    }

    /** What the walk found: its steps, the route of each recipient and the DKIM signatures made. */
    record Outcome(List<TraceStep> steps, Map<String, String> routes, List<String> dkim) {
    }

    private record Part(Mail mail, String state, int next) {
    }

    Outcome run(Mail mail) throws MessagingException {
        List<Mail> copies = new ArrayList<>();
        try {
            return walk(mail, copies);
        } finally {
            copies.forEach(LifecycleUtil::dispose);
        }
    }

    private Outcome walk(Mail mail, List<Mail> copies) throws MessagingException {
        List<TraceStep> steps = new ArrayList<>();
        Map<String, String> routes = new LinkedHashMap<>();
        Set<String> dkim = new LinkedHashSet<>();
        Deque<Part> parts = new ArrayDeque<>();
        parts.add(new Part(mail, Mail.DEFAULT, 0));
        while (!parts.isEmpty() && steps.size() < MAX_STEPS) {
            Part part = parts.poll();
            Optional<List<MatcherMailetPair>> pairs = pairsOf(part.state());
            if (pairs.isEmpty()) {
                steps.add(new TraceStep("mailet", part.state(), "not evaluated", "no such processor in the running mail container"));
                continue;
            }
            Mail current = part.mail();
            boolean done = false;
            for (int i = part.next(); i < pairs.get().size() && !done && steps.size() < MAX_STEPS; i++) {
                MatcherMailetPair pair = pairs.get().get(i);
                String name = part.state() + "/" + describe(pair);
                Collection<MailAddress> matched = match(pair, current, name, steps);
                if (matched.isEmpty()) {
                    continue;
                }
                Mail target = current;
                if (!Set.copyOf(matched).equals(Set.copyOf(current.getRecipients()))) {
                    // James splits the mail: the matched recipients meet the mailet, the others go on.
                    Mail rest = MailImpl.duplicate(current);
                    rest.setRecipients(current.getRecipients().stream().filter(recipient -> !matched.contains(recipient)).collect(Collectors.toList()));
                    target = MailImpl.duplicate(current);
                    target.setRecipients(List.copyOf(matched));
                    copies.add(rest);
                    copies.add(target);
                    parts.addFirst(new Part(rest, part.state(), i + 1));
                    steps.add(new TraceStep("mailet", name, "split", "matched " + addresses(matched) + "; the other recipients go on in '" + part.state() + "'"));
                }
                simulate(pair.getMailet(), target, name, steps, routes, dkim);
                String state = target.getState();
                if (Mail.GHOST.equals(state)) {
                    done = true;
                } else if (!part.state().equals(state)) {
                    parts.addFirst(new Part(target, state, 0));
                    done = true;
                } else if (target != current) {
                    parts.addFirst(new Part(target, state, i + 1));
                    done = true;
                }
            }
            if (!done) {
                steps.add(new TraceStep("mailet", part.state(), Mail.ERROR.equals(part.state()) ? "end" : "ghost",
                    "end of processor '" + part.state() + "' for " + addresses(current.getRecipients()) + ": James ghosts the mail"));
            }
        }
        if (steps.size() >= MAX_STEPS) {
            steps.add(new TraceStep("mailet", "trace", "not evaluated", "stopped after " + MAX_STEPS + " steps (a processor loop?)"));
        }
        return new Outcome(steps, routes, List.copyOf(dkim));
    }

    private Optional<List<MatcherMailetPair>> pairsOf(String state) {
        return Optional.ofNullable(processors.getProcessor(state))
            .filter(MailetProcessorImpl.class::isInstance)
            .map(processor -> ((MailetProcessorImpl) processor).getPairs());
    }

    private static String describe(MatcherMailetPair pair) {
        String matcher = pair.getMatcher().getMatcherConfig().getMatcherName();
        String condition = pair.getMatcher().getMatcherConfig().getCondition();
        return shortName(matcher) + (condition == null ? "" : "=" + condition) + " " + shortName(pair.getMailet().getMailetConfig().getMailetName());
    }

    private static String shortName(String name) {
        return name == null ? "?" : name.substring(name.lastIndexOf('.') + 1);
    }

    private static Collection<MailAddress> match(MatcherMailetPair pair, Mail mail, String name, List<TraceStep> steps) {
        String type = pair.getMatcher().getClass().getName();
        if (!FREE_MATCHERS.contains(type)) {
            steps.add(new TraceStep("mailet", name, "not evaluated", "matcher " + type + " is not known to be free of side effects; taken as not matching"));
            return List.of();
        }
        try {
            Collection<MailAddress> matched = pair.getMatcher().match(mail);
            if (matched == null || matched.isEmpty()) {
                steps.add(new TraceStep("mailet", name, "no match", ""));
                return List.of();
            }
            return matched;
        } catch (MessagingException | RuntimeException e) {
            steps.add(new TraceStep("mailet", name, "not evaluated", "matcher failed: " + e.getMessage() + " (onMatchException " + pair.getOnMatchException() + ")"));
            return List.of();
        }
    }

    private void simulate(Mailet mailet, Mail mail, String name, List<TraceStep> steps, Map<String, String> routes, Set<String> dkim) throws MessagingException {
        String type = mailet.getClass().getSimpleName();
        String recipients = addresses(mail.getRecipients());
        switch (type) {
            case "ToProcessor": {
                String processor = mailet.getMailetConfig().getInitParameter("processor");
                steps.add(new TraceStep("mailet", name, "to processor", recipients + " → '" + processor + "'"));
                mail.setState(processor);
                return;
            }
            case "RejectUnauthorisedSender": {
                String before = mail.getState();
                mailet.service(mail);
                if (before.equals(mail.getState())) {
                    steps.add(new TraceStep("mailet", name, "pass", "sender authorised for organisation " + organisationOf(mail).map(Organisation::id).orElse("?")));
                } else {
                    steps.add(new TraceStep("mailet", name, "refuse", mail.getErrorMessage() + " → '" + mail.getState() + "'"));
                }
                return;
            }
            case "SignDkim": {
                List<String> before = headers(mail);
                mailet.service(mail);
                List<String> made = new ArrayList<>(headers(mail));
                made.removeAll(before);
                if (made.isEmpty()) {
                    steps.add(new TraceStep("mailet", name, "no signature", whyUnsigned(mail)));
                } else {
                    made.stream().map(MailetTrace::keyOf).forEach(dkim::add);
                    steps.add(new TraceStep("mailet", name, "sign", String.join(", ", made.stream().map(MailetTrace::keyOf).collect(Collectors.toList()))));
                }
                return;
            }
            case "SplitByRoute": {
                Map<String, List<String>> byRoute = new LinkedHashMap<>();
                Optional<Organisation> organisation = organisationOf(mail);
                for (MailAddress recipient : mail.getRecipients()) {
                    String route = organisation.flatMap(owner -> owner.routeTo(recipient.getDomain().asString())).orElse("default");
                    byRoute.computeIfAbsent(route, any -> new ArrayList<>()).add(recipient.asString());
                }
                steps.add(new TraceStep("mailet", name, byRoute.size() > 1 ? "would split" : "one route",
                    byRoute.entrySet().stream().map(entry -> entry.getKey() + ": " + String.join(" ", entry.getValue())).collect(Collectors.joining("; "))));
                return;
            }
            case "RemoteDelivery": {
                String outgoing = Optional.ofNullable(mailet.getMailetConfig().getInitParameter("outgoing")).orElse("outgoing");
                for (MailAddress recipient : mail.getRecipients()) {
                    routes.put(recipient.asString(), routeOf(mailet, mail, recipient));
                }
                steps.add(new TraceStep("mailet", name, "would deliver", "queue '" + outgoing + "': " + mail.getRecipients().stream()
                    .map(recipient -> recipient.asString() + " via " + routes.get(recipient.asString())).collect(Collectors.joining("; "))
                    + " (not queued: dry run)"));
                mail.setState(Mail.GHOST);
                return;
            }
            case "ToRepository":
            case "ToSenderFolder":
                steps.add(new TraceStep("mailet", name, "would store", recipients + " in " + mailet.getMailetConfig().getInitParameter("repositoryPath") + " (not stored: dry run)"));
                mail.setState(Mail.GHOST);
                return;
            case "Null":
                steps.add(new TraceStep("mailet", name, "ghost", recipients + " dropped"));
                mail.setState(Mail.GHOST);
                return;
            case "Bounce":
            case "DSNBounce":
            case "DSNBounceWithUtf8Recipients":
                steps.add(new TraceStep("mailet", name, "would bounce", "a notice to <" + mail.getMaybeSender().asString() + "> (not sent: dry run)"));
                mail.setState(Mail.GHOST);
                return;
            case "RecordEvent":
                steps.add(new TraceStep("mailet", name, "skipped", "would record a '" + mailet.getMailetConfig().getInitParameter("type") + "' event (not recorded: dry run)"));
                return;
            case "RouteRoleAddresses":
                // Not run: for a loop it sends a copy to the error processor. The route shown is the role address's own.
                steps.add(new TraceStep("mailet", name, "would run (not simulated)", "would send " + recipients
                    + " to their alias, the organisation's <postmaster>/<abuse> or the server's postmaster, then '"
                    + mailet.getMailetConfig().getInitParameter("processor") + "'"));
                mail.setState(mailet.getMailetConfig().getInitParameter("processor"));
                return;
            default:
                if (RUN_ON_COPY.contains(mailet.getClass().getName())) {
                    mailet.service(mail);
                    steps.add(new TraceStep("mailet", name, "ran on the copy", recipients));
                } else {
                    steps.add(new TraceStep("mailet", name, "would run (not simulated)", recipients));
                }
        }
    }

    private String routeOf(Mailet mailet, Mail mail, MailAddress recipient) {
        OrganisationsConfig config = organisations.current();
        String domain = recipient.getDomain().asString();
        if ("inbound".equals(mailet.getMailetConfig().getInitParameter("outgoing"))) {
            return config.relayDomain(domain).map(relay -> "the server of relay domain " + domain + " (" + relay.getValue().hostAndPort() + ")")
                .orElse("MX of " + domain);
        }
        Optional<Route> route = organisationOf(mail).flatMap(owner -> config.routeFor(owner, domain));
        if (route.isPresent()) {
            Route chosen = route.get();
            return "route '" + chosen.name() + "' (" + (chosen.kind() == Route.Kind.SMARTHOST
                ? "smarthost " + chosen.host().orElse("?") + ":" + chosen.port() : "MX of " + domain) + ")";
        }
        String gateway = Optional.ofNullable(mailet.getMailetConfig().getInitParameter("gateway")).orElse("").trim();
        return gateway.isEmpty() ? "MX of " + domain : "smarthost " + gateway;
    }

    private Optional<Organisation> organisationOf(Mail mail) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .flatMap(id -> organisations.current().byId(id));
    }

    private String whyUnsigned(Mail mail) {
        Optional<Organisation> organisation = organisationOf(mail);
        if (organisation.isEmpty()) {
            return "the mail belongs to no organisation";
        }
        try {
            Optional<String> domain = io.postino.dkim.SigningDomain.of(mail.getMessage());
            if (domain.isEmpty()) {
                return "no From: domain";
            }
            if (!organisation.get().ownsDomain(domain.get())) {
                return domain.get() + " is not a domain of organisation " + organisation.get().id();
            }
            return domain.get() + " has no active DKIM key";
        } catch (MessagingException e) {
            return "the headers cannot be read";
        }
    }

    private static List<String> headers(Mail mail) throws MessagingException {
        String[] values = mail.getMessage().getHeader("DKIM-Signature");
        return values == null ? List.of() : List.of(values);
    }

    /** {@code d=example.com s=s2026}: what a DKIM-Signature names as its key. */
    private static String keyOf(String signature) {
        String unfolded = signature.replaceAll("\\s+", "");
        Map<String, String> tags = new LinkedHashMap<>();
        Matcher matcher = TAG.matcher(unfolded);
        while (matcher.find()) {
            tags.putIfAbsent(matcher.group(1), matcher.group(2));
        }
        return "d=" + tags.getOrDefault("d", "?") + " s=" + tags.getOrDefault("s", "?");
    }

    private static String addresses(Collection<MailAddress> recipients) {
        return recipients.stream().map(MailAddress::asString).collect(Collectors.joining(" "));
    }
}
