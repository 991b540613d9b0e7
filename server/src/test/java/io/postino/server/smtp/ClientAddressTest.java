package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;

import org.junit.jupiter.api.Test;

class ClientAddressTest {
    @Test
    void anIpv6AddressInAnySpellingIsCountedInItsSlash64() throws Exception {
        String counted = ClientAddress.of(InetAddress.getByName("2001:db8::1"));
        assertThat(counted).isEqualTo("2001:0db8:0000:0000::/64");
        for (String spelling : List.of("2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:db8::abcd:1", "2001:db8::/64", " 2001:db8::1 ",
            "2001:0db8:0000:0000::/64", "2001:db8::1/128")) {
            assertThat(ClientAddress.parse(spelling)).as(spelling).hasValue(counted);
        }
    }

    @Test
    void anIpv4AddressIsItself() {
        assertThat(ClientAddress.parse("203.0.113.7")).hasValue("203.0.113.7");
        assertThat(ClientAddress.parse("203.0.113.7/32")).hasValue("203.0.113.7");
        assertThat(ClientAddress.parse("::ffff:203.0.113.7")).hasValue("203.0.113.7");
    }

    @Test
    void anythingElseIsNoClient() {
        for (String text : List.of("mx.example.com", "localhost", "2001:db8::/48", "203.0.113.0/24", "256.1.1.1", "1.2.3", "2001:db8:::1",
            "2001:db8::g", "", "fe80::1%eth0")) {
            assertThat(ClientAddress.parse(text)).as(text).isEmpty();
        }
    }
}
