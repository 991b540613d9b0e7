package io.postino.dkim;

import java.util.List;
import java.util.Optional;

/** DKIM keys of the sender domains, per domain and selector. */
public interface DkimKeys {
    /** The key mail of this From: domain is signed with: the newest one. */
    Optional<DkimKey> signingKey(String domain);

    /** Every key of the domain, newest first. */
    List<DkimKey> keys(String domain);

    /**
     * Generates and stores a new RSA key pair; it signs from now on.
     *
     * @throws IllegalArgumentException when the selector is already used for the domain, or not a DNS label
     */
    DkimKey generate(String domain, String selector, int bits);

    /** @return false when the domain had no key with that selector */
    boolean delete(String domain, String selector);
}
