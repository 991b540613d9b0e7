package io.postino.server.dkim;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.SimpleResolver;

import io.postino.dkim.DkimKey;
import io.postino.testing.TestDns;

class DkimPublicationTest {
    @TempDir
    Path directory;

    private TestDns dns;
    private DkimPublication publication;
    private DkimKey key;

    @BeforeEach
    void start() throws Exception {
        dns = TestDns.start();
        SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", dns.port()));
        resolver.setTimeout(Duration.ofMillis(500));
        publication = new DkimPublication(resolver, Duration.ofSeconds(2));
        key = new FileDkimKeys(directory).generate("acme.test", "s1", DkimKey.Algorithm.RSA, 2048);
    }

    @AfterEach
    void stop() {
        dns.close();
    }

    @Test
    void aRecordWithTheKeyIsPublishedEvenCutInStrings() {
        String record = key.txtRecord();
        dns.txt("s1._domainkey.acme.test", record.substring(0, 255), record.substring(255));

        assertThat(publication.check(key).configName()).isEqualTo("published");
    }

    @Test
    void aSelectorDelegatedByCnameIsPublishedWhenItsTargetHasTheKey() {
        String record = key.txtRecord();
        dns.cname("s1._domainkey.acme.test", "acme-s1.dkim.esp.test");
        dns.txt("acme-s1.dkim.esp.test", record.substring(0, 255), record.substring(255));

        assertThat(publication.check(key).configName()).isEqualTo("published");
    }

    @Test
    void aRecordWithAnotherKeyIsDifferentAndShown() {
        dns.txt("s1._domainkey.acme.test", "v=DKIM1; k=rsa; p=MIIBIjANotThisKey");

        DkimPublication.State state = publication.check(key);

        assertThat(state.configName()).isEqualTo("different");
        assertThat(state.detail()).contains("v=DKIM1; k=rsa; p=MIIBIjANotThisKey");
    }

    @Test
    void aRevokedKeyRecordIsDifferent() {
        dns.txt("s1._domainkey.acme.test", "v=DKIM1; p=");

        assertThat(publication.check(key).configName()).isEqualTo("different");
    }

    @Test
    void noSuchNameOrNoTxtRecordIsMissing() {
        dns.nxdomain("s1._domainkey.acme.test");
        assertThat(publication.check(key).configName()).isEqualTo("missing");

        dns.exists("s2._domainkey.acme.test");
        DkimKey other = new DkimKey("acme.test", "s2", key.algorithm(), key.privateKey(), key.publicKey(), key.createdAt(), false);
        assertThat(publication.check(other).configName()).isEqualTo("missing");
    }

    @Test
    void aSilentDnsDelaysAListingOnceAndSaysSo() {
        dns.silent("s1._domainkey.acme.test");
        dns.silent("s2._domainkey.acme.test");
        DkimKey other = new DkimKey("acme.test", "s2", key.algorithm(), key.privateKey(), key.publicKey(), key.createdAt(), false);

        long start = System.nanoTime();
        java.util.List<DkimPublication.State> states = publication.checkAll(java.util.List.of(key, other));

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(3500));
        assertThat(states).extracting(DkimPublication.State::configName).containsExactly("unknown", "unknown");
        assertThat(states.get(0).detail()).get().asString().contains("no answer");
    }

    @Test
    void noAnswerIsUnknownWithTheCause() {
        dns.servfail("s1._domainkey.acme.test");

        DkimPublication.State state = publication.check(key);

        assertThat(state.configName()).isEqualTo("unknown");
        assertThat(state.detail()).contains("DNS answered SERVFAIL");
    }
}
