package io.postino.dkim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class NativeRsaTest {
    private static KeyPair rsa;

    @BeforeAll
    static void install() throws Exception {
        NativeRsa.install();
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        rsa = generator.generateKeyPair();
    }

    @Test
    void conscryptLoadsOnTheBuildMachine() {
        // Linux x86-64 with glibc, as CI: the fast path must be the one tested, not silently the fallback.
        assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"));
        assertThat(NativeRsa.available()).isTrue();
    }

    @Test
    void aDkimKeyIsSignedWithByBoringSslWithTheSameOctetsAsTheJdk() throws Exception {
        assumeTrue(NativeRsa.available());
        PrivateKey signing = NativeRsa.signingKey(rsa.getPrivate());
        assertThat(signing).isNotSameAs(rsa.getPrivate());
        assertThat(NativeRsa.signingKey(rsa.getPrivate())).as("made once per key").isSameAs(signing);
        byte[] data = "from:a@example.com\r\ndkim-signature:v=1; a=rsa-sha256; b=".getBytes(StandardCharsets.US_ASCII);

        // What jDKIM does: the algorithm by name, no provider.
        Signature fast = Signature.getInstance("SHA256withRSA");
        fast.initSign(signing);
        fast.update(data);
        byte[] fastSignature = fast.sign();
        assertThat(fast.getProvider().getName()).isEqualTo("PostinoDkimRsa");

        Signature jdk = Signature.getInstance("SHA256withRSA", "SunRsaSign");
        jdk.initSign(rsa.getPrivate());
        jdk.update(data);
        assertThat(fastSignature).isEqualTo(jdk.sign());

        Signature verify = Signature.getInstance("SHA256withRSA");
        verify.initVerify(rsa.getPublic());
        verify.update(data);
        assertThat(verify.verify(fastSignature)).isTrue();
    }

    @Test
    void everyOtherRsaKeyStillGoesToTheJdk() throws Exception {
        Signature other = Signature.getInstance("SHA256withRSA");
        other.initSign(rsa.getPrivate());
        other.update(new byte[] {1, 2, 3});
        other.sign();
        assertThat(other.getProvider().getName()).isEqualTo("SunRsaSign");

        Signature verify = Signature.getInstance("SHA256withRSA");
        verify.initVerify(rsa.getPublic());
        assertThat(verify.getProvider().getName()).isEqualTo("SunRsaSign");
    }

    @Test
    void aCallerThatMakesTheJcaPickTheProviderFirstStillSignsOtherKeysWithTheJdk() throws Exception {
        assumeTrue(NativeRsa.available());
        byte[] data = {4, 5, 6};
        // getProvider() before init makes the JCA bind the first provider, whatever the key.
        Signature early = Signature.getInstance("SHA256withRSA");
        assertThat(early.getProvider().getName()).isEqualTo("PostinoDkimRsa");
        early.initSign(rsa.getPrivate());
        early.update(data);
        Signature jdk = Signature.getInstance("SHA256withRSA", "SunRsaSign");
        jdk.initSign(rsa.getPrivate());
        jdk.update(data);
        assertThat(early.sign()).isEqualTo(jdk.sign());

        Signature verify = Signature.getInstance("SHA256withRSA");
        assertThat(verify.getProvider().getName()).isEqualTo("PostinoDkimRsa");
        verify.initVerify(rsa.getPublic());
        verify.update(data);
        jdk.initSign(rsa.getPrivate());
        jdk.update(data);
        assertThat(verify.verify(jdk.sign())).isTrue();
    }

    @Test
    void anEd25519KeyIsLeftAsItIs() throws Exception {
        PrivateKey ed25519 = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate();
        assertThat(NativeRsa.signingKey(ed25519)).isSameAs(ed25519);
    }
}
