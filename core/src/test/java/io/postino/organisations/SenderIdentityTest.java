package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.junit.jupiter.api.Test;

class SenderIdentityTest {
    private static final Organisation ACME = new Organisation("acme", "Acme", Set.of("acme.test", "mail.acme.test"),
        List.of(Cidr.parse("192.0.2.0/24")), IdentityPolicy.EXACT, Map.of("alice@acme.test", Set.of("sales@acme.test")));
    private static final Organisation BETA = new Organisation("beta", "Beta", Set.of("beta.test"),
        List.of(), IdentityPolicy.DOMAIN, Map.of());
    private static final OrganisationsConfig CONFIG = new OrganisationsConfig(List.of(ACME, BETA));

    private static MaybeSender sender(String address) throws Exception {
        return MaybeSender.of(new MailAddress(address));
    }

    @Test
    void exactPolicyAllowsTheLogin() throws Exception {
        SenderIdentity.Verdict verdict = SenderIdentity.forUser(CONFIG, "alice@acme.test", sender("Alice@ACME.test"));

        assertThat(verdict.isAllowed()).isTrue();
        assertThat(verdict.organisation()).contains(ACME);
    }

    @Test
    void exactPolicyAllowsTheUsersExtraAddresses() throws Exception {
        assertThat(SenderIdentity.forUser(CONFIG, "alice@acme.test", sender("sales@acme.test")).isAllowed()).isTrue();
    }

    @Test
    void exactPolicyRefusesAnotherAddressOfTheSameDomain() throws Exception {
        SenderIdentity.Verdict verdict = SenderIdentity.forUser(CONFIG, "alice@acme.test", sender("ceo@acme.test"));

        assertThat(verdict.isAllowed()).isFalse();
        assertThat(verdict.refusal()).contains("alice@acme.test may only send as alice@acme.test, sales@acme.test, not as ceo@acme.test");
    }

    @Test
    void exactPolicyExtraAddressesAreNotSharedWithOtherUsers() throws Exception {
        assertThat(SenderIdentity.forUser(CONFIG, "bob@acme.test", sender("sales@acme.test")).isAllowed()).isFalse();
    }

    @Test
    void domainPolicyAllowsAnyAddressOfTheOrganisation() throws Exception {
        assertThat(SenderIdentity.forUser(CONFIG, "bob@beta.test", sender("newsletter@beta.test")).isAllowed()).isTrue();
    }

    @Test
    void domainPolicyRefusesAnotherOrganisationsDomain() throws Exception {
        SenderIdentity.Verdict verdict = SenderIdentity.forUser(CONFIG, "bob@beta.test", sender("bob@acme.test"));

        assertThat(verdict.refusal()).contains("bob@beta.test may only send from the domains of organisation beta (beta.test), not as bob@acme.test");
    }

    @Test
    void userOfNoOrganisationMayNotSend() throws Exception {
        SenderIdentity.Verdict verdict = SenderIdentity.forUser(CONFIG, "carol@nowhere.test", sender("carol@nowhere.test"));

        assertThat(verdict.isAllowed()).isFalse();
        assertThat(verdict.refusal()).hasValueSatisfying(text -> assertThat(text).contains("is in no organisation's domain"));
    }

    @Test
    void userMaySendWithTheNullSender() {
        assertThat(SenderIdentity.forUser(CONFIG, "alice@acme.test", MaybeSender.nullSender()).organisation()).contains(ACME);
    }

    @Test
    void trustedNetworkSendsOnlyFromItsOrganisationsDomains() throws Exception {
        assertThat(SenderIdentity.forTrustedNetwork(ACME, sender("printer@mail.acme.test")).isAllowed()).isTrue();
        assertThat(SenderIdentity.forTrustedNetwork(ACME, MaybeSender.nullSender()).isAllowed()).isTrue();
        assertThat(SenderIdentity.forTrustedNetwork(ACME, sender("app@beta.test")).refusal())
            .contains("Hosts in the trusted networks of organisation acme may only send from its domains (acme.test, mail.acme.test), not as app@beta.test");
    }

    @Test
    void operatorNetworkMailBelongsToTheOrganisationOfTheSenderDomain() throws Exception {
        assertThat(SenderIdentity.forSenderDomain(CONFIG, sender("app@beta.test")).organisation()).contains(BETA);
        assertThat(SenderIdentity.forSenderDomain(CONFIG, sender("app@nowhere.test")).refusal())
            .contains("Sender domain nowhere.test belongs to no organisation on this server");
        assertThat(SenderIdentity.forSenderDomain(CONFIG, MaybeSender.nullSender()).isAllowed()).isFalse();
    }

    @Test
    void visibleSenderInTheOrganisationDomainsIsAligned() {
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"\"Alice A.\" <alice@acme.test>"}).isAllowed()).isTrue();
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"a@acme.test, b@MAIL.acme.test"}).isAllowed()).isTrue();
    }

    @Test
    void absentVisibleSenderIsAligned() {
        assertThat(SenderIdentity.visibleSender(ACME, "Sender", null).isAllowed()).isTrue();
    }

    @Test
    void anyMisalignedAddressOfTheHeaderIsRefused() {
        SenderIdentity.Verdict verdict = SenderIdentity.visibleSender(ACME, "From", new String[]{"alice@acme.test, \"CEO\" <ceo@beta.test>"});

        assertThat(verdict.refusal()).contains("From: address ceo@beta.test is not in a domain of organisation acme (acme.test, mail.acme.test);"
            + " the visible sender must align with the sending organisation");
    }

    @Test
    void secondFromFieldIsCheckedToo() {
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"alice@acme.test", "ceo@beta.test"}).isAllowed()).isFalse();
    }

    @Test
    void subdomainOfAnOrganisationDomainIsNotAligned() {
        assertThat(SenderIdentity.visibleSender(BETA, "From", new String[]{"x@news.beta.test"}).isAllowed()).isFalse();
    }

    @Test
    void headerTwoParsersReadDifferentlyIsRefused() {
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"<x@acme.test> ceo@beta.test"}).refusal())
            .hasValueSatisfying(text -> assertThat(text).contains("cannot be parsed unambiguously"));
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"<x@acme.test>ceo@beta.test"}).isAllowed()).isFalse();
    }

    @Test
    void aValueReadBeforeIsJudgedTheSameForEachOrganisationAndEachTime() {
        String[] from = {"\"Alice A.\" <alice@acme.test>"};
        for (int i = 0; i < 3; i++) {
            assertThat(SenderIdentity.visibleSender(ACME, "From", from).isAllowed()).isTrue();
            assertThat(SenderIdentity.visibleSender(BETA, "From", from).isAllowed()).isFalse();
            assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"<x@acme.test> ceo@beta.test"}).isAllowed()).isFalse();
        }
    }

    @Test
    void aValueLongerThanAHeaderLineIsReadEachTimeAndJudgedAlike() {
        StringBuilder many = new StringBuilder("a0@acme.test");
        for (int i = 1; i < 200; i++) {
            many.append(", a").append(i).append("@acme.test");
        }
        assertThat(many.length()).isGreaterThan(998);
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{many.toString()}).isAllowed()).isTrue();
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{many + ", ceo@beta.test"}).isAllowed()).isFalse();
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{many.toString()}).isAllowed()).isTrue();
    }

    @Test
    void foldedAndEncodedHeadersAreRead() {
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"=?utf-8?q?J=C3=B6rg?=\r\n <jorg@acme.test>"}).isAllowed()).isTrue();
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"alice@acme.test (Alice)"}).isAllowed()).isTrue();
    }

    @Test
    void strangersMayNotUseAnOrganisationsDomain() throws Exception {
        SenderIdentity.Verdict verdict = SenderIdentity.forStranger(CONFIG, sender("ceo@ACME.test"));

        assertThat(verdict.isAllowed()).isFalse();
        assertThat(verdict.requiresAuthentication()).isTrue();
        assertThat(verdict.refusal()).contains("Sender domain acme.test belongs to organisation acme on this server; log in (SMTP AUTH) to send as it");
    }

    @Test
    void strangersMayNotUseAnOrganisationsRelayDomainEither() throws Exception {
        OrganisationsConfig config = new OrganisationsConfig(List.of(ACME.withInbound(java.util.Optional.empty(), java.util.Optional.empty(),
            List.of(new RelayDomain("corp.acme.test", "10.0.0.5", 25)))));

        SenderIdentity.Verdict verdict = SenderIdentity.forStranger(config, sender("ceo@corp.acme.test"));

        assertThat(verdict.isAllowed()).isFalse();
        assertThat(verdict.refusal()).hasValueSatisfying(text -> assertThat(text).contains("Sender domain corp.acme.test belongs to organisation acme"));
    }

    @Test
    void strangersMayUseOtherDomainsAndTheNullSenderForNoOrganisation() throws Exception {
        assertThat(SenderIdentity.forStranger(CONFIG, sender("someone@example.org")).isAllowed()).isTrue();
        assertThat(SenderIdentity.forStranger(CONFIG, sender("someone@example.org")).organisation()).isEmpty();
        assertThat(SenderIdentity.forStranger(CONFIG, MaybeSender.nullSender()).isAllowed()).isTrue();
    }

    @Test
    void utf8HeadersAreReadWithTheirIdnDomains() {
        Organisation idn = new Organisation("idn", "IDN", Set.of("xn--bcher-kva.example"), List.of(), IdentityPolicy.DOMAIN, Map.of());
        assertThat(SenderIdentity.visibleSender(idn, "From", new String[]{"Jösé <jösé@bücher.example>"}).isAllowed()).isTrue();
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"Jösé <jösé@bücher.example>"}).isAllowed()).isFalse();
        String asJavaMailReadsIt = new String("Jösé <jösé@bücher.example>".getBytes(java.nio.charset.StandardCharsets.UTF_8),
            java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(SenderIdentity.visibleSender(idn, "From", new String[]{asJavaMailReadsIt}).isAllowed()).isTrue();
    }

    @Test
    void unparsableHeaderIsRefused() {
        assertThat(SenderIdentity.visibleSender(ACME, "From", new String[]{"\"Alice <alice@acme.test>"}).refusal())
            .hasValueSatisfying(text -> assertThat(text).contains("cannot be parsed"));
    }
}
