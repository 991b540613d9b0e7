package io.postino.server.webadmin;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.postino.organisations.Organisations;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Service;

/**
 * Tokens for organisation admins, made and revoked by the operator (an organisation's token may
 * not use these routes).
 * <ul>
 *   <li>{@code POST /tokens} with {@code {"scope": "organisation:acme", "description": "Acme's IT"}}:
 *   201 with {@code id}, {@code scope} and {@code token} (shown this once: only its hash is kept);
 *   400 for an unknown organisation.</li>
 *   <li>{@code GET /tokens}: id, scope, description and creation time of each.</li>
 *   <li>{@code DELETE /tokens/{id}}: 204; 404 when unknown. The token stops working at once.</li>
 * </ul>
 */
public class TokenRoutes implements Routes {
    private static final String BASE = "/tokens";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final WebAdminTokens tokens;
    private final Organisations organisations;
    private final JsonTransformer json;

    @Inject
    public TokenRoutes(WebAdminTokens tokens, Organisations organisations, JsonTransformer json) {
        this.tokens = tokens;
        this.organisations = organisations;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.before(BASE, (request, response) -> operatorOnly(request));
        service.before(BASE + "/*", (request, response) -> operatorOnly(request));
        service.get(BASE, (request, response) -> tokens.issued().stream().map(WebAdminTokens::describe).toList(), json);
        service.post(BASE, (request, response) -> {
            JsonNode body = parse(request);
            WebAdminTokens.Scope scope;
            try {
                scope = WebAdminTokens.Scope.parse(body.path("scope").asText(null));
            } catch (IllegalArgumentException e) {
                throw WebAdminErrors.badRequest(e.getMessage());
            }
            String id = scope.organisation().orElseThrow(() -> WebAdminErrors.badRequest("scope must be 'organisation:<id>'"));
            if (organisations.current().byId(id).isEmpty()) {
                throw WebAdminErrors.badRequest("No organisation '" + id + "' in organisations.xml");
            }
            WebAdminTokens.Made made = tokens.issue(scope, body.path("description").asText(""));
            Map<String, Object> answer = new LinkedHashMap<>(WebAdminTokens.describe(made.issued()));
            answer.put("token", made.token());
            response.status(HttpStatus.CREATED_201);
            return answer;
        }, json);
        service.delete(BASE + "/:id", (request, response) -> {
            if (!tokens.revoke(request.params("id"))) {
                throw WebAdminErrors.notFound("No token '" + request.params("id") + "'");
            }
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
    }

    private static void operatorOnly(Request request) {
        if (!"operator".equals(request.attribute(WebAdminAccess.LOGIN))) {
            throw org.apache.james.webadmin.utils.ErrorResponder.builder().statusCode(HttpStatus.FORBIDDEN_403)
                .type(org.apache.james.webadmin.utils.ErrorResponder.ErrorType.INVALID_ARGUMENT)
                .message("Only the operator's token may manage tokens").haltError();
        }
    }

    private static JsonNode parse(Request request) {
        try {
            return JSON.readTree(request.body() == null || request.body().isBlank() ? "{}" : request.body());
        } catch (IOException e) {
            throw WebAdminErrors.badRequest("The body must be JSON: " + e.getMessage());
        }
    }
}
