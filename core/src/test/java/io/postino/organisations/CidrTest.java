package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;

import org.junit.jupiter.api.Test;

class CidrTest {
    @Test
    void containsAddressesOfItsIpv4Network() throws Exception {
        Cidr network = Cidr.parse("192.0.2.0/24");

        assertThat(network.contains(InetAddress.getByName("192.0.2.77"))).isTrue();
        assertThat(network.contains(InetAddress.getByName("192.0.3.1"))).isFalse();
    }

    @Test
    void bareAddressIsANetworkOfOne() throws Exception {
        Cidr network = Cidr.parse("127.0.0.2");

        assertThat(network.contains(InetAddress.getByName("127.0.0.2"))).isTrue();
        assertThat(network.contains(InetAddress.getByName("127.0.0.3"))).isFalse();
    }

    @Test
    void ipv6NetworksWork() throws Exception {
        Cidr network = Cidr.parse("2001:db8::/32");

        assertThat(network.contains(InetAddress.getByName("2001:db8:1::5"))).isTrue();
        assertThat(network.contains(InetAddress.getByName("2001:db9::1"))).isFalse();
        assertThat(network.contains(InetAddress.getByName("192.0.2.1"))).isFalse();
    }

    @Test
    void ipv4MappedIpv6ClientMatchesItsIpv4Network() throws Exception {
        Cidr network = Cidr.parse("192.0.2.0/24");

        assertThat(network.contains(InetAddress.getByAddress(new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 9})))
            .isTrue();
    }

    @Test
    void zeroPrefixContainsEverythingOfItsFamily() throws Exception {
        assertThat(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("203.0.113.9"))).isTrue();
    }

    @Test
    void detectsOverlap() {
        assertThat(Cidr.parse("10.0.0.0/8").overlaps(Cidr.parse("10.1.2.0/24"))).isTrue();
        assertThat(Cidr.parse("10.1.2.0/24").overlaps(Cidr.parse("10.0.0.0/8"))).isTrue();
        assertThat(Cidr.parse("10.1.2.0/24").overlaps(Cidr.parse("10.1.3.0/24"))).isFalse();
    }

    @Test
    void refusesHostNames() {
        assertThatThrownBy(() -> Cidr.parse("mail.example.com/24"))
            .hasMessageContaining("not an IP address");
    }

    @Test
    void refusesPrefixBeyondTheAddressLength() {
        assertThatThrownBy(() -> Cidr.parse("192.0.2.0/33"))
            .hasMessageContaining("prefix length outside 0..32");
    }

    @Test
    void refusesHostBitsAndNamesTheNetwork() {
        assertThatThrownBy(() -> Cidr.parse("192.0.2.1/24"))
            .hasMessageContaining("the network is 192.0.2.0/24");
    }
}
