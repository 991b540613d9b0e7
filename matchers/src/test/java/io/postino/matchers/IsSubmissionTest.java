package io.postino.matchers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMatcherConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IsSubmissionTest {
    private IsSubmission matcher;
    private MailAddress bob;
    private MailAddress carol;

    @BeforeEach
    void setUp() throws Exception {
        matcher = new IsSubmission();
        matcher.init(FakeMatcherConfig.builder().matcherName("IsSubmission").build());
        bob = new MailAddress("bob@example.com");
        carol = new MailAddress("carol@example.org");
    }

    @Test
    void matchesAllRecipientsOfAuthenticatedMail() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(bob, carol)
            .attribute(new Attribute(Mail.SMTP_AUTH_USER, AttributeValue.of("alice@acme.test")))
            .build();

        assertThat(matcher.match(mail)).containsExactly(bob, carol);
    }

    @Test
    void matchesMailFromAnAuthorisedNetwork() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(bob)
            .attribute(new Attribute(IsSubmission.AUTHORISED_NETWORK, AttributeValue.of(true)))
            .build();

        assertThat(matcher.match(mail)).containsExactly(bob);
    }

    @Test
    void doesNotMatchMailFromAnUnauthorisedNetwork() throws Exception {
        Mail mail = FakeMail.builder().name("m").recipients(bob)
            .attribute(new Attribute(IsSubmission.AUTHORISED_NETWORK, AttributeValue.of(false)))
            .build();

        assertThat(matcher.match(mail)).isEmpty();
    }

    @Test
    void doesNotMatchMailWithoutSmtpAttributes() throws Exception {
        Mail mail = FakeMail.builder().name("bounce").recipients(bob).build();

        assertThat(matcher.match(mail)).isEmpty();
    }

    @Test
    void refusesACondition() {
        IsSubmission withCondition = new IsSubmission();

        assertThatThrownBy(() -> withCondition.init(FakeMatcherConfig.builder()
                .matcherName("IsSubmission").condition("yes").build()))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("takes no condition");
    }
}
