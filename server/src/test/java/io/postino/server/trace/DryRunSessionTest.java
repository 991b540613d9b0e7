package io.postino.server.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.junit.jupiter.api.Test;

import io.postino.organisations.Cidr;

class DryRunSessionTest {
    private static final Listener RELAY = new Listener("smtpserver-relay", 25, false, true, List.of(Cidr.parse("127.0.0.0/8")),
        "forunauthorizedaddresses", 1024, false, List.of());
    private static final ProtocolSession.AttachmentKey<String> KEY = ProtocolSession.AttachmentKey.of("test", String.class);

    @Test
    void aClientOfTheAuthorisedNetworksMayRelayAndIsNotOfferedAuth() throws Exception {
        SMTPSession session = DryRunSession.of(RELAY, InetAddress.getByName("127.0.0.5"), Optional.empty(), "client.test").session();

        assertThat(session.isRelayingAllowed()).isTrue();
        assertThat(session.isAuthAnnounced()).isFalse();
        assertThat(session.getUsername()).isNull();
        assertThat(session.getAttachment(SMTPSession.CURRENT_HELO_NAME, ProtocolSession.State.Connection)).contains("client.test");
    }

    @Test
    void aLoggedInUserMayRelayFromAnywhereAsAfterAuth() throws Exception {
        SMTPSession session = DryRunSession.of(RELAY, InetAddress.getByName("192.0.2.1"), Optional.of("alice@acme.test"), "x").session();

        assertThat(session.isRelayingAllowed()).isTrue();
        assertThat(session.getUsername().asString()).isEqualTo("alice@acme.test");
        assertThat(session.isTLSStarted()).isTrue();
    }

    @Test
    void attachmentsAreKeptPerStateAndRecipientsCounted() throws Exception {
        DryRunSession dryRun = DryRunSession.of(RELAY, InetAddress.getByName("192.0.2.1"), Optional.empty(), "x");
        SMTPSession session = dryRun.session();

        session.setAttachment(KEY, "acme", ProtocolSession.State.Transaction);
        dryRun.recipientAccepted();

        assertThat(session.getAttachment(KEY, ProtocolSession.State.Transaction)).contains("acme");
        assertThat(session.getAttachment(KEY, ProtocolSession.State.Connection)).isEmpty();
        assertThat(session.getRcptCount()).isEqualTo(1);
        assertThat(session.isRelayingAllowed()).isFalse();
        assertThat(session.isAuthAnnounced()).isTrue();
        assertThat(session.getConfiguration().getMaxMessageSize()).isEqualTo(1024);
    }

    @Test
    void whatASessionCouldDoOnTheWireIsRefusedRatherThanFaked() throws Exception {
        SMTPSession session = DryRunSession.of(RELAY, InetAddress.getByName("192.0.2.1"), Optional.empty(), "x").session();

        assertThatThrownBy(() -> session.pushLineHandler(null)).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("pushLineHandler");
        assertThatThrownBy(session::resetState).isInstanceOf(UnsupportedOperationException.class);
    }
}
