package io.postino.server.webadmin;

import java.util.LinkedHashMap;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.authentication.AuthenticationFilter;
import org.apache.james.webadmin.utils.JsonTransformer;

import spark.Service;

/**
 * {@code GET /whoami}: the scope of the token the request carries, for the web console to pick
 * its view: {@code {"scope": "operator"}} or {@code {"scope": "organisation:acme", "organisation": "acme"}}.
 * Any valid token may ask ({@link OrganisationScope}); it tells nothing the token's holder does
 * not know.
 */
public class WhoAmIRoutes implements Routes {
    static final String BASE = "/whoami";
    private static final String ORGANISATION = "organisation:";

    private final JsonTransformer json;

    @Inject
    public WhoAmIRoutes(JsonTransformer json) {
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> {
            String scope = String.valueOf((Object) request.attribute(AuthenticationFilter.LOGIN));
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("scope", scope);
            if (scope.startsWith(ORGANISATION)) {
                body.put("organisation", scope.substring(ORGANISATION.length()));
            }
            return body;
        }, json);
    }
}
