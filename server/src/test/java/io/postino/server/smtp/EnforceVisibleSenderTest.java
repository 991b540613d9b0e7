package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;

class EnforceVisibleSenderTest {
    private final EnforceVisibleSender hook = new EnforceVisibleSender(HooksTestData.ORGANISATIONS);

    static Mail mail(String headers) throws Exception {
        String raw = headers + "Subject: test\r\n\r\nbody\r\n";
        MimeMessage message = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(raw.getBytes(StandardCharsets.US_ASCII)));
        return FakeMail.builder().name("m").sender("alice@acme.test").recipient("bob@example.com").mimeMessage(message).build();
    }

    private static SMTPSession sessionOf(String organisation) {
        SMTPSession session = FakeSmtpSession.authenticated("alice@acme.test");
        session.setAttachment(OrganisationSession.SENDING_ORGANISATION, organisation, ProtocolSession.State.Transaction);
        return session;
    }

    @Test
    void alignedFromPasses() throws Exception {
        HookResult result = hook.onMessage(sessionOf("acme"), mail("From: Alice <alice@acme.test>\r\n"));

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
    }

    @Test
    void fromOfAnotherOrganisationGets550And571() throws Exception {
        HookResult result = hook.onMessage(sessionOf("acme"), mail("From: CEO <ceo@beta.test>\r\n"));

        assertThat(result.getResult().getAction()).isEqualTo(HookReturnCode.Action.DENY);
        assertThat(result.getSmtpRetCode()).isEqualTo("550");
        assertThat(result.getSmtpDescription()).startsWith("5.7.1 From: address ceo@beta.test is not in a domain of organisation acme");
    }

    @Test
    void senderHeaderIsCheckedToo() throws Exception {
        HookResult result = hook.onMessage(sessionOf("acme"), mail("From: alice@acme.test\r\nSender: x@beta.test\r\n"));

        assertThat(result.getSmtpDescription()).contains("Sender: address x@beta.test");
    }

    @Test
    void mailWithoutFromPasses() throws Exception {
        assertThat(hook.onMessage(sessionOf("acme"), mail("")).getResult().getAction()).isEqualTo(HookReturnCode.Action.DECLINED);
    }

    @Test
    void relayedMailThatWasNeverAttributedIsRefused() throws Exception {
        HookResult result = hook.onMessage(FakeSmtpSession.authenticated("alice@acme.test"), mail("From: alice@acme.test\r\n"));

        assertThat(result.getSmtpRetCode()).isEqualTo("550");
        assertThat(result.getSmtpDescription()).contains("5.7.1 The sender of this transaction was not verified");
    }

    @Test
    void anOrganisationRemovedDuringTheTransactionGetsATemporaryFailure() throws Exception {
        HookResult result = hook.onMessage(sessionOf("gone"), mail("From: alice@acme.test\r\n"));

        assertThat(result.getSmtpRetCode()).isEqualTo("451");
        assertThat(result.getSmtpDescription()).startsWith("4.7.0 Organisation gone was removed");
    }

    @Test
    void inboundMailIsNotChecked() throws Exception {
        SMTPSession inbound = FakeSmtpSession.client("203.0.113.9", false);

        assertThat(hook.onMessage(inbound, mail("From: anyone@elsewhere.test\r\n")).getResult().getAction())
            .isEqualTo(HookReturnCode.Action.DECLINED);
    }
}
