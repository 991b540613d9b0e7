package io.postino.server.events;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.events.DeliveryEvent;
import spark.Request;
import spark.Service;

/**
 * {@code GET /tracking?organisation=&sender=&recipient=&messageId=&status=&since=&until=&limit=&offset=}:
 * messages with an event matching every filter given, newest first, each with its whole timeline.
 * {@code status} is an event type (received, rejected, queued, deferred, delivered, bounced,
 * suppressed, rate-limited); {@code since}/{@code until} are ISO-8601 instants; {@code limit}
 * 1..500 (default 50).
 */
public class TrackingRoutes implements Routes {
    private static final String BASE = "/tracking";

    private final TrackingIndex index;
    private final JsonTransformer json;

    @Inject
    public TrackingRoutes(TrackingIndex index, JsonTransformer json) {
        this.index = index;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> search(request), json);
    }

    private Map<String, Object> search(Request request) throws IOException {
        int limit = number(request, "limit", 50, 1, 500);
        int offset = number(request, "offset", 0, 0, 100_000);
        TrackingIndex.TrackingQuery query = new TrackingIndex.TrackingQuery(param(request, "organisation"), param(request, "sender"),
            param(request, "recipient"), param(request, "messageId"), parse(request, "status", DeliveryEvent.Type::fromConfigName),
            parse(request, "since", Instant::parse), parse(request, "until", Instant::parse), limit, offset);
        List<Map<String, Object>> messages = new ArrayList<>();
        for (TrackingIndex.TrackedMessage message : index.search(query)) {
            messages.add(message(message));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("offset", offset);
        body.put("limit", limit);
        body.put("messages", messages);
        return body;
    }

    private static Map<String, Object> message(TrackingIndex.TrackedMessage message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("mailId", message.mailId());
        DeliveryEvent first = message.events().get(0);
        body.put("messageId", message.events().stream().flatMap(event -> event.messageId().stream()).findFirst().orElse(null));
        body.put("organisation", message.events().stream().flatMap(event -> event.organisation().stream()).findFirst().orElse(null));
        body.put("sender", first.sender().orElse(null));
        body.put("status", message.events().get(message.events().size() - 1).type().configName());
        List<Map<String, Object>> events = new ArrayList<>();
        for (DeliveryEvent event : message.events()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("type", event.type().configName());
            entry.put("at", event.at().toString());
            entry.put("recipient", event.recipient().orElse(null));
            entry.put("reply", event.reply().orElse(null));
            entry.put("remoteHost", event.remoteHost().orElse(null));
            entry.put("clientIp", event.clientIp().orElse(null));
            entry.put("user", event.user().orElse(null));
            entry.put("size", event.size() >= 0 ? event.size() : null);
            events.add(entry);
        }
        body.put("events", events);
        return body;
    }

    private static Optional<String> param(Request request, String name) {
        return Optional.ofNullable(request.queryParams(name)).map(String::trim).filter(value -> !value.isEmpty());
    }

    private static <T> Optional<T> parse(Request request, String name, Function<String, T> parser) {
        Optional<String> raw = param(request, name);
        try {
            return raw.map(parser);
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw ErrorResponder.builder()
                .statusCode(HttpStatus.BAD_REQUEST_400)
                .type(ErrorResponder.ErrorType.INVALID_ARGUMENT)
                .message("Invalid %s '%s'", name, raw.orElse(""))
                .haltError();
        }
    }

    private static int number(Request request, String name, int fallback, int min, int max) {
        Optional<String> raw = param(request, name);
        try {
            int value = raw.map(Integer::parseInt).orElse(fallback);
            if (value < min || value > max) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw ErrorResponder.builder()
                .statusCode(HttpStatus.BAD_REQUEST_400)
                .type(ErrorResponder.ErrorType.INVALID_ARGUMENT)
                .message("%s must be a number from %d to %d, got '%s'", name, min, max, raw.orElse(""))
                .haltError();
        }
    }
}
