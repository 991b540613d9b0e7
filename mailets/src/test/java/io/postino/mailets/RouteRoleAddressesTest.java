package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.apache.james.core.Domain;
import org.apache.james.core.MailAddress;
import org.apache.james.rrt.api.RecipientRewriteTable;
import org.apache.james.rrt.lib.Mapping;
import org.apache.james.rrt.lib.MappingsImpl;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.RelayDomain;

class RouteRoleAddressesTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.EXACT, Map.of())
            .withInbound(Optional.of("ops@acme-hq.test"), Optional.of("abuse-desk@acme-hq.test"),
                List.of(new RelayDomain("corp.acme.test", "10.0.0.5", 25))),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.EXACT, Map.of()))));

    /** James' recipient rewrite table with one alias: abuse@beta.test to security@beta.test. */
    private static RecipientRewriteTable aliases() {
        return (RecipientRewriteTable) Proxy.newProxyInstance(RecipientRewriteTable.class.getClassLoader(),
            new Class<?>[]{RecipientRewriteTable.class}, (proxy, method, args) -> {
                if (method.getName().equals("getResolvedMappings")) {
                    boolean aliased = args[0].equals("abuse") && ((Domain) args[1]).asString().equals("beta.test");
                    return aliased ? MappingsImpl.builder().add(Mapping.alias("security@beta.test")).build() : MappingsImpl.empty();
                }
                throw new UnsupportedOperationException(method.getName());
            });
    }

    private static RouteRoleAddresses mailet(String processor) throws Exception {
        RouteRoleAddresses mailet = new RouteRoleAddresses(ORGANISATIONS, aliases());
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("RouteRoleAddresses")
            .mailetContext(FakeMailContext.builder().postmaster(new MailAddress("postmaster@relay.example.com")).build());
        if (processor != null) {
            config.setProperty("processor", processor);
        }
        mailet.init(config.build());
        return mailet;
    }

    private static Mail mail(String... recipients) throws Exception {
        FakeMail.Builder builder = FakeMail.builder().name("m").state("transport");
        for (String recipient : recipients) {
            builder.recipient(recipient);
        }
        return builder.build();
    }

    @Test
    void sendsRoleAddressesWhereTheOrganisationSays() throws Exception {
        Mail mail = mail("postmaster@acme.test", "Abuse@corp.acme.test");

        mailet(null).service(mail);

        assertThat(mail.getRecipients()).containsExactly(new MailAddress("ops@acme-hq.test"), new MailAddress("abuse-desk@acme-hq.test"));
        assertThat(mail.getState()).isEqualTo("relay");
    }

    @Test
    void anAliasWinsAndTheServersPostmasterIsTheFallback() throws Exception {
        Mail mail = mail("abuse@beta.test", "postmaster@beta.test", "postmaster@localhost");

        mailet("outbound").service(mail);

        assertThat(mail.getRecipients()).containsExactly(new MailAddress("security@beta.test"), new MailAddress("postmaster@relay.example.com"));
        assertThat(mail.getState()).isEqualTo("outbound");
    }

    @Test
    void leavesOtherRecipientsAndUnservedDomainsAlone() throws Exception {
        Mail mail = mail("postmaster@example.com", "sales@acme.test");

        mailet(null).service(mail);

        assertThat(mail.getRecipients()).containsExactly(new MailAddress("postmaster@example.com"), new MailAddress("sales@acme.test"));
        assertThat(mail.getState()).isEqualTo("transport");
    }

    @Test
    void aTargetThatIsItselfARoleAddressIsKeptAsAnErrorInsteadOfLooping() throws Exception {
        FakeMailContext context = FakeMailContext.builder().postmaster(new MailAddress("postmaster@localhost")).build();
        RouteRoleAddresses mailet = new RouteRoleAddresses(ORGANISATIONS, aliases());
        mailet.init(FakeMailetConfig.builder().mailetName("RouteRoleAddresses").mailetContext(context).build());
        Mail mail = mail("postmaster@beta.test", "postmaster@acme.test");

        mailet.service(mail);

        assertThat(mail.getRecipients()).containsExactly(new MailAddress("ops@acme-hq.test"));
        assertThat(context.getSentMails()).hasSize(1);
        assertThat(context.getSentMails().get(0).getRecipients()).containsExactly(new MailAddress("postmaster@beta.test"));
        assertThat(context.getSentMails().get(0).getState()).isEqualTo(Mail.ERROR);
    }

    @Test
    void aBlankProcessorIsRefused() {
        assertThatThrownBy(() -> mailet(" ")).hasMessageContaining("<processor> must name a processor");
    }
}
