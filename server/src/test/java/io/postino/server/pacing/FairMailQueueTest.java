package io.postino.server.pacing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reactivestreams.Publisher;

import io.postino.organisations.PostinoAttributes;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

class FairMailQueueTest {
    @TempDir
    Path directory;

    /** A queue whose dequeue blocks for up to 50 ms, like James' JMS queue (10 s there). */
    private static final class BlockingQueue implements MailQueue {
        private final MailQueueName name;
        private final LinkedBlockingQueue<Mail> mails = new LinkedBlockingQueue<>();

        private BlockingQueue(MailQueueName name) {
            this.name = name;
        }

        @Override
        public MailQueueName getName() {
            return name;
        }

        @Override
        public void enQueue(Mail mail, Duration delay) {
            mails.add(mail);
        }

        @Override
        public void enQueue(Mail mail) {
            mails.add(mail);
        }

        @Override
        public Publisher<Void> enqueueReactive(Mail mail) {
            return Mono.fromRunnable(() -> mails.add(mail));
        }

        @Override
        public Publisher<MailQueueItem> deQueue() {
            return Mono.defer(() -> {
                try {
                    Mail mail = mails.poll(50, TimeUnit.MILLISECONDS);
                    return mail == null ? Mono.<MailQueueItem>empty() : Mono.<MailQueueItem>just(new Item(mail));
                } catch (InterruptedException e) {
                    return Mono.empty();
                }
            }).repeat();
        }

        @Override
        public void close() {
        }
    }

    private record Item(Mail mail) implements MailQueue.MailQueueItem {
        @Override
        public Mail getMail() {
            return mail;
        }

        @Override
        public void done(CompletionStatus success) {
        }
    }

    private static final class Queues implements MailQueueFactory<MailQueue> {
        private final ConcurrentHashMap<MailQueueName, BlockingQueue> queues = new ConcurrentHashMap<>();

        @Override
        public Optional<MailQueue> getQueue(MailQueueName name, PrefetchCount count) {
            return Optional.ofNullable(queues.get(name));
        }

        @Override
        public MailQueue createQueue(MailQueueName name, PrefetchCount count) {
            return queues.computeIfAbsent(name, BlockingQueue::new);
        }

        @Override
        public Set<MailQueueName> listCreatedMailQueues() {
            return queues.keySet();
        }
    }

    private static Mail mail(String name, String organisation) throws Exception {
        FakeMail.Builder builder = FakeMail.builder().name(name);
        if (organisation != null) {
            builder.attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation)));
        }
        return builder.build();
    }

    @Test
    void eachOrganisationHasItsQueueAndTheyAreReadInTurn() throws Exception {
        Queues queues = new Queues();
        FairMailQueue fair = new FairMailQueue(queues, queues.createQueue(MailQueueName.of("outgoing")), List.of("a", "b"),
            Optional.of(directory.resolve("known.txt")));
        for (int i = 0; i < 300; i++) {
            fair.enQueue(mail("a-" + i, "a"));
        }
        fair.enQueue(mail("b-1", "b"));
        fair.enQueue(mail("inbound-1", null));
        List<String> first = new java.util.concurrent.CopyOnWriteArrayList<>();
        reactor.core.publisher.BaseSubscriber<MailQueue.MailQueueItem> reading = new reactor.core.publisher.BaseSubscriber<>() {
            @Override
            protected void hookOnSubscribe(org.reactivestreams.Subscription subscription) {
                // nothing asked yet: every queue's reader first gets its mail
            }

            @Override
            protected void hookOnNext(MailQueue.MailQueueItem item) {
                first.add(item.getMail().getName());
            }
        };
        Flux.from(fair.deQueue()).subscribe(reading);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fair.readyQueues() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(fair.readyQueues()).as("each queue's reader holds its first mail").isEqualTo(3);
        for (int i = 0; i < 6 && System.nanoTime() < deadline; i++) {
            int before = first.size();
            reading.request(1);
            while (first.size() == before && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }
        reading.dispose();

        assertThat(queues.listCreatedMailQueues()).extracting(MailQueueName::asString)
            .containsExactlyInAnyOrder("outgoing", "outgoing.a", "outgoing.b");
        assertThat(first).as("b's mail and the inbound one are not behind a's 300").hasSize(6).contains("b-1", "inbound-1");
        assertThat(queues.queues.get(MailQueueName.of("outgoing.a")).mails).hasSizeGreaterThan(290);
    }

    @Test
    void aHeldQueueHandsOutNothingUntilReleasedWhileTheOthersGoOn() throws Exception {
        Queues queues = new Queues();
        QueueHolds holds = QueueHolds.keptIn(directory.resolve("held.txt"));
        FairMailQueue fair = new FairMailQueue(queues, queues.createQueue(MailQueueName.of("outgoing")), List.of("a", "b"),
            Optional.empty(), 16, holds);
        assertThat(holds.hold("outgoing.a")).isTrue();
        assertThat(holds.hold("inbound")).as("no fair queue reads it").isFalse();
        for (int i = 0; i < 3; i++) {
            fair.enQueue(mail("a-" + i, "a"));
        }
        fair.enQueue(mail("b-1", "b"));
        List<String> out = new java.util.concurrent.CopyOnWriteArrayList<>();
        reactor.core.Disposable reading = Flux.from(fair.deQueue()).subscribe(item -> out.add(item.getMail().getName()));
        try {
            Thread.sleep(500);
            assertThat(out).as("only b's mail while a is held").containsExactly("b-1");
            assertThat(QueueHolds.keptIn(directory.resolve("held.txt")).isHeld("outgoing.a")).as("the hold is on disk").isTrue();

            assertThat(holds.release("outgoing.a")).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (out.size() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(out).containsExactlyInAnyOrder("b-1", "a-0", "a-1", "a-2");
            assertThat(holds.release("outgoing.a")).as("not held any more").isFalse();
            assertThat(QueueHolds.keptIn(directory.resolve("held.txt")).held()).isEmpty();
        } finally {
            reading.dispose();
        }
    }

    @Test
    void theMailAHeldQueuesReaderKeepsCanBeRemovedAndTheNextIsKeptInstead() throws Exception {
        Queues queues = new Queues();
        QueueHolds holds = QueueHolds.keptIn(directory.resolve("held.txt"));
        FairMailQueue fair = new FairMailQueue(queues, queues.createQueue(MailQueueName.of("outgoing")), List.of("a"),
            Optional.empty(), 16, holds);
        assertThat(holds.hold("outgoing.a")).isTrue();
        fair.enQueue(mail("a-0", "a"));
        fair.enQueue(mail("a-1", "a"));
        List<String> out = new java.util.concurrent.CopyOnWriteArrayList<>();
        reactor.core.Disposable reading = Flux.from(fair.deQueue()).subscribe(item -> out.add(item.getMail().getName()));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (queues.queues.get(MailQueueName.of("outgoing.a")).mails.size() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(200);
            assertThat(holds.discardKept("outgoing.a", mail -> mail.getName().equals("a-1"))).as("a-0 is the one kept").isZero();
            assertThat(holds.discardKept("outgoing.b", mail -> true)).isZero();
            assertThat(holds.discardKept("outgoing.a", mail -> mail.getName().equals("a-0"))).isEqualTo(1);

            assertThat(holds.release("outgoing.a")).isTrue();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (out.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(200);
            assertThat(out).containsExactly("a-1");
        } finally {
            reading.dispose();
        }
    }

    @Test
    void anOrganisationHasAtMostTheLimitOfItsMailsOutAtOnce() throws Exception {
        Queues queues = new Queues();
        FairMailQueue fair = new FairMailQueue(queues, queues.createQueue(MailQueueName.of("outgoing")), List.of("a", "b"),
            Optional.empty(), 3);
        for (int i = 0; i < 20; i++) {
            fair.enQueue(mail("a-" + i, "a"));
        }
        List<MailQueue.MailQueueItem> out = new java.util.concurrent.CopyOnWriteArrayList<>();
        reactor.core.Disposable reading = Flux.from(fair.deQueue()).subscribe(out::add);
        try {
            Thread.sleep(500);
            assertThat(out).as("a's first three, then nothing until one is done").hasSize(3);
            fair.enQueue(mail("b-1", "b"));
            Thread.sleep(300);
            assertThat(out).extracting(item -> item.getMail().getName()).contains("b-1").hasSize(4);

            out.get(0).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
            Thread.sleep(300);
            assertThat(out).hasSize(5);
            out.get(4).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
            out.get(4).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
            Thread.sleep(300);
            assertThat(out).as("done twice counts once").hasSize(6);
        } finally {
            reading.dispose();
        }
    }

    @Test
    void queuesOfOrganisationsNoLongerConfiguredAreStillReadAfterARestart() throws Exception {
        Path known = directory.resolve("known.txt");
        Queues queues = new Queues();
        FairMailQueue before = new FairMailQueue(queues, queues.createQueue(MailQueueName.of("spool")), List.of(), Optional.of(known));
        before.enQueue(mail("gone-1", "gone"));
        assertThat(Files.readAllLines(known)).containsExactly("gone");

        FairMailQueue after = new FairMailQueue(queues, queues.createQueue(MailQueueName.of("spool")), List.of("other"), Optional.of(known));
        List<String> names = new ArrayList<>();
        Flux.from(after.deQueue()).take(1).map(item -> item.getMail().getName()).doOnNext(names::add).blockLast(Duration.ofSeconds(10));

        assertThat(names).containsExactly("gone-1");
        assertThat(Files.readAllLines(known)).containsExactly("gone", "other");
    }
}
