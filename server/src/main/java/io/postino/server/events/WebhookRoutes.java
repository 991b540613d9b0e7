package io.postino.server.events;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;

import io.postino.events.DeliveryEvent;
import io.postino.organisations.Organisations;
import io.postino.server.WebAdminErrors;
import io.postino.server.webadmin.WebAdminAccess;
import spark.Service;

/**
 * {@code GET /organisations/{id}/webhooks}: the sinks of conf/eventsinks.xml that receive that
 * organisation's events, read-only: for the operator, those naming it in {@code organisations}
 * and those for every organisation; for the organisation's own token, only those naming it (a
 * sink for every organisation is the operator's business, not one customer's):
 * <pre>
 * [{"name": "crm", "kind": "webhook", "url": "https://hooks.example/***?key=***",
 *   "types": ["delivered", "bounced"], "allOrganisations": false,
 *   "delivery": {"lastSuccess": "2026-...Z", "lastFailure": "2026-...Z", "lastError": "HTTP 500", "pending": 0, "dead": 0}}]
 * </pre>
 * Credentials never leave the server: of the URL only the scheme, host and port are shown, the
 * path (Slack- or Discord-style webhooks keep their secret there) and every query value are
 * masked; the signing secret is not shown; a file sink shows its kind and no path; the last error
 * is the HTTP status or the name of the exception, never its message (which names the URL).
 * {@code types} empty means every event type. {@code delivery} (webhooks only) is counted since
 * start-up, except {@code pending} and {@code dead}, the batches on disk.
 */
public class WebhookRoutes implements Routes {
    private static final String BASE = "/organisations";
    private static final String MASK = "***";

    private final Optional<CamelEventSinks> sinks;
    private final Organisations organisations;
    private final JsonTransformer json;

    public WebhookRoutes(Optional<CamelEventSinks> sinks, Organisations organisations, JsonTransformer json) {
        this.sinks = sinks;
        this.organisations = organisations;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/:id/webhooks", (request, response) -> {
            String id = request.params("id");
            organisations.current().byId(id).orElseThrow(() -> WebAdminErrors.noOrganisation(id));
            return webhooks(id, "operator".equals(request.attribute(WebAdminAccess.LOGIN)));
        }, json);
    }

    private List<Map<String, Object>> webhooks(String organisation, boolean operator) {
        List<Map<String, Object>> views = new ArrayList<>();
        if (sinks.isEmpty()) {
            return views;
        }
        for (EventSink sink : sinks.get().sinks()) {
            boolean mine = sink.organisations().contains(organisation);
            if (!mine && !(operator && sink.organisations().isEmpty())) {
                continue;
            }
            Map<String, Object> view = new LinkedHashMap<>();
            view.put("name", sink.name());
            view.put("kind", sink.kind() == EventSink.Kind.WEBHOOK ? "webhook" : "json-lines");
            view.put("url", sink.url().map(WebhookRoutes::masked).orElse(null));
            view.put("types", sink.types().stream().map(DeliveryEvent.Type::configName).toList());
            view.put("allOrganisations", sink.organisations().isEmpty());
            view.put("delivery", sinks.get().state(sink).map(WebhookRoutes::delivery).orElse(null));
            views.add(view);
        }
        return views;
    }

    private static Map<String, Object> delivery(CamelEventSinks.DeliveryState state) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("lastSuccess", state.lastSuccess().map(Object::toString).orElse(null));
        view.put("lastFailure", state.lastFailure().map(Object::toString).orElse(null));
        view.put("lastError", state.lastError().orElse(null));
        view.put("pending", state.pending());
        view.put("dead", state.dead());
        return view;
    }

    /**
     * {@code scheme://host[:port]}, then {@code /}{@value #MASK} when the URL has a path other
     * than {@code /}, then the query with every value replaced by {@value #MASK}. User
     * information is never shown (EventSinksFile refuses it anyway).
     */
    static String masked(URI url) {
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() || url.getRawPath().equals("/") ? url.getRawPath() : "/" + MASK;
        String query = url.getRawQuery() == null ? null : String.join("&", java.util.Arrays.stream(url.getRawQuery().split("&"))
            .map(pair -> pair.contains("=") ? pair.substring(0, pair.indexOf('=') + 1) + MASK : MASK).toList());
        try {
            return new URI(url.getScheme(), null, url.getHost(), url.getPort(), null, null, null).toString()
                + (path == null ? "" : path) + (query == null ? "" : "?" + query);
        } catch (URISyntaxException e) {
            return url.getScheme() + "://" + MASK;
        }
    }
}
