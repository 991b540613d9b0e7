package io.postino.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A real SMTP server for Postino to deliver to: it speaks enough ESMTP for JavaMail, ends DATA
 * only on CRLF.CRLF, removes dot-stuffing and keeps every message with its envelope and the
 * address it was sent from. Recipients can be answered with any reply, to test retries and bounces.
 */
final class SmtpSink implements AutoCloseable {

    /**
     * A message as it arrived: envelope, raw content (CRLF line ends, unstuffed), the client's
     * address, when its connection was opened and when its DATA ended.
     */
    /**
     * @param clientPort with {@code connectedAt}, which connection it came on (Postino keeps its
     *        connections: several mails may share one)
     * @param mailAt when its MAIL FROM came
     */
    record Message(String sender, List<String> recipients, byte[] content, String clientAddress, Instant connectedAt, Instant receivedAt,
                   String helo, String mailCommand, int clientPort, Instant mailAt) {
        String text() {
            return new String(content, StandardCharsets.UTF_8);
        }
    }

    private final int port;
    private final ServerSocket server;
    private final ExecutorService connections = Executors.newCachedThreadPool();
    private final List<Message> messages = new CopyOnWriteArrayList<>();
    private final AtomicInteger connectionCount = new AtomicInteger();
    private final java.util.Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> recipientQueries = new ConcurrentHashMap<>();
    private volatile Function<String, String> recipientReply = recipient -> "250 2.1.5 OK";
    private volatile boolean smtpUtf8;

    private SmtpSink(int port) throws IOException {
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        this.port = server.getLocalPort();
        Thread acceptor = new Thread(this::acceptLoop, "smtp-sink-" + this.port);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static SmtpSink start() throws IOException {
        return new SmtpSink(0);
    }

    static SmtpSink startOn(int port) throws IOException {
        return new SmtpSink(port);
    }

    int port() {
        return port;
    }

    /** How to answer RCPT TO for a recipient: a full reply line such as {@code 450 4.2.0 try later}. */
    SmtpSink replyToRecipients(Function<String, String> reply) {
        this.recipientReply = reply;
        return this;
    }

    /**
     * Whether EHLO offers SMTPUTF8 (RFC 6531); MAIL FROM with a UTF-8 address is refused without it.
     * Like a server restarted with the new setting, it closes the connections it has: Postino keeps
     * its connections between deliveries, and a kept one would know the extensions of its EHLO.
     */
    SmtpSink offeringSmtpUtf8(boolean offered) {
        this.smtpUtf8 = offered;
        for (Socket socket : open) {
            try {
                socket.close();
            } catch (IOException e) {
                // closed already
            }
        }
        return this;
    }

    List<Message> messages() {
        return List.copyOf(messages);
    }

    int connectionCount() {
        return connectionCount.get();
    }

    /** How many times a client sent RCPT TO for this address (deliveries and callouts alike). */
    int recipientQueries(String address) {
        AtomicInteger count = recipientQueries.get(address.toLowerCase());
        return count == null ? 0 : count.get();
    }

    List<Message> awaitMessages(Predicate<Message> which, int count, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        List<Message> found = matching(which);
        while (found.size() < count && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
            found = matching(which);
        }
        return found;
    }

    List<Message> matching(Predicate<Message> which) {
        List<Message> found = new ArrayList<>();
        for (Message message : messages) {
            if (which.test(message)) {
                found.add(message);
            }
        }
        return found;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                connectionCount.incrementAndGet();
                open.add(socket);
                connections.submit(() -> serve(socket));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try {
            converse(socket);
        } finally {
            open.remove(socket);
        }
    }

    private void converse(Socket socket) {
        Instant connectedAt = Instant.now();
        try (socket) {
            socket.setSoTimeout(60_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            reply(out, "220 sink ESMTP");
            String sender = null;
            String helo = null;
            String mailCommand = null;
            Instant mailAt = null;
            List<String> recipients = new ArrayList<>();
            for (int commands = 0; commands < 10_000; commands++) {
                String line = SmtpLines.readLine(in);
                if (line == null) {
                    return;
                }
                String upper = line.toUpperCase();
                if (upper.startsWith("EHLO")) {
                    helo = line.substring(4).trim();
                    reply(out, "250-sink\r\n250-8BITMIME\r\n" + (smtpUtf8 ? "250-SMTPUTF8\r\n" : "") + "250 PIPELINING");
                } else if (upper.startsWith("HELO")) {
                    helo = line.substring(4).trim();
                    reply(out, "250 sink");
                } else if (upper.startsWith("MAIL FROM:")) {
                    if (!smtpUtf8 && !line.chars().allMatch(c -> c < 0x80)) {
                        reply(out, "553 5.6.7 no SMTPUTF8 here");
                        continue;
                    }
                    sender = address(line.substring(10));
                    mailCommand = line;
                    mailAt = Instant.now();
                    recipients = new ArrayList<>();
                    reply(out, "250 2.1.0 OK");
                } else if (upper.startsWith("RCPT TO:")) {
                    String recipient = address(line.substring(8));
                    recipientQueries.computeIfAbsent(recipient.toLowerCase(), any -> new AtomicInteger()).incrementAndGet();
                    String answer = recipientReply.apply(recipient);
                    if (answer.startsWith("2")) {
                        recipients.add(recipient);
                    }
                    reply(out, answer);
                } else if (upper.equals("DATA")) {
                    if (recipients.isEmpty()) {
                        reply(out, "554 5.5.1 no valid recipients");
                        continue;
                    }
                    reply(out, "354 go ahead");
                    byte[] content = readData(in);
                    messages.add(new Message(sender, List.copyOf(recipients), content, socket.getInetAddress().getHostAddress(), connectedAt, Instant.now(), helo, mailCommand,
                        socket.getPort(), mailAt));
                    reply(out, "250 2.0.0 queued");
                } else if (upper.equals("RSET")) {
                    sender = null;
                    recipients = new ArrayList<>();
                    reply(out, "250 2.0.0 OK");
                } else if (upper.equals("NOOP")) {
                    reply(out, "250 2.0.0 OK");
                } else if (upper.equals("QUIT")) {
                    reply(out, "221 2.0.0 bye");
                    return;
                } else {
                    reply(out, "502 5.5.2 not implemented");
                }
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static String address(String argument) {
        String trimmed = argument.trim();
        int end = trimmed.indexOf('>');
        return trimmed.startsWith("<") && end > 0 ? trimmed.substring(1, end) : trimmed.split(" ")[0];
    }

    private static byte[] readData(InputStream in) throws IOException {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        boolean previousEndedWithCrlf = true;
        int b;
        while ((b = in.read()) != -1) {
            line.write(b);
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                line.reset();
                boolean crlf = bytes.length >= 2 && bytes[bytes.length - 2] == '\r';
                if (previousEndedWithCrlf && crlf && bytes.length == 3 && bytes[0] == '.') {
                    return content.toByteArray();
                }
                int offset = bytes.length > 1 && bytes[0] == '.' ? 1 : 0;
                content.write(bytes, offset, bytes.length - offset);
                previousEndedWithCrlf = crlf;
            }
        }
        throw new IOException("connection closed during DATA");
    }

    private static void reply(OutputStream out, String text) throws IOException {
        out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        connections.shutdownNow();
    }
}
