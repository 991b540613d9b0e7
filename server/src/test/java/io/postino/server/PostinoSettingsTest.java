package io.postino.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

class PostinoSettingsTest {
    private static final Path HOME = Path.of("/opt/postino");

    @Test
    void defaultsAreTheRealPortsAndTheInstallationDataDirectory() throws Exception {
        PostinoSettings settings = PostinoSettings.from(Map.of("POSTINO_HOSTNAME", "relay.example.com"), HOME);

        assertThat(settings.systemProperties())
            .containsEntry("postino.smtp.port", "25")
            .containsEntry("postino.submission.port", "587")
            .containsEntry("postino.smtps.port", "465")
            .containsEntry("postino.webadmin.port", "8000")
            .containsEntry("postino.autoconfig.port", "443")
            .containsEntry("postino.bind", "0.0.0.0")
            .containsEntry("postino.data.dir", "/opt/postino/var")
            .containsEntry("postino.conf.dir", "/opt/postino/conf")
            .containsEntry("postino.recipient.dns.check", "true")
            .containsEntry("postino.smarthost", "")
            .containsEntry("postino.hostname", "relay.example.com");
        assertThat(settings.smarthost()).isEmpty();
    }

    @Test
    void environmentOverridesEverySetting() throws Exception {
        PostinoSettings settings = PostinoSettings.from(Map.of(
            "POSTINO_SMTP_PORT", "2525", "POSTINO_SUBMISSION_PORT", "2587", "POSTINO_SMTPS_PORT", "2465",
            "POSTINO_WEBADMIN_PORT", "2800", "POSTINO_BIND", "127.0.0.1", "POSTINO_DATA_DIR", "data",
            "POSTINO_SMARTHOST", "smtp.example.com"), HOME);

        assertThat(settings.port(PostinoSettings.Variable.SMTP_PORT)).isEqualTo(2525);
        assertThat(settings.bindAddress()).isEqualTo("127.0.0.1");
        assertThat(settings.dataDirectory()).isEqualTo(Path.of("/opt/postino/data"));
        assertThat(settings.smarthost()).contains("smtp.example.com:25");
    }

    @Test
    void configurationDirectoryMayBeOutsideTheInstallation() throws Exception {
        assertThat(PostinoSettings.from(Map.of("POSTINO_CONF_DIR", "/home/admin/postino/conf"), HOME).confDirectory())
            .isEqualTo(Path.of("/home/admin/postino/conf"));
        assertThat(PostinoSettings.from(Map.of("POSTINO_CONF_DIR", "../etc/postino/"), HOME).confDirectory())
            .isEqualTo(Path.of("/opt/etc/postino"));
    }

    @Test
    void recipientDnsCheckCanBeTurnedOff() throws Exception {
        assertThat(PostinoSettings.from(Map.of("POSTINO_RECIPIENT_DNS_CHECK", "false"), HOME).systemProperties())
            .containsEntry("postino.recipient.dns.check", "false");
    }

    @Test
    void refusesARecipientDnsCheckThatIsNeitherTrueNorFalse() {
        assertThatThrownBy(() -> PostinoSettings.from(Map.of("POSTINO_RECIPIENT_DNS_CHECK", "off"), HOME))
            .hasMessage("POSTINO_RECIPIENT_DNS_CHECK must be true or false, got 'off'");
    }

    @Test
    void refusesAPortOutOfRange() {
        assertThatThrownBy(() -> PostinoSettings.from(Map.of("POSTINO_SUBMISSION_PORT", "70000"), HOME))
            .hasMessage("POSTINO_SUBMISSION_PORT must be a port number from 1 to 65535, got '70000'");
    }

    @Test
    void refusesASmarthostWithABadPort() {
        assertThatThrownBy(() -> PostinoSettings.from(Map.of("POSTINO_SMARTHOST", "relay:x"), HOME))
            .hasMessageContaining("The port of POSTINO_SMARTHOST must be a port number");
    }

    @Test
    void refusesAnIpv6BindAddressThatJamesCannotParse() {
        assertThatThrownBy(() -> PostinoSettings.from(Map.of("POSTINO_BIND", "::1"), HOME))
            .hasMessageContaining("POSTINO_BIND must be one IPv4 address");
    }

    @Test
    void theAutoconfigurationListenerTakesAPortOrOff() throws Exception {
        assertThat(PostinoSettings.from(Map.of("POSTINO_AUTOCONFIG_PORT", "8443"), HOME).autoconfigPort()).hasValue(8443);
        PostinoSettings off = PostinoSettings.from(Map.of("POSTINO_AUTOCONFIG_PORT", "OFF"), HOME);
        assertThat(off.autoconfigPort()).isEmpty();
        assertThat(off.systemProperties()).containsEntry("postino.autoconfig.port", "off");
        assertThatThrownBy(() -> PostinoSettings.from(Map.of("POSTINO_AUTOCONFIG_PORT", "https"), HOME))
            .hasMessage("POSTINO_AUTOCONFIG_PORT (or 'off') must be a port number from 1 to 65535, got 'https'");
    }
}
