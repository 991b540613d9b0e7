package io.postino.server.pacing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import javax.inject.Inject;

import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;

import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.Route;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * The queues at a glance, by organisation, destination (recipient domain) and route, and the
 * removal of an organisation's, a domain's or a route's mail from them at once (the operator's
 * only: {@code OrganisationScope} gives an organisation's token none of these):
 * <ul>
 *   <li>{@code GET /mailQueueSummary[?organisation=acme]}: {@code {"queues": [{"name": "outgoing.acme", "organisation":
 *   "acme", "size": 3, "oldestAgeSeconds": 42, "held": false, "holdable": true, "browsed": 3,
 *   "destinations": [{"domain": "example.net", "route": "relay", "mails": 2, "oldestAgeSeconds": 42}]}]}}.
 *   {@code route} is that of the organisations.xml {@code <route>} the organisation's mail to the
 *   domain takes, {@code null} for direct MX delivery. A mail counts once per recipient domain.
 *   At most {@value #BROWSE_LIMIT} mails of each queue are looked at ({@code browsed} says how
 *   many were).</li>
 *   <li>{@code DELETE /mailQueueSummary/mails?organisation=acme&domain=example.net&route=relay}:
 *   removes the mails matching every parameter given (at least one): of the organisation's queues,
 *   with a recipient in the domain, to be delivered by the route ({@code route=} empty: direct MX
 *   delivery). 200 with {@code {"removed": n}}. Mail being processed or delivered at that moment
 *   is not removed; in a held queue all of it is (hold first, then delete, to be sure).</li>
 * </ul>
 * Holding and releasing are {@code /mailQueueHolds}'s: a queue, or a recipient domain or route
 * across every organisation ({@link HeldDestinations}); flushing stays per queue ({@code /mailQueues}).
 */
public class QueueSummaryRoutes implements Routes {
    static final String BASE = "/mailQueueSummary";
    static final int BROWSE_LIMIT = 10_000;

    private final MailQueueFactory<? extends ManageableMailQueue> queues;
    private final QueueHolds holds;
    private final Organisations organisations;
    private final JsonTransformer json;

    @Inject
    public QueueSummaryRoutes(MailQueueFactory<? extends ManageableMailQueue> queues, QueueHolds holds, Organisations organisations,
                              JsonTransformer json) {
        this.queues = queues;
        this.holds = holds;
        this.organisations = organisations;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> summary(parameter(request, "organisation")), json);
        service.delete(BASE + "/mails", this::remove, json);
    }

    /** Every queue, or with {@code organisation} only that organisation's ({@code spool.<id>}, {@code outgoing.<id>}). */
    private Map<String, Object> summary(Optional<String> only) throws Exception {
        OrganisationsConfig config = organisations.current();
        if (only.isPresent() && config.byId(only.get()).isEmpty()) {
            throw WebAdminErrors.noOrganisation(only.get());
        }
        Instant now = Instant.now();
        List<Map<String, Object>> views = new ArrayList<>();
        List<MailQueueName> names = new ArrayList<>(queues.listCreatedMailQueues());
        names.sort(Comparator.comparing(MailQueueName::asString));
        for (MailQueueName name : names) {
            Optional<? extends ManageableMailQueue> queue = queues.getQueue(name);
            if (queue.isEmpty()) {
                continue;
            }
            String organisation = organisationOf(name.asString()).orElse(null);
            if (only.isPresent() && !only.get().equals(organisation)) {
                continue;
            }
            Map<String, Destination> destinations = new TreeMap<>();
            Instant oldest = null;
            int browsed = 0;
            ManageableMailQueue.MailQueueIterator mails = queue.get().browse();
            try {
                while (mails.hasNext() && browsed < BROWSE_LIMIT) {
                    Mail mail = mails.next().getMail();
                    browsed++;
                    Instant since = since(mail);
                    oldest = oldest == null || since.isBefore(oldest) ? since : oldest;
                    for (String domain : domains(mail)) {
                        Optional<String> route = routeOf(config, mail, domain);
                        destinations.computeIfAbsent(domain + "\u0000" + route.orElse(""), any -> new Destination(domain, route.orElse(null)))
                            .add(since);
                    }
                }
            } finally {
                mails.close();
            }
            Map<String, Object> view = new LinkedHashMap<>();
            view.put("name", name.asString());
            view.put("organisation", organisation);
            view.put("size", queue.get().getSize());
            view.put("oldestAgeSeconds", oldest == null ? 0 : age(oldest, now));
            view.put("held", holds.isHeld(name.asString()));
            view.put("holdable", holds.holdable().contains(name.asString()));
            view.put("browsed", browsed);
            List<Map<String, Object>> perDestination = new ArrayList<>();
            for (Destination destination : destinations.values()) {
                Map<String, Object> one = new LinkedHashMap<>();
                one.put("domain", destination.domain);
                one.put("route", destination.route);
                one.put("mails", destination.mails);
                one.put("oldestAgeSeconds", age(destination.oldest, now));
                perDestination.add(one);
            }
            view.put("destinations", perDestination);
            views.add(view);
        }
        return Map.of("queues", views);
    }

    private Object remove(Request request, Response response) throws Exception {
        Optional<String> organisation = parameter(request, "organisation");
        Optional<String> domain = parameter(request, "domain").map(value -> value.toLowerCase(Locale.ROOT));
        Optional<String> route = Optional.ofNullable(request.queryParams("route")).map(String::trim);
        if (organisation.isEmpty() && domain.isEmpty() && route.isEmpty()) {
            throw WebAdminErrors.badRequest("Say which mail to remove: organisation, domain or route (route= empty for direct MX delivery);"
                + " DELETE /mailQueues/{queue}/mails empties one queue");
        }
        OrganisationsConfig config = organisations.current();
        if (organisation.isPresent() && config.byId(organisation.get()).isEmpty()) {
            throw WebAdminErrors.noOrganisation(organisation.get());
        }
        if (route.filter(name -> !name.isEmpty()).isPresent() && config.route(route.get()).isEmpty()) {
            throw WebAdminErrors.notFound("Route '" + route.get() + "' is not defined in organisations.xml <routes>");
        }
        long removed = 0;
        for (MailQueueName name : queues.listCreatedMailQueues()) {
            Optional<String> owner = organisationOf(name.asString());
            if (organisation.isPresent() && !organisation.equals(owner)) {
                continue;
            }
            if (owner.isEmpty() && (route.isPresent() || domain.isPresent()) && organisation.isEmpty()) {
                // the shared queues (spool, outgoing, inbound) hold bounces and mail not yet given an organisation
                continue;
            }
            Optional<? extends ManageableMailQueue> queue = queues.getQueue(name);
            if (queue.isEmpty()) {
                continue;
            }
            List<String> chosen = new ArrayList<>();
            ManageableMailQueue.MailQueueIterator mails = queue.get().browse();
            try {
                while (mails.hasNext()) {
                    Mail mail = mails.next().getMail();
                    boolean matches = domain.map(wanted -> domains(mail).contains(wanted)).orElse(true)
                        && route.map(wanted -> domains(mail).stream().anyMatch(to -> routeOf(config, mail, to).orElse("").equals(wanted)))
                            .orElse(true);
                    if (matches) {
                        chosen.add(mail.getName());
                    }
                }
            } finally {
                mails.close();
            }
            for (String mail : chosen) {
                removed += queue.get().remove(ManageableMailQueue.Type.Name, mail);
            }
            removed += holds.discardKept(name.asString(), mail -> chosen.contains(mail.getName()));
        }
        return Map.of("removed", removed);
    }

    private static Optional<String> parameter(Request request, String name) {
        return Optional.ofNullable(request.queryParams(name)).map(String::trim).filter(value -> !value.isEmpty());
    }

    /** {@code outgoing.acme} and {@code spool.acme} are Acme's (see FairMailQueue). */
    private static Optional<String> organisationOf(String queue) {
        int dot = queue.indexOf('.');
        return dot < 0 || queue.contains(":") ? Optional.empty() : Optional.of(queue.substring(dot + 1));
    }

    private static List<String> domains(Mail mail) {
        return mail.getRecipients().stream().map(recipient -> recipient.getDomain().asString().toLowerCase(Locale.ROOT)).distinct().toList();
    }

    private static Optional<String> routeOf(OrganisationsConfig config, Mail mail, String domain) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .flatMap(config::byId)
            .flatMap(organisation -> config.routeFor(organisation, domain))
            .map(Route::name);
    }

    private static Instant since(Mail mail) {
        return AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.RECEIVED_AT, Long.class).map(Instant::ofEpochMilli)
            .orElseGet(() -> mail.getLastUpdated() == null ? Instant.now() : mail.getLastUpdated().toInstant());
    }

    private static long age(Instant since, Instant now) {
        return Math.max(0, Duration.between(since, now).toSeconds());
    }

    private static final class Destination {
        private final String domain;
        private final String route;
        private long mails;
        private Instant oldest;

        Destination(String domain, String route) {
            this.domain = domain;
            this.route = route;
        }

        void add(Instant since) {
            mails++;
            oldest = oldest == null || since.isBefore(oldest) ? since : oldest;
        }
    }
}
