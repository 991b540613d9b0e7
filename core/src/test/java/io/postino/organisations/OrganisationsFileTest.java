package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrganisationsFileTest {
    @TempDir
    Path directory;

    private Path write(String xml) throws IOException {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, xml, StandardCharsets.UTF_8);
        return file;
    }

    private static String organisations(String body) {
        return "<?xml version=\"1.0\"?>\n<organisations>\n" + body + "</organisations>\n";
    }

    private void assertProblem(String xml, int line, String reason) throws IOException {
        Path file = write(xml);
        ThrowableAssert.ThrowingCallable read = () -> OrganisationsFile.read(file);
        assertThatThrownBy(read)
            .isInstanceOf(OrganisationsException.class)
            .hasMessageStartingWith(file + ":" + line + ": ")
            .hasMessageContaining(reason);
    }

    @Test
    void readsOrganisationsWithAllTheirParts() throws Exception {
        OrganisationsConfig config = OrganisationsFile.read(write(organisations(
            "  <organisation id=\"acme\" name=\"Acme Corporation\">\n"
                + "    <domain>Acme.Test</domain>\n"
                + "    <domain>mail.acme.test</domain>\n"
                + "    <trustedNetwork>192.0.2.0/24</trustedNetwork>\n"
                + "    <identity policy=\"exact\">\n"
                + "      <user login=\"alice@acme.test\"><allow>sales@acme.test</allow></user>\n"
                + "    </identity>\n"
                + "  </organisation>\n"
                + "  <organisation id=\"beta\">\n"
                + "    <domain>beta.test</domain>\n"
                + "    <identity policy=\"domain\"/>\n"
                + "  </organisation>\n")));

        Organisation acme = config.byId("acme").orElseThrow();
        assertThat(acme.name()).isEqualTo("Acme Corporation");
        assertThat(acme.domains()).containsExactlyInAnyOrder("acme.test", "mail.acme.test");
        assertThat(acme.identityPolicy()).isEqualTo(IdentityPolicy.EXACT);
        assertThat(acme.allowedAddressesOf("Alice@acme.test")).containsExactly("sales@acme.test");
        assertThat(config.trustingClient(InetAddress.getByName("192.0.2.10"))).contains(acme);
        assertThat(config.owningDomain("ACME.test")).contains(acme);
        assertThat(config.ofUser("bob@beta.test").map(Organisation::id)).contains("beta");
        assertThat(config.byId("beta").orElseThrow().name()).isEqualTo("beta");
        assertThat(config.byId("beta").orElseThrow().identityPolicy()).isEqualTo(IdentityPolicy.DOMAIN);
    }

    @Test
    void identityPolicyDefaultsToExact() throws Exception {
        OrganisationsConfig config = OrganisationsFile.read(write(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain></organisation>\n")));

        assertThat(config.byId("acme").orElseThrow().identityPolicy()).isEqualTo(IdentityPolicy.EXACT);
    }

    @Test
    void anEmptyFileMeansNoOrganisations() throws Exception {
        assertThat(OrganisationsFile.read(write(organisations(""))).organisations()).isEmpty();
    }

    @Test
    void schemaViolationNamesTheLine() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\">\n<domian>acme.test</domian>\n</organisation>\n"), 4, "domian");
    }

    @Test
    void organisationWithoutDomainIsRefused() throws Exception {
        assertProblem(organisations("<organisation id=\"acme\">\n</organisation>\n"), 4, "domain");
    }

    @Test
    void invalidIdIsRefused() throws Exception {
        assertProblem(organisations("<organisation id=\"Acme Corp\"><domain>acme.test</domain></organisation>\n"), 3, "Acme Corp");
    }

    @Test
    void unknownPolicyIsRefused() throws Exception {
        assertProblem(organisations("<organisation id=\"acme\"><domain>acme.test</domain>\n<identity policy=\"any\"/></organisation>\n"),
            4, "any");
    }

    @Test
    void malformedXmlNamesTheLine() throws Exception {
        assertProblem(organisations("<organisation id=\"acme\"><domain>acme.test</domain>\n"), 4, "");
    }

    @Test
    void duplicateIdIsRefused() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain></organisation>\n"
                + "<organisation id=\"acme\"><domain>other.test</domain></organisation>\n"), 4, "id 'acme' is already used on line 3");
    }

    @Test
    void aDomainBelongsToOneOrganisationOnly() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain></organisation>\n"
                + "<organisation id=\"beta\">\n<domain>ACME.test</domain></organisation>\n"),
            5, "domain 'acme.test' already belongs to organisation 'acme' (line 3)");
    }

    @Test
    void overlappingTrustedNetworksOfTwoOrganisationsAreRefused() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain><trustedNetwork>10.0.0.0/8</trustedNetwork></organisation>\n"
                + "<organisation id=\"beta\"><domain>beta.test</domain>\n<trustedNetwork>10.1.0.0/16</trustedNetwork></organisation>\n"),
            5, "overlaps 10.0.0.0/8 of organisation 'acme'");
    }

    @Test
    void badNetworkIsRefused() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain>\n<trustedNetwork>10.0.0.1/8</trustedNetwork></organisation>\n"),
            4, "host bits set");
    }

    @Test
    void userOutsideTheOrganisationDomainsIsRefused() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain><identity>\n"
                + "<user login=\"eve@beta.test\"><allow>x@acme.test</allow></user></identity></organisation>\n"),
            4, "user 'eve@beta.test' is not in a domain of organisation 'acme'");
    }

    @Test
    void allowedAddressOutsideTheOrganisationDomainsIsRefused() throws Exception {
        assertProblem(organisations(
            "<organisation id=\"acme\"><domain>acme.test</domain><identity>\n"
                + "<user login=\"alice@acme.test\">\n<allow>ceo@beta.test</allow></user></identity></organisation>\n"),
            5, "allowed address 'ceo@beta.test' of user 'alice@acme.test' is not in a domain of organisation 'acme'");
    }

    @Test
    void missingFileIsNamed() {
        Path file = directory.resolve("absent.xml");

        assertThatThrownBy(() -> OrganisationsFile.read(file))
            .isInstanceOf(OrganisationsException.class)
            .hasMessage(file + ": file is missing (copy conf/organisations.xml from the distribution)");
    }

    @Test
    void doctypeIsRefused() throws Exception {
        assertProblem("<?xml version=\"1.0\"?>\n<!DOCTYPE organisations [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<organisations/>\n",
            2, "DOCTYPE");
    }
}
