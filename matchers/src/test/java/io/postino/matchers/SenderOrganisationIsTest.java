package io.postino.matchers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMatcherConfig;
import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;

class SenderOrganisationIsTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of()),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.EXACT, Map.of()),
        new Organisation("gamma", "Gamma", Set.of("gamma.test"), List.of(), IdentityPolicy.EXACT, Map.of()))));

    private static SenderOrganisationIs matcher(String condition) throws MessagingException {
        SenderOrganisationIs matcher = new SenderOrganisationIs(ORGANISATIONS);
        matcher.init(FakeMatcherConfig.builder().matcherName("SenderOrganisationIs").condition(condition).build());
        return matcher;
    }

    private static Mail mailOf(String organisation) throws Exception {
        FakeMail.Builder builder = FakeMail.builder().name("m").recipients(new MailAddress("bob@example.com"), new MailAddress("carol@example.org"));
        if (organisation != null) {
            builder.attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation)));
        }
        return builder.build();
    }

    @Test
    void matchesAllRecipientsOfMailOfTheOrganisation() throws Exception {
        Mail mail = mailOf("acme");

        assertThat(matcher("acme").match(mail)).containsExactlyElementsOf(mail.getRecipients());
    }

    @Test
    void matchesAnyOfSeveralOrganisations() throws Exception {
        assertThat(matcher("acme, beta").match(mailOf("beta"))).hasSize(2);
    }

    @Test
    void doesNotMatchMailOfAnotherOrganisation() throws Exception {
        assertThat(matcher("acme,beta").match(mailOf("gamma"))).isEmpty();
    }

    @Test
    void doesNotMatchMailOfNoOrganisation() throws Exception {
        assertThat(matcher("acme").match(mailOf(null))).isEmpty();
    }

    @Test
    void requiresACondition() {
        assertThatThrownBy(() -> matcher(" , ")).hasMessageContaining("needs one or more organisation ids");
    }

    @Test
    void refusesAnUnknownOrganisation() {
        assertThatThrownBy(() -> matcher("acme,acmee")).hasMessageContaining("organisation 'acmee' is not defined in organisations.xml");
    }
}
