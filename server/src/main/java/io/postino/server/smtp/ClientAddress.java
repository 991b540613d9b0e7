package io.postino.server.smtp;

import java.net.InetAddress;

/**
 * The unit Postino counts an SMTP client by: an IPv4 address, or the /64 network of an IPv6
 * address (the smallest network one subscriber usually gets, so rotating addresses inside it
 * gains nothing).
 */
public final class ClientAddress {
    private ClientAddress() {
    }

    /**
     * The network a client's address belongs to, for a share of its own: an IPv4 /24 or an IPv6
     * /48 (one site), so that an attacker with many addresses in one network counts as one.
     */
    public static String networkOf(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length == 4) {
            return (bytes[0] & 0xff) + "." + (bytes[1] & 0xff) + "." + (bytes[2] & 0xff) + ".0/24";
        }
        return String.format("%02x%02x:%02x%02x:%02x%02x::/48", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
    }

    public static String of(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length == 4) {
            return address.getHostAddress();
        }
        StringBuilder network = new StringBuilder();
        for (int i = 0; i < 8; i += 2) {
            network.append(String.format("%02x%02x:", bytes[i], bytes[i + 1]));
        }
        return network.append(":/64").toString();
    }
}
