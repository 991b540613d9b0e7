package io.postino.server.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.net.InetAddress;

import org.apache.commons.configuration2.XMLConfiguration;
import org.apache.commons.configuration2.io.FileHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ListenerTest {
    private static final String SMTPSERVERS = "<smtpservers>"
        + "<smtpserver enabled=\"true\"><jmxName>smtpserver-relay</jmxName><bind>127.0.0.1:2525</bind>"
        + "<tls socketTLS=\"false\" startTLS=\"true\"/><auth><announce>forUnauthorizedAddresses</announce></auth>"
        + "<authorizedAddresses>127.0.0.0/8, 10.0.0.0/8</authorizedAddresses><maxmessagesize>100</maxmessagesize>"
        + "<handlerchain><handler class=\"io.postino.server.smtp.EnforceSenderIdentity\"/>"
        + "<handler class=\"org.apache.james.smtpserver.fastfail.MaxRcptHandler\"><maxRcpt>50</maxRcpt></handler></handlerchain></smtpserver>"
        + "<smtpserver enabled=\"true\"><jmxName>smtpserver-smtps</jmxName><bind>127.0.0.1:4655</bind>"
        + "<tls socketTLS=\"true\" startTLS=\"false\"/><auth><announce>always</announce></auth><handlerchain/></smtpserver>"
        + "</smtpservers>";

    private static XMLConfiguration configuration() throws Exception {
        XMLConfiguration configuration = new XMLConfiguration();
        new FileHandler(configuration).load(new StringReader(SMTPSERVERS));
        return configuration;
    }

    @AfterEach
    void clear() {
        System.clearProperty("postino.smtps.port");
    }

    @Test
    void theListenerBoundToThePortWithItsLimitsNetworksAndHandlersInOrder() throws Exception {
        Listener relay = Listener.forPort(configuration(), 2525).orElseThrow();

        assertThat(relay.name()).isEqualTo("smtpserver-relay");
        assertThat(relay.maxMessageSize()).isEqualTo(100 * 1024);
        assertThat(relay.isAuthorised(InetAddress.getByName("10.1.2.3"))).isTrue();
        assertThat(relay.isAuthorised(InetAddress.getByName("192.0.2.1"))).isFalse();
        assertThat(relay.announcesAuth(InetAddress.getByName("192.0.2.1"))).isTrue();
        assertThat(relay.announcesAuth(InetAddress.getByName("127.0.0.1"))).isFalse();
        assertThat(relay.handlers()).extracting(Listener.Handler::className)
            .containsExactly("io.postino.server.smtp.EnforceSenderIdentity", "org.apache.james.smtpserver.fastfail.MaxRcptHandler");
        assertThat(relay.handlers().get(1).configuration().getInt("maxRcpt")).isEqualTo(50);
    }

    @Test
    void aStandardPortNamesTheListenerBoundWhereItsPropertySays() throws Exception {
        System.setProperty("postino.smtps.port", "4655");

        Listener smtps = Listener.forPort(configuration(), 465).orElseThrow();

        assertThat(smtps.name()).isEqualTo("smtpserver-smtps");
        assertThat(smtps.implicitTls()).isTrue();
        assertThat(Listener.forPort(configuration(), 9999)).isEmpty();
    }
}
