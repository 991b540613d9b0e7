package io.postino.server.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.mail.Address;
import javax.mail.Session;
import javax.mail.URLName;
import javax.mail.internet.InternetAddress;
import javax.mail.internet.MimeMessage;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.postino.organisations.Route;

/**
 * Deliveries the way James' RemoteDelivery makes them (a transport from the session, HELO name,
 * connect, send, close) to a real SMTP server on a loopback socket, which counts its connections.
 */
class SMTPTransportTest {
    private Sink sink;
    private NextHopConnections connections;

    @BeforeEach
    void start() throws IOException {
        sink = new Sink();
        connections = new NextHopConnections(Duration.ofSeconds(30), Duration.ofSeconds(300), Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() throws IOException {
        connections.closeAll();
        sink.close();
    }

    private Session session() {
        Properties properties = new Properties();
        properties.put("mail.smtp.timeout", "10000");
        properties.put("mail.smtp.connectiontimeout", "10000");
        Session session = Session.getInstance(properties);
        session.getProperties().put("mail.smtp.from", "sender@acme.test");
        return session;
    }

    private void deliver(Session session, String helo, String recipient) throws Exception {
        SMTPTransport transport = new SMTPTransport(session, new URLName("smtp", "127.0.0.1", sink.port(), null, null, null), connections);
        try {
            transport.setLocalHost(helo);
            transport.connect();
            MimeMessage message = new MimeMessage(session);
            message.setText("hello");
            message.setSubject("to " + recipient);
            message.saveChanges();
            transport.sendMessage(message, new Address[]{new InternetAddress(recipient)});
        } finally {
            transport.close();
        }
    }

    @Test
    void mailsToOneNextHopGoOverOneConnection() throws Exception {
        Session session = session();
        for (int i = 0; i < 3; i++) {
            deliver(session, "postino.test", "rcpt" + i + "@example.net");
        }

        assertThat(sink.mails()).containsExactly("rcpt0@example.net", "rcpt1@example.net", "rcpt2@example.net");
        assertThat(sink.connections()).isEqualTo(1);
        assertThat(sink.commands()).containsSubsequence("EHLO postino.test", "MAIL FROM:<sender@acme.test>", "RSET",
            "MAIL FROM:<sender@acme.test>", "RSET", "MAIL FROM:<sender@acme.test>");
        assertThat(sink.commands()).doesNotContain("QUIT");
        assertThat(connections.kept()).isEqualTo(1);
    }

    @Test
    void eachDeliveryReadsItsOwnSender() throws Exception {
        Session first = session();
        deliver(first, "postino.test", "a@example.net");
        Session second = session();
        second.getProperties().put("mail.smtp.from", "other@acme.test");
        deliver(second, "postino.test", "b@example.net");

        assertThat(sink.connections()).isEqualTo(1);
        assertThat(sink.commands()).contains("MAIL FROM:<sender@acme.test>", "MAIL FROM:<other@acme.test>");
    }

    @Test
    void anotherHeloNameOrOtherSettingsGetTheirOwnConnection() throws Exception {
        deliver(session(), "postino.test", "a@example.net");
        deliver(session(), "other.test", "b@example.net");
        Session tls = session();
        tls.getProperties().put("mail.smtp.starttls.enable", "true");
        deliver(tls, "postino.test", "c@example.net");

        assertThat(sink.mails()).hasSize(3);
        assertThat(sink.connections()).isEqualTo(3);
    }

    @Test
    void aKeptConnectionTheServerClosedIsReplacedAndTheMailDelivered() throws Exception {
        Session session = session();
        deliver(session, "postino.test", "a@example.net");
        sink.dropConnections();

        deliver(session, "postino.test", "b@example.net");

        assertThat(sink.mails()).containsExactly("a@example.net", "b@example.net");
        assertThat(sink.connections()).isEqualTo(2);
    }

    @Test
    void anIdleConnectionIsClosedWithQuit() throws Exception {
        connections = new NextHopConnections(Duration.ofMillis(1), Duration.ofSeconds(300), Duration.ofSeconds(10));
        deliver(session(), "postino.test", "a@example.net");
        Thread.sleep(5);

        connections.sweep();

        assertThat(connections.kept()).isZero();
        sink.awaitCommand("QUIT");
        deliver(session(), "postino.test", "b@example.net");
        assertThat(sink.connections()).isEqualTo(2);
    }

    @Test
    void aConnectionIsNotReusedPastItsReuseTime() throws Exception {
        connections = new NextHopConnections(Duration.ofSeconds(30), Duration.ofMillis(1), Duration.ofSeconds(10));
        deliver(session(), "postino.test", "a@example.net");
        Thread.sleep(5);

        deliver(session(), "postino.test", "b@example.net");

        assertThat(sink.connections()).isEqualTo(2);
        assertThat(sink.mails()).hasSize(2);
    }

    @Test
    void aKeptConnectionEndedWith421TakesTheMailToANewConnection() throws Exception {
        sink.mailsPerConnection = 1;
        Session session = session();
        deliver(session, "postino.test", "a@example.net");

        deliver(session, "postino.test", "b@example.net");

        assertThat(sink.mails()).containsExactly("a@example.net", "b@example.net");
        assertThat(sink.connections()).isEqualTo(2);
    }

    @Test
    void a421OnANewConnectionIsTheMailsFailure() throws Exception {
        sink.mailsPerConnection = 0;

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> deliver(session(), "postino.test", "a@example.net"))
            .isInstanceOf(com.sun.mail.smtp.SMTPSendFailedException.class);
        assertThat(sink.connections()).isEqualTo(1);
    }

    @Test
    void aKeptConnectionThatNoLongerAnswersIsGivenUpQuicklyAndTheMailDelivered() throws Exception {
        assertThat(NextHopConnection.socketReachable()).as("JavaMail's socket field, for the RSET timeout").isTrue();
        connections = new NextHopConnections(Duration.ofSeconds(30), Duration.ofSeconds(300), Duration.ofMillis(300));
        Session session = session();
        session.getProperties().put("mail.smtp.timeout", "60000");
        deliver(session, "postino.test", "a@example.net");
        deliver(session, "postino.test", "b@example.net");
        assertThat(connections.kept()).isEqualTo(1);
        sink.silenceOpenConnections();
        long start = System.nanoTime();

        deliver(session, "postino.test", "c@example.net");

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(sink.mails()).containsExactly("a@example.net", "b@example.net", "c@example.net");
        assertThat(sink.connections()).isEqualTo(2);
    }

    @Test
    void routesAndSourceAddressesDoNotShareConnections() throws Exception {
        Route first = new Route("first", Route.Kind.MX, Optional.empty(), 25, Route.Tls.NONE, Optional.empty(), Optional.empty(), List.of());
        Route second = new Route("second", Route.Kind.MX, Optional.empty(), 25, Route.Tls.NONE, Optional.empty(), Optional.empty(), List.of());
        Route sourced = new Route("sourced", Route.Kind.MX, Optional.empty(), 25, Route.Tls.NONE, Optional.empty(), Optional.empty(),
            List.of(new Route.Source("127.0.0.2", "one.test"), new Route.Source("127.0.0.3", "two.test")));
        try {
            for (Route route : List.of(first, second, first, second, sourced, sourced, sourced, sourced)) {
                CurrentDelivery.set(Optional.of(route));
                deliver(session(), "postino.test", route.name() + "@example.net");
            }
        } finally {
            CurrentDelivery.clear();
        }

        assertThat(sink.mails()).hasSize(8);
        assertThat(sink.connections()).as("first, second, and one per source address").isEqualTo(4);
        assertThat(sink.commands()).contains("EHLO one.test", "EHLO two.test");
    }

    @Test
    void aRefusedRecipientLeavesTheConnectionUsable() throws Exception {
        Session session = session();
        try {
            deliver(session, "postino.test", "refused@example.net");
        } catch (javax.mail.SendFailedException expected) {
            // 550 from the sink
        }
        deliver(session, "postino.test", "b@example.net");

        assertThat(sink.mails()).containsExactly("b@example.net");
        assertThat(sink.connections()).isEqualTo(1);
    }

    @Test
    void deliveriesAtOnceUseAConnectionEachAndKeepThem() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 3; round++) {
                List<java.util.concurrent.Future<?>> running = new java.util.ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    String recipient = "r" + round + "-" + i + "@example.net";
                    running.add(threads.submit(() -> {
                        deliver(session(), "postino.test", recipient);
                        return null;
                    }));
                }
                for (java.util.concurrent.Future<?> delivery : running) {
                    delivery.get(30, TimeUnit.SECONDS);
                }
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(sink.mails()).hasSize(12);
        assertThat(sink.connections()).isBetween(1, 4);
    }

    /** Answers SMTP on a loopback port: 550 for {@code refused@}, 250 otherwise. */
    private static final class Sink implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final ExecutorService threads = Executors.newCachedThreadPool();
        private final AtomicInteger connections = new AtomicInteger();
        private final List<String> mails = new CopyOnWriteArrayList<>();
        private final List<String> commands = new CopyOnWriteArrayList<>();
        private final List<Socket> open = new CopyOnWriteArrayList<>();
        private final List<Socket> silent = new CopyOnWriteArrayList<>();
        /** Beyond this many mails on one connection, MAIL FROM gets 421 and the connection ends. */
        volatile int mailsPerConnection = Integer.MAX_VALUE;

        Sink() throws IOException {
            threads.submit(this::accept);
        }

        int port() {
            return server.getLocalPort();
        }

        int connections() {
            return connections.get();
        }

        List<String> mails() {
            return mails;
        }

        List<String> commands() {
            return commands;
        }

        /** The connections open now read on but answer nothing more. */
        void silenceOpenConnections() {
            silent.addAll(open);
        }

        void dropConnections() throws IOException {
            for (Socket socket : open) {
                socket.close();
            }
        }

        void awaitCommand(String command) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!commands.contains(command) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(commands).contains(command);
        }

        private Void accept() throws IOException {
            while (!server.isClosed()) {
                Socket socket;
                try {
                    socket = server.accept();
                } catch (IOException closed) {
                    return null;
                }
                connections.incrementAndGet();
                open.add(socket);
                threads.submit(() -> converse(socket));
            }
            return null;
        }

        private Void converse(Socket socket) throws IOException {
            try (socket) {
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
                OutputStream out = socket.getOutputStream();
                reply(out, "220 sink.test ESMTP");
                String recipient = null;
                int delivered = 0;
                String line;
                while ((line = in.readLine()) != null) {
                    commands.add(line);
                    if (silent.contains(socket)) {
                        continue;
                    }
                    String upper = line.toUpperCase(java.util.Locale.ROOT);
                    if (upper.startsWith("MAIL FROM:") && delivered++ >= mailsPerConnection) {
                        reply(out, "421 4.7.0 enough for this connection");
                        return null;
                    } else if (upper.startsWith("EHLO")) {
                        reply(out, "250-sink.test\r\n250-8BITMIME\r\n250 PIPELINING");
                    } else if (upper.startsWith("RCPT TO:")) {
                        recipient = line.substring(line.indexOf('<') + 1, line.indexOf('>'));
                        reply(out, recipient.startsWith("refused@") ? "550 5.1.1 no such user" : "250 2.1.5 ok");
                    } else if (upper.equals("DATA")) {
                        reply(out, "354 go ahead");
                        while ((line = in.readLine()) != null && !line.equals(".")) {
                            // the message
                        }
                        mails.add(recipient);
                        reply(out, "250 2.0.0 queued");
                    } else if (upper.equals("QUIT")) {
                        reply(out, "221 2.0.0 bye");
                        return null;
                    } else if (upper.startsWith("STARTTLS")) {
                        reply(out, "454 4.7.0 TLS not available");
                    } else {
                        reply(out, "250 2.0.0 ok");
                    }
                }
            } catch (IOException dropped) {
                // the test closed it
            }
            return null;
        }

        private static void reply(OutputStream out, String text) throws IOException {
            out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        @Override
        public void close() throws IOException {
            server.close();
            dropConnections();
            threads.shutdownNow();
        }
    }
}
