package io.postino.dkim;

import java.util.List;

/** DKIM keys of the sender domains, per domain and selector. */
public interface DkimKeys {
    /**
     * The keys mail of this From: domain is signed with: the newest active one of each algorithm,
     * so a domain with an RSA and an Ed25519 key gets both signatures (dual signing, RFC 8463 §1).
     */
    List<DkimKey> signingKeys(String domain);

    /** Every key of the domain, newest first. */
    List<DkimKey> keys(String domain);

    /**
     * Generates and stores a new key pair, inactive: it signs once {@link #activate activated},
     * after its TXT record is published.
     *
     * @param bits RSA key size; ignored for Ed25519
     * @throws IllegalArgumentException when the selector is already used for the domain, or not a DNS label
     */
    DkimKey generate(String domain, String selector, DkimKey.Algorithm algorithm, int bits);

    /** Makes the key sign from now on. @return false when the domain has no key with that selector */
    boolean activate(String domain, String selector);

    /** @return false when the domain had no key with that selector */
    boolean delete(String domain, String selector);
}
