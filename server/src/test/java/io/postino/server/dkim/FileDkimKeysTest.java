package io.postino.server.dkim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.dkim.DkimKey;

class FileDkimKeysTest {
    @TempDir
    Path directory;

    @Test
    void generatesA2048BitKeyStoredForTheServerOnlyWithItsDnsRecord() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);

        DkimKey key = keys.generate("Acme.test", "s1", DkimKey.Algorithm.RSA, 2048);

        assertThat(((RSAPublicKey) key.publicKey()).getModulus().bitLength()).isEqualTo(2048);
        assertThat(key.dnsName()).isEqualTo("s1._domainkey.acme.test");
        assertThat(key.txtRecord()).isEqualTo("v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(key.publicKey().getEncoded()));
        Path file = directory.resolve("acme.test/s1.key");
        assertThat(Files.readString(file)).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    }

    @Test
    void keysAreReadBackAndTheNewestSigns() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);
        DkimKey first = keys.generate("acme.test", "old", DkimKey.Algorithm.RSA, 2048);
        Files.setLastModifiedTime(directory.resolve("acme.test/old.key"), java.nio.file.attribute.FileTime.fromMillis(1_000_000));
        keys.generate("acme.test", "new", DkimKey.Algorithm.RSA, 2048);

        FileDkimKeys reopened = new FileDkimKeys(directory);

        assertThat(reopened.keys("acme.test")).extracting(DkimKey::selector).containsExactly("new", "old");
        assertThat(reopened.signingKeys("acme.test")).as("nothing signs before it is activated").isEmpty();
        assertThat(reopened.activate("acme.test", "old")).isTrue();
        assertThat(reopened.signingKeys("acme.test")).extracting(DkimKey::selector).containsExactly("old");
        assertThat(reopened.activate("acme.test", "new")).isTrue();
        assertThat(new FileDkimKeys(directory).signingKeys("ACME.test")).extracting(DkimKey::selector).containsExactly("new");
        assertThat(reopened.activate("acme.test", "none")).isFalse();
        DkimKey old = reopened.keys("acme.test").get(1);
        Signature signature = Signature.getInstance("SHA256withRSA");
        signature.initSign(old.privateKey());
        signature.update(new byte[]{1, 2, 3});
        byte[] signed = signature.sign();
        signature.initVerify(first.publicKey());
        signature.update(new byte[]{1, 2, 3});
        assertThat(signature.verify(signed)).as("the stored private key is the generated one").isTrue();
    }

    @Test
    void anEd25519KeyIsKeptWithItsPublicKeyAndSignsBesideTheRsaOne() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);
        keys.generate("acme.test", "r1", DkimKey.Algorithm.RSA, 2048);
        DkimKey generated = keys.generate("acme.test", "e1", DkimKey.Algorithm.ED25519, 0);
        keys.activate("acme.test", "r1");
        keys.activate("acme.test", "e1");

        DkimKey read = new FileDkimKeys(directory).keys("acme.test").stream().filter(key -> key.selector().equals("e1")).findFirst().orElseThrow();

        assertThat(read.algorithm()).isEqualTo(DkimKey.Algorithm.ED25519);
        assertThat(read.txtRecord()).isEqualTo(generated.txtRecord()).startsWith("v=DKIM1; k=ed25519; p=");
        assertThat(Base64.getDecoder().decode(read.txtRecord().substring("v=DKIM1; k=ed25519; p=".length()))).hasSize(32);
        assertThat(new FileDkimKeys(directory).signingKeys("acme.test")).extracting(DkimKey::selector).containsExactlyInAnyOrder("r1", "e1");
    }

    @Test
    void deletingAKeyStopsItSigning() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);
        keys.generate("acme.test", "s1", DkimKey.Algorithm.RSA, 2048);
        keys.activate("acme.test", "s1");
        assertThat(keys.signingKeys("acme.test")).hasSize(1);

        assertThat(keys.delete("acme.test", "s1")).isTrue();
        assertThat(keys.delete("acme.test", "s1")).isFalse();
        assertThat(keys.signingKeys("acme.test")).isEmpty();
    }

    @Test
    void refusesBadNamesAndSelectorsTaken() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);
        keys.generate("acme.test", "s1", DkimKey.Algorithm.RSA, 2048);

        assertThatThrownBy(() -> keys.generate("acme.test", "s1", DkimKey.Algorithm.RSA, 2048)).hasMessageContaining("already has a key with selector 's1'");
        assertThatThrownBy(() -> keys.generate("acme.test", "../x", DkimKey.Algorithm.RSA, 2048)).hasMessageContaining("must be a DNS label");
        assertThatThrownBy(() -> keys.generate("../etc", "s2", DkimKey.Algorithm.RSA, 2048)).hasMessageContaining("is not a domain name");
        assertThat(keys.keys("../etc")).isEmpty();
    }

    @Test
    void anUnreadableKeyIsSkipped() throws Exception {
        Files.createDirectories(directory.resolve("acme.test"));
        Files.writeString(directory.resolve("acme.test/broken.key"), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");

        assertThat(new FileDkimKeys(directory).keys("acme.test")).isEmpty();
    }
}
