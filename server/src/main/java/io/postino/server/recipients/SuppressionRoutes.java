package io.postino.server.recipients;

import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.internet.AddressException;

import org.apache.james.core.MailAddress;
import org.apache.james.util.DurationParser;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.postino.organisations.Organisations;
import io.postino.recipients.Suppression;
import io.postino.recipients.SuppressionList;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * WebAdmin for each organisation's suppression list.
 * <ul>
 *   <li>{@code GET /organisations/{id}/suppressions?offset=0&limit=100}: suppressions in force, by address.</li>
 *   <li>{@code GET /organisations/{id}/suppressions/{address}}: one, or 404.</li>
 *   <li>{@code PUT /organisations/{id}/suppressions/{address}}, optional JSON body
 *   {@code {"reason":"manual|complaint|bounce","detail":"...","expiresIn":"30d"}} or
 *   {@code "expiresAt":"2027-01-01T00:00:00Z"}: adds or replaces; 204.</li>
 *   <li>{@code DELETE /organisations/{id}/suppressions/{address}}: 204, or 404 when absent.</li>
 * </ul>
 */
public class SuppressionRoutes implements Routes {
    private static final String BASE = "/organisations";
    private static final Set<String> REASONS = Set.of(Suppression.MANUAL, Suppression.COMPLAINT, Suppression.BOUNCE);
    private static final int MAX_PAGE = 1000;

    private final Organisations organisations;
    private final SuppressionList suppressions;
    private final JsonTransformer json;
    private final Clock clock;
    private final ObjectMapper mapper = new ObjectMapper();

    @Inject
    public SuppressionRoutes(Organisations organisations, SuppressionList suppressions, JsonTransformer json) {
        this(organisations, suppressions, json, Clock.systemUTC());
    }

    SuppressionRoutes(Organisations organisations, SuppressionList suppressions, JsonTransformer json, Clock clock) {
        this.organisations = organisations;
        this.suppressions = suppressions;
        this.json = json;
        this.clock = clock;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/:id/suppressions", this::list, json);
        service.get(BASE + "/:id/suppressions/:address", this::one, json);
        service.put(BASE + "/:id/suppressions/:address", this::add);
        service.delete(BASE + "/:id/suppressions/:address", this::remove);
    }

    private List<Map<String, Object>> list(Request request, Response response) {
        String organisation = organisation(request);
        int offset = number(request, "offset", 0, Integer.MAX_VALUE);
        int limit = number(request, "limit", 100, MAX_PAGE);
        return suppressions.list(organisation, offset, limit).stream().map(SuppressionRoutes::view).collect(Collectors.toList());
    }

    private Map<String, Object> one(Request request, Response response) {
        String organisation = organisation(request);
        String address = address(request);
        return suppressions.find(organisation, address).map(SuppressionRoutes::view)
            .orElseThrow(() -> WebAdminErrors.notFound("<" + address + "> is not on the suppression list of organisation '" + organisation + "'"));
    }

    private Object add(Request request, Response response) {
        String organisation = organisation(request);
        String address = address(request);
        JsonNode body = body(request);
        String reason = text(body, "reason").orElse(Suppression.MANUAL);
        if (!REASONS.contains(reason)) {
            throw WebAdminErrors.badRequest("reason must be one of manual, complaint, bounce; got '" + reason + "'");
        }
        Instant now = clock.instant();
        Optional<Instant> expiresAt = expiry(body, now);
        suppressions.add(new Suppression(organisation, address, reason, text(body, "detail").orElse(""), now, expiresAt));
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Object remove(Request request, Response response) {
        String organisation = organisation(request);
        String address = address(request);
        if (!suppressions.remove(organisation, address)) {
            throw WebAdminErrors.notFound("<" + address + "> is not on the suppression list of organisation '" + organisation + "'");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Optional<Instant> expiry(JsonNode body, Instant now) {
        Optional<String> at = text(body, "expiresAt");
        Optional<String> in = text(body, "expiresIn");
        if (at.isPresent() && in.isPresent()) {
            throw WebAdminErrors.badRequest("give expiresAt or expiresIn, not both");
        }
        try {
            Optional<Instant> expiry = at.map(Instant::parse).or(() -> in.map(value -> now.plus(DurationParser.parse(value, ChronoUnit.DAYS))));
            if (expiry.isPresent() && !expiry.get().isAfter(now)) {
                throw WebAdminErrors.badRequest("the expiry must be in the future, got " + expiry.get());
            }
            return expiry;
        } catch (DateTimeParseException e) {
            throw WebAdminErrors.badRequest("expiresAt must be an ISO-8601 instant such as 2027-01-31T00:00:00Z, got '" + at.orElse("") + "'");
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw WebAdminErrors.badRequest("expiresIn must be a duration such as 12h or 30d, got '" + in.orElse("") + "'");
        }
    }

    private JsonNode body(Request request) {
        String raw = request.body();
        if (raw == null || raw.isBlank()) {
            return mapper.createObjectNode();
        }
        try {
            JsonNode node = mapper.readTree(raw);
            if (!node.isObject()) {
                throw WebAdminErrors.badRequest("the body must be a JSON object");
            }
            return node;
        } catch (java.io.IOException e) {
            throw WebAdminErrors.badRequest("the body is not valid JSON: " + e.getMessage());
        }
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asText().trim());
    }

    private String organisation(Request request) {
        String id = request.params("id");
        if (organisations.current().byId(id).isEmpty()) {
            throw WebAdminErrors.noOrganisation(id);
        }
        return id;
    }

    private static String address(Request request) {
        String address = request.params("address");
        try {
            return new MailAddress(address).asString().toLowerCase(java.util.Locale.ROOT);
        } catch (AddressException e) {
            throw WebAdminErrors.badRequest("'" + address + "' is not an email address");
        }
    }

    private static int number(Request request, String name, int fallback, int max) {
        String value = request.queryParams(name);
        if (value == null) {
            return fallback;
        }
        try {
            int number = Integer.parseInt(value);
            if (number < 0 || number > max) {
                throw new NumberFormatException();
            }
            return number;
        } catch (NumberFormatException e) {
            throw WebAdminErrors.badRequest(name + " must be a whole number from 0 to " + max + ", got '" + value + "'");
        }
    }

    private static Map<String, Object> view(Suppression suppression) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("address", suppression.address());
        view.put("reason", suppression.reason());
        view.put("detail", suppression.detail());
        view.put("createdAt", suppression.createdAt().toString());
        view.put("expiresAt", suppression.expiresAt().map(Instant::toString).orElse(null));
        return view;
    }
}
