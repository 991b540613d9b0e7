package io.postino.dkim;

import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Base64;

/**
 * A DKIM signing key of a sender domain and what to publish for it in DNS.
 *
 * @param domain the signing domain (d=), lower case
 * @param selector the selector (s=)
 * @param privateKey signs; never leaves the server
 * @param publicKey published in DNS as {@link #txtRecord()} at {@link #dnsName()}
 * @param createdAt when it was generated
 */
public record DkimKey(String domain, String selector, PrivateKey privateKey, PublicKey publicKey, Instant createdAt) {
    /** The signature algorithm, as in the a= tag. */
    public String algorithm() {
        return "rsa-sha256";
    }

    /** Where the public key is published: {@code <selector>._domainkey.<domain>}. */
    public String dnsName() {
        return selector + "._domainkey." + domain;
    }

    /** The TXT record to publish (RFC 6376 §3.6.1): {@code v=DKIM1; k=rsa; p=<public key>}. */
    public String txtRecord() {
        return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(publicKey.getEncoded());
    }
}
