package io.postino.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ConfigCommandTest {
    private static Map<String, String> xml(String text) throws IOException {
        return ConfigCommand.values("x.xml", text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void anXmlValueIsNamedByItsPathAndARepeatedElementByWhatTellsItApart() throws IOException {
        Map<String, String> values = xml("<smtpservers>"
            + "<smtpserver><jmxName>mx</jmxName><bind>0.0.0.0:25</bind><handlerchain>"
            + "<handler class=\"A\"/><handler class=\"B\"><limit>3</limit></handler></handlerchain></smtpserver>"
            + "<smtpserver><jmxName>submission</jmxName><bind>0.0.0.0:587</bind></smtpserver>"
            + "</smtpservers>");

        assertThat(values).containsEntry("smtpservers/smtpserver[jmxName=mx]/bind", "0.0.0.0:25")
            .containsEntry("smtpservers/smtpserver[jmxName=submission]/bind", "0.0.0.0:587")
            .containsEntry("smtpservers/smtpserver[jmxName=mx]/handlerchain/handler[@class=B]/limit", "3")
            .containsEntry("smtpservers/smtpserver[jmxName=mx]/handlerchain/handler[@class=A]/@class", "A");
    }

    @Test
    void repeatedElementsWithNothingToTellThemApartAreCounted() throws IOException {
        assertThat(xml("<a><b>one</b><b>two</b></a>")).containsExactly(Map.entry("a/b[1]", "one"), Map.entry("a/b[2]", "two"));
    }

    @Test
    void propertiesAreTheirKeysAndOtherFilesTheirWholeText() throws IOException {
        assertThat(ConfigCommand.values("w.properties", "port=8000\n# comment\nhost = 127.0.0.1 \n".getBytes(StandardCharsets.ISO_8859_1)))
            .containsExactly(Map.entry("host", "127.0.0.1"), Map.entry("port", "8000"));
        assertThat(ConfigCommand.values("notes.txt", "hello\n".getBytes(StandardCharsets.UTF_8))).containsExactly(Map.entry("(content)", "hello"));
    }

    @Test
    void aBrokenXmlFileIsAnError() {
        assertThatThrownBy(() -> xml("<a><b></a>")).isInstanceOf(IOException.class).hasMessageContaining("not well-formed");
    }

    @Test
    void secretsAreMaskedByTheirName() {
        assertThat(ConfigCommand.masked("eventSinks/webhook[@name=crm]/@secret", "0123456789abcdef")).isEqualTo("***");
        assertThat(ConfigCommand.masked("smtpservers/smtpserver[jmxName=mx]/tls/secret", "changeit")).isEqualTo("***");
        assertThat(ConfigCommand.masked("redis.password", "hunter2")).isEqualTo("***");
        assertThat(ConfigCommand.masked("a/@apiToken", "t0k")).isEqualTo("***");
        assertThat(ConfigCommand.masked("a/@APIKEY", "k3y")).isEqualTo("***");
        assertThat(ConfigCommand.masked("a/@smtpPass", "p4ss")).isEqualTo("***");
        assertThat(ConfigCommand.masked("a/tls/privateKey", "${sys:postino.tls.privatekey}")).as("a placeholder names no secret")
            .isEqualTo("${sys:postino.tls.privatekey}");
        assertThat(ConfigCommand.masked("a/@name", "crm")).isEqualTo("crm");
    }

    @Test
    void urlsLoseTheirCredentialsPathAndQueryValues() {
        assertThat(ConfigCommand.masked("eventSinks/webhook[@name=crm]/@url",
            "https://user:pw@hooks.example:8443/services/T0/B0/PATHSECRET?code=QUERYSECRET&sig=SIG#frag"))
            .isEqualTo("https://***@hooks.example:8443/***?code=***&sig=***#***");
        assertThat(ConfigCommand.masked("a/@url", "http://127.0.0.1:9000/")).isEqualTo("http://127.0.0.1:9000/");
        assertThat(ConfigCommand.masked("(content)", "see https://h.test/x?k=v and http://g.test"))
            .isEqualTo("see https://h.test/***?k=*** and http://g.test");
    }
}
