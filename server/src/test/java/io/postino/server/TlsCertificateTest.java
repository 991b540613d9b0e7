package io.postino.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsCertificateTest {
    @TempDir
    Path directory;

    private TlsCertificate.Pem generated(String name) throws Exception {
        return TlsCertificate.resolve(directory.resolve(name), "postino.test", "", "");
    }

    @Test
    void aMatchingPairValidNowMayReplaceTheOneInUse() throws Exception {
        TlsCertificate.Pem pem = generated("one");
        assertThat(TlsCertificate.unusableRenewal(pem.certificate(), pem.privateKey(), Instant.now())).isEmpty();
    }

    @Test
    void aKeyOfAnotherCertificateMayNot() throws Exception {
        TlsCertificate.Pem one = generated("one");
        TlsCertificate.Pem other = generated("other");
        assertThat(TlsCertificate.unusableRenewal(one.certificate(), other.privateKey(), Instant.now()))
            .hasValue(other.privateKey() + " is not the key of the first certificate in " + one.certificate());
    }

    @Test
    void anExpiredCertificateMayNot() throws Exception {
        TlsCertificate.Pem pem = generated("one");
        assertThat(TlsCertificate.unusableRenewal(pem.certificate(), pem.privateKey(), Instant.now().plus(Duration.ofDays(400))))
            .hasValueSatisfying(problem -> assertThat(problem).startsWith(pem.certificate() + ": the first certificate is valid from").endsWith(", not now"));
    }

    @Test
    void aHalfWrittenPairMayNot() throws Exception {
        TlsCertificate.Pem pem = generated("one");
        Path truncated = directory.resolve("truncated.pem");
        String key = Files.readString(pem.privateKey());
        Files.writeString(truncated, key.substring(0, key.length() / 2));
        assertThat(TlsCertificate.unusableRenewal(pem.certificate(), truncated, Instant.now()))
            .hasValueSatisfying(problem -> assertThat(problem).startsWith(truncated + ": not a readable, unencrypted PEM private key"));
        Files.writeString(truncated, "");
        assertThat(TlsCertificate.unusableRenewal(truncated, pem.privateKey(), Instant.now()))
            .hasValueSatisfying(problem -> assertThat(problem).startsWith(truncated.toString()));
    }
}
