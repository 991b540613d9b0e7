package io.postino.dkim;

import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * RSA signatures of DKIM by BoringSSL (Google's Conscrypt), where it loads: a 2048-bit signature
 * takes about 470 µs there against 740 µs in the JDK's BigInteger arithmetic, and the signature is
 * the biggest single cost of relaying a mail (a quarter of the CPU in a steady-state profile).
 * PKCS #1 v1.5 is deterministic, so the signatures are the same octets either way.
 *
 * <p>Only DKIM keys go there. jDKIM asks the JCA for {@code SHA256withRSA} by name; the provider
 * installed here offers it first in line but only for Conscrypt's own keys ({@code
 * SupportedKeyClasses}), which only {@link #signingKey} makes. Every other RSA signature of the
 * process (TLS handshakes, anything a library signs or verifies) is not for such a key and goes to
 * the JDK as before. Where Conscrypt's native library cannot load (another platform), keys stay
 * as they are and the JDK signs; one INFO line says so.</p>
 */
public final class NativeRsa {
    private static final Logger LOGGER = LoggerFactory.getLogger(NativeRsa.class);
    private static final String NAME = "PostinoDkimRsa";
    private static final String KEY_CLASS = "org.conscrypt.OpenSSLKeyHolder";
    private static final Optional<Provider> CONSCRYPT = load();
    /** The native form of each key signed with, made once per key (identity, not equality: weak keys). */
    private static final Cache<PrivateKey, PrivateKey> NATIVE = Caffeine.newBuilder().weakKeys().build();

    private NativeRsa() {
    }

    private static Optional<Provider> load() {
        try {
            Provider conscrypt = (Provider) Class.forName("org.conscrypt.OpenSSLProvider").getDeclaredConstructor().newInstance();
            // A first signature proves the native library works here before anything relies on it.
            java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA", conscrypt);
            generator.initialize(1024);
            java.security.Signature probe = java.security.Signature.getInstance("SHA256withRSA", conscrypt);
            probe.initSign(generator.generateKeyPair().getPrivate());
            probe.update(new byte[1]);
            probe.sign();
            return Optional.of(conscrypt);
        } catch (Throwable e) {
            LOGGER.info("DKIM RSA signatures are made by the JDK: Conscrypt (BoringSSL) is not usable here ({})", e.toString());
            return Optional.empty();
        }
    }

    /** Whether RSA signatures of {@link #signingKey} keys are made by BoringSSL. */
    public static boolean available() {
        return CONSCRYPT.isPresent();
    }

    /** The provider of {@code SHA256withRSA} and {@code SHA1withRSA} for Conscrypt's keys, first in line; once. */
    public static synchronized void install() {
        if (CONSCRYPT.isEmpty() || Security.getProvider(NAME) != null) {
            return;
        }
        Provider provider = new Provider(NAME, "1.0", "RSA signatures of DKIM keys by Conscrypt (BoringSSL)") {
            private static final long serialVersionUID = 1L;
        };
        for (String[] service : new String[][] {{"SHA256withRSA", "SHA256RSA"}, {"SHA1withRSA", "SHA1RSA"}}) {
            provider.put("Signature." + service[0], "org.conscrypt.OpenSSLSignature$" + service[1]);
            provider.put("Signature." + service[0] + " SupportedKeyClasses", KEY_CLASS);
        }
        Security.insertProviderAt(provider, 1);
    }

    /**
     * The key to sign with: the native form of an RSA key when Conscrypt is usable (and {@link
     * #install} was called), else the key itself. An Ed25519 key is returned as it is.
     */
    public static PrivateKey signingKey(PrivateKey key) {
        if (CONSCRYPT.isEmpty() || !(key instanceof RSAPrivateKey) || Security.getProvider(NAME) == null) {
            return key;
        }
        return NATIVE.get(key, NativeRsa::toNative);
    }

    private static PrivateKey toNative(PrivateKey key) {
        try {
            return KeyFactory.getInstance("RSA", CONSCRYPT.get()).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
        } catch (Exception | LinkageError e) {
            LOGGER.warn("DKIM key kept for the JDK to sign with: Conscrypt cannot read it ({})", e.toString());
            return key;
        }
    }
}
