package io.postino.server.webadmin;

import javax.inject.Inject;

import org.apache.james.webadmin.PublicRoutes;
import org.eclipse.jetty.http.HttpStatus;

import spark.Service;

/**
 * Closes what James' WebAdmin leaves open: it sends {@code Access-Control-Allow-Origin: *} and
 * answers every CORS preflight even with {@code cors.enable=false}, and its health check and
 * metrics routes need no credential. Here the preflight route is removed (or, with allowed
 * origins, answered for them only), CORS headers are stripped from every answer to another
 * origin, and {@code /healthcheck} and {@code /metrics} go through {@link WebAdminAccess} like
 * every other route.
 */
public class WebAdminGuardRoutes implements PublicRoutes {
    private final WebAdminAccess access;
    private final WebAdminOrigins origins;

    @Inject
    public WebAdminGuardRoutes(WebAdminAccess access, WebAdminOrigins origins) {
        this.access = access;
        this.origins = origins;
    }

    @Override
    public String getBasePath() {
        return "/";
    }

    @Override
    public void define(Service service) {
        service.unmap("/*", "options");
        for (String path : new String[]{"/healthcheck", "/healthcheck/*", "/metrics"}) {
            service.before(path, access);
        }
        if (origins.any()) {
            service.options("/*", (request, response) -> {
                String origin = request.headers("Origin");
                if (origin == null || !origins.allowed(origin)) {
                    response.status(HttpStatus.FORBIDDEN_403);
                    return "";
                }
                response.raw().setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD");
                response.raw().setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
                response.raw().setHeader("Access-Control-Max-Age", "600");
                response.status(HttpStatus.NO_CONTENT_204);
                return "";
            });
        }
        service.afterAfter((request, response) -> {
            String origin = request.headers("Origin");
            if (origin == null || !origins.allowed(origin)) {
                WebAdminAccess.stripCors(response);
            }
        });
    }
}
