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
import spark.Service;

/**
 * {@code GET /organisations/{id}/webhooks}: the sinks of conf/eventsinks.xml that receive that
 * organisation's events (those naming it in {@code organisations}, and those for every
 * organisation), read-only, for the operator and the organisation's own token:
 * <pre>
 * [{"name": "crm", "kind": "webhook", "url": "https://***:***@hooks.example/in?key=***",
 *   "types": ["delivered", "bounced"], "allOrganisations": false,
 *   "delivery": {"lastSuccess": "2026-...Z", "lastFailure": null, "lastError": null, "pending": 0, "dead": 0}}]
 * </pre>
 * Credentials never leave the server: the URL's user information and every query value are
 * masked, the signing secret is not shown; a file sink shows its kind and no path. {@code types}
 * empty means every event type. {@code delivery} (webhooks only) is counted since start-up,
 * except {@code pending} and {@code dead}, the batches on disk.
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
            return webhooks(id);
        }, json);
    }

    private List<Map<String, Object>> webhooks(String organisation) {
        List<Map<String, Object>> views = new ArrayList<>();
        if (sinks.isEmpty()) {
            return views;
        }
        for (EventSink sink : sinks.get().sinks()) {
            if (!sink.organisations().isEmpty() && !sink.organisations().contains(organisation)) {
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

    /** The URL with its user information and query values replaced by {@value #MASK}. */
    static String masked(URI url) {
        String query = url.getRawQuery() == null ? null : String.join("&", java.util.Arrays.stream(url.getRawQuery().split("&"))
            .map(pair -> pair.contains("=") ? pair.substring(0, pair.indexOf('=') + 1) + MASK : pair).toList());
        try {
            return new URI(url.getScheme(), url.getRawUserInfo() == null ? null : MASK + ":" + MASK, url.getHost(), url.getPort(),
                url.getPath(), null, null).toString() + (query == null ? "" : "?" + query);
        } catch (URISyntaxException e) {
            return url.getScheme() + "://" + MASK;
        }
    }
}
