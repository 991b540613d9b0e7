package io.postino.server.pacing;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.core.Domain;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.organisations.Organisations;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * Holding and releasing a queue (the operator's only: {@code OrganisationScope} gives an
 * organisation's token none of these):
 * <ul>
 *   <li>{@code GET /mailQueueHolds}: {@code {"held": [...], "holdable": [...]}}, queue names.</li>
 *   <li>{@code PUT /mailQueueHolds/outgoing.acme}: 204; the queue keeps accepting mail but hands
 *   none out (Acme's mail is not delivered) until released. 404 for a queue that cannot be held.</li>
 *   <li>{@code DELETE /mailQueueHolds/outgoing.acme}: 204, delivery resumes at once; 404 when it
 *   was not held.</li>
 *   <li>{@code PUT /mailQueueHolds/domains/example.net}: 204; outgoing mail with a recipient in the
 *   domain waits in the queue (whole, with its other recipients) until released; 400 for a
 *   malformed domain. {@code DELETE}: 204, the waiting mail is due at once; 404 when not held.</li>
 *   <li>{@code PUT /mailQueueHolds/routes/eu}: the same for mail to a domain its organisation's
 *   {@code <routing>} sends by that route; 404 for a route organisations.xml does not define
 *   (on {@code PUT}) or one not held (on {@code DELETE}).</li>
 * </ul>
 * {@code GET} also lists {@code "heldDomains"} and {@code "heldRoutes"}.
 */
public class QueueHoldRoutes implements Routes {
    private static final String BASE = "/mailQueueHolds";

    private final QueueHolds holds;
    private final HeldDestinations destinations;
    private final Organisations organisations;
    private final JsonTransformer json;

    @Inject
    public QueueHoldRoutes(QueueHolds holds, HeldDestinations destinations, Organisations organisations, JsonTransformer json) {
        this.holds = holds;
        this.destinations = destinations;
        this.organisations = organisations;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("held", holds.held());
            body.put("holdable", holds.holdable());
            body.put("heldDomains", destinations.domains());
            body.put("heldRoutes", destinations.routes());
            return body;
        }, json);
        service.put(BASE + "/domains/:domain", this::holdDomain);
        service.delete(BASE + "/domains/:domain", this::releaseDomain);
        service.put(BASE + "/routes/:route", this::holdRoute);
        service.delete(BASE + "/routes/:route", this::releaseRoute);
        service.put(BASE + "/:queue", this::hold);
        service.delete(BASE + "/:queue", this::release);
    }

    private Object hold(Request request, Response response) {
        String queue = request.params("queue");
        if (!holds.hold(queue)) {
            throw WebAdminErrors.notFound("Queue '" + queue + "' cannot be held: only spool, outgoing and their per-organisation queues"
                + " (e.g. outgoing.acme) can; GET /mailQueueHolds lists them");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Object holdDomain(Request request, Response response) {
        destinations.holdDomain(domain(request));
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Object releaseDomain(Request request, Response response) {
        String domain = domain(request);
        if (!destinations.releaseDomain(domain)) {
            throw WebAdminErrors.notFound("Domain '" + domain + "' is not on hold");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Object holdRoute(Request request, Response response) {
        String route = request.params("route");
        if (organisations.current().route(route).isEmpty()) {
            throw WebAdminErrors.notFound("Route '" + route + "' is not defined in organisations.xml <routes>");
        }
        destinations.holdRoute(route);
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Object releaseRoute(Request request, Response response) {
        String route = request.params("route");
        if (!destinations.releaseRoute(route)) {
            throw WebAdminErrors.notFound("Route '" + route + "' is not on hold");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private static String domain(Request request) {
        String name = request.params("domain");
        try {
            return Domain.of(name).asString().toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw WebAdminErrors.badRequest("'" + name + "' is not a domain name (e.g. example.net): " + e.getMessage());
        }
    }

    private Object release(Request request, Response response) {
        String queue = request.params("queue");
        if (!holds.release(queue)) {
            throw WebAdminErrors.notFound("Queue '" + queue + "' is not on hold");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }
}
