package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;

class RejectUnauthorisedSenderTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of()),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.DOMAIN, Map.of()))));

    private RejectUnauthorisedSender mailet;

    @BeforeEach
    void setUp() throws Exception {
        mailet = new RejectUnauthorisedSender(ORGANISATIONS);
        mailet.init(FakeMailetConfig.builder()
            .mailetName("RejectUnauthorisedSender")
            .mailetContext(FakeMailContext.builder().postmaster(new MailAddress("postmaster@postino.test")))
            .setProperty("onViolation", "unauthorised")
            .build());
    }

    private static MimeMessage message(String headers) throws Exception {
        String raw = headers + "Subject: test\r\n\r\nbody\r\n";
        return new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(raw.getBytes(StandardCharsets.US_ASCII)));
    }

    private static FakeMail.Builder mail(String sender, String headers) throws Exception {
        FakeMail.Builder builder = FakeMail.builder().name("m").recipient("bob@example.com").mimeMessage(message(headers))
            .state(Mail.DEFAULT);
        return sender == null ? builder : builder.sender(sender);
    }

    @Test
    void mailOfAUserSendingAsItselfPassesAndIsAttributed() throws Exception {
        Mail mail = mail("alice@acme.test", "From: Alice <alice@acme.test>\r\n")
            .attribute(new Attribute(PostinoAttributes.USER, AttributeValue.of("alice@acme.test"))).build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo(Mail.DEFAULT);
        assertThat(mail.getAttribute(PostinoAttributes.ORGANISATION)).contains(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme")));
    }

    @Test
    void userSendingAsAnotherAddressUnderExactPolicyIsRefused() throws Exception {
        Mail mail = mail("ceo@acme.test", "From: ceo@acme.test\r\n")
            .attribute(new Attribute(Mail.SMTP_AUTH_USER, AttributeValue.of("alice@acme.test"))).build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
        assertThat(mail.getErrorMessage()).contains("alice@acme.test may only send as alice@acme.test, not as ceo@acme.test");
    }

    @Test
    void mailWithoutUserBelongsToTheOrganisationOfItsSenderDomain() throws Exception {
        Mail mail = mail("news@beta.test", "From: news@beta.test\r\n").build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo(Mail.DEFAULT);
        assertThat(mail.getAttribute(PostinoAttributes.ORGANISATION)).contains(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("beta")));
    }

    @Test
    void senderDomainOfNoOrganisationIsRefused() throws Exception {
        Mail mail = mail("x@nowhere.test", "From: x@nowhere.test\r\n").build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
        assertThat(mail.getErrorMessage()).contains("Sender domain nowhere.test belongs to no organisation");
    }

    @Test
    void attributedMailMustUseItsOrganisationsDomains() throws Exception {
        Mail mail = mail("x@beta.test", "From: x@beta.test\r\n")
            .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme"))).build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
    }

    @Test
    void misalignedFromIsRefused() throws Exception {
        Mail mail = mail("news@beta.test", "From: \"Acme\" <news@acme.test>\r\n").build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
        assertThat(mail.getErrorMessage()).contains("From: address news@acme.test is not in a domain of organisation beta");
    }

    @Test
    void misalignedSenderHeaderIsRefused() throws Exception {
        Mail mail = mail("news@beta.test", "From: news@beta.test\r\nSender: relay@acme.test\r\n").build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
    }

    @Test
    void postinosOwnNotificationsPass() throws Exception {
        Mail mail = mail(null, "From: postmaster@postino.test\r\n")
            .attribute(new Attribute(PostinoAttributes.USER, AttributeValue.of("alice@acme.test")))
            .attribute(new Attribute(PostinoAttributes.NOTIFICATION, AttributeValue.of("true"))).build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo(Mail.DEFAULT);
    }

    @Test
    void nullSenderMailPosingAsPostmasterWithoutTheMarkIsJudged() throws Exception {
        Mail mail = mail(null, "From: postmaster@postino.test\r\n")
            .attribute(new Attribute(PostinoAttributes.USER, AttributeValue.of("alice@acme.test"))).build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
        assertThat(mail.getErrorMessage()).contains("From: address postmaster@postino.test is not in a domain of organisation acme");
    }

    @Test
    void nullSenderMailOfNoOwnerIsRefused() throws Exception {
        Mail mail = mail(null, "From: someone@acme.test\r\n").build();

        mailet.service(mail);

        assertThat(mail.getState()).isEqualTo("unauthorised");
    }

    @Test
    void violationsGoToTheErrorProcessorByDefault() throws Exception {
        RejectUnauthorisedSender defaults = new RejectUnauthorisedSender(ORGANISATIONS);
        defaults.init(FakeMailetConfig.builder().mailetName("RejectUnauthorisedSender").build());
        Mail mail = mail("x@nowhere.test", "From: x@nowhere.test\r\n").build();

        defaults.service(mail);

        assertThat(mail.getState()).isEqualTo(Mail.ERROR);
    }

    @Test
    void blankOnViolationIsRefused() {
        assertThatThrownBy(() -> new RejectUnauthorisedSender(ORGANISATIONS).init(FakeMailetConfig.builder()
            .mailetName("RejectUnauthorisedSender").setProperty("onViolation", " ").build()))
            .hasMessageContaining("<onViolation> must name a processor");
    }
}
