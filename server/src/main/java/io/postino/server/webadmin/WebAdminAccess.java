package io.postino.server.webadmin;

import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import javax.inject.Inject;

import org.apache.james.webadmin.authentication.AuthenticationFilter;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.organisations.Organisations;
import spark.Request;
import spark.Response;

/**
 * Who may use WebAdmin, checked before every route (James' authentication filter, and
 * {@link WebAdminGuardRoutes} for the routes James leaves public):
 *
 * <ol>
 *   <li>No method override ({@code X-HTTP-Method-Override} makes Spark run another route than the
 *   method a check sees): 400.</li>
 *   <li>WebAdmin's own name in {@code Host} ({@link WebAdminOrigins#isOwnHost}), one {@code Host}
 *   only, and none of the forwarding headers Jetty would take another Host or scheme from: 403
 *   (400 for a second {@code Host}). A page on another name that resolves to this machine (DNS
 *   rebinding) is refused although the browser takes it for the same origin.</li>
 *   <li>A path every reader reads the same ({@link RequestPath}): 400 otherwise.</li>
 *   <li>No cross-site request: a request a browser marks {@code Sec-Fetch-Site: cross-site} or
 *   {@code same-site}, or whose {@code Origin} is not WebAdmin's own, is refused with 403 unless
 *   the origin is in {@code postino.allowedOrigins} of {@code webadmin.properties}. So a web page
 *   open in a browser on the server's host cannot use the API.</li>
 *   <li>A token ({@code Authorization: Bearer <token>}): none or unknown, 401.</li>
 *   <li>Its scope: the operator may do everything; an organisation's token only what
 *   {@link OrganisationScope} allows, otherwise 403. The scope is checked on the decoded path the
 *   route is chosen by (the servlet path info), never on the raw URI; and an organisation's token
 *   may not send {@code %2F} (400).</li>
 * </ol>
 */
public class WebAdminAccess implements AuthenticationFilter {
    static final List<String> CORS_HEADERS = List.of("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers", "Access-Control-Request-Method", "Access-Control-Allow-Credentials", "Access-Control-Max-Age");
    private static final Set<String> SAME_ORIGIN = Set.of("same-origin", "none");

    private final WebAdminTokens tokens;
    private final Organisations organisations;
    private final WebAdminOrigins origins;

    @Inject
    public WebAdminAccess(WebAdminTokens tokens, Organisations organisations, WebAdminOrigins origins) {
        this.tokens = tokens;
        this.organisations = organisations;
        this.origins = origins;
    }

    @Override
    public void handle(Request request, Response response) {
        stripCors(response);
        if (request.headers("X-HTTP-Method-Override") != null || request.headers("X-HTTP-Method") != null) {
            throw halt(HttpStatus.BAD_REQUEST_400, "WebAdmin does not accept method override headers");
        }
        for (String header : WebAdminOrigins.FORWARDING_HEADERS) {
            if (request.headers(header) != null) {
                throw halt(HttpStatus.FORBIDDEN_403, "WebAdmin does not accept forwarding headers (" + header + ")");
            }
        }
        if (Collections.list(request.raw().getHeaders("Host")).size() > 1) {
            throw halt(HttpStatus.BAD_REQUEST_400, "A request has one Host header");
        }
        if (!origins.isOwnHost(request)) {
            throw halt(HttpStatus.FORBIDDEN_403, "WebAdmin is not reached by that name (Host: " + request.headers("Host")
                + "): use 127.0.0.1, localhost, [::1] or the configured host, or list the name's origin in postino.allowedOrigins");
        }
        String rawPath = request.raw().getRequestURI();
        Optional<String> pathProblem = RequestPath.problem(rawPath, true);
        if (pathProblem.isPresent()) {
            throw halt(HttpStatus.BAD_REQUEST_400, "Refused path: " + pathProblem.get());
        }
        Optional<String> origin = Optional.ofNullable(request.headers("Origin"));
        String fetchSite = Optional.ofNullable(request.headers("Sec-Fetch-Site")).map(value -> value.toLowerCase(Locale.ROOT)).orElse("");
        boolean allowedOrigin = origin.filter(origins::allowed).isPresent();
        if (!allowedOrigin) {
            if (!fetchSite.isEmpty() && !SAME_ORIGIN.contains(fetchSite)) {
                throw halt(HttpStatus.FORBIDDEN_403, "Cross-site requests to WebAdmin are refused (Sec-Fetch-Site: " + fetchSite + ")");
            }
            if (origin.isPresent() && !origins.isOwn(origin.get(), request)) {
                throw halt(HttpStatus.FORBIDDEN_403, "Requests from " + origin.get() + " are refused: it is not an allowed origin");
            }
        } else {
            origins.allow(origin.get(), response);
            if (request.requestMethod().equals("OPTIONS") && request.headers("Access-Control-Request-Method") != null) {
                // A preflight of an allowed origin carries no token; WebAdminGuardRoutes answers it.
                return;
            }
        }
        String authorization = request.headers("Authorization");
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            response.header("WWW-Authenticate", "Bearer realm=\"postino\"");
            throw halt(HttpStatus.UNAUTHORIZED_401, "WebAdmin needs a token: send 'Authorization: Bearer <token>' (the operator's is in "
                + tokens.operatorFile() + ")");
        }
        Optional<WebAdminTokens.Scope> scope = tokens.scopeOf(authorization.substring(7).trim());
        if (scope.isEmpty()) {
            response.header("WWW-Authenticate", "Bearer realm=\"postino\", error=\"invalid_token\"");
            throw halt(HttpStatus.UNAUTHORIZED_401, "Unknown or revoked token");
        }
        request.attribute(LOGIN, scope.get().asString());
        if (scope.get().operator()) {
            return;
        }
        String id = scope.get().organisation().get();
        // Query parameters only for GET and DELETE: reading them would consume a form-encoded body.
        Optional<String> organisationParameter = request.requestMethod().equals("GET") || request.requestMethod().equals("DELETE")
            ? Optional.ofNullable(request.queryParams("organisation")) : Optional.empty();
        pathProblem = RequestPath.problem(rawPath, false);
        if (pathProblem.isPresent()) {
            throw halt(HttpStatus.BAD_REQUEST_400, "Refused path: " + pathProblem.get());
        }
        // Not the raw URI, which still has what Jetty strips or decodes: the path decoded as the route reads its
        // parameters. RequestPath let through only paths whose segments are those Spark matched, each decoded once.
        String path = request.raw().getPathInfo();
        if (path == null || !OrganisationScope.allows(id, organisations.current(), request.requestMethod(), path, organisationParameter)) {
            throw halt(HttpStatus.FORBIDDEN_403, "This token is for organisation '" + id + "': it may not " + request.requestMethod()
                + " " + rawPath);
        }
    }

    static void stripCors(Response response) {
        for (String header : CORS_HEADERS) {
            response.raw().setHeader(header, null);
        }
    }

    private static RuntimeException halt(int status, String message) {
        return ErrorResponder.builder().statusCode(status).type(ErrorResponder.ErrorType.INVALID_ARGUMENT).message("%s", message).haltError();
    }
}
