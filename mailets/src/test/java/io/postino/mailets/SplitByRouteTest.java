package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;

class SplitByRouteTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of())
            .withDelivery(Optional.of("relay"), Map.of("gmail.com", "direct", "yahoo.com", "direct"), false),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.EXACT, Map.of()))));

    private final FakeMailContext context = FakeMailContext.defaultContext();

    private SplitByRoute mailet() throws Exception {
        SplitByRoute mailet = new SplitByRoute(ORGANISATIONS);
        mailet.init(FakeMailetConfig.builder().mailetName("SplitByRoute").mailetContext(context).build());
        return mailet;
    }

    private static Mail mail(String organisation, String... recipients) throws Exception {
        FakeMail.Builder builder = FakeMail.builder().name("m").state("relay")
            .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation)));
        for (String recipient : recipients) {
            builder.recipient(recipient);
        }
        return builder.build();
    }

    @Test
    void recipientsOfDifferentRoutesPart() throws Exception {
        Mail mail = mail("acme", "a@example.org", "b@gmail.com", "c@example.net", "d@yahoo.com");

        mailet().service(mail);

        assertThat(mail.getRecipients()).containsExactly(new MailAddress("a@example.org"), new MailAddress("c@example.net"));
        assertThat(context.getSentMails()).hasSize(1);
        assertThat(context.getSentMails().get(0).getRecipients()).containsExactly(new MailAddress("b@gmail.com"), new MailAddress("d@yahoo.com"));
        assertThat(context.getSentMails().get(0).getState()).isEqualTo("relay");
    }

    @Test
    void oneRouteOrNoRoutingLeavesTheMailAlone() throws Exception {
        Mail sameRoute = mail("acme", "b@gmail.com", "d@yahoo.com");
        Mail noRouting = mail("beta", "a@example.org", "b@gmail.com");

        mailet().service(sameRoute);
        mailet().service(noRouting);

        assertThat(sameRoute.getRecipients()).hasSize(2);
        assertThat(noRouting.getRecipients()).hasSize(2);
        assertThat(context.getSentMails()).isEmpty();
    }
}
