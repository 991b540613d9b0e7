package io.postino.server.recipients;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;

class CalloutRelayRecipientsTest {
    private static final RelayDomain CORP = new RelayDomain("corp.test", "10.0.0.5", 25);
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final AtomicInteger probes = new AtomicInteger();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private CalloutRelayRecipients recipients(BiFunction<RelayDomain, String, CalloutVerdict> answer, Duration timeout) {
        return new CalloutRelayRecipients((relay, address) -> {
            probes.incrementAndGet();
            return answer.apply(relay, address);
        }, executor, timeout, Duration.ofHours(1), Duration.ofMinutes(10));
    }

    @Test
    void acceptedAndRefusedAnswersAreRememberedPerAddressIgnoringCase() {
        CalloutRelayRecipients recipients = recipients((relay, address) -> address.startsWith("nobody")
            ? CalloutVerdict.refused("550 5.1.1 unknown") : CalloutVerdict.accepted("250 OK"), Duration.ofSeconds(5));

        assertThat(recipients.verify(CORP, "alice@corp.test").outcome()).isEqualTo(CalloutVerdict.Outcome.ACCEPTED);
        assertThat(recipients.verify(CORP, "Alice@Corp.test").outcome()).isEqualTo(CalloutVerdict.Outcome.ACCEPTED);
        assertThat(recipients.verify(CORP, "nobody@corp.test")).isEqualTo(CalloutVerdict.refused("550 5.1.1 unknown"));
        assertThat(recipients.verify(CORP, "nobody@corp.test").outcome()).isEqualTo(CalloutVerdict.Outcome.REFUSED);

        assertThat(probes).hasValue(2);
    }

    @Test
    void unknownAnswersAreAskedAgain() {
        CalloutRelayRecipients recipients = recipients((relay, address) -> CalloutVerdict.unknown("connection refused"), Duration.ofSeconds(5));

        recipients.verify(CORP, "alice@corp.test");
        recipients.verify(CORP, "alice@corp.test");

        assertThat(probes).hasValue(2);
    }

    @Test
    void concurrentChecksOfOneAddressShareOneProbe() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CalloutRelayRecipients recipients = recipients((relay, address) -> {
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return CalloutVerdict.accepted("250 OK");
        }, Duration.ofSeconds(5));
        List<CompletableFuture<CalloutVerdict>> checks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            checks.add(CompletableFuture.supplyAsync(() -> recipients.verify(CORP, "alice@corp.test"), executor));
        }
        Thread.sleep(200);
        release.countDown();

        for (CompletableFuture<CalloutVerdict> check : checks) {
            assertThat(check.get(5, TimeUnit.SECONDS).outcome()).isEqualTo(CalloutVerdict.Outcome.ACCEPTED);
        }
        assertThat(probes).hasValue(1);
    }

    @Test
    void anUnreachableServerIsNotAskedAgainForAWhile() {
        CalloutRelayRecipients recipients = recipients((relay, address) -> CalloutVerdict.unreachable("10.0.0.5:25 could not be reached"),
            Duration.ofSeconds(5));

        recipients.verify(CORP, "alice@corp.test");
        CalloutVerdict second = recipients.verify(CORP, "bob@corp.test");

        assertThat(probes).hasValue(1);
        assertThat(second.outcome()).isEqualTo(CalloutVerdict.Outcome.UNREACHABLE);
        assertThat(second.reply()).contains("could not be reached", "not asked again yet");
        assertThat(recipients(( relay, address) -> CalloutVerdict.accepted("250 OK"), Duration.ofSeconds(5))
            .verify(new RelayDomain("other.test", "10.0.0.6", 25), "x@other.test").outcome())
            .as("another server is asked").isEqualTo(CalloutVerdict.Outcome.ACCEPTED);
    }

    @Test
    void aFullProbeQueueAnswersUnknownAtOnce() {
        java.util.concurrent.ThreadPoolExecutor tiny = new java.util.concurrent.ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS,
            new java.util.concurrent.ArrayBlockingQueue<>(1));
        CountDownLatch release = new CountDownLatch(1);
        try {
            CalloutRelayRecipients recipients = new CalloutRelayRecipients((relay, address) -> {
                try {
                    release.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return CalloutVerdict.accepted("250 OK");
            }, tiny, Duration.ofSeconds(5), Duration.ofHours(1), Duration.ofMinutes(10));
            CompletableFuture.runAsync(() -> recipients.verify(CORP, "a@corp.test"), executor);
            CompletableFuture.runAsync(() -> recipients.verify(CORP, "b@corp.test"), executor);
            Thread.sleep(300);

            CalloutVerdict third = recipients.verify(CORP, "c@corp.test");

            assertThat(third.outcome()).isEqualTo(CalloutVerdict.Outcome.UNKNOWN);
            assertThat(third.reply()).contains("too many recipient checks");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            release.countDown();
            tiny.shutdownNow();
        }
    }

    @Test
    void onlyAnAnswerAboutTheMailboxProvesItDoesNotExist() {
        assertThat(SmtpCallout.saysNoSuchMailbox("550 5.1.1 <x@corp.test>: user unknown")).isTrue();
        assertThat(SmtpCallout.saysNoSuchMailbox("550 no such user")).isTrue();
        assertThat(SmtpCallout.saysNoSuchMailbox("553 5.1.3 bad address syntax")).isTrue();
        assertThat(SmtpCallout.saysNoSuchMailbox("550 5.7.1 sender <> refused")).isFalse();
        assertThat(SmtpCallout.saysNoSuchMailbox("530 5.7.0 must issue STARTTLS first")).isFalse();
        assertThat(SmtpCallout.saysNoSuchMailbox("554 transaction failed")).isFalse();
        assertThat(SmtpCallout.saysNoSuchMailbox("450 4.2.0 try later")).isFalse();
    }

    @Test
    void aProbeThatHangsIsUnreachableAfterTheTimeout() {
        CalloutRelayRecipients recipients = recipients((relay, address) -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return CalloutVerdict.accepted("250 too late");
        }, Duration.ofMillis(100));

        CalloutVerdict verdict = recipients.verify(CORP, "alice@corp.test");

        assertThat(verdict.outcome()).isEqualTo(CalloutVerdict.Outcome.UNREACHABLE);
        assertThat(verdict.reply()).contains("10.0.0.5:25 did not answer");
    }
}
