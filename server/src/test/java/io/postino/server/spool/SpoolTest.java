package io.postino.server.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.james.core.MailAddress;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.server.core.MailImpl;
import org.apache.james.server.core.MimeMessageInputStreamSource;
import org.apache.james.server.core.MimeMessageWrapper;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.testing.TestClock;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

class SpoolTest {
    /** A message as SMTP receives it: 8-bit (UTF-8) header, a folded header, CRLF lines. */
    private static final byte[] MESSAGE = ("Received: from client.test\r\n\tby postino.test\r\n"
        + "From: =?utf-8?q?J=C3=B6s=C3=A9?= <jose@acme.test>\r\nSubject: Grüße aus Köln\r\nTo: bob@example.com\r\n\r\n"
        + "Hello\r\n.leading dot\r\n").getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path directory;
    private TestClock clock;
    private Spool spool;
    private final List<Disposable> subscriptions = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    @BeforeEach
    void open() throws Exception {
        clock = new TestClock(Instant.now());
        spool = new Spool(SpoolStore.open(directory), clock, (mail, count, retryIn) -> failures.add(mail.getName() + ":" + count + ":" + retryIn.toSeconds()));
    }

    @AfterEach
    void close() {
        subscriptions.forEach(Disposable::dispose);
        spool.close();
    }

    private void reopen() throws Exception {
        subscriptions.forEach(Disposable::dispose);
        subscriptions.clear();
        spool.close();
        spool = new Spool(SpoolStore.open(directory), clock, (mail, count, retryIn) -> { });
    }

    private static Mail smtpMail(String name) throws Exception {
        MimeMessageInputStreamSource source = MimeMessageInputStreamSource.create(name);
        source.getWritableOutputStream().write(MESSAGE);
        source.getWritableOutputStream().close();
        MailImpl mail = MailImpl.builder().name(name).sender("jose@acme.test").addRecipient("bob@example.com").build();
        mail.setMessageContent(source);
        mail.setAttribute(new Attribute(AttributeName.of("postino.organisation"), AttributeValue.of("acme")));
        return mail;
    }

    private BlockingQueue<MailQueue.MailQueueItem> consume(ManageableMailQueue queue) {
        BlockingQueue<MailQueue.MailQueueItem> received = new LinkedBlockingQueue<>();
        subscriptions.add(Flux.from(queue.deQueue()).subscribe(received::add));
        return received;
    }

    private static byte[] written(Mail mail) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        mail.getMessage().writeTo(out);
        return out.toByteArray();
    }

    @Test
    void queueStatesGiveEachQueuesSizeAndWhenItsOldestMailEnteredIt() throws Exception {
        Instant start = Instant.ofEpochMilli(clock.millis());
        ManageableMailQueue queue = spool.queue("outgoing.acme");
        queue.enQueue(smtpMail("m1"));
        clock.advance(Duration.ofSeconds(5));
        queue.enQueue(smtpMail("m2"), Duration.ofHours(1));

        assertThat(spool.queueStates()).contains(new Spool.QueueState("outgoing.acme", 2, java.util.Optional.of(start)));

        consume(queue).poll(5, TimeUnit.SECONDS).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(spool.queueStates()).contains(new Spool.QueueState("outgoing.acme", 1, java.util.Optional.of(start.plusSeconds(5))));
        queue.clear();
        assertThat(spool.queueStates()).contains(new Spool.QueueState("outgoing.acme", 0, java.util.Optional.empty()));
    }

    @Test
    void aMailWaitsSinceItWasReceivedNotSinceItEnteredItsQueue() throws Exception {
        Instant received = Instant.ofEpochMilli(clock.millis()).minus(Duration.ofHours(2));
        Mail mail = smtpMail("m1");
        mail.setAttribute(new Attribute(AttributeName.of("postino.receivedAt"), AttributeValue.of(received.toEpochMilli())));

        spool.queue("outgoing").enQueue(mail, Duration.ofMinutes(5));

        assertThat(spool.queueStates()).contains(new Spool.QueueState("outgoing", 1, java.util.Optional.of(received)));
    }

    @Test
    void aMailComesOutWithItsEnvelopeAndExactlyTheOctetsThatWentIn() throws Exception {
        ManageableMailQueue queue = spool.queue("spool");
        queue.enQueue(smtpMail("m1"));

        MailQueue.MailQueueItem item = consume(queue).poll(5, TimeUnit.SECONDS);

        assertThat(item).isNotNull();
        Mail mail = item.getMail();
        assertThat(mail.getName()).isEqualTo("m1");
        assertThat(mail.getMaybeSender().asString()).isEqualTo("jose@acme.test");
        assertThat(mail.getRecipients()).containsExactly(new MailAddress("bob@example.com"));
        assertThat(mail.getAttribute(AttributeName.of("postino.organisation")).get().getValue().value()).isEqualTo("acme");
        assertThat(written(mail)).isEqualTo(MESSAGE);
        assertThat(mail.getMessage().getSubject()).isEqualTo(new String("Grüße aus Köln".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
    }

    @Test
    void doneDeletesTheItemAndItsBodyForGood() throws Exception {
        ManageableMailQueue queue = spool.queue("spool");
        queue.enQueue(smtpMail("m1"));
        consume(queue).poll(5, TimeUnit.SECONDS).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(queue.getSize()).isZero();
        reopen();
        assertThat(spool.queue("spool").getSize()).isZero();
        assertThat(spool.store().bodyIds()).isEmpty();
    }

    @Test
    void aMailNotDoneIsThereAfterARestartAndIsHandedOutAgain() throws Exception {
        spool.queue("spool").enQueue(smtpMail("m1"));
        assertThat(consume(spool.queue("spool")).poll(5, TimeUnit.SECONDS)).isNotNull();

        reopen();

        MailQueue.MailQueueItem again = consume(spool.queue("spool")).poll(5, TimeUnit.SECONDS);
        assertThat(again).isNotNull();
        assertThat(written(again.getMail())).isEqualTo(MESSAGE);
    }

    @Test
    void movingAMailToAnotherQueueRefersToTheSameBody() throws Exception {
        spool.queue("spool").enQueue(smtpMail("m1"));
        MailQueue.MailQueueItem spooled = consume(spool.queue("spool")).poll(5, TimeUnit.SECONDS);

        spool.queue("outgoing").enQueue(spooled.getMail());
        spooled.done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(spool.store().bodyIds()).hasSize(1);
        MailQueue.MailQueueItem outgoing = consume(spool.queue("outgoing")).poll(5, TimeUnit.SECONDS);
        assertThat(written(outgoing.getMail())).isEqualTo(MESSAGE);
        outgoing.done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
        assertThat(spool.store().bodyIds()).isEmpty();
    }

    @Test
    void aHeaderAddedByAMailetIsKeptWithTheItemNotByCopyingTheBody() throws Exception {
        spool.queue("spool").enQueue(smtpMail("m1"));
        MailQueue.MailQueueItem spooled = consume(spool.queue("spool")).poll(5, TimeUnit.SECONDS);
        Mail mail = spooled.getMail();
        mail.getMessage().addHeaderLine("DKIM-Signature: v=1; a=rsa-sha256; d=acme.test; s=s1; b=abc");

        spool.queue("outgoing").enQueue(mail);
        spooled.done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
        reopen();

        assertThat(spool.store().bodyIds()).hasSize(1);
        Mail out = consume(spool.queue("outgoing")).poll(5, TimeUnit.SECONDS).getMail();
        String text = new String(written(out), StandardCharsets.UTF_8);
        assertThat(text).contains("DKIM-Signature: v=1; a=rsa-sha256; d=acme.test; s=s1; b=abc\r\n")
            .contains("Subject: Grüße aus Köln\r\n").endsWith("\r\n\r\nHello\r\n.leading dot\r\n");
    }

    @Test
    void aDelayedMailWaitsUntilItIsDueAndFlushMakesItDueNow() throws Exception {
        ManageableMailQueue queue = spool.queue("outgoing");
        queue.enQueue(smtpMail("later"), Duration.ofMinutes(10));
        BlockingQueue<MailQueue.MailQueueItem> received = consume(queue);

        assertThat(received.poll(300, TimeUnit.MILLISECONDS)).isNull();
        assertThat(queue.browse().next().getNextDelivery()).isPresent();

        assertThat(queue.flush()).isEqualTo(1);

        assertThat(received.poll(5, TimeUnit.SECONDS)).isNotNull();
    }

    @Test
    void expediteMakesDueNowOnlyTheDelayedMailItNames() throws Exception {
        ManageableMailQueue queue = spool.queue("outgoing");
        queue.enQueue(smtpMail("waiting-for-a-hold"), Duration.ofMinutes(10));
        queue.enQueue(smtpMail("deferred"), Duration.ofMinutes(10));
        BlockingQueue<MailQueue.MailQueueItem> received = consume(queue);

        assertThat(((ExpeditableQueue) queue).expedite(name -> name.equals("waiting-for-a-hold"))).isEqualTo(1);

        assertThat(received.poll(5, TimeUnit.SECONDS).getMail().getName()).isEqualTo("waiting-for-a-hold");
        assertThat(received.poll(300, TimeUnit.MILLISECONDS)).as("its retry is not cut short").isNull();
    }

    @Test
    void retryHandsTheMailOutAgainAndRejectNeverDropsIt() throws Exception {
        ManageableMailQueue queue = spool.queue("spool");
        queue.enQueue(smtpMail("m1"));
        BlockingQueue<MailQueue.MailQueueItem> received = consume(queue);

        received.poll(5, TimeUnit.SECONDS).done(MailQueue.MailQueueItem.CompletionStatus.RETRY);
        MailQueue.MailQueueItem again = received.poll(5, TimeUnit.SECONDS);
        assertThat(again).isNotNull();
        again.done(MailQueue.MailQueueItem.CompletionStatus.REJECT);

        assertThat(received.poll(300, TimeUnit.MILLISECONDS)).as("a minute later").isNull();
        assertThat(queue.getSize()).isEqualTo(1);
        clock.advance(Duration.ofMinutes(2));
        spool.queue("spool").drain();
        assertThat(received.poll(5, TimeUnit.SECONDS)).isNotNull();
    }

    @Test
    void aProcessingFailureMakesTheMailWaitLongerEachTimeAndIsReported() throws Exception {
        Mail mail = smtpMail("m1");
        mail.setAttribute(new Attribute(Spool.JAMES_FAILURES, AttributeValue.of(1)));

        spool.queue("spool").enQueue(mail);

        assertThat(failures).containsExactly("m1:1:30");
        ManageableMailQueue.MailQueueItemView view = spool.queue("spool").browse().next();
        assertThat(view.getMail().getAttribute(Spool.JAMES_FAILURES)).as("James' own count, which parks after 5, is taken off").isEmpty();
        assertThat(view.getNextDelivery().get().toInstant()).isAfter(clock.instant().plusSeconds(29));
        Mail again = view.getMail();
        again.setAttribute(new Attribute(Spool.JAMES_FAILURES, AttributeValue.of(1)));
        spool.queue("spool").enQueue(again);
        assertThat(failures).containsExactly("m1:1:30", "m1:2:60");
        assertThat(Spool.backoff(10)).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void afterAboutADayOfFailuresTheMailIsParkedInTheErrorRepositoryStillOnDisk() throws Exception {
        Mail mail = smtpMail("m1");
        mail.setAttribute(new Attribute(Spool.FAILURES, AttributeValue.of(Spool.PARK_AFTER - 1)));
        mail.setAttribute(new Attribute(Spool.JAMES_FAILURES, AttributeValue.of(1)));

        spool.queue("spool").enQueue(mail);

        assertThat(spool.queue("spool").getSize()).isZero();
        SpoolMailQueue errors = spool.queue(SpoolMailQueueFactory.REPOSITORY_PREFIX + Spool.ERROR_REPOSITORY);
        assertThat(errors.getSize()).isEqualTo(1);
        reopen();
        errors = spool.queue(SpoolMailQueueFactory.REPOSITORY_PREFIX + Spool.ERROR_REPOSITORY);
        Mail parked = errors.browse().next().getMail();
        assertThat(parked.getState()).isEqualTo(Mail.ERROR);
        assertThat(parked.getMessage().getSubject()).isNotNull();
    }

    @Test
    void progressForgetsEarlierFailures() throws Exception {
        Mail mail = smtpMail("m1");
        mail.setAttribute(new Attribute(Spool.JAMES_FAILURES, AttributeValue.of(1)));
        spool.queue("spool").enQueue(mail);
        Mail failedOnce = spool.queue("spool").browse().next().getMail();

        spool.queue("outgoing").enQueue(failedOnce);

        assertThat(spool.queue("outgoing").browse().next().getMail().getAttribute(Spool.FAILURES)).isEmpty();
    }

    @Test
    void storingAMailInTheRepositoryAgainReplacesItWithoutLosingItsBody() throws Exception {
        SpoolMailRepository repository = new SpoolMailRepository(spool);
        repository.store(smtpMail("m1"));
        Mail stored = repository.retrieve(new org.apache.james.mailrepository.api.MailKey("m1"));
        stored.setErrorMessage("x".repeat(10_000));

        repository.store(stored);

        assertThat(repository.size()).isEqualTo(1);
        reopen();
        Mail again = new SpoolMailRepository(spool).retrieve(new org.apache.james.mailrepository.api.MailKey("m1"));
        assertThat(again.getErrorMessage()).hasSize(10_000);
        assertThat(again.getMessage().getSubject()).isNotNull();
    }

    @Test
    void queuesAreManageable() throws Exception {
        ManageableMailQueue queue = spool.queue("outgoing");
        queue.enQueue(smtpMail("a"));
        Mail other = smtpMail("b");
        other.setRecipients(List.of(new MailAddress("carol@example.net")));
        queue.enQueue(other);

        assertThat(queue.getSize()).isEqualTo(2);
        assertThat(queue.remove(ManageableMailQueue.Type.Recipient, "carol@example.net")).isEqualTo(1);
        assertThat(queue.getSize()).isEqualTo(1);
        assertThat(queue.clear()).isEqualTo(1);
        assertThat(spool.store().bodyIds()).isEmpty();
    }

    @Test
    void theErrorRepositoryKeepsMailWithAReasonOfAnyLength() throws Exception {
        SpoolMailRepository repository = new SpoolMailRepository(spool);
        Mail mail = smtpMail("broken");
        mail.setErrorMessage("x".repeat(20_000));

        repository.store(mail);
        reopen();
        repository = new SpoolMailRepository(spool);

        assertThat(repository.size()).isEqualTo(1);
        Mail kept = repository.retrieve(repository.list().next());
        assertThat(kept.getErrorMessage()).hasSize(20_000);
        assertThat(written(kept)).isEqualTo(MESSAGE);
        assertThat(new SpoolMailQueueFactory(spool).listCreatedMailQueues()).isEmpty();
        repository.removeAll();
        assertThat(repository.size()).isZero();
    }

    @Test
    void aMessageTheSpoolDidNotWriteIsStoredAsJavaMailWritesIt() throws Exception {
        MailImpl mail = MailImpl.builder().name("built").sender("a@acme.test").addRecipient("b@example.com")
            .mimeMessage(new javax.mail.internet.MimeMessage(javax.mail.Session.getDefaultInstance(new java.util.Properties()),
                new java.io.ByteArrayInputStream("Subject: plain\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII)))).build();
        spool.queue("spool").enQueue(mail);

        Mail out = consume(spool.queue("spool")).poll(5, TimeUnit.SECONDS).getMail();

        assertThat(new String(written(out), StandardCharsets.US_ASCII)).contains("Subject: plain\r\n").endsWith("\r\n\r\nbody\r\n");
    }

    @Test
    void reopeningTheStoreWhileMailIsWrittenAndRemovedFailsNoWriteAndLosesNothing() throws Exception {
        int writers = 3;
        int mailsEach = 60;
        ManageableMailQueue queue = spool.queue("outgoing");
        List<String> kept = new ArrayList<>();
        ExecutorService threads = Executors.newFixedThreadPool(writers + 1);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger reopens = new AtomicInteger();
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                String prefix = "w" + w + "-";
                for (int i = 1; i < mailsEach; i += 2) {
                    kept.add(prefix + i);
                }
                work.add(threads.submit(() -> {
                    for (int i = 0; i < mailsEach; i++) {
                        queue.enQueue(smtpMail(prefix + i), Duration.ofHours(1));
                        if (i % 2 == 1) {
                            assertThat(queue.remove(ManageableMailQueue.Type.Name, prefix + (i - 1))).isEqualTo(1);
                        }
                    }
                    return null;
                }));
            }
            Future<?> reopener = threads.submit(() -> {
                while (writing.get()) {
                    spool.store().reopen();
                    reopens.incrementAndGet();
                    // reopening back to back starves the writers of the lock on a busy machine
                    // (the test then times out): leave them room between two reopens
                    Thread.sleep(5);
                }
                return null;
            });
            for (Future<?> writer : work) {
                writer.get(60, TimeUnit.SECONDS);
            }
            writing.set(false);
            reopener.get(60, TimeUnit.SECONDS);
        } finally {
            writing.set(false);
            threads.shutdownNow();
            threads.awaitTermination(30, TimeUnit.SECONDS);
        }

        assertThat(reopens.get()).as("the store was opened again while writers wrote").isGreaterThan(1);
        assertThat(spool.deletesPending()).as("no delete failed").isZero();
        reopen();
        List<String> stored = new ArrayList<>();
        spool.queue("outgoing").browse().forEachRemaining(view -> stored.add(view.getMail().getName()));
        assertThat(stored).containsExactlyInAnyOrderElementsOf(kept);
        assertThat(spool.store().bodyIds()).hasSize(kept.size());
    }

    @Test
    void aNewMessageThatWouldTakeTheReserveIsRefusedAsAFullDiskWhileQueuedMailStillMoves() throws Exception {
        java.util.concurrent.atomic.AtomicLong free = new java.util.concurrent.atomic.AtomicLong(Spool.RESERVE + 100);
        spool.close();
        spool = new Spool(SpoolStore.open(directory), clock, Spool.SpoolListener.NONE, free::get);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> spool.queue("spool").enQueue(smtpMail("too-big")))
            .isInstanceOf(InsufficientStorage.class)
            .hasMessageContaining("MiB kept for the mail already queued");
        assertThat(spool.store().bodyIds()).as("nothing written").isEmpty();

        free.set(1L << 30);
        spool.queue("spool").enQueue(smtpMail("m1"));
        MailQueue.MailQueueItem spooled = consume(spool.queue("spool")).poll(5, TimeUnit.SECONDS);
        free.set(0);
        spool.queue("outgoing").enQueue(spooled.getMail());
        spooled.done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(spool.queue("outgoing").getSize()).as("a move writes no new body: the reserve is for it").isEqualTo(1);
    }

    /** A record as the spool wrote it before it kept envelopes as octets (Jackson's tree of the same fields). */
    private static final String RECORD = "{\"queue\":\"outgoing.acme\",\"due\":1700000000000,\"failures\":2,\"body\":7,\"offset\":120,"
        + "\"headers\":\"U3ViamVjdDogaGkNCg0K\",\"envelope\":{\"name\":\"m1\",\"sender\":\"jose@acme.test\","
        + "\"recipients\":[\"bob@example.com\",\"ann@example.com\"],\"state\":\"root\",\"lastUpdated\":1700000000000,"
        + "\"remoteHost\":\"client.test\",\"remoteAddr\":\"127.0.0.1\","
        + "\"attributes\":{\"postino.organisation\":{\"serializer\":\"StringSerializer\",\"value\":\"acme\"}},"
        + "\"perRecipientHeaders\":{\"bob@example.com\":[\"X-Bob: yes\"]}}}";

    @Test
    void aRecordOnDiskIsReadAndWrittenBackOctetForOctet() throws Exception {
        SpoolItem item = SpoolItem.decode(42, RECORD.getBytes(StandardCharsets.UTF_8));

        assertThat(new String(item.encode(), StandardCharsets.UTF_8)).isEqualTo(RECORD);
        assertThat(item.withQueueAndDue("outgoing.acme", 1700000000001L).encode())
            .isEqualTo(RECORD.replace("1700000000000,\"failures", "1700000000001,\"failures").getBytes(StandardCharsets.UTF_8));
        assertThat(item.queue()).isEqualTo("outgoing.acme");
        assertThat(item.message()).extracting(MessageRef::bodyId, MessageRef::bodyOffset).containsExactly(7L, 120);
        assertThat(item.message().headers()).isEqualTo("Subject: hi\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(item.name()).isEqualTo("m1");
        assertThat(item.recipients()).containsExactly("bob@example.com", "ann@example.com");
    }

    @Test
    void aRecordWrittenNowIsTheJsonTreeTheSpoolAlwaysWrote() throws Exception {
        Mail mail = smtpMail("m1");
        mail.setErrorMessage("451 4.3.0 try later\nsecond line");
        SpoolItem item = new SpoolItem(3, "spool", 1700000000000L, 0, new MessageRef(5, 77, new byte[] {1, 2, 3}), SpoolItem.envelopeOf(mail));

        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode tree = json.createObjectNode();
        tree.put("queue", "spool");
        tree.put("due", 1700000000000L);
        tree.put("failures", 0);
        tree.put("body", 5L);
        tree.put("offset", 77);
        tree.put("headers", new byte[] {1, 2, 3});
        tree.set("envelope", json.readTree(item.envelope()));
        assertThat(item.encode()).isEqualTo(json.writeValueAsBytes(tree));
    }

    /** The envelope is written in one pass; its octets stay those of the tree of nodes it was built as before. */
    @Test
    void theEnvelopeIsTheOctetsOfTheTreeItWasOnceBuiltAs() throws Exception {
        Mail mail = smtpMail("m1");
        mail.setRecipients(List.of(new MailAddress("bob@example.com"), new MailAddress("ann@example.com")));
        mail.setState("transport");
        mail.setErrorMessage("451 4.3.0 try later\nsecond \"line\"");
        mail.setLastUpdated(new java.util.Date(1700000000123L));
        ((MailImpl) mail).setRemoteHost("client.example.net");
        ((MailImpl) mail).setRemoteAddr("192.0.2.7");
        mail.setAttribute(new Attribute(AttributeName.of("postino.receivedAt"), AttributeValue.of(1700000000000L)));
        mail.setAttribute(new Attribute(AttributeName.of("count"), AttributeValue.of(3)));
        mail.setAttribute(new Attribute(AttributeName.of("no.json"), AttributeValue.ofUnserializable(new Object())));
        mail.addSpecificHeaderForRecipient(org.apache.mailet.PerRecipientHeaders.Header.builder().name("X-Bob").value("yes").build(),
            new MailAddress("bob@example.com"));

        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode tree = json.createObjectNode();
        tree.put("name", "m1");
        tree.put("sender", "jose@acme.test");
        tree.putArray("recipients").add("bob@example.com").add("ann@example.com");
        tree.put("state", "transport");
        tree.put("errorMessage", "451 4.3.0 try later\nsecond \"line\"");
        tree.put("lastUpdated", 1700000000123L);
        tree.put("remoteHost", "client.example.net");
        tree.put("remoteAddr", "192.0.2.7");
        com.fasterxml.jackson.databind.node.ObjectNode attributes = tree.putObject("attributes");
        mail.attributes().forEach(attribute -> attribute.getValue().toJson().ifPresent(value -> attributes.set(attribute.getName().asString(), value)));
        tree.putObject("perRecipientHeaders").putArray("bob@example.com").add("X-Bob: yes");

        assertThat(attributes.size()).as("the attribute without a JSON form is not kept").isEqualTo(3);
        assertThat(new String(SpoolItem.envelopeOf(mail), StandardCharsets.UTF_8)).isEqualTo(json.writeValueAsString(tree));
        Mail back = new SpoolItem(1, "spool", 0, 0, new MessageRef(5, 77, null), SpoolItem.envelopeOf(mail)).toMail(null);
        assertThat(back.getRecipients()).containsExactly(new MailAddress("bob@example.com"), new MailAddress("ann@example.com"));
        assertThat(back.getErrorMessage()).isEqualTo("451 4.3.0 try later\nsecond \"line\"");
        assertThat(back.getAttribute(AttributeName.of("count")).get().getValue().value()).isEqualTo(3);
    }

    @Test
    void aMailReadBackFromAnOldRecordHasItsWholeEnvelope() throws Exception {
        SpoolItem item = SpoolItem.decode(42, RECORD.getBytes(StandardCharsets.UTF_8));
        SpoolItem stored = spool.queue("outgoing.acme").add(smtpMail("m2"), Duration.ZERO);

        Mail mail = new SpoolItem(item.id(), item.queue(), item.due(), item.failures(), stored.message(), item.envelope())
            .toMail(spool.message(stored));

        assertThat(mail.getName()).isEqualTo("m1");
        assertThat(mail.getMaybeSender().asString()).isEqualTo("jose@acme.test");
        assertThat(mail.getRecipients()).containsExactly(new MailAddress("bob@example.com"), new MailAddress("ann@example.com"));
        assertThat(mail.getState()).isEqualTo("root");
        assertThat(mail.getRemoteAddr()).isEqualTo("127.0.0.1");
        assertThat(mail.getAttribute(AttributeName.of("postino.organisation")).get().getValue().value()).isEqualTo("acme");
        assertThat(mail.getPerRecipientSpecificHeaders().getHeadersForRecipient(new MailAddress("bob@example.com")))
            .extracting(org.apache.mailet.PerRecipientHeaders.Header::asString).containsExactly("X-Bob: yes");
    }
}
