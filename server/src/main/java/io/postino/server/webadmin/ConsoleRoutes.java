package io.postino.server.webadmin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.webadmin.PublicRoutes;
import org.eclipse.jetty.http.HttpStatus;

import spark.Request;
import spark.Response;
import spark.Service;

/**
 * The web console: three static files (shipped in the server jar under {@code io/postino/console/})
 * served on WebAdmin's port under {@code /console/}. They hold no data and no credential, so they
 * need no token; the page asks for one and calls the REST API with it from the same origin, where
 * {@link WebAdminAccess} checks it as for any other client.
 *
 * <p>Each answer forbids framing ({@code frame-ancestors 'none'}, against clickjacking), scripts,
 * styles and connections other than the console's own origin ({@code Content-Security-Policy}),
 * and sends no referrer. The {@code Host} must name WebAdmin itself as for the API
 * ({@link WebAdminOrigins#isOwnHost}), so that a rebound name does not get the page either.</p>
 */
public class ConsoleRoutes implements PublicRoutes {
    static final String BASE = "/console";
    private static final Map<String, String> FILES = Map.of(
        "index.html", "text/html; charset=utf-8",
        "console.js", "text/javascript; charset=utf-8",
        "console.css", "text/css; charset=utf-8");
    private static final String POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self';"
        + " base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final WebAdminOrigins origins;
    private final Map<String, byte[]> content;

    @Inject
    public ConsoleRoutes(WebAdminOrigins origins) {
        this.origins = origins;
        this.content = Map.of("index.html", load("index.html"), "console.js", load("console.js"), "console.css", load("console.css"));
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> {
            guard(request, response);
            response.redirect(BASE + "/", HttpStatus.MOVED_PERMANENTLY_301);
            return "";
        });
        service.get(BASE + "/", (request, response) -> file("index.html", request, response));
        service.get(BASE + "/:file", (request, response) -> file(request.params("file"), request, response));
    }

    private Object file(String name, Request request, Response response) {
        guard(request, response);
        byte[] bytes = content.get(name);
        if (bytes == null) {
            response.status(HttpStatus.NOT_FOUND_404);
            response.type("text/plain; charset=utf-8");
            return "No such console file: the console is " + BASE + "/\n";
        }
        response.type(FILES.get(name));
        response.raw().setHeader("Cache-Control", "no-cache");
        return bytes;
    }

    private void guard(Request request, Response response) {
        response.raw().setHeader("Content-Security-Policy", POLICY);
        response.raw().setHeader("X-Frame-Options", "DENY");
        response.raw().setHeader("X-Content-Type-Options", "nosniff");
        response.raw().setHeader("Referrer-Policy", "no-referrer");
        if (!origins.isOwnHost(request)) {
            response.type("text/plain; charset=utf-8");
            throw spark.Spark.halt(HttpStatus.FORBIDDEN_403, "The console is not served by that name (Host: " + request.headers("Host")
                + "): use 127.0.0.1, localhost, [::1] or the configured host\n");
        }
    }

    private static byte[] load(String name) {
        try (InputStream in = ConsoleRoutes.class.getResourceAsStream("/io/postino/console/" + name)) {
            if (in == null) {
                throw new IllegalStateException("The server jar lacks io/postino/console/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
