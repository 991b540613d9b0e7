package io.postino.dkim;

import java.security.InvalidKeyException;
import java.security.InvalidParameterException;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.NoSuchProviderException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * RSA signatures of DKIM by BoringSSL (Google's Conscrypt), where its native library loads (Linux
 * with glibc, macOS and Windows, on x86-64): a 2048-bit signature takes about 470 µs there against
 * 740 µs in the JDK's BigInteger arithmetic, and the signature is the biggest single cost of
 * relaying a signed mail (a quarter of the CPU in a steady-state profile). PKCS #1 v1.5 is
 * deterministic, so the signatures are the same octets either way.
 *
 * <p>Only DKIM keys go there. jDKIM asks the JCA for {@code SHA256withRSA} by name; the provider
 * installed here offers it first in line, but only for Conscrypt's own keys ({@code
 * SupportedKeyClasses}), which only {@link #signingKey} makes, so the JCA passes every other key
 * on to the JDK. A caller that makes the JCA pick a provider before it gives a key (by asking for
 * the provider first) gets this one, and then every key but Conscrypt's is still signed and
 * verified by the JDK's own implementation: TLS handshakes and whatever a library signs stay the
 * JDK's. Where Conscrypt cannot load, keys stay as they are, this provider is not installed and
 * the JDK signs; one line at start says so.</p>
 */
public final class NativeRsa {
    private static final Logger LOGGER = LoggerFactory.getLogger(NativeRsa.class);
    private static final String NAME = "PostinoDkimRsa";
    /** Conscrypt's keys, the only ones the provider takes (a name: without Conscrypt's jar this class still loads, and the JDK signs). */
    private static final String KEY_CLASS = "org.conscrypt.OpenSSLKeyHolder";
    private static final Optional<Provider> CONSCRYPT = load();
    /**
     * The native form of each key signed with, made once per key object (by identity, weakly
     * held); empty for a key Conscrypt cannot read, which then stays the JDK's.
     */
    private static final Cache<PrivateKey, Optional<PrivateKey>> NATIVE = Caffeine.newBuilder().weakKeys().build();
    /** Set once {@link #install} has put the provider in place: read for every signature, instead of the JCA's provider list. */
    private static volatile boolean installed;

    private NativeRsa() {
    }

    private static Optional<Provider> load() {
        try {
            if (org.conscrypt.Conscrypt.isAvailable()) {
                return Optional.of(org.conscrypt.Conscrypt.newProvider());
            }
            org.conscrypt.Conscrypt.checkAvailability();
            throw new UnsatisfiedLinkError("no native library");
        } catch (Throwable e) {
            String platform = System.getProperty("os.name") + "/" + System.getProperty("os.arch");
            String message = "DKIM RSA signatures are made by the JDK (about 1.6 times the CPU of BoringSSL's): Conscrypt cannot load its native library on {} ({})";
            if (platform.equals("Linux/amd64")) {
                LOGGER.warn(message, platform, e.toString());
            } else {
                LOGGER.info(message, platform, e.toString());
            }
            return Optional.empty();
        }
    }

    /** Whether RSA signatures of {@link #signingKey} keys are made by BoringSSL. */
    public static boolean available() {
        return CONSCRYPT.isPresent();
    }

    /** Installs the provider of {@code SHA256withRSA} and {@code SHA1withRSA} for Conscrypt's keys, first in line; once. */
    public static synchronized void install() {
        if (CONSCRYPT.isEmpty() || installed) {
            return;
        }
        Provider provider = new Provider(NAME, "1.0", "RSA signatures of DKIM keys by Conscrypt (BoringSSL)") {
            private static final long serialVersionUID = 1L;
        };
        provider.put("Signature.SHA256withRSA", Sha256.class.getName());
        provider.put("Signature.SHA256withRSA SupportedKeyClasses", KEY_CLASS);
        provider.put("Signature.SHA1withRSA", Sha1.class.getName());
        provider.put("Signature.SHA1withRSA SupportedKeyClasses", KEY_CLASS);
        Security.insertProviderAt(provider, 1);
        installed = true;
    }

    /**
     * The key to sign with: the native form of an RSA key when Conscrypt is usable (and {@link
     * #install} was called), else the key itself. An Ed25519 key is returned as it is.
     */
    public static PrivateKey signingKey(PrivateKey key) {
        if (!installed || !(key instanceof RSAPrivateKey)) {
            return key;
        }
        return NATIVE.get(key, NativeRsa::toNative).orElse(key);
    }

    private static Optional<PrivateKey> toNative(PrivateKey key) {
        try {
            return Optional.of(KeyFactory.getInstance("RSA", CONSCRYPT.get()).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded())));
        } catch (Exception | LinkageError e) {
            LOGGER.warn("DKIM key kept for the JDK to sign with: Conscrypt cannot read it ({})", e.toString());
            return Optional.empty();
        }
    }

    private static boolean isNative(Object key) {
        return key instanceof org.conscrypt.OpenSSLKeyHolder;
    }

    /**
     * One signature: Conscrypt's for a Conscrypt key, the JDK's (SunRsaSign) for any other key,
     * chosen at each init.
     */
    private abstract static class Routed extends SignatureSpi {
        private final String algorithm;
        private Signature current;

        Routed(String algorithm) {
            this.algorithm = algorithm;
        }

        private Signature forKey(Object key) throws InvalidKeyException {
            try {
                return isNative(key) ? Signature.getInstance(algorithm, CONSCRYPT.orElseThrow()) : Signature.getInstance(algorithm, "SunRsaSign");
            } catch (NoSuchAlgorithmException | NoSuchProviderException | RuntimeException e) {
                throw new InvalidKeyException("No " + algorithm + " for this key: " + e, e);
            }
        }

        private Signature current() throws SignatureException {
            if (current == null) {
                throw new SignatureException("not initialised");
            }
            return current;
        }

        @Override
        protected void engineInitVerify(PublicKey key) throws InvalidKeyException {
            current = forKey(key);
            current.initVerify(key);
        }

        @Override
        protected void engineInitSign(PrivateKey key) throws InvalidKeyException {
            current = forKey(key);
            current.initSign(key);
        }

        @Override
        protected void engineUpdate(byte octet) throws SignatureException {
            current().update(octet);
        }

        @Override
        protected void engineUpdate(byte[] octets, int offset, int length) throws SignatureException {
            current().update(octets, offset, length);
        }

        @Override
        protected byte[] engineSign() throws SignatureException {
            return current().sign();
        }

        @Override
        protected boolean engineVerify(byte[] signature) throws SignatureException {
            return current().verify(signature);
        }

        @Override
        @Deprecated
        protected void engineSetParameter(String param, Object value) {
            throw new InvalidParameterException("no parameters");
        }

        @Override
        @Deprecated
        protected Object engineGetParameter(String param) {
            throw new InvalidParameterException("no parameters");
        }
    }

    /** {@code SHA256withRSA} (DKIM's rsa-sha256). */
    public static final class Sha256 extends Routed {
        public Sha256() {
            super("SHA256withRSA");
        }
    }

    /** {@code SHA1withRSA} (rsa-sha1, which jDKIM can still be asked for). */
    public static final class Sha1 extends Routed {
        public Sha1() {
            super("SHA1withRSA");
        }
    }
}
