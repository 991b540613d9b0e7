package io.postino.server.smtp;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

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

    /**
     * The client, as counted, that an operator means: an IPv4 address (or {@code /32}), an IPv6
     * address in any spelling ({@code 2001:db8::1}, mapped to its /64) or an IPv6 /64 network
     * ({@code 2001:db8::/64}, {@code 2001:0db8:0000:0000::/64}). Only literals are read: no DNS.
     *
     * @return the counting key ({@link #of}), or empty when {@code text} is none of these
     */
    public static Optional<String> parse(String text) {
        String value = text.trim();
        String prefix = null;
        int slash = value.indexOf('/');
        if (slash >= 0) {
            prefix = value.substring(slash + 1);
            value = value.substring(0, slash);
        }
        if (value.contains(":")) {
            if (!value.matches("[0-9A-Fa-f:.]+") || (prefix != null && !prefix.equals("64") && !prefix.equals("128"))) {
                return Optional.empty();
            }
            try {
                // In brackets, InetAddress reads a literal or fails: it never asks DNS.
                InetAddress address = InetAddress.getByName("[" + value + "]");
                // An IPv4-mapped address (::ffff:192.0.2.7) is read as the IPv4 address, as a connection's is.
                return Optional.of(of(address));
            } catch (UnknownHostException | IllegalArgumentException e) {
                return Optional.empty();
            }
        }
        if (!value.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || (prefix != null && !prefix.equals("32"))) {
            return Optional.empty();
        }
        byte[] octets = new byte[4];
        String[] parts = value.split("\\.");
        for (int i = 0; i < 4; i++) {
            int octet = Integer.parseInt(parts[i]);
            if (octet > 255) {
                return Optional.empty();
            }
            octets[i] = (byte) octet;
        }
        try {
            return Optional.of(of(InetAddress.getByAddress(octets)));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
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
