package io.postino.it;

import java.net.SocketException;

import io.postino.testing.TestDns;

/**
 * The DNS server every Postino process of the tests asks (POSTINO_DNS_SERVERS): every name has an
 * A record (127.0.0.1) and no MX, so any recipient domain passes Postino's outbound DNS check
 * without leaving the machine. Tests of the DNS cases start a TestDns of their own.
 */
final class SharedDns {
    private static TestDns dns;

    private SharedDns() {
    }

    static synchronized String address() {
        if (dns == null) {
            try {
                dns = TestDns.start().answerEveryName("127.0.0.1");
            } catch (SocketException e) {
                throw new IllegalStateException("Cannot start the test DNS server", e);
            }
        }
        return dns.address();
    }
}
