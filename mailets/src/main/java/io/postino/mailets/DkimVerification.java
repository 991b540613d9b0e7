package io.postino.mailets;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.PublicKeyRecord;
import org.apache.james.jdkim.api.PublicKeyRecordRetriever;
import org.apache.james.jdkim.tagvalue.PublicKeyRecordImpl;

import io.postino.dkim.Ed25519DkimProvider;

/**
 * Apache jDKIM's verifier, able to check the Ed25519 signatures {@link SignDkim} makes as well as
 * RSA ones: jDKIM 0.3 reads every public key as RSA; here a key record's key is read for its own
 * type ({@code k=rsa} or {@code k=ed25519}, with {@link Ed25519DkimProvider}). For integrators and
 * tests checking what Postino sends; Postino itself only signs.
 */
public final class DkimVerification {
    private DkimVerification() {
    }

    /** A verifier asking {@code retriever} for key records (DNS, or a test's map). */
    public static DKIMVerifier verifier(PublicKeyRecordRetriever retriever) {
        Ed25519DkimProvider.install();
        return new DKIMVerifier(retriever) {
            @Override
            protected PublicKeyRecord newPublicKeyRecord(String record) {
                return new PublicKeyRecordImpl(record) {
                    @Override
                    public PublicKey getPublicKey() {
                        try {
                            byte[] key = Base64.getDecoder().decode(getValue("p").toString().replaceAll("\\s", ""));
                            return KeyFactory.getInstance(getValue("k").toString()).generatePublic(new X509EncodedKeySpec(key));
                        } catch (GeneralSecurityException | IllegalArgumentException e) {
                            throw new IllegalStateException("Invalid public key: " + e.getMessage());
                        }
                    }
                };
            }
        };
    }
}
