package io.postino.dkim;

import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A DKIM signing key of a sender domain and what to publish for it in DNS.
 *
 * @param domain the signing domain (d=), lower case
 * @param selector the selector (s=)
 * @param algorithm RSA (rsa-sha256) or Ed25519 (ed25519-sha256, RFC 8463)
 * @param privateKey signs; never leaves the server
 * @param publicKey published in DNS as {@link #txtRecord()} at {@link #dnsName()}
 * @param createdAt when it was generated
 * @param active whether it signs: a new key waits until its TXT record is published and an
 *               administrator activates it
 */
public record DkimKey(String domain, String selector, Algorithm algorithm, PrivateKey privateKey, PublicKey publicKey, Instant createdAt,
                      boolean active) {
    public enum Algorithm {
        RSA("rsa-sha256", "rsa"),
        ED25519("ed25519-sha256", "ed25519");

        private final String signatureAlgorithm;
        private final String keyType;

        Algorithm(String signatureAlgorithm, String keyType) {
            this.signatureAlgorithm = signatureAlgorithm;
            this.keyType = keyType;
        }

        /** The a= tag of signatures made with such a key. */
        public String signatureAlgorithm() {
            return signatureAlgorithm;
        }

        /** The k= tag of its DNS record, and the name used in WebAdmin. */
        public String keyType() {
            return keyType;
        }

        /** @throws IllegalArgumentException for anything but rsa or ed25519 */
        public static Algorithm of(String keyType) {
            for (Algorithm algorithm : values()) {
                if (algorithm.keyType.equals(keyType.toLowerCase(Locale.ROOT))) {
                    return algorithm;
                }
            }
            throw new IllegalArgumentException("algorithm must be rsa or ed25519, got '" + keyType + "'");
        }
    }

    private static final Pattern SELECTOR = Pattern.compile("[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?");

    /** Whether the text can be a selector: one DNS label of lower-case letters, digits and '-'. */
    public static boolean isSelector(String selector) {
        return SELECTOR.matcher(selector).matches();
    }

    /** Where the public key is published: {@code <selector>._domainkey.<domain>}. */
    public String dnsName() {
        return selector + "._domainkey." + domain;
    }

    /**
     * The TXT record to publish (RFC 6376 §3.6.1): {@code v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>},
     * or for Ed25519 (RFC 8463 §4) {@code v=DKIM1; k=ed25519; p=<the 32-byte key>}.
     */
    public String txtRecord() {
        byte[] published = algorithm == Algorithm.ED25519 ? Ed25519DkimProvider.rawPublicKey(publicKey) : publicKey.getEncoded();
        return "v=DKIM1; k=" + algorithm.keyType() + "; p=" + Base64.getEncoder().encodeToString(published);
    }
}
