package io.postino.server.smtp.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.apache.james.webadmin.utils.JsonTransformer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import spark.Service;

/** The routes over HTTP on loopback, as an operator calls them. */
class AuthenticationBlockRoutesTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** How the counters name a client of 2001:db8::/64. */
    private static final String NETWORK = "2001:0db8:0000:0000::/64";

    private final MemoryAuthThrottleStore store = new MemoryAuthThrottleStore();
    private Service service;

    @BeforeEach
    void start() {
        service = Service.ignite().ipAddress("127.0.0.1").port(0);
        new AuthenticationBlockRoutes(store, new JsonTransformer()).define(service);
        service.init();
        service.awaitInitialization();
    }

    @AfterEach
    void stop() {
        service.stop();
        service.awaitStop();
    }

    private int delete(String query) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + "/authentication/blocks?" + query))
            .timeout(Duration.ofSeconds(10)).DELETE().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private void failedLogin(String login) {
        store.failed(NETWORK, login, Instant.now(), ThrottlePolicy.DEFAULTS);
    }

    @Test
    void anIpv6ClientIsClearedByAnyOfItsAddresses() throws Exception {
        failedLogin("alice@acme.test");

        assertThat(delete("client=2001:db8::7")).isEqualTo(204);

        assertThat(store.blocks(Instant.now())).isEmpty();
    }

    @Test
    void orByItsNetworkAsListedOrCompressed() throws Exception {
        failedLogin("alice@acme.test");
        failedLogin("bob@acme.test");

        assertThat(delete("client=2001:db8::/64&login=alice@acme.test")).isEqualTo(204);
        assertThat(store.blocks(Instant.now())).extracting(AuthThrottleStore.Block::login).containsExactly(Optional.of("bob@acme.test"));
        assertThat(delete("client=" + NETWORK)).isEqualTo(204);
        assertThat(store.blocks(Instant.now())).isEmpty();
    }

    @Test
    void aClientThatIsNoAddressIs400AndAnUnknownOne404() throws Exception {
        assertThat(delete("client=mx.example.com")).isEqualTo(400);
        assertThat(delete("client=2001:db8::/48")).isEqualTo(400);
        assertThat(delete("client=203.0.113.7")).isEqualTo(404);
    }
}
