package io.postino.server.pacing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;

import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.Pacing;

class DestinationLanesTest {
    private static final Duration BUSY = Duration.ofMillis(250);
    private final AtomicReference<OrganisationsConfig> config = new AtomicReference<>(new OrganisationsConfig(List.of(), List.of(),
        List.of(new Pacing("slow.test", OptionalInt.of(2), OptionalInt.of(60)), new Pacing("busy.test", OptionalInt.of(2), OptionalInt.empty()))));
    private final DestinationLanes lanes = new DestinationLanes(config::get, BUSY);

    private static Mail mailTo(String... recipients) throws Exception {
        return FakeMail.builder().name("m").recipients(recipients).build();
    }

    @Test
    void domainsWithoutARuleAreNotPaced() throws Exception {
        for (int i = 0; i < 100; i++) {
            assertThat(lanes.admit(mailTo("a@fast.test"), Instant.now()).admitted()).isTrue();
        }
    }

    @Test
    void atMostTheAllowedConnectionsAreInFlight() throws Exception {
        Instant now = Instant.now();
        DestinationLanes.Admission first = lanes.admit(mailTo("a@busy.test"), now);
        DestinationLanes.Admission second = lanes.admit(mailTo("b@busy.test"), now);
        DestinationLanes.Admission third = lanes.admit(mailTo("c@busy.test"), now);

        assertThat(first.admitted()).isTrue();
        assertThat(second.admitted()).isTrue();
        assertThat(third.admitted()).isFalse();
        assertThat(third.delay()).isEqualTo(BUSY);
        assertThat(lanes.inFlight("busy.test")).isEqualTo(2);

        first.release();
        assertThat(lanes.inFlight("busy.test")).isEqualTo(1);
        assertThat(lanes.admit(mailTo("c@busy.test"), now).admitted()).isTrue();
    }

    @Test
    void noMoreMailsWaitInMemoryForABusyDestinationThanItHasConnections() throws Exception {
        Instant now = Instant.now();
        lanes.admit(mailTo("a@busy.test"), now);
        lanes.admit(mailTo("b@busy.test"), now);
        DestinationLanes.Admission firstWaiter = lanes.admit(mailTo("c@busy.test"), now);
        DestinationLanes.Admission secondWaiter = lanes.admit(mailTo("d@busy.test"), now);

        DestinationLanes.Admission third = lanes.admit(mailTo("e@busy.test"), now);

        assertThat(firstWaiter.inMemory()).isTrue();
        assertThat(secondWaiter.inMemory()).isTrue();
        assertThat(third.inMemory()).isFalse();
        assertThat(third.delay()).isEqualTo(DestinationLanes.BUSY_REQUEUE);
        firstWaiter.stopWaiting();
        assertThat(lanes.admit(mailTo("f@busy.test"), now).inMemory()).isTrue();
    }

    @Test
    void aLongWaitGoesBackToTheQueueToReturnBeforeItsSlot() throws Exception {
        Instant now = Instant.now();
        DestinationLanes.Admission last = null;
        for (int i = 0; i < 15; i++) {
            last = lanes.admit(mailTo("m" + i + "@slow.test"), now);
        }

        assertThat(last.inMemory()).isFalse();
        assertThat(last.delay()).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(3));
    }

    @Test
    void aMailForSeveralDomainsNeedsRoomInEachAndHoldsNothingWhenRefused() throws Exception {
        Instant now = Instant.now();
        lanes.admit(mailTo("a@busy.test"), now);
        lanes.admit(mailTo("b@busy.test"), now);

        DestinationLanes.Admission both = lanes.admit(mailTo("x@fast.test", "y@busy.test"), now);

        assertThat(both.admitted()).isFalse();
        assertThat(lanes.inFlight("fast.test")).isZero();
    }

    @Test
    void slotsAreReservedInOrderAndSpacedEvenly() throws Exception {
        Instant now = Instant.now();
        DestinationLanes.Admission first = lanes.admit(mailTo("a@slow.test"), now);
        first.release();
        Mail second = mailTo("b@slow.test");
        Mail third = mailTo("c@slow.test");

        Duration secondWait = lanes.admit(second, now).delay();
        Duration thirdWait = lanes.admit(third, now).delay();

        assertThat(first.admitted()).isTrue();
        assertThat(secondWait).isBetween(Duration.ofMillis(900), Duration.ofMillis(1000));
        assertThat(thirdWait).isBetween(Duration.ofMillis(1900), Duration.ofMillis(2000));
        assertThat(lanes.inFlight("slow.test")).isZero();
    }

    @Test
    void aMailWhoseSlotHasComeIsAdmittedWithoutTakingAnotherSlot() throws Exception {
        Instant now = Instant.now();
        lanes.admit(mailTo("a@slow.test"), now).release();
        Mail waiting = mailTo("b@slow.test");
        Duration wait = lanes.admit(waiting, now).delay();

        DestinationLanes.Admission later = lanes.admit(waiting, now.plus(wait));

        assertThat(later.admitted()).isTrue();
        assertThat(waiting.getAttribute(DestinationLanes.SLOT)).isEmpty();
    }

    @Test
    void aMailBackLongAfterItsSlotTakesANewOne() throws Exception {
        Instant now = Instant.now();
        lanes.admit(mailTo("a@slow.test"), now).release();
        Mail late = mailTo("b@slow.test");
        Mail next = mailTo("c@slow.test");
        Duration lateWait = lanes.admit(late, now).delay();
        lanes.admit(next, now);

        DestinationLanes.Admission back = lanes.admit(late, now.plus(lateWait).plusSeconds(5));

        assertThat(back.admitted()).isFalse();
        assertThat(back.delay()).isPositive();
    }

    @Test
    void aReloadKeepsCountingTheDeliveriesInProgress() throws Exception {
        Instant now = Instant.now();
        lanes.admit(mailTo("a@busy.test"), now);
        config.set(new OrganisationsConfig(List.of(), List.of(), List.of(new Pacing("busy.test", OptionalInt.of(1), OptionalInt.empty()))));

        assertThat(lanes.admit(mailTo("b@busy.test"), now).admitted()).isFalse();
    }

    @Test
    void idleDomainsAreForgottenButNotThoseInFlight() throws Exception {
        Instant now = Instant.now();
        lanes.admit(mailTo("a@slow.test"), now);
        lanes.admit(mailTo("a@fast.test"), now).release();

        lanes.forgetIdle(now.plus(Duration.ofHours(1)));

        assertThat(lanes.inFlight("slow.test")).isEqualTo(1);
        assertThat(lanes.inFlight("fast.test")).isZero();
    }
}
