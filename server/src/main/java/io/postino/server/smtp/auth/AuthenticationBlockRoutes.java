package io.postino.server.smtp.auth;

import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.server.WebAdminErrors;
import io.postino.server.smtp.ClientAddress;
import io.postino.server.ratelimit.CounterStoreUnavailable;
import spark.Service;

/**
 * WebAdmin view of slowed-down SMTP logins ({@code ThrottleAuthentication}).
 * <ul>
 *   <li>{@code GET /authentication/blocks}: blocked clients ({@code login} null) and (client, login)
 *   pairs whose next attempt waits, each with {@code client}, {@code login}, {@code failures},
 *   {@code until} and {@code reason};</li>
 *   <li>{@code DELETE /authentication/blocks?client=203.0.113.7[&login=alice@acme.test]}: forgets
 *   the client's block and failures (all its logins), or those of one login; 204, 404 when
 *   nothing was known, 400 when the client is no address.</li>
 * </ul>
 * A client is an IPv4 address or an IPv6 /64, listed as {@code 2001:0db8:0000:0001::/64}; to
 * clear one, an IPv6 address in any spelling ({@code 2001:db8:0:1::7}, counted in its /64) or the
 * network ({@code 2001:db8:0:1::/64}) will do ({@link ClientAddress#parse}).
 * 503 when the counters cannot be reached.
 */
public class AuthenticationBlockRoutes implements Routes {
    private static final String BASE = "/authentication/blocks";

    private final AuthThrottleStore store;
    private final JsonTransformer json;
    private final Clock clock;

    @Inject
    public AuthenticationBlockRoutes(AuthThrottleStore store, JsonTransformer json) {
        this.store = store;
        this.json = json;
        this.clock = Clock.systemUTC();
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> available(() -> list(clock.instant())), json);
        service.delete(BASE, (request, response) -> {
            String client = request.queryParams("client");
            if (client == null || client.isBlank()) {
                throw WebAdminErrors.badRequest("Give the client to clear: ?client=<address>[&login=<login>]");
            }
            Optional<String> counted = ClientAddress.parse(client);
            if (counted.isEmpty()) {
                throw WebAdminErrors.badRequest("client=" + client + " is no IPv4 address, IPv6 address or IPv6 /64 network");
            }
            Optional<String> login = Optional.ofNullable(request.queryParams("login")).map(value -> value.toLowerCase(Locale.ROOT));
            boolean known = available(() -> store.clear(counted.get(), login));
            if (!known) {
                throw WebAdminErrors.notFound("Nothing is known of " + counted.get() + login.map(value -> " / " + value).orElse(""));
            }
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
    }

    private List<Map<String, Object>> list(Instant now) {
        return store.blocks(now).stream().map(block -> {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("client", block.client());
            entry.put("login", block.login().orElse(null));
            entry.put("failures", block.failures());
            entry.put("until", block.until().toString());
            entry.put("reason", block.reason());
            return entry;
        }).toList();
    }

    private interface Call<T> {
        T run();
    }

    private static <T> T available(Call<T> call) {
        try {
            return call.run();
        } catch (CounterStoreUnavailable e) {
            throw WebAdminErrors.unavailable("Authentication counters unavailable: " + e.getMessage());
        }
    }
}
