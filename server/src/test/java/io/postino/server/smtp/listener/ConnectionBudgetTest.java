package io.postino.server.smtp.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ConnectionBudgetTest {
    private final List<Runnable> releases = new ArrayList<>();

    @AfterEach
    void releaseAll() {
        releases.forEach(Runnable::run);
    }

    /** A connection whose progress the test sets. */
    private static final class Place implements ConnectionBudget.Place {
        volatile long lastProgress = System.nanoTime();
        boolean evicted;

        @Override
        public long lastProgress() {
            return lastProgress;
        }

        @Override
        public boolean shielded() {
            return false;
        }

        @Override
        public boolean evicted() {
            return evicted;
        }

        @Override
        public void evict() {
            evicted = true;
        }
    }

    private ConnectionBudget.Refusal admit(ConnectionBudget budget, String address) throws Exception {
        return admit(budget, address, new Place());
    }

    private ConnectionBudget.Refusal admit(ConnectionBudget budget, String address, Place place) throws Exception {
        InetAddress client = InetAddress.getByName(address);
        ConnectionBudget.Refusal refusal = budget.admit(client, place);
        if (refusal == null) {
            releases.add(() -> budget.release(client, place));
        }
        return refusal;
    }

    @Test
    void whenFullANewcomerTakesThePlaceOfTheConnectionStalledLongest() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(4, 0, 10_000, 300);
        long now = System.nanoTime();
        List<Place> places = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Place place = new Place();
            place.lastProgress = now - (i == 2 ? 60 : 6 + i) * 1_000_000_000L;
            places.add(place);
            assertThat(admit(budget, "192.0." + (i + 2) + ".1", place)).isNull();
        }

        assertThat(admit(budget, "192.0.10.1")).isNull();
        assertThat(places).extracting(place -> place.evicted).containsExactly(false, false, true, false);
    }

    @Test
    void noConnectionIsEvictedThatProgressedLately() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(2, 0, 10_000, 300);
        Place recent = new Place();
        Place stalled = new Place();
        stalled.lastProgress = System.nanoTime() - ConnectionBudget.EVICTION_MIN_AGE.toNanos() - 1_000_000_000L;
        assertThat(admit(budget, "192.0.2.1", recent)).isNull();
        assertThat(admit(budget, "192.0.3.1", stalled)).isNull();

        assertThat(admit(budget, "192.0.4.1")).isNull();
        assertThat(stalled.evicted).isTrue();
        assertThat(admit(budget, "192.0.5.1")).as("the only one left progressed lately").isEqualTo(ConnectionBudget.Refusal.LISTENER_FULL);
        assertThat(recent.evicted).isFalse();
    }

    @Test
    void aFloodFromManyAddressesLeavesRoomForANewOne() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(1000, 50, 10_000, 300);
        int refused = 0;
        for (int address = 1; address <= 40; address++) {
            for (int i = 0; i < 25; i++) {
                refused += admit(budget, "198.51.100." + address) == null ? 0 : 1;
            }
        }

        assertThat(refused).isPositive();
        assertThat(budget.connections()).isLessThan(1000);
        assertThat(admit(budget, "203.0.113.1")).isNull();
        assertThat(admit(budget, "203.0.113.2")).isNull();
    }

    @Test
    void aFloodOfOneConnectionFromEachOfManyAddressesLeavesRoomForAnotherNetwork() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(1000, 50, 10_000, 300);
        int admitted = 0;
        for (int address = 0; address < 1000; address++) {
            admitted += admit(budget, "127.1." + (address / 250) + "." + (address % 250 + 1)) == null ? 1 : 0;
        }

        // each network takes at most a third of the places still free: 250 (all its addresses), 250, 166, 111
        assertThat(admitted).isBetween(700, 780);
        assertThat(admit(budget, "127.2.0.1")).isNull();
        assertThat(admit(budget, "2001:db8:1::1")).isNull();
    }

    @Test
    void aNetworkHoldsAtMostHalfTheFreePlaces() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(100, 0, 10_000, 300);
        int admitted = 0;
        for (int address = 1; address <= 100; address++) {
            admitted += admit(budget, "198.51.100." + address) == null ? 1 : 0;
        }
        assertThat(admitted).isEqualTo(33);
        assertThat(admit(budget, "203.0.113.1")).isNull();
    }

    @Test
    void oneAddressCannotPassItsLimit() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(1000, 3, 10_000, 300);
        for (int i = 0; i < 3; i++) {
            assertThat(admit(budget, "192.0.2.7")).isNull();
        }
        assertThat(admit(budget, "192.0.2.7")).isEqualTo(ConnectionBudget.Refusal.ADDRESS_FULL);
        assertThat(admit(budget, "2001:db8:1:1::1")).isNull();
    }

    @Test
    void aFullListenerRefusesEveryone() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(4, 0, 10_000, 300);
        for (int i = 1; i <= 4; i++) {
            assertThat(admit(budget, "192.0." + i + ".1")).isNull();
        }
        assertThat(admit(budget, "192.0.9.1")).isEqualTo(ConnectionBudget.Refusal.LISTENER_FULL);
    }

    @Test
    void theIdleTimeoutShortensAsTheListenerFills() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(100, 0, 10_000, 300);
        assertThat(budget.idleTimeoutSeconds()).isEqualTo(300);
        for (int i = 0; i < 50; i++) {
            admit(budget, "10." + (i + 1) + ".0.1");
        }
        assertThat(budget.idleTimeoutSeconds()).isEqualTo(60);
        for (int i = 50; i < 80; i++) {
            admit(budget, "10." + (i + 1) + ".0.1");
        }
        assertThat(budget.idleTimeoutSeconds()).isEqualTo(10);
    }

    @Test
    void releasingGivesThePlaceBack() throws Exception {
        ConnectionBudget budget = new ConnectionBudget(1, 0, 10_000, 300);
        InetAddress client = InetAddress.getByName("192.0.2.1");
        Place place = new Place();
        assertThat(budget.admit(client, place)).isNull();
        assertThat(admit(budget, "192.0.3.2")).isNotNull();
        budget.release(client, place);
        assertThat(admit(budget, "192.0.3.2")).isNull();
    }

    @Test
    void aProcessThatWouldAdmitNobodyOrANegativeLimitIsRefused() {
        assertThatThrownBy(() -> new ConnectionBudget(1000, 50, 0, 300)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConnectionBudget(-1, 50, 4000, 300)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConnectionBudget(1000, -1, 4000, 300)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theProcessLimitIsReadStrictly() {
        assertThat(ConnectionLimits.processLimit(null)).isEqualTo(4000);
        assertThat(ConnectionLimits.processLimit(" 20 ")).isEqualTo(20);
        assertThatThrownBy(() -> ConnectionLimits.processLimit("-3")).hasMessageContaining("got '-3': no SMTP client could connect");
        assertThatThrownBy(() -> ConnectionLimits.processLimit("many")).hasMessageContaining("got 'many'");
        assertThatThrownBy(() -> ConnectionLimits.processLimit("99999999999")).hasMessageContaining("got '99999999999'");
    }
}
