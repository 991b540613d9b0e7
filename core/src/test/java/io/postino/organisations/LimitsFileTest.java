package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LimitsFileTest {
    private static final String FILE = "<?xml version=\"1.0\"?>\n"
        + "<organisations>\n"
        + "  <limits>\n"
        + "    <user per=\"minute\" messages=\"30\" recipients=\"300\"/>\n"
        + "    <user per=\"day\" messages=\"2000\"/>\n"
        + "    <organisation per=\"hour\" messages=\"10000\"/>\n"
        + "    <client per=\"minute\" messages=\"20\"/>\n"
        + "    <quota recipients=\"100000\"/>\n"
        + "  </limits>\n"
        + "  <destinations>\n"
        + "    <destination domain=\"*\" connections=\"20\"/>\n"
        + "    <destination domain=\"Gmail.com\" connections=\"5\" messagesPerMinute=\"300\"/>\n"
        + "  </destinations>\n"
        + "  <organisation id=\"acme\">\n"
        + "    <domain>acme.test</domain>\n"
        + "    <limits>\n"
        + "      <organisation per=\"hour\" messages=\"500\"/>\n"
        + "      <quota recipients=\"5000\"/>\n"
        + "      <user per=\"minute\" messages=\"10\"/>\n"
        + "      <user login=\"alice@acme.test\" per=\"minute\" messages=\"100\"/>\n"
        + "    </limits>\n"
        + "  </organisation>\n"
        + "  <organisation id=\"beta\">\n"
        + "    <domain>beta.test</domain>\n"
        + "  </organisation>\n"
        + "</organisations>\n";

    @TempDir
    Path directory;

    private OrganisationsConfig read(String xml) throws Exception {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, xml, StandardCharsets.UTF_8);
        return OrganisationsFile.read(file);
    }

    private static Limit limit(Limit.Scope scope, Limit.Period period, Limit.Unit unit, long amount) {
        return new Limit(scope, period, unit, amount);
    }

    @Test
    void userLimitsLayerDefaultsOrganisationAndLogin() throws Exception {
        OrganisationsConfig config = read(FILE);
        Organisation acme = config.byId("acme").orElseThrow();

        assertThat(config.limitsOfUser(acme, "alice@acme.test")).containsExactlyInAnyOrder(
            limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 100),
            limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.RECIPIENTS, 300),
            limit(Limit.Scope.USER, Limit.Period.DAY, Limit.Unit.MESSAGES, 2000));
        assertThat(config.limitsOfUser(acme, "bob@acme.test")).contains(limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 10));
        assertThat(config.limitsOfUser(config.byId("beta").orElseThrow(), "carol@beta.test"))
            .contains(limit(Limit.Scope.USER, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 30));
    }

    @Test
    void organisationLimitsReplaceTheDefaultsOfTheSamePeriodAndUnit() throws Exception {
        OrganisationsConfig config = read(FILE);

        assertThat(config.limitsOfOrganisation(config.byId("acme").orElseThrow())).containsExactlyInAnyOrder(
            limit(Limit.Scope.ORGANISATION, Limit.Period.HOUR, Limit.Unit.MESSAGES, 500),
            limit(Limit.Scope.ORGANISATION, Limit.Period.QUOTA_DAY, Limit.Unit.RECIPIENTS, 5000));
        assertThat(config.limitsOfOrganisation(config.byId("beta").orElseThrow())).containsExactlyInAnyOrder(
            limit(Limit.Scope.ORGANISATION, Limit.Period.HOUR, Limit.Unit.MESSAGES, 10000),
            limit(Limit.Scope.ORGANISATION, Limit.Period.QUOTA_DAY, Limit.Unit.RECIPIENTS, 100000));
        assertThat(config.limitsOfClient()).containsExactly(limit(Limit.Scope.CLIENT, Limit.Period.MINUTE, Limit.Unit.MESSAGES, 20));
    }

    @Test
    void destinationRulesFallBackToTheStarRule() throws Exception {
        OrganisationsConfig config = read(FILE);

        assertThat(config.pacingFor("GMAIL.com")).isEqualTo(new Pacing("gmail.com", OptionalInt.of(5), OptionalInt.of(300)));
        assertThat(config.pacingFor("example.net")).isEqualTo(new Pacing("*", OptionalInt.of(20), OptionalInt.empty()));
        assertThat(read("<organisations/>").pacingFor("example.net")).isEqualTo(Pacing.UNLIMITED);
    }

    @Test
    void limitsAreOptional() throws Exception {
        OrganisationsConfig config = read("<organisations><organisation id=\"a\"><domain>a.test</domain></organisation></organisations>");

        assertThat(config.limitsOfUser(config.byId("a").orElseThrow(), "x@a.test")).isEmpty();
        assertThat(config.limitsOfClient()).isEmpty();
    }

    private void assertProblem(String xml, String message) throws IOException {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, xml, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> OrganisationsFile.read(file)).isInstanceOf(OrganisationsException.class).hasMessageContaining(message);
    }

    @Test
    void aRateNeedsMessagesOrRecipients() throws Exception {
        assertProblem("<organisations>\n<limits>\n<user per=\"minute\"/></limits></organisations>",
            "organisations.xml:3: <user per=\"minute\"> needs messages or recipients");
    }

    @Test
    void theSameLimitTwiceIsRefused() throws Exception {
        assertProblem("<organisations><limits>\n<user per=\"minute\" messages=\"1\"/>\n<user per=\"minute\" recipients=\"5\"/></limits></organisations>",
            "organisations.xml:3: <user per=\"minute\"> is already given on line 2");
    }

    @Test
    void aLoginOutsideTheOrganisationIsRefused() throws Exception {
        assertProblem("<organisations><organisation id=\"a\"><domain>a.test</domain><limits>\n"
            + "<user login=\"x@b.test\" per=\"minute\" messages=\"1\"/></limits></organisation></organisations>",
            "organisations.xml:2: limits of user 'x@b.test' are not in organisation 'a'");
    }

    @Test
    void unknownPeriodIsRefused() throws Exception {
        assertProblem("<organisations><limits>\n<user per=\"week\" messages=\"1\"/></limits></organisations>", "organisations.xml:2: ");
    }

    @Test
    void clientLimitsBelongInTheDefaultsOnly() throws Exception {
        assertProblem("<organisations><organisation id=\"a\"><domain>a.test</domain><limits>\n"
            + "<client per=\"minute\" messages=\"1\"/></limits></organisation></organisations>", "organisations.xml:2: ");
    }

    @Test
    void aDestinationNeedsAPace() throws Exception {
        assertProblem("<organisations><destinations>\n<destination domain=\"gmail.com\"/></destinations></organisations>",
            "organisations.xml:2: destination 'gmail.com' needs connections or messagesPerMinute");
    }

    @Test
    void aDestinationTwiceIsRefused() throws Exception {
        assertProblem("<organisations><destinations>\n<destination domain=\"gmail.com\" connections=\"1\"/>\n"
            + "<destination domain=\"GMAIL.COM\" connections=\"2\"/></destinations></organisations>",
            "organisations.xml:3: destination 'gmail.com' is already defined on line 2");
    }

    @Test
    void zeroIsNotALimit() throws Exception {
        assertProblem("<organisations><limits>\n<user per=\"minute\" messages=\"0\"/></limits></organisations>", "organisations.xml:2: ");
    }
}
