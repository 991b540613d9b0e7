package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Routes in organisations.xml and the organisations' choice of them. */
class RoutesFileTest {
    @TempDir
    Path directory;

    private Path write(String body) throws IOException {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, "<?xml version=\"1.0\"?>\n<organisations>\n" + body + "</organisations>\n", StandardCharsets.UTF_8);
        return file;
    }

    private void assertProblem(String body, int line, String reason) throws IOException {
        Path file = write(body);
        assertThatThrownBy(() -> OrganisationsFile.read(file, address -> true))
            .isInstanceOf(OrganisationsException.class)
            .hasMessageStartingWith(file + ":" + line + ": ")
            .hasMessageContaining(reason);
    }

    @Test
    void readsRoutesAndWhichOrganisationTakesWhich() throws Exception {
        OrganisationsConfig config = OrganisationsFile.read(write("<routes>\n"
            + "<route name=\"direct\" kind=\"mx\" tls=\"required\"><source address=\"192.0.2.10\" helo=\"MTA1.example.com\"/>"
            + "<source address=\"2001:db8::10\" helo=\"mta2.example.com\"/></route>\n"
            + "<route name=\"relay\" kind=\"smarthost\" host=\"smtp.example.net\" port=\"465\" tls=\"implicit\" username=\"u\" password=\"p w\"/>\n"
            + "</routes>\n"
            + "<organisation id=\"acme\"><domain>acme.test</domain><routing route=\"relay\">"
            + "<override domain=\"Gmail.com\" route=\"direct\"/></routing><dkim required=\"true\"/></organisation>\n"
            + "<organisation id=\"beta\"><domain>beta.test</domain></organisation>\n"), address -> true);

        Route direct = config.route("direct").orElseThrow();
        assertThat(direct).isEqualTo(new Route("direct", Route.Kind.MX, Optional.empty(), 0, Route.Tls.REQUIRED, Optional.empty(), Optional.empty(),
            List.of(new Route.Source("192.0.2.10", "mta1.example.com"), new Route.Source("2001:db8::10", "mta2.example.com"))));
        assertThat(config.route("relay").orElseThrow()).isEqualTo(new Route("relay", Route.Kind.SMARTHOST, Optional.of("smtp.example.net"), 465,
            Route.Tls.IMPLICIT, Optional.of("u"), Optional.of("p w"), List.of()));
        Organisation acme = config.byId("acme").orElseThrow();
        assertThat(acme.routeOverrides()).isEqualTo(Map.of("gmail.com", "direct"));
        assertThat(acme.dkimRequired()).isTrue();
        assertThat(config.routeFor(acme, "GMAIL.com")).contains(direct);
        assertThat(config.routeFor(acme, "example.org").map(Route::name)).contains("relay");
        Organisation beta = config.byId("beta").orElseThrow();
        assertThat(config.routeFor(beta, "example.org")).isEmpty();
        assertThat(beta.dkimRequired()).isFalse();
    }

    @Test
    void overridesWithoutADefaultRouteKeepTheServersDefaultElsewhere() throws Exception {
        OrganisationsConfig config = OrganisationsFile.read(write("<routes><route name=\"direct\" kind=\"mx\"/></routes>\n"
            + "<organisation id=\"acme\"><domain>acme.test</domain><routing><override domain=\"gmail.com\" route=\"direct\"/></routing></organisation>\n"));

        Organisation acme = config.byId("acme").orElseThrow();
        assertThat(config.routeFor(acme, "gmail.com").map(Route::name)).contains("direct");
        assertThat(config.routeFor(acme, "example.org")).isEmpty();
        assertThat(config.route("direct").orElseThrow().tls()).isEqualTo(Route.Tls.OPPORTUNISTIC);
    }

    @Test
    void aSourceAddressMustBeOneOfThisMachine() throws Exception {
        Path file = write("<routes>\n<route name=\"r\" kind=\"mx\">\n<source address=\"127.0.0.7\" helo=\"a.example\"/>\n"
            + "<source address=\"192.0.2.10\" helo=\"b.example\"/></route>\n</routes>\n");

        assertThatThrownBy(() -> OrganisationsFile.read(file))
            .hasMessageStartingWith(file + ":6: ")
            .hasMessageContaining("source address 192.0.2.10 is not an address of this machine");
    }

    @Test
    void unknownRoutesAreRefusedWithTheirLine() throws Exception {
        assertProblem("<routes><route name=\"direct\" kind=\"mx\"/></routes>\n"
            + "<organisation id=\"acme\"><domain>acme.test</domain>\n<routing route=\"relay\"/></organisation>\n", 5,
            "route 'relay' is not defined in <routes> (routes: direct)");
        assertProblem("<organisation id=\"acme\"><domain>acme.test</domain>\n<routing><override domain=\"x.test\" route=\"relay\"/></routing></organisation>\n",
            4, "route 'relay' is not defined in <routes> (there is none)");
    }

    @Test
    void inconsistentRoutesAreRefused() throws Exception {
        assertProblem("<routes>\n<route name=\"r\" kind=\"mx\"/>\n<route name=\"r\" kind=\"mx\"/>\n</routes>\n", 5, "route 'r' is already defined on line 4");
        assertProblem("<routes>\n<route name=\"r\" kind=\"smarthost\"/>\n</routes>\n", 4, "needs host");
        assertProblem("<routes>\n<route name=\"r\" kind=\"mx\" host=\"smtp.example.net\"/>\n</routes>\n", 4, "belong to smarthost routes");
        assertProblem("<routes>\n<route name=\"r\" kind=\"mx\" tls=\"implicit\"/>\n</routes>\n", 4, "MX hosts speak STARTTLS");
        assertProblem("<routes>\n<route name=\"r\" kind=\"smarthost\" host=\"h.example\" username=\"u\"/>\n</routes>\n", 4, "both username and password");
        assertProblem("<routes>\n<route name=\"r\" kind=\"smarthost\" host=\"h.example\" username=\"u\" password=\"p\"/>\n</routes>\n", 4,
            "needs tls=\"required\" or tls=\"implicit\"");
        assertProblem("<routes>\n<route name=\"r\" kind=\"mx\">\n<source address=\"mta.example.com\" helo=\"mta.example.com\"/></route>\n</routes>\n", 5,
            "must be an IPv4 or IPv6 address");
        assertProblem("<routes><route name=\"r\" kind=\"mx\"/></routes>\n<organisation id=\"acme\"><domain>acme.test</domain><routing>\n"
            + "<override domain=\"x.test\" route=\"r\"/>\n<override domain=\"X.test\" route=\"r\"/></routing></organisation>\n", 6,
            "destination 'x.test' already has a route on line 5");
    }
}
