package io.postino.matchers;

import static io.postino.matchers.RecipientMatchersTestData.ORGANISATIONS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.Matcher;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMatcherConfig;
import org.junit.jupiter.api.Test;

import io.postino.organisations.PostinoAttributes;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.DomainVerdict;
import io.postino.recipients.MemorySuppressionList;
import io.postino.recipients.Suppression;
import io.postino.recipients.SuppressionList;

/** The matchers that repeat the RCPT checks for mail that did not come over SMTP. */
class RecipientMatchersTest {
    private static <T extends Matcher> T init(T matcher, String name, String condition) throws MessagingException {
        matcher.init(FakeMatcherConfig.builder().matcherName(name).condition(condition)
            .mailetContext(FakeMailContext.defaultContext()).build());
        return matcher;
    }

    private static Mail mail(String organisation, String... recipients) throws Exception {
        List<MailAddress> addresses = new ArrayList<>();
        for (String recipient : recipients) {
            addresses.add(new MailAddress(recipient));
        }
        FakeMail.Builder builder = FakeMail.builder().name("m").recipients(addresses);
        if (organisation != null) {
            builder.attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation)));
        }
        return builder.build();
    }

    @Test
    void recipientIsInRelayDomainMatchesOnlyThoseRecipients() throws Exception {
        RecipientIsInRelayDomain matcher = init(new RecipientIsInRelayDomain(ORGANISATIONS), "RecipientIsInRelayDomain", null);

        assertThat(matcher.match(mail("acme", "alice@Corp.Acme.test", "bob@acme.test", "carol@example.com")))
            .containsExactly(new MailAddress("alice@Corp.Acme.test"));
        assertThatThrownBy(() -> init(new RecipientIsInRelayDomain(ORGANISATIONS), "RecipientIsInRelayDomain", "corp"))
            .hasMessageContaining("takes no condition");
    }

    @Test
    void isRoleAddressMatchesPostmasterAndAbuseOfServedDomains() throws Exception {
        IsRoleAddress matcher = init(new IsRoleAddress(ORGANISATIONS), "IsRoleAddress", null);

        assertThat(matcher.match(mail(null, "postmaster@acme.test", "ABUSE@corp.acme.test", "abuse@localhost",
            "postmaster@example.com", "sales@acme.test")))
            .containsExactly(new MailAddress("postmaster@acme.test"), new MailAddress("ABUSE@corp.acme.test"), new MailAddress("abuse@localhost"));
    }

    @Test
    void isSuppressedRecipientMatchesTheSendingOrganisationsList() throws Exception {
        SuppressionList list = new MemorySuppressionList(Clock.systemUTC());
        list.add(new Suppression("acme", "gone@example.com", Suppression.BOUNCE, "550 5.1.1", Instant.now(), Optional.empty()));
        IsSuppressedRecipient matcher = init(new IsSuppressedRecipient(list), "IsSuppressedRecipient", null);

        assertThat(matcher.match(mail("acme", "Gone@example.com", "here@example.com"))).containsExactly(new MailAddress("Gone@example.com"));
        assertThat(matcher.match(mail("beta", "gone@example.com"))).isEmpty();
        assertThat(matcher.match(mail(null, "gone@example.com"))).as("no organisation").isEmpty();
    }

    @Test
    void isSuppressedRecipientFailsTheMailWhenTheListCannotBeRead() throws Exception {
        MemorySuppressionList down = new MemorySuppressionList(Clock.systemUTC());
        down.setUnavailable(true);
        IsSuppressedRecipient matcher = init(new IsSuppressedRecipient(down), "IsSuppressedRecipient", null);

        assertThatThrownBy(() -> matcher.match(mail("acme", "bob@example.com")))
            .isInstanceOf(MessagingException.class).hasMessageContaining("unavailable");
    }

    @Test
    void hasUndeliverableDomainMatchesPermanentFailuresOnly() throws Exception {
        List<String> looked = new ArrayList<>();
        HasUndeliverableDomain matcher = init(new HasUndeliverableDomain(domain -> {
            looked.add(domain);
            switch (domain) {
                case "nullmx.test":
                    return DomainVerdict.NULL_MX;
                case "missing.test":
                    return DomainVerdict.NO_SUCH_DOMAIN;
                case "slow.test":
                    return DomainVerdict.TEMPORARY_FAILURE;
                default:
                    return DomainVerdict.DELIVERABLE;
            }
        }, ORGANISATIONS), "HasUndeliverableDomain", null);

        assertThat(matcher.match(mail("acme", "a@nullmx.test", "b@missing.test", "c@slow.test", "d@fine.test", "e@corp.acme.test")))
            .containsExactly(new MailAddress("a@nullmx.test"), new MailAddress("b@missing.test"));
        assertThat(looked).doesNotContain("corp.acme.test");
    }

    @Test
    void isUnknownRelayRecipientMatchesRefusalsOnly() throws Exception {
        IsUnknownRelayRecipient matcher = init(new IsUnknownRelayRecipient((relay, address) -> {
            if (address.startsWith("nobody")) {
                return CalloutVerdict.refused("550 5.1.1 unknown");
            }
            return address.startsWith("maybe") ? CalloutVerdict.unknown("timeout") : CalloutVerdict.accepted("250 OK");
        }, ORGANISATIONS), "IsUnknownRelayRecipient", null);

        assertThat(matcher.match(mail(null, "nobody@corp.acme.test", "maybe@corp.acme.test", "alice@corp.acme.test", "nobody@example.com")))
            .containsExactly(new MailAddress("nobody@corp.acme.test"));
    }
}
