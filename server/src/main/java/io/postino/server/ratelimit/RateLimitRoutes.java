package io.postino.server.ratelimit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.organisations.Limit;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Service;

/**
 * WebAdmin view of the rate limits in force and their current use.
 * <ul>
 *   <li>{@code GET /ratelimits/users/{login}}: the user's limits;</li>
 *   <li>{@code GET /ratelimits/organisations/{id}}: the organisation's limits and quota;</li>
 *   <li>{@code GET /ratelimits/clients/{address}}: the limits of an unauthenticated client address.</li>
 * </ul>
 * Each limit: {@code scope}, {@code unit}, {@code period}, {@code limit}, {@code used},
 * {@code available} (negative when in debt) and {@code nextAvailableInSeconds}. 503 when the
 * counters cannot be read.
 */
public class RateLimitRoutes implements Routes {
    private static final String BASE = "/ratelimits";

    private final Organisations organisations;
    private final RateLimiter rateLimiter;
    private final JsonTransformer json;

    @Inject
    public RateLimitRoutes(Organisations organisations, RateLimiter rateLimiter, JsonTransformer json) {
        this.organisations = organisations;
        this.rateLimiter = rateLimiter;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/users/:login", (request, response) -> usage(user(request)), json);
        service.get(BASE + "/organisations/:id", (request, response) -> usage(organisation(request)), json);
        service.get(BASE + "/clients/:address", (request, response) ->
            usage(new RateLimiter.Subject(Limit.Scope.CLIENT, request.params("address"), organisations.current().limitsOfClient())), json);
    }

    private RateLimiter.Subject user(Request request) {
        String login = request.params("login").toLowerCase(Locale.ROOT);
        OrganisationsConfig config = organisations.current();
        Organisation organisation = config.ofUser(login).orElseThrow(() -> WebAdminErrors.notFound("User " + login + " is in no organisation, so it may not send at all"));
        return new RateLimiter.Subject(Limit.Scope.USER, login, config.limitsOfUser(organisation, login));
    }

    private RateLimiter.Subject organisation(Request request) {
        String id = request.params("id");
        OrganisationsConfig config = organisations.current();
        Organisation organisation = config.byId(id).orElseThrow(() -> WebAdminErrors.noOrganisation(id));
        return new RateLimiter.Subject(Limit.Scope.ORGANISATION, id, config.limitsOfOrganisation(organisation));
    }

    private Map<String, Object> usage(RateLimiter.Subject subject) {
        List<Map<String, Object>> limits = new ArrayList<>();
        List<RateLimiter.Usage> usage;
        try {
            usage = rateLimiter.usage(subject);
        } catch (CounterStoreUnavailable e) {
            throw ErrorResponder.builder()
                .statusCode(HttpStatus.SERVICE_UNAVAILABLE_503)
                .type(ErrorResponder.ErrorType.SERVER_ERROR)
                .message("Rate-limit counters unavailable: %s", e.getMessage())
                .haltError();
        }
        for (RateLimiter.Usage one : usage) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("scope", one.limit().scope().configName());
            entry.put("unit", one.limit().unit().configName());
            entry.put("period", one.limit().period().configName());
            entry.put("limit", one.limit().amount());
            entry.put("used", one.used());
            entry.put("available", one.available());
            entry.put("nextAvailableInSeconds", one.nextTokenIn().toSeconds());
            limits.add(entry);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("scope", subject.scope().configName());
        body.put("name", subject.name());
        body.put("store", rateLimiter.store().describe());
        body.put("limits", limits);
        return body;
    }
}
