package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import javax.mail.MessagingException;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.postino.server.spool.InsufficientStorage;
import reactor.core.publisher.Mono;

class SpoolReceivedMailTest {
    /** A spool queue that fails with {@link #failure} while it is set, and otherwise keeps what it gets. */
    private final class Spool implements MailQueue {
        final List<Mail> queued = new ArrayList<>();

        @Override
        public MailQueueName getName() {
            return MailQueueFactory.SPOOL;
        }

        @Override
        public void enQueue(Mail mail, Duration delay) throws MailQueueException {
            enQueue(mail);
        }

        @Override
        public void enQueue(Mail mail) throws MailQueueException {
            if (failure != null) {
                throw failure;
            }
            queued.add(mail);
        }

        @Override
        public Publisher<Void> enqueueReactive(Mail mail) {
            return Mono.empty();
        }

        @Override
        public Publisher<MailQueueItem> deQueue() {
            return Mono.empty();
        }

        @Override
        public void close() {
        }
    }

    private final Spool spool = new Spool();
    private MailQueue.MailQueueException failure;
    private SpoolReceivedMail hook;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();

    @BeforeEach
    void setUp() {
        hook = new SpoolReceivedMail(new MailQueueFactory<MailQueue>() {
            @Override
            public Optional<MailQueue> getQueue(MailQueueName name, PrefetchCount count) {
                return Optional.of(spool);
            }

            @Override
            public MailQueue createQueue(MailQueueName name, PrefetchCount count) {
                return spool;
            }

            @Override
            public Set<MailQueueName> listCreatedMailQueues() {
                return Set.of(MailQueueFactory.SPOOL);
            }
        });
        hook.init(new BaseConfiguration());
        log.start();
        ((Logger) LoggerFactory.getLogger(SpoolReceivedMail.class)).addAppender(log);
    }

    @AfterEach
    void detachLog() {
        ((Logger) LoggerFactory.getLogger(SpoolReceivedMail.class)).detachAppender(log);
    }

    private HookResult receive() throws Exception {
        Mail mail = FakeMail.builder().name("m" + System.nanoTime()).sender("app@acme.test").recipient("bob@example.com").build();
        return hook.onMessage(FakeSmtpSession.client("192.0.2.1", true), mail);
    }

    private long logged(Level level) {
        return log.list.stream().filter(line -> line.getLevel().equals(level)).count();
    }

    @Test
    void aSpooledMessageIsAnswered250() throws Exception {
        HookResult result = receive();

        assertThat(result.getResult()).isEqualTo(HookReturnCode.ok());
        assertThat(result.getSmtpDescription()).isEqualTo("2.6.0 Message received");
        assertThat(spool.queued).hasSize(1);
    }

    @Test
    void theSpoolsFullDiskSignalIsInsufficientSystemStorage() throws Exception {
        failure = new InsufficientStorage("The spool cannot write: IOError NoSpace", null);

        HookResult result = receive();

        assertThat(result.getResult()).isEqualTo(HookReturnCode.denySoft());
        assertThat(result.getSmtpRetCode()).isEqualTo("452");
        assertThat(result.getSmtpDescription()).isEqualTo("4.3.1 Insufficient system storage; try again later");
    }

    @Test
    void noSpaceLeftOnDeviceAnywhereInTheCausesIsInsufficientSystemStorage() throws Exception {
        failure = new MailQueue.MailQueueException("Cannot spool m1",
            new MessagingException("Cannot read the message", new FileSystemException("/var/tmp/m1", null, "No space left on device")));

        HookResult result = receive();

        assertThat(result.getSmtpRetCode()).isEqualTo("452");
        assertThat(result.getSmtpDescription()).startsWith("4.3.1 ");
    }

    @Test
    void anyOtherFailureIsATemporaryFailureOfTheMailSystem() throws Exception {
        failure = new MailQueue.MailQueueException("Cannot spool m1", new IOException("Input/output error"));

        HookResult result = receive();

        assertThat(result.getResult()).isEqualTo(HookReturnCode.denySoft());
        assertThat(result.getSmtpRetCode()).isEqualTo("451");
        assertThat(result.getSmtpDescription()).isEqualTo("4.3.0 The message could not be queued; try again later");
    }

    @Test
    void anOutageIsOneWarnWithoutStackTraceAndItsEndOneInfo() throws Exception {
        failure = new InsufficientStorage("The spool cannot write: IOError NoSpace", null);
        receive();
        receive();
        receive();
        failure = null;
        receive();

        assertThat(logged(Level.ERROR)).isZero();
        assertThat(log.list).filteredOn(line -> line.getLevel().equals(Level.WARN)).singleElement().satisfies(line -> {
            assertThat(line.getFormattedMessage()).contains("cannot be spooled", "IOError NoSpace", "452 4.3.1");
            assertThat(line.getThrowableProxy()).isNull();
        });
        assertThat(log.list).filteredOn(line -> line.getLevel().equals(Level.INFO))
            .anySatisfy(line -> assertThat(line.getFormattedMessage()).contains("spooled again"));
    }

    @Test
    void sessionsRacingForTheLastSpaceDoNotMakeAWarnEachTimeItFlaps() throws Exception {
        for (int i = 0; i < 5; i++) {
            failure = new InsufficientStorage("The spool cannot write: IOError NoSpace", null);
            receive();
            failure = null;
            receive();
        }

        assertThat(logged(Level.WARN)).isEqualTo(1);
        assertThat(log.list).filteredOn(line -> line.getFormattedMessage().contains("spooled again")).hasSize(1);
    }
}
