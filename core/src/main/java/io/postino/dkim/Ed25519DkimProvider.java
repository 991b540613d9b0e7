package io.postino.dkim;

import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyFactorySpi;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.KeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;

/**
 * Teaches the Java security framework the two things Apache jDKIM needs to sign and verify
 * {@code ed25519-sha256} (RFC 8463), which it does not know itself:
 * <ul>
 *   <li>{@code Signature SHA256withED25519} (the name jDKIM builds from {@code a=ed25519-sha256}):
 *   Ed25519 (PureEdDSA) over the SHA-256 hash of the data, as RFC 8463 §3 specifies;</li>
 *   <li>{@code KeyFactory ED25519} (the name jDKIM takes from {@code k=ed25519}) that accepts the
 *   bare 32-byte public key a DKIM record publishes, and delegates everything else to the JDK.</li>
 * </ul>
 * Key generation and Ed25519 itself are the JDK's (SunEC).
 */
public final class Ed25519DkimProvider extends Provider {
    private static final long serialVersionUID = 1L;
    /** DER prefix of an X.509 SubjectPublicKeyInfo holding an Ed25519 key (RFC 8410): 12 bytes, then the 32-byte key. */
    private static final byte[] SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    private static final String NAME = "PostinoDkimEd25519";

    private Ed25519DkimProvider() {
        super(NAME, "1.0", "Ed25519 for DKIM (RFC 8463) on top of the JDK's EdDSA");
        put("Signature.SHA256withED25519", HashedEd25519.class.getName());
        put("KeyFactory.ED25519", RawOrEncodedKeyFactory.class.getName());
    }

    /** Installs the provider once, first in line (so that {@code KeyFactory.getInstance("ed25519")} finds it). */
    public static synchronized void install() {
        if (Security.getProvider(NAME) == null) {
            Security.insertProviderAt(new Ed25519DkimProvider(), 1);
        }
    }

    /** The bare 32-byte key of an Ed25519 public key, as published in {@code p=}. */
    public static byte[] rawPublicKey(PublicKey key) {
        byte[] encoded = key.getEncoded();
        return Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length);
    }

    static KeyFactory jdkKeyFactory() throws NoSuchAlgorithmException {
        for (Provider provider : Security.getProviders("KeyFactory.Ed25519")) {
            if (!provider.getName().equals(NAME)) {
                return KeyFactory.getInstance("Ed25519", provider);
            }
        }
        throw new NoSuchAlgorithmException("the JDK provides no Ed25519 KeyFactory");
    }

    /** Ed25519 over SHA-256(data). */
    public static final class HashedEd25519 extends SignatureSpi {
        private final MessageDigest sha256;
        private Signature ed25519;

        public HashedEd25519() throws NoSuchAlgorithmException {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        }

        private static Signature jdkEd25519() throws NoSuchAlgorithmException {
            for (Provider provider : Security.getProviders("Signature.Ed25519")) {
                if (!provider.getName().equals(NAME)) {
                    return Signature.getInstance("Ed25519", provider);
                }
            }
            throw new NoSuchAlgorithmException("the JDK provides no Ed25519 signature");
        }

        @Override
        protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
            try {
                ed25519 = jdkEd25519();
            } catch (NoSuchAlgorithmException e) {
                throw new InvalidKeyException(e);
            }
            ed25519.initVerify(publicKey);
            sha256.reset();
        }

        @Override
        protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
            try {
                ed25519 = jdkEd25519();
            } catch (NoSuchAlgorithmException e) {
                throw new InvalidKeyException(e);
            }
            ed25519.initSign(privateKey);
            sha256.reset();
        }

        @Override
        protected void engineUpdate(byte b) {
            sha256.update(b);
        }

        @Override
        protected void engineUpdate(byte[] b, int off, int len) {
            sha256.update(b, off, len);
        }

        @Override
        protected byte[] engineSign() throws SignatureException {
            ed25519.update(sha256.digest());
            return ed25519.sign();
        }

        @Override
        protected boolean engineVerify(byte[] sigBytes) throws SignatureException {
            ed25519.update(sha256.digest());
            return ed25519.verify(sigBytes);
        }

        @Override
        @Deprecated
        protected void engineSetParameter(String param, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        @Deprecated
        protected Object engineGetParameter(String param) {
            throw new UnsupportedOperationException();
        }
    }

    /** The JDK's Ed25519 key factory, also taking a bare 32-byte public key in an X509EncodedKeySpec. */
    public static final class RawOrEncodedKeyFactory extends KeyFactorySpi {
        @Override
        protected PublicKey engineGeneratePublic(KeySpec keySpec) throws InvalidKeySpecException {
            try {
                if (keySpec instanceof X509EncodedKeySpec && ((X509EncodedKeySpec) keySpec).getEncoded().length == 32) {
                    byte[] raw = ((X509EncodedKeySpec) keySpec).getEncoded();
                    byte[] encoded = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + raw.length);
                    System.arraycopy(raw, 0, encoded, SPKI_PREFIX.length, raw.length);
                    return jdkKeyFactory().generatePublic(new X509EncodedKeySpec(encoded));
                }
                return jdkKeyFactory().generatePublic(keySpec);
            } catch (NoSuchAlgorithmException e) {
                throw new InvalidKeySpecException(e);
            }
        }

        @Override
        protected PrivateKey engineGeneratePrivate(KeySpec keySpec) throws InvalidKeySpecException {
            try {
                return jdkKeyFactory().generatePrivate(keySpec);
            } catch (NoSuchAlgorithmException e) {
                throw new InvalidKeySpecException(e);
            }
        }

        @Override
        protected <T extends KeySpec> T engineGetKeySpec(Key key, Class<T> keySpec) throws InvalidKeySpecException {
            try {
                return jdkKeyFactory().getKeySpec(key, keySpec);
            } catch (NoSuchAlgorithmException e) {
                throw new InvalidKeySpecException(e);
            }
        }

        @Override
        protected Key engineTranslateKey(Key key) throws InvalidKeyException {
            try {
                return jdkKeyFactory().translateKey(key);
            } catch (GeneralSecurityException e) {
                throw new InvalidKeyException(e);
            }
        }
    }
}
