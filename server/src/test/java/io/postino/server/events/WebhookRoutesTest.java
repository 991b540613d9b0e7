package io.postino.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.net.URI;

import org.apache.camel.http.base.HttpOperationFailedException;
import org.junit.jupiter.api.Test;

class WebhookRoutesTest {
    @Test
    void theUrlKeepsItsHostButNoPathNorQueryValue() {
        assertThat(WebhookRoutes.masked(URI.create("https://hooks.example:8443/in/acme?key=s3cret&v=2&bare")))
            .isEqualTo("https://hooks.example:8443/***?key=***&v=***&***");
    }

    @Test
    void aSlackStylePathSecretIsMasked() {
        assertThat(WebhookRoutes.masked(URI.create("https://hooks.slack.test/services/T0/B0/PATHSECRET")))
            .isEqualTo("https://hooks.slack.test/***");
    }

    @Test
    void userInformationIsNeverShown() {
        assertThat(WebhookRoutes.masked(URI.create("https://user:pass@hooks.example/"))).isEqualTo("https://hooks.example/");
    }

    @Test
    void anEmptyOrRootPathIsShownAsItIs() {
        assertThat(WebhookRoutes.masked(URI.create("http://127.0.0.1:9000/"))).isEqualTo("http://127.0.0.1:9000/");
        assertThat(WebhookRoutes.masked(URI.create("http://127.0.0.1:9000"))).isEqualTo("http://127.0.0.1:9000");
    }

    @Test
    void theLastErrorIsTheStatusOrTheExceptionNameNeverItsMessage() {
        String url = "http://host/services/T0/B0/PATHSECRET?code=QUERYSECRET";
        assertThat(CamelEventSinks.describe(new HttpOperationFailedException(url, 500, "Server Error", null, null, "body")))
            .isEqualTo("HTTP 500");
        assertThat(CamelEventSinks.describe(new ConnectException("Connection refused to " + url))).isEqualTo("ConnectException");
    }
}
