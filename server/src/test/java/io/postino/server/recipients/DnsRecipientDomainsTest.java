package io.postino.server.recipients;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.apache.commons.configuration2.BaseConfiguration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.recipients.DomainVerdict;
import io.postino.testing.TestDns;

/** Against a real DNS server on 127.0.0.1. */
class DnsRecipientDomainsTest {
    private TestDns dns;
    private DnsRecipientDomains domains;

    @BeforeEach
    void start() throws Exception {
        dns = TestDns.start()
            .mx("mx.test", 10, "mail.mx.test")
            .mx("twomx.test", 10, "a.twomx.test").mx("twomx.test", 20, "b.twomx.test")
            .a("aonly.test", "192.0.2.1")
            .aaaa("aaaaonly.test", "2001:db8::1")
            .nullMx("nullmx.test")
            .nxdomain("nxdomain.test")
            .exists("nomail.test")
            .silent("slow.test")
            .silent("a1.hang.test").silent("a2.hang.test").silent("a3.hang.test").silent("a4.hang.test")
            .servfail("broken.test");
        domains = new DnsRecipientDomains(settings(Map.of("dns.servers", dns.address(), "dns.timeout", "500ms")));
    }

    private static RecipientSettings settings(Map<String, String> values) {
        BaseConfiguration configuration = new BaseConfiguration();
        values.forEach(configuration::addProperty);
        return RecipientSettings.from(configuration);
    }

    @AfterEach
    void stop() {
        dns.close();
    }

    @Test
    void judgesEachKindOfDomain() {
        assertThat(domains.check("mx.test")).isEqualTo(DomainVerdict.DELIVERABLE);
        assertThat(domains.check("twomx.test")).isEqualTo(DomainVerdict.DELIVERABLE);
        assertThat(domains.check("aonly.test")).isEqualTo(DomainVerdict.DELIVERABLE);
        assertThat(domains.check("aaaaonly.test")).isEqualTo(DomainVerdict.DELIVERABLE);
        assertThat(domains.check("nullmx.test")).isEqualTo(DomainVerdict.NULL_MX);
        assertThat(domains.check("nxdomain.test")).isEqualTo(DomainVerdict.NO_SUCH_DOMAIN);
        assertThat(domains.check("nomail.test")).isEqualTo(DomainVerdict.NO_MAIL_SERVER);
        assertThat(domains.check("slow.test")).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        assertThat(domains.check("broken.test")).as("SERVFAIL").isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        assertThat(domains.check("[192.0.2.1]")).as("address literal").isEqualTo(DomainVerdict.DELIVERABLE);
    }

    @Test
    void afterThreeSubdomainsOfAZoneFailedFurtherOnesFailAtOnce() {
        for (int i = 1; i <= DnsRecipientDomains.ZONE_FAILURES; i++) {
            assertThat(domains.check("a" + i + ".hang.test")).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        }
        java.time.Instant start = java.time.Instant.now();

        assertThat(domains.check("a4.hang.test")).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        assertThat(java.time.Duration.between(start, java.time.Instant.now())).isLessThan(java.time.Duration.ofMillis(200));
        assertThat(dns.queries("a4.hang.test")).as("not asked").isZero();
        assertThat(domains.check("mx.test")).as("another zone").isEqualTo(DomainVerdict.DELIVERABLE);
    }

    @Test
    void theZoneOfADomainIsItsRegistrableDomainOrItsParent() {
        assertThat(DnsRecipientDomains.zoneOf("x1.mail.example.co.uk")).isEqualTo("example.co.uk");
        assertThat(DnsRecipientDomains.zoneOf("example.co.uk")).isNull();
        assertThat(DnsRecipientDomains.zoneOf("x1.slow.test")).isEqualTo("slow.test");
        assertThat(DnsRecipientDomains.zoneOf("slow.test")).isNull();
    }

    @Test
    void answersAreCached() {
        domains.check("MX.test");
        domains.check("mx.test");
        domains.check("nxdomain.test");
        domains.check("nxdomain.test");

        assertThat(dns.queries("mx.test")).isEqualTo(1);
        assertThat(dns.queries("nxdomain.test")).isEqualTo(1);
    }

    @Test
    void aServerThatNeverAnswersCostsTheTimeoutOnceForTheWholeCheck() {
        DnsRecipientDomains oneSecond = new DnsRecipientDomains(settings(Map.of("dns.servers", dns.address(), "dns.timeout", "1s")));
        java.time.Instant start = java.time.Instant.now();

        DomainVerdict verdict = oneSecond.check("slow.test");

        // MX, A and AAAA each waiting for dns.timeout would be 3 s and more.
        assertThat(verdict).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        assertThat(java.time.Duration.between(start, java.time.Instant.now())).isBetween(java.time.Duration.ofMillis(900),
            java.time.Duration.ofMillis(2000));
    }

    @Test
    void aFloodOfChecksOfADomainWhoseDnsHangsMakesOneLookupAndIsAnsweredAtOnceAfterIt() throws Exception {
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(16);
        try {
            java.time.Instant start = java.time.Instant.now();
            List<CompletableFuture<DomainVerdict>> flood = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                flood.add(CompletableFuture.supplyAsync(() -> domains.check("slow.test"), threads));
            }
            for (CompletableFuture<DomainVerdict> check : flood) {
                assertThat(check.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
            }
            java.time.Duration took = java.time.Duration.between(start, java.time.Instant.now());
            int queries = dns.queries("slow.test");

            java.time.Instant later = java.time.Instant.now();
            for (int i = 0; i < 100; i++) {
                assertThat(domains.check("slow.test")).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
            }

            assertThat(took).as("200 checks on 16 threads share one lookup of 500 ms").isLessThan(java.time.Duration.ofSeconds(3));
            assertThat(queries).as("one MX query (and dnsjava's retries)").isBetween(1, 4);
            assertThat(dns.queries("slow.test")).as("remembered for dns.failureTtl").isEqualTo(queries);
            assertThat(java.time.Duration.between(later, java.time.Instant.now())).isLessThan(java.time.Duration.ofMillis(200));
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aServfailIsRememberedForTheFailureTtlAndOnlyThatLong() throws Exception {
        DnsRecipientDomains shortMemory = new DnsRecipientDomains(settings(Map.of("dns.servers", dns.address(), "dns.timeout", "500ms",
            "dns.failureTtl", "1s")));

        assertThat(shortMemory.check("broken.test")).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        int asked = dns.queries("broken.test");
        assertThat(shortMemory.check("broken.test")).isEqualTo(DomainVerdict.TEMPORARY_FAILURE);
        int remembered = dns.queries("broken.test");
        Thread.sleep(1200);
        shortMemory.check("broken.test");

        assertThat(remembered).isEqualTo(asked);
        assertThat(dns.queries("broken.test")).as("asked again after dns.failureTtl").isGreaterThan(asked);
    }

    @Test
    void aZeroFailureTtlRemembersNoFailure() {
        DnsRecipientDomains forgetful = new DnsRecipientDomains(settings(Map.of("dns.servers", dns.address(), "dns.timeout", "500ms",
            "dns.failureTtl", "0s")));

        forgetful.check("broken.test");
        int asked = dns.queries("broken.test");
        forgetful.check("broken.test");

        assertThat(dns.queries("broken.test")).isGreaterThan(asked);
    }

    @Test
    void concurrentChecksShareOneLookup() throws Exception {
        List<CompletableFuture<DomainVerdict>> checks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            checks.add(CompletableFuture.supplyAsync(() -> domains.check("aonly.test")));
        }
        for (CompletableFuture<DomainVerdict> check : checks) {
            assertThat(check.get()).isEqualTo(DomainVerdict.DELIVERABLE);
        }

        assertThat(dns.queries("aonly.test")).as("one MX and one A query").isEqualTo(2);
    }

    @Test
    void manyConcurrentChecksOfDifferentDomainsAllGetTheirAnswer() throws Exception {
        TestDns everything = TestDns.start().answerEveryName("192.0.2.1");
        try {
            DnsRecipientDomains domains = new DnsRecipientDomains(settings(Map.of("dns.servers", everything.address(), "dns.timeout", "2s")));
            List<CompletableFuture<DomainVerdict>> checks = new ArrayList<>();
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(16);
            for (int i = 0; i < 200; i++) {
                String domain = "d" + i + ".test";
                checks.add(CompletableFuture.supplyAsync(() -> domains.check(domain), threads));
            }
            for (CompletableFuture<DomainVerdict> check : checks) {
                assertThat(check.get()).isEqualTo(DomainVerdict.DELIVERABLE);
            }
            threads.shutdownNow();
        } finally {
            everything.close();
        }
    }

    @Test
    void aZeroMaximumTtlMeansNoCache() {
        DnsRecipientDomains uncached = new DnsRecipientDomains(settings(Map.of("dns.servers", dns.address(),
            "dns.minTtl", "0s", "dns.maxTtl", "0s")));

        uncached.check("mx.test");
        uncached.check("mx.test");

        assertThat(dns.queries("mx.test")).isEqualTo(2);
    }
}
