package io.postino.server;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.server.smtp.listener.ConnectionLimits;

class ConfigurationCheckTest {
    @TempDir
    Path conf;

    @BeforeEach
    void writeAValidConfiguration() throws Exception {
        for (String name : ConfigurationCheck.REQUIRED_FILES) {
            Files.writeString(conf.resolve(name), name.endsWith(".xml") ? "<config/>" : "enabled=true");
        }
        Files.writeString(conf.resolve("smtpserver.xml"), "<smtpservers><smtpserver><bind>127.0.0.1:25</bind></smtpserver></smtpservers>");
        Files.writeString(conf.resolve("organisations.xml"), "<organisations/>");
    }

    @Test
    void namesTheFileAndLineOfABadEventSink() throws Exception {
        Files.writeString(conf.resolve("eventsinks.xml"), "<eventSinks>\n<jsonLines name=\"a\" file=\"x\" types=\"sent\"/></eventSinks>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("eventsinks.xml:2: sink 'a': unknown event type 'sent'");
    }

    @Test
    void namesTheFileAndKeyOfABadRateLimitSetting() throws Exception {
        Files.writeString(conf.resolve("ratelimits.properties"), "store=disk\n");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("ratelimits.properties: store must be one of memory, redis, got 'disk'");
    }

    @Test
    void namesTheFileAndKeyOfABadRecipientSetting() throws Exception {
        Files.writeString(conf.resolve("recipients.properties"), "dns.check=true\ncallout.timeout=forever\n");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("recipients.properties: callout.timeout must be a duration such as 500ms, 10s or 1h, got 'forever'");
    }

    @Test
    void namesFileLineAndReasonOfAnInvalidOrganisationsFile() throws Exception {
        Files.writeString(conf.resolve("organisations.xml"), "<organisations>\n<organisation id=\"acme\">\n</organisation>\n</organisations>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("organisations.xml:3: ")
            .hasMessageContaining("domain");
    }

    @Test
    void acceptsAValidConfiguration() {
        assertThatCode(() -> ConfigurationCheck.check(conf)).doesNotThrowAnyException();
    }

    @Test
    void namesTheLineOfMalformedXml() throws Exception {
        Files.writeString(conf.resolve("domainlist.xml"), "<domainlist>\n<autodetect>false</autodetect>\n");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("domainlist.xml:3:")
            .hasMessageContaining("malformed XML");
    }

    @Test
    void namesAMissingFile() throws Exception {
        Files.delete(conf.resolve("dnsservice.xml"));

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("dnsservice.xml: required file is missing");
    }

    @Test
    void refusesAConfigurationWithoutAnyEnabledListener() throws Exception {
        Files.writeString(conf.resolve("smtpserver.xml"), "<smtpservers><smtpserver enabled=\"false\"/></smtpservers>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("no enabled <smtpserver> element");
    }

    @Test
    void refusesAListenerWithoutBind() throws Exception {
        Files.writeString(conf.resolve("smtpserver.xml"), "<smtpservers><smtpserver/></smtpservers>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("has no <bind> element");
    }

    @Test
    void refusesJamesHandlerOfUnknownCommandsNamingPostinosOwn() throws Exception {
        Files.writeString(conf.resolve("smtpserver.xml"), "<smtpservers><smtpserver><bind>127.0.0.1:25</bind><handlerchain>"
            + "<handler class=\"org.apache.james.smtpserver.fastfail.MaxUnknownCmdHandler\"/></handlerchain></smtpserver></smtpservers>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("replace it with io.postino.server.smtp.LimitUnknownCommands");
    }

    private void listener(String inside) throws Exception {
        Files.writeString(conf.resolve("smtpserver.xml"), "<smtpservers><smtpserver><bind>127.0.0.1:25</bind>" + inside
            + "</smtpserver></smtpservers>");
    }

    private static String freeSpace(String minFree) {
        return "<handlerchain><handler class=\"io.postino.server.smtp.RequireFreeSpace\"><minFree>" + minFree
            + "</minFree></handler></handlerchain>";
    }

    @Test
    void refusesANegativeMinFreeNamingTheFileListenerAndElement() throws Exception {
        listener(freeSpace("-5M"));

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("smtpserver.xml: <smtpserver> number 1: <handler class=\"io.postino.server.smtp.RequireFreeSpace\">: "
                + "<minFree> must be a size such as 200M or 1G")
            .hasMessageContaining("got '-5M': it cannot be negative");
    }

    @Test
    void refusesAMinFreeThatOverflows() throws Exception {
        listener(freeSpace("99999999999G"));

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("<minFree> '99999999999G' is too large: at most 8589934591G");
    }

    @Test
    void refusesWhatJamesWouldReadAsAnUnlimitedMinFree() throws Exception {
        listener(freeSpace("UNLIMITED"));

        assertThatThrownBy(() -> ConfigurationCheck.check(conf)).hasMessageContaining("got 'UNLIMITED'");
    }

    @Test
    void acceptsAMinFreeOfZeroAndOneGivenBySystemPropertyForJamesToCheck() throws Exception {
        listener(freeSpace("0") + freeSpace("${sys:postino.minFree}"));

        assertThatCode(() -> ConfigurationCheck.check(conf)).doesNotThrowAnyException();
    }

    @Test
    void refusesANegativeConnectionLimit() throws Exception {
        listener("<connectionLimit>-1</connectionLimit>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("smtpserver.xml: <smtpserver> number 1: <connectionLimit> must be a whole number of connections "
                + "from 0 (no limit) to 999999999, got '-1'");
    }

    @Test
    void refusesAConnectionLimitPerIpThatJamesWouldTakeForNoLimit() throws Exception {
        listener("<connectionLimitPerIP>50k</connectionLimitPerIP>");

        assertThatThrownBy(() -> ConfigurationCheck.check(conf))
            .hasMessageContaining("<connectionLimitPerIP> must be a whole number of connections from 0 (no limit) to 999999999, got '50k'");
    }

    @Test
    void refusesAProcessConnectionLimitThatAdmitsNobody() throws Exception {
        System.setProperty(ConnectionLimits.PROCESS_PROPERTY, "0");
        try {
            assertThatThrownBy(() -> ConfigurationCheck.check(conf))
                .hasMessageContaining("-Dpostino.smtp.maxConnections (in JAVA_OPTS) must be a whole number of connections from 1 "
                    + "to 999999999 (default 4000), got '0': no SMTP client could connect");
        } finally {
            System.clearProperty(ConnectionLimits.PROCESS_PROPERTY);
        }
    }
}
