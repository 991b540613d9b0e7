package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Hostile load costs an honest client nothing: 1,000 idle connections from 40 addresses (25 each,
 * under the per-address limit), or from 1,000 addresses of four networks, leave room for a newcomer, who gets the banner within a second and
 * sends; a client trickling its message one octet a second, and one that opens TLS and says
 * nothing, are cut off within their bounds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConnectionFloodIntegrationTest {
    private static final int TRANSACTION_TIMEOUT_SECONDS = 12;

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("flood");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), Installations.ACME_ONLY);
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"), "<transactionTimeout>600</transactionTimeout>",
            "<transactionTimeout>" + TRANSACTION_TIMEOUT_SECONDS + "</transactionTimeout>");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    /** A client from {@code address} gets its banner within a second, then sends a message that arrives; returns how long the banner took. */
    private Duration newcomerSends(String address) throws Exception {
        String token = UUID.randomUUID().toString();
        Instant start = Instant.now();
        Duration took;
        try (SmtpClient client = SmtpClient.connectFrom(address, "127.0.0.1", postino.smtpPort)) {
            SmtpClient.Reply banner = client.readReply();
            took = Duration.between(start, Instant.now());
            assertThat(banner.code()).as(banner.text()).isEqualTo(220);
            assertThat(took).as("banner for a new client from " + address).isLessThan(Duration.ofSeconds(1));
            client.command("EHLO honest.test");
            SmtpClient.expect(client.send("app@acme.test", List.of("bob@example.com"), "From: app@acme.test\r\nSubject: " + token + "\r\n\r\nhi"), 250);
        }
        assertThat(sink.awaitMessages(m -> m.text().contains(token), 1, Duration.ofSeconds(60))).hasSize(1);
        return took;
    }

    @Test
    void aThousandIdleConnectionsLeaveRoomForANewClient() throws Exception {
        List<Socket> flood = new ArrayList<>();
        try {
            for (int address = 1; address <= 40; address++) {
                for (int i = 0; i < 25; i++) {
                    Socket socket = new Socket();
                    socket.bind(new InetSocketAddress("127.0.1." + address, 0));
                    socket.connect(new InetSocketAddress("127.0.0.1", postino.smtpPort), 5_000);
                    flood.add(socket);
                }
            }
            Thread.sleep(500);
            int refused = 0;
            for (Socket socket : flood.subList(flood.size() - 25, flood.size())) {
                socket.setSoTimeout(2_000);
                try {
                    String banner = new String(socket.getInputStream().readNBytes(3), StandardCharsets.US_ASCII);
                    refused += banner.equals("421") ? 1 : 0;
                } catch (SocketTimeoutException e) {
                    // no banner in time: counted as neither
                }
            }
            assertThat(refused).as("the last address's connections were refused with 421 once its share was used").isPositive();

            Duration took = newcomerSends("127.0.2.1");
            System.out.printf("flood (1,000 idle connections from 40 addresses): %d of the last address's refused with 421; banner for a newcomer after %d ms%n", refused, took.toMillis());
        } finally {
            for (Socket socket : flood) {
                socket.close();
            }
        }
    }

    @Test
    void aThousandConnectionsFromAThousandAddressesLeaveRoomForAnotherNetwork() throws Exception {
        List<Socket> flood = new ArrayList<>();
        try {
            for (int address = 0; address < 1000; address++) {
                Socket socket = new Socket();
                socket.bind(new InetSocketAddress("127.1." + (address / 250) + "." + (address % 250 + 1), 0));
                socket.connect(new InetSocketAddress("127.0.0.1", postino.smtpPort), 5_000);
                flood.add(socket);
            }
            Thread.sleep(500);

            Duration took = newcomerSends("127.2.0.1");
            System.out.printf("flood (1,000 connections from 1,000 addresses of 4 networks): banner for another network after %d ms%n", took.toMillis());
        } finally {
            for (Socket socket : flood) {
                socket.close();
            }
            Thread.sleep(500);
        }
    }

    /**
     * Four clients, each in an accepted transaction, pipeline BDAT chunks (each answered with a
     * 250 longer than the chunk) as fast as loopback takes them and never read a reply. The
     * server must stop reading from them (TCP holds them back) instead of buffering what they
     * send or what it answers until it runs out of memory, keep them connected (nothing they do
     * is wrong), and serve a newcomer meanwhile.
     */
    @Test
    void clientsPipeliningWithoutReadingTheirRepliesAreHeldBackAndCostOthersNothing() throws Exception {
        int logStart = postino.output().length();
        int flooders = 4;
        Duration run = Duration.ofSeconds(8);
        byte[] block = "BDAT 4\r\nabc\n".repeat(4096).getBytes(StandardCharsets.US_ASCII);
        ExecutorService threads = Executors.newFixedThreadPool(flooders);
        List<SmtpClient> clients = new ArrayList<>();
        List<Future<Long>> written = new ArrayList<>();
        Duration took;
        try {
            for (int i = 1; i <= flooders; i++) {
                SmtpClient client = SmtpClient.connectFrom("127.0.3." + i, "127.0.0.1", postino.smtpPort);
                client.greetingAndEhlo();
                SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
                SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
                clients.add(client);
            }
            Instant deadline = Instant.now().plus(run);
            for (SmtpClient client : clients) {
                written.add(threads.submit(() -> {
                    long octets = 0;
                    try {
                        OutputStream out = client.socket().getOutputStream();
                        while (Instant.now().isBefore(deadline)) {
                            out.write(block);
                            octets += block.length;
                        }
                    } catch (IOException e) {
                        // closed by us at the deadline (a blocked write), or by the server
                    }
                    return octets;
                }));
            }
            Thread.sleep(3_000);
            took = newcomerSends("127.0.4.1");
            for (Future<Long> one : written) {
                assertThat(one.isDone()).as("the flooders' writes are held back (blocked), not refused").isFalse();
            }
            Thread.sleep(Math.max(0, Duration.between(Instant.now(), deadline).toMillis()));
            Thread.sleep(500);
            long most = 0;
            // Not asserted here: that every writer is still blocked at the deadline. The kernel may
            // grow a socket's buffers and let the server read a little more, so a writer can
            // return just after the deadline (CI saw it once). The octet bound below is the check
            // that the server stopped reading.
            // What the server sent back meanwhile: only 250s, and the connection still open.
            SmtpClient first = clients.get(0);
            first.socket().setSoTimeout(2_000);
            byte[] replies = first.socket().getInputStream().readNBytes(64 * 1024);
            String answered = new String(replies, StandardCharsets.US_ASCII);
            assertThat(answered.substring(0, answered.lastIndexOf('\n')).lines().filter(line -> !line.matches("250 2\\.0\\.0 [0-9]+ octets received")).toList())
                .as("replies other than a chunk's 250").isEmpty();
            for (SmtpClient client : clients) {
                client.socket().close();
            }
            for (Future<Long> one : written) {
                most = Math.max(most, one.get(30, TimeUnit.SECONDS));
            }
            System.out.printf("flood (4 clients pipelining BDAT for %d s without reading): at most %d KiB taken from one; banner for a newcomer after %d ms%n",
                run.toSeconds(), most / 1024, took.toMillis());
            assertThat(most).as("octets one client could send (the kernel's socket buffers included)").isLessThan(32L << 20);
        } finally {
            for (SmtpClient client : clients) {
                client.socket().close();
            }
            threads.shutdownNow();
            assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        newcomerSends("127.0.4.2");
        String log = postino.output().substring(logStart);
        assertThat(log.lines().filter(line -> line.contains(" ERROR ") || line.contains("OutOfMemory")).toList()).as("ERROR lines").isEmpty();
    }

    /**
     * Every place of the listener taken by connections from more than ten networks (17 here), each kept busy
     * with a NOOP every two seconds, none sending mail: a newcomer still gets in, in the place of
     * one of them (ConnectionBudget: the connection without progress the longest).
     */
    @Test
    void connectionsKeptAliveWithNoopsFromManyNetworksCannotLockANewcomerOut() throws Exception {
        List<Socket> flood = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger closedByServer = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean keepingAlive = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread keepAlive = new Thread(() -> {
            byte[] noop = "NOOP\r\n".getBytes(StandardCharsets.US_ASCII);
            java.util.Set<Socket> gone = new java.util.HashSet<>();
            Instant end = Instant.now().plusSeconds(120);
            while (keepingAlive.get() && Instant.now().isBefore(end)) {
                List<Socket> now;
                synchronized (flood) {
                    now = new ArrayList<>(flood);
                }
                for (Socket socket : now) {
                    if (gone.contains(socket)) {
                        continue;
                    }
                    try {
                        InputStream in = socket.getInputStream();
                        byte[] answers = in.readNBytes(in.available());
                        if (new String(answers, StandardCharsets.US_ASCII).contains("421")) {
                            throw new IOException("closed with 421");
                        }
                        socket.getOutputStream().write(noop);
                    } catch (IOException e) {
                        gone.add(socket);
                        closedByServer.incrementAndGet();
                    }
                }
                try {
                    Thread.sleep(2_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "noop-keepalive");
        int networks = 0;
        try {
            keepAlive.start();
            boolean full = false;
            for (int network = 1; network <= 60 && !full; network++) {
                boolean networkFull = false;
                for (int address = 1; address <= 250 && !networkFull && !full; address++) {
                    for (int i = 0; i < 50; i++) {
                        Socket socket = new Socket();
                        socket.bind(new InetSocketAddress("127.5." + network + "." + address, 0));
                        socket.connect(new InetSocketAddress("127.0.0.1", postino.smtpPort), 5_000);
                        socket.setSoTimeout(5_000);
                        String banner = SmtpLines.readLine(socket.getInputStream());
                        if (banner != null && banner.startsWith("220")) {
                            synchronized (flood) {
                                flood.add(socket);
                            }
                            continue;
                        }
                        socket.close();
                        full = banner == null || banner.contains("Too many connections; try again later");
                        networkFull = !full && banner.contains("network");
                        break;
                    }
                }
                networks = network;
            }
            assertThat(full).as("the flood filled the listener").isTrue();
            // ConnectionBudget.EVICTION_MIN_AGE (5 s) and a second more.
            Thread.sleep(6_000);
            int closedBefore = closedByServer.get();

            Duration took = newcomerSends("127.6.0.1");
            System.out.printf("flood (%d connections from %d networks kept alive with NOOPs): %d closed by the server before a newcomer came; banner for it after %d ms%n",
                flood.size(), networks, closedBefore, took.toMillis());
            assertThat(networks).as("networks the flood came from").isGreaterThan(10);
            assertThat(closedBefore).as("flood connections closed before the newcomer: it got in by eviction, not because the flood timed out").isLessThan(50);
        } finally {
            keepingAlive.set(false);
            keepAlive.interrupt();
            keepAlive.join(10_000);
            synchronized (flood) {
                for (Socket socket : flood) {
                    socket.close();
                }
            }
            Thread.sleep(1_000);
        }
    }

    @Test
    void moreThanAHundredCommandsInARowThatSendNoMailCloseTheSession() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            for (int i = 0; i < 90; i++) {
                SmtpClient.expect(client.command("NOOP"), 250);
            }
            SmtpClient.expect(client.send("app@acme.test", List.of("bob@example.com"), "From: app@acme.test\r\n\r\nhi"), 250);
            for (int i = 0; i < 100; i++) {
                SmtpClient.expect(client.command(i % 2 == 0 ? "RSET" : "NOOP"), 250);
            }
            SmtpClient.Reply reply = client.command("NOOP");
            assertThat(reply.code()).as(reply.text()).isEqualTo(421);
            assertThat(reply.text()).contains("4.7.0");
            assertThat(client.socket().getInputStream().read()).as("closed").isEqualTo(-1);
        }
    }

    /** A refused BDAT sends no mail: it counts towards the junk limit and makes no progress. */
    @Test
    void refusedBdatChunksCountAsCommandsThatSendNoMail() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            int refused = 0;
            SmtpClient.Reply reply = null;
            for (int i = 0; i < 150; i++) {
                client.sendRaw("BDAT 1 LAST\r\nx".getBytes(StandardCharsets.US_ASCII));
                reply = client.readReply();
                if (reply.code() != 503) {
                    break;
                }
                refused++;
            }
            assertThat(reply.code()).as(reply.text()).isEqualTo(421);
            assertThat(refused).isLessThanOrEqualTo(100);
        }
    }

    @Test
    void aClientTricklingItsMessageIsCutOffAtTheTransactionTimeout() throws Exception {
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            client.greetingAndEhlo();
            SmtpClient.expect(client.command("MAIL FROM:<app@acme.test>"), 250);
            SmtpClient.expect(client.command("RCPT TO:<bob@example.com>"), 250);
            SmtpClient.expect(client.command("DATA"), 354);
            Instant start = Instant.now();
            OutputStream out = client.socket().getOutputStream();
            InputStream in = client.socket().getInputStream();
            client.socket().setSoTimeout(1_000);
            String reply = null;
            for (int i = 0; i < 60 && reply == null; i++) {
                try {
                    out.write('x');
                    out.flush();
                    byte[] answer = in.readNBytes(3);
                    reply = answer.length == 0 ? "closed" : new String(answer, StandardCharsets.US_ASCII);
                } catch (SocketTimeoutException e) {
                    // nothing yet: one more octet a second
                } catch (IOException e) {
                    reply = "closed";
                }
            }
            Duration took = Duration.between(start, Instant.now());
            System.out.printf("flood (1 octet/s DATA): %s after %d ms (transactionTimeout %d s)%n", reply, took.toMillis(), TRANSACTION_TIMEOUT_SECONDS);
            assertThat(reply).isIn("421", "closed");
            assertThat(took).isBetween(Duration.ofSeconds(TRANSACTION_TIMEOUT_SECONDS - 1), Duration.ofSeconds(TRANSACTION_TIMEOUT_SECONDS + 4));
        }
    }

    @Test
    void aTlsClientThatNeverFinishesTheHandshakeIsCutOff() throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", postino.smtpsPort), 5_000);
            socket.setSoTimeout(20_000);
            Instant start = Instant.now();
            int read = socket.getInputStream().read();
            assertThat(read).isEqualTo(-1);
            assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(14));
        }
    }
}
