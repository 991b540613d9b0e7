package io.postino.server.recipients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.junit.jupiter.api.Test;

class RecipientSettingsTest {
    private static Configuration properties(Map<String, String> values) {
        BaseConfiguration configuration = new BaseConfiguration();
        values.forEach(configuration::addProperty);
        return configuration;
    }

    @Test
    void defaults() {
        RecipientSettings settings = RecipientSettings.from(properties(Map.of()));

        assertThat(settings.dnsCheck()).isTrue();
        assertThat(settings.dnsServers()).isEmpty();
        assertThat(settings.dnsTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(settings.dnsMinTtl()).isEqualTo(Duration.ofMinutes(1));
        assertThat(settings.dnsMaxTtl()).isEqualTo(Duration.ofHours(1));
        assertThat(settings.dnsFailureTtl()).isEqualTo(Duration.ofSeconds(30));
        assertThat(settings.calloutTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.calloutPositiveTtl()).isEqualTo(Duration.ofHours(1));
        assertThat(settings.calloutNegativeTtl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(settings.calloutSender()).isEmpty();
        assertThat(settings.suppressionCacheTtl()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void readsEveryKey() {
        RecipientSettings settings = RecipientSettings.from(properties(Map.of(
            "dns.check", "false", "dns.servers", "127.0.0.1:5353, ns.example.net", "dns.timeout", "800ms",
            "callout.sender", "verify@relay.example.com", "callout.negativeTtl", "0s", "dns.failureTtl", "1m")));

        assertThat(settings.dnsCheck()).isFalse();
        assertThat(settings.dnsServers()).extracting(server -> server.getHostString() + ":" + server.getPort())
            .containsExactly("127.0.0.1:5353", "ns.example.net:53");
        assertThat(settings.dnsTimeout()).isEqualTo(Duration.ofMillis(800));
        assertThat(settings.calloutSender()).contains("verify@relay.example.com");
        assertThat(settings.calloutNegativeTtl()).isZero();
        assertThat(settings.dnsFailureTtl()).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void namesTheKeyThatIsWrong() {
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("dns.check", "maybe"))))
            .hasMessage("dns.check must be true or false, got 'maybe'");
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("dns.servers", "127.0.0.1:99999"))))
            .hasMessageContaining("dns.servers must list host or host:port");
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("dns.timeout", "0s"))))
            .hasMessage("dns.timeout must be positive, got '0s'");
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("dns.timeout", "2m"))))
            .hasMessage("dns.timeout must be at most 30s (each RCPT waits for it), got '2m'");
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("callout.timeout", "soon"))))
            .hasMessageContaining("callout.timeout must be a duration");
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("dns.minTtl", "2h", "dns.maxTtl", "1h"))))
            .hasMessageContaining("dns.maxTtl");
        assertThatThrownBy(() -> RecipientSettings.from(properties(Map.of("callout.sender", "<verify>"))))
            .hasMessageContaining("callout.sender must be an address");
    }
}
