package io.postino.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;

import org.junit.jupiter.api.Test;

class WebhookRoutesTest {
    @Test
    void theUrlKeepsItsHostAndPathButNoCredential() {
        assertThat(WebhookRoutes.masked(URI.create("https://user:pass@hooks.example:8443/in/acme?key=s3cret&v=2")))
            .isEqualTo("https://***:***@hooks.example:8443/in/acme?key=***&v=***");
    }

    @Test
    void aPlainUrlIsShownAsItIs() {
        assertThat(WebhookRoutes.masked(URI.create("http://127.0.0.1:9000/events"))).isEqualTo("http://127.0.0.1:9000/events");
    }
}
