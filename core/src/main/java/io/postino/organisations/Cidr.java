package io.postino.organisations;

import java.net.InetAddress;
import java.util.Arrays;

import com.google.common.net.InetAddresses;

/**
 * An IPv4 or IPv6 network in CIDR notation ({@code 192.0.2.0/24}, {@code 2001:db8::/32}); a bare
 * address is a network of one. Only literal addresses are accepted: a host name would make the
 * trust decision depend on DNS.
 */
public final class Cidr {
    private final byte[] network;
    private final int prefixLength;
    private final String text;

    private Cidr(byte[] network, int prefixLength, String text) {
        this.network = network;
        this.prefixLength = prefixLength;
        this.text = text;
    }

    /** Whether the text is an IPv4 or IPv6 address, without looking anything up in DNS. */
    public static boolean isAddressLiteral(String text) {
        return InetAddresses.isInetAddress(text);
    }

    /** @throws IllegalArgumentException with a sentence saying what is wrong */
    public static Cidr parse(String text) {
        String trimmed = text.trim();
        int slash = trimmed.indexOf('/');
        String address = slash < 0 ? trimmed : trimmed.substring(0, slash);
        if (!InetAddresses.isInetAddress(address)) {
            throw new IllegalArgumentException("'" + trimmed + "' is not an IP address or a network in CIDR notation (192.0.2.0/24, 2001:db8::/32)");
        }
        byte[] bytes = InetAddresses.forString(address).getAddress();
        int maximum = bytes.length * 8;
        int prefix = maximum;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(trimmed.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > maximum) {
                throw new IllegalArgumentException("'" + trimmed + "' has a prefix length outside 0.." + maximum);
            }
        }
        byte[] masked = mask(bytes, prefix);
        if (!Arrays.equals(masked, bytes)) {
            throw new IllegalArgumentException("'" + trimmed + "' has host bits set; the network is "
                + InetAddresses.toAddrString(addressOf(masked)) + "/" + prefix);
        }
        return new Cidr(masked, prefix, trimmed);
    }

    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length != network.length) {
            byte[] mapped = ipv4Of(bytes);
            if (mapped == null || mapped.length != network.length) {
                return false;
            }
            bytes = mapped;
        }
        return Arrays.equals(mask(bytes, prefixLength), network);
    }

    public boolean overlaps(Cidr other) {
        return contains(addressOf(other.network)) || other.contains(addressOf(network));
    }

    /** An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address it carries. */
    private static byte[] ipv4Of(byte[] bytes) {
        if (bytes.length != 16) {
            return null;
        }
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return null;
            }
        }
        if (bytes[10] != (byte) 0xff || bytes[11] != (byte) 0xff) {
            return null;
        }
        return Arrays.copyOfRange(bytes, 12, 16);
    }

    private static byte[] mask(byte[] bytes, int prefix) {
        byte[] masked = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            int bits = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] = (byte) (bytes[i] & (0xff << (8 - bits)));
        }
        return masked;
    }

    private static InetAddress addressOf(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return text;
    }
}
