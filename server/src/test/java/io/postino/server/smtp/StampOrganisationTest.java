package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.james.core.MailAddress;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;

import io.postino.organisations.PostinoAttributes;

class StampOrganisationTest {
    private final StampOrganisation hook = new StampOrganisation(HooksTestData.ORGANISATIONS);

    @Test
    void submittedMailCarriesTheVerifiedOrganisationAndTheUser() throws Exception {
        SMTPSession session = FakeSmtpSession.authenticated("alice@acme.test");
        session.setAttachment(OrganisationSession.SENDING_ORGANISATION, "acme", ProtocolSession.State.Transaction);
        Mail mail = FakeMail.builder().name("m").recipient("bob@example.com").build();

        hook.onMessage(session, mail);

        assertThat(mail.getAttribute(PostinoAttributes.ORGANISATION)).contains(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme")));
        assertThat(mail.getAttribute(PostinoAttributes.USER)).contains(new Attribute(PostinoAttributes.USER, AttributeValue.of("alice@acme.test")));
    }

    @Test
    void inboundMailBelongsToTheOrganisationOfItsRecipients() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(new MailAddress("a@beta.test"), new MailAddress("b@beta.test")).build();

        hook.onMessage(FakeSmtpSession.client("203.0.113.9", false), mail);

        assertThat(mail.getAttribute(PostinoAttributes.RECIPIENT_ORGANISATION))
            .contains(new Attribute(PostinoAttributes.RECIPIENT_ORGANISATION, AttributeValue.of("beta")));
        assertThat(mail.getAttribute(PostinoAttributes.ORGANISATION)).isEmpty();
        assertThat(mail.getAttribute(PostinoAttributes.USER)).isEmpty();
    }

    @Test
    void inboundMailForSeveralOrganisationsIsNotAttributed() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(new MailAddress("a@beta.test"), new MailAddress("b@acme.test")).build();

        hook.onMessage(FakeSmtpSession.client("203.0.113.9", false), mail);

        assertThat(mail.getAttribute(PostinoAttributes.RECIPIENT_ORGANISATION)).isEmpty();
    }
}
