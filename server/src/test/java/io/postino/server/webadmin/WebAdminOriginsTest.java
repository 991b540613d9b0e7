package io.postino.server.webadmin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class WebAdminOriginsTest {
    private static final int PORT = 8000;
    private static final WebAdminOrigins LOOPBACK = WebAdminOrigins.parse("", "127.0.0.1");

    private static boolean host(WebAdminOrigins origins, String host) {
        return origins.isOwnHost(host, false, PORT, "127.0.0.1");
    }

    @Test
    void loopbackNamesWithWebAdminsPortAreItsOwn() {
        for (String host : List.of("127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000", "[::1]:8000", "[0:0:0:0:0:0:0:1]:8000")) {
            assertThat(host(LOOPBACK, host)).as(host).isTrue();
        }
        assertThat(host(LOOPBACK, null)).as("HTTP/1.0 without Host").isTrue();
    }

    /** DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1. */
    @Test
    void anyOtherNameOrPortIsNot() {
        for (String host : List.of("evil.example:8000", "evil.example", "127.0.0.1", "127.0.0.1:8001", "localhost.:8000",
            "127.0.0.1.evil.example:8000", "localhost:8000@evil.example", "::1:8000", "[::1", "127.0.0.1:80x", "", "0x7f.1:8000",
            "2130706433:8000", "127.1:8000", "[::ffff:7f00:1]:8000")) {
            assertThat(host(LOOPBACK, host)).as(host).isFalse();
        }
    }

    @Test
    void theConfiguredHostAndTheAddressTheConnectionCameInOnAreItsOwn() {
        WebAdminOrigins bound = WebAdminOrigins.parse("", "admin.example.net");
        assertThat(host(bound, "admin.example.net:8000")).isTrue();
        assertThat(host(bound, "evil.example:8000")).isFalse();

        WebAdminOrigins everywhere = WebAdminOrigins.parse("", "0.0.0.0");
        assertThat(everywhere.isOwnHost("192.0.2.10:8000", true, PORT, "192.0.2.10")).isTrue();
        assertThat(everywhere.isOwnHost("0.0.0.0:8000", true, PORT, "192.0.2.10")).isFalse();
        assertThat(everywhere.isOwnHost("[2001:db8::1]:8000", true, PORT, "2001:db8:0:0:0:0:0:1")).isTrue();
    }

    @Test
    void theHostOfAnAllowedOriginIsAccepted() {
        WebAdminOrigins proxied = WebAdminOrigins.parse("https://admin.example.com", "127.0.0.1");
        assertThat(host(proxied, "admin.example.com")).isTrue();
        assertThat(host(proxied, "admin.example.com:443")).isTrue();
        assertThat(host(proxied, "admin.example.com:8443")).isFalse();
        assertThat(host(proxied, "evil.example")).isFalse();
    }
}
