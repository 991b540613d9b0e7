package io.postino.matchers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMatcherConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.organisations.PostinoAttributes;

class IsAuthenticatedSenderTest {
    private IsAuthenticatedSender matcher;
    private MailAddress bob;

    @BeforeEach
    void setUp() throws Exception {
        matcher = new IsAuthenticatedSender();
        matcher.init(FakeMatcherConfig.builder().matcherName("IsAuthenticatedSender").build());
        bob = new MailAddress("bob@example.com");
    }

    @Test
    void matchesMailOfAPostinoUser() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(bob)
            .attribute(new Attribute(PostinoAttributes.USER, AttributeValue.of("alice@acme.test"))).build();

        assertThat(matcher.match(mail)).containsExactly(bob);
    }

    @Test
    void matchesMailCarryingJamesAuthUser() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(bob)
            .attribute(new Attribute(Mail.SMTP_AUTH_USER, AttributeValue.of("alice@acme.test"))).build();

        assertThat(matcher.match(mail)).containsExactly(bob);
    }

    @Test
    void doesNotMatchMailFromATrustedNetwork() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(bob)
            .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme")))
            .attribute(new Attribute(org.apache.mailet.AttributeName.of("org.apache.james.SMTPIsAuthNetwork"), AttributeValue.of(true)))
            .build();

        assertThat(matcher.match(mail)).isEmpty();
    }

    @Test
    void refusesACondition() {
        assertThatThrownBy(() -> matcher.init(FakeMatcherConfig.builder().matcherName("IsAuthenticatedSender").condition("x").build()))
            .hasMessageContaining("takes no condition");
    }
}
