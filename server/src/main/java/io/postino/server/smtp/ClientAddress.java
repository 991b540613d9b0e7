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
