package io.postino.server.pacing;

import java.util.LinkedHashMap;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

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
 * </ul>
 */
public class QueueHoldRoutes implements Routes {
    private static final String BASE = "/mailQueueHolds";

    private final QueueHolds holds;
    private final JsonTransformer json;

    @Inject
    public QueueHoldRoutes(QueueHolds holds, JsonTransformer json) {
        this.holds = holds;
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
            return body;
        }, json);
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

    private Object release(Request request, Response response) {
        String queue = request.params("queue");
        if (!holds.release(queue)) {
            throw WebAdminErrors.notFound("Queue '" + queue + "' is not on hold");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }
}
