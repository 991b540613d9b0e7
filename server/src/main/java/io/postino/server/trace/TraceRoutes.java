package io.postino.server.trace;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * {@code POST /trace}: a dry run of the pipeline for one envelope and message ({@link Tracer}).
 * Operator only: an organisation's token gets 403 (the route is not in its scope).
 *
 * <pre>{@code
 * POST /trace
 * {"from": "alice@acme.example", "to": ["bob@example.net"], "user": "alice@acme.example",
 *  "client": "203.0.113.7", "port": 587, "helo": "laptop", "message": "From: ...\r\n\r\nHello"}
 * }</pre>
 *
 * <p>200 with {@code {steps: [{stage, name, decision, detail}], route: {recipient: route},
 * dkim: ["d=... s=..."], verdict: {accepted, code, enhanced, text}}}, whether the mail would be
 * accepted or refused; 400 for a request that is not one (the reason says which field).</p>
 */
public class TraceRoutes implements Routes {
    public static final String BASE = "/trace";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Tracer tracer;
    private final JsonTransformer json;

    @Inject
    public TraceRoutes(Tracer tracer, JsonTransformer json) {
        this.tracer = tracer;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.post(BASE, this::trace, json);
    }

    private Object trace(Request request, Response response) throws Exception {
        TraceRequest trace;
        try {
            JsonNode body = JSON.readTree(request.body());
            trace = TraceRequest.of(body);
        } catch (JsonProcessingException e) {
            throw WebAdminErrors.badRequest("The body is not JSON: " + e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            throw WebAdminErrors.badRequest(e.getMessage());
        }
        try {
            return tracer.trace(trace);
        } catch (IllegalArgumentException e) {
            throw WebAdminErrors.badRequest(e.getMessage());
        }
    }
}
