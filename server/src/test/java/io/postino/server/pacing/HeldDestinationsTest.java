package io.postino.server.pacing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.OrganisationsFile;
import io.postino.organisations.PostinoAttributes;

/** Recipient domains and routes on hold, and the mail they keep waiting. */
class HeldDestinationsTest {
    @TempDir
    Path directory;

    private OrganisationsConfig config() throws Exception {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, "<?xml version=\"1.0\"?>\n<organisations>\n<routes>\n"
            + "<route name=\"eu\" kind=\"smarthost\" host=\"relay.example.eu\" port=\"25\" tls=\"none\"/>\n"
            + "</routes>\n"
            + "<organisation id=\"acme\"><domain>acme.test</domain><routing><override domain=\"routed.example\" route=\"eu\"/></routing></organisation>\n"
            + "<organisation id=\"beta\"><domain>beta.test</domain></organisation>\n"
            + "</organisations>\n", StandardCharsets.UTF_8);
        return OrganisationsFile.read(file, address -> true);
    }

    private static Mail mail(String organisation, String... recipients) throws Exception {
        return FakeMail.builder().name("m").recipients(recipients)
            .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation))).build();
    }

    @Test
    void aMailWithOneRecipientInAHeldDomainIsHeldWhole() throws Exception {
        HeldDestinations holds = HeldDestinations.inMemory();
        holds.holdDomain("Example.NET");

        assertThat(holds.holds(mail("beta", "a@example.net"), config())).isTrue();
        assertThat(holds.holds(mail("beta", "a@free.test", "b@example.net"), config())).as("whole mails wait").isTrue();
        assertThat(holds.holds(mail("beta", "a@free.test"), config())).isFalse();
        assertThat(holds.domains()).containsExactly("example.net");
    }

    @Test
    void aHeldRouteHoldsTheDomainsItsOrganisationSendsByIt() throws Exception {
        HeldDestinations holds = HeldDestinations.inMemory();
        holds.holdRoute("eu");

        assertThat(holds.holds(mail("acme", "a@routed.example"), config())).isTrue();
        assertThat(holds.holds(mail("acme", "a@elsewhere.example"), config())).as("acme's other domains go direct").isFalse();
        assertThat(holds.holds(mail("beta", "a@routed.example"), config())).as("beta has no <routing>").isFalse();
    }

    @Test
    void releasingForgetsTheHoldAndTellsTheListeners() throws Exception {
        HeldDestinations holds = HeldDestinations.inMemory();
        AtomicInteger released = new AtomicInteger();
        holds.onRelease(released::incrementAndGet);
        holds.holdDomain("example.net");

        assertThat(holds.releaseDomain("example.net")).isTrue();
        assertThat(holds.releaseDomain("example.net")).as("not held any more").isFalse();
        assertThat(holds.releaseRoute("eu")).isFalse();
        assertThat(released).hasValue(1);
        assertThat(holds.holds(mail("beta", "a@example.net"), config())).isFalse();
    }

    @Test
    void holdsSurviveBeingReadAgain() throws Exception {
        Path file = directory.resolve("store/held-destinations.txt");
        HeldDestinations holds = HeldDestinations.keptIn(file);
        holds.holdDomain("example.net");
        holds.holdRoute("eu");
        holds.holdDomain("other.example");
        holds.releaseDomain("other.example");

        assertThat(Files.readString(file)).isEqualTo("domain example.net\nroute eu\n");
        HeldDestinations again = HeldDestinations.keptIn(file);
        assertThat(again.domains()).containsExactly("example.net");
        assertThat(again.routes()).containsExactly("eu");
    }

    @Test
    void aLineOfAnotherFormIsRefusedNamingTheFileAndLine() throws Exception {
        Path file = directory.resolve("held-destinations.txt");
        Files.writeString(file, "domain example.net\n\nqueue outgoing\n");

        assertThatThrownBy(() -> HeldDestinations.keptIn(file)).isInstanceOf(IOException.class)
            .hasMessage(file + " line 3: 'queue outgoing' is neither 'domain <name>' nor 'route <name>'");
    }

    @Test
    void aMailToAHeldDomainGoesBackToTheQueueWithoutTakingAConnection() throws Exception {
        OrganisationsConfig config = config();
        HeldDestinations holds = HeldDestinations.inMemory();
        DestinationLanes lanes = new DestinationLanes(() -> config, Duration.ofMillis(250), holds);
        holds.holdDomain("example.net");

        DestinationLanes.Admission held = lanes.admit(mail("beta", "a@example.net", "b@free.test"), Instant.now());
        assertThat(held.admitted()).isFalse();
        assertThat(held.held()).isTrue();
        assertThat(held.inMemory()).as("back in the queue, not taking an admission place").isFalse();
        assertThat(held.delay()).isEqualTo(DestinationLanes.HELD_RECHECK);
        assertThat(lanes.inFlight("free.test")).isZero();

        DestinationLanes.Admission free = lanes.admit(mail("beta", "a@free.test"), Instant.now());
        assertThat(free.admitted()).isTrue();
        assertThat(free.held()).isFalse();

        holds.releaseDomain("example.net");
        assertThat(lanes.admit(mail("beta", "a@example.net", "b@free.test"), Instant.now()).admitted()).isTrue();
    }

    @Test
    void aMailPutBackForAHoldIsRememberedUntilItComesBack() {
        HeldDestinations holds = HeldDestinations.inMemory();
        holds.waiting("mail-1");

        assertThat(holds.stopWaiting("mail-2")).isFalse();
        assertThat(holds.stopWaiting("mail-1")).isTrue();
        assertThat(holds.stopWaiting("mail-1")).isFalse();
        assertThat(holds.waitingCount()).isZero();
    }
}
