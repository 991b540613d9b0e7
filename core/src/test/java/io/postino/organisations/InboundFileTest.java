package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What organisations receive: role addresses and relay domains in organisations.xml. */
class InboundFileTest {
    @TempDir
    Path directory;

    private OrganisationsConfig read(String body) throws IOException, OrganisationsException {
        return OrganisationsFile.read(write(body));
    }

    private Path write(String body) throws IOException {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, "<?xml version=\"1.0\"?>\n<organisations>\n" + body + "</organisations>\n", StandardCharsets.UTF_8);
        return file;
    }

    private void assertProblem(String body, int line, String reason) throws IOException {
        Path file = write(body);
        assertThatThrownBy(() -> OrganisationsFile.read(file))
            .isInstanceOf(OrganisationsException.class)
            .hasMessageStartingWith(file + ":" + line + ": ")
            .hasMessageContaining(reason);
    }

    @Test
    void readsRoleAddressesAndRelayDomains() throws Exception {
        OrganisationsConfig config = read(
            "  <organisation id=\"acme\">\n"
                + "    <domain>acme.test</domain>\n"
                + "    <postmaster>Ops@Acme.test</postmaster>\n"
                + "    <abuse>abuse-desk@elsewhere.test</abuse>\n"
                + "    <relayDomain name=\"Corp.Acme.test\" host=\"10.0.0.5\" port=\"2525\"/>\n"
                + "    <relayDomain name=\"lab.acme.test\" host=\"mx.lab.acme.test\"/>\n"
                + "  </organisation>\n");

        Organisation acme = config.byId("acme").orElseThrow();
        assertThat(acme.postmaster()).contains("ops@acme.test");
        assertThat(acme.abuse()).contains("abuse-desk@elsewhere.test");
        assertThat(acme.relayDomains()).containsExactly(new RelayDomain("corp.acme.test", "10.0.0.5", 2525),
            new RelayDomain("lab.acme.test", "mx.lab.acme.test", 25));
        assertThat(config.relayDomain("CORP.acme.test")).contains(Map.entry(acme, new RelayDomain("corp.acme.test", "10.0.0.5", 2525)));
        assertThat(config.relayDomain("acme.test")).isEmpty();
        assertThat(config.answeringFor("lab.acme.test")).contains(acme);
        assertThat(config.answeringFor("acme.test")).contains(acme);
        assertThat(config.answeringFor("other.test")).isEmpty();
        assertThat(new RelayDomain("corp.acme.test", "10.0.0.5", 2525).hostAndPort()).isEqualTo("10.0.0.5:2525");
    }

    @Test
    void withoutThemNothingChanges() throws Exception {
        Organisation acme = read("<organisation id=\"acme\"><domain>acme.test</domain></organisation>\n").byId("acme").orElseThrow();

        assertThat(acme.postmaster()).isEmpty();
        assertThat(acme.abuse()).isEmpty();
        assertThat(acme.relayDomains()).isEmpty();
    }

    @Test
    void anOrganisationMayReceiveForADomainItSendsAs() throws Exception {
        OrganisationsConfig config = read("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<relayDomain name=\"acme.test\" host=\"10.0.0.5\"/></organisation>\n");

        assertThat(config.relayDomain("acme.test")).isPresent();
    }

    @Test
    void aRelayDomainOfAnotherOrganisationsDomainIsRefused() throws Exception {
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain></organisation>\n"
            + "<organisation id=\"beta\"><domain>beta.test</domain>\n"
            + "<relayDomain name=\"acme.test\" host=\"10.0.0.5\"/></organisation>\n", 5, "belongs to organisation 'acme'");
    }

    @Test
    void aDomainThatIsAnotherOrganisationsRelayDomainIsRefused() throws Exception {
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<relayDomain name=\"corp.test\" host=\"10.0.0.5\"/></organisation>\n"
            + "<organisation id=\"beta\">\n<domain>corp.test</domain></organisation>\n", 6, "is a relay domain of organisation 'acme'");
    }

    @Test
    void aRelayDomainDeclaredTwiceIsRefused() throws Exception {
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<relayDomain name=\"corp.test\" host=\"10.0.0.5\"/>\n"
            + "<relayDomain name=\"corp.test\" host=\"10.0.0.6\"/></organisation>\n", 5, "already declared by organisation 'acme' on line 4");
    }

    @Test
    void aRoleAddressThatIsItselfARoleAddressOfTheOrganisationIsRefused() throws Exception {
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<postmaster>postmaster@acme.test</postmaster></organisation>\n", 4, "the mail would loop");
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<abuse>abuse@corp.test</abuse>\n<relayDomain name=\"corp.test\" host=\"10.0.0.5\"/></organisation>\n", 4, "the mail would loop");
    }

    @Test
    void badHostsAndPortsAreRefusedByTheSchema() throws Exception {
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<relayDomain name=\"corp.test\" host=\"::1\"/></organisation>\n", 4, "host");
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<relayDomain name=\"corp.test\" host=\"10.0.0.5\" port=\"70000\"/></organisation>\n", 4, "70000");
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n"
            + "<postmaster>not an address</postmaster></organisation>\n", 4, "not an address");
    }
}
