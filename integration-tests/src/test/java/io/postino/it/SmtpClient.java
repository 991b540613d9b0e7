package io.postino.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A byte-exact SMTP client for tests: every command is written as given, so tests can send what
 * a well-behaved library would never send (bare LF, pipelined STARTTLS, oversized lines).
 */
final class SmtpClient implements AutoCloseable {

    /** One SMTP reply: its code and all its lines joined. */
    record Reply(int code, String text) {
        boolean positive() {
            return code >= 200 && code < 400;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private Socket socket;
    private InputStream in;
    private OutputStream out;

    private SmtpClient(Socket socket) throws IOException {
        use(socket);
    }

    static SmtpClient connect(String host, int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 10_000);
        return new SmtpClient(socket);
    }

    /** Connects from a chosen local address (any 127.0.0.0/8 address works on Linux loopback). */
    static SmtpClient connectFrom(String localAddress, String host, int port) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(localAddress, 0));
        socket.connect(new InetSocketAddress(host, port), 10_000);
        return new SmtpClient(socket);
    }

    static SmtpClient connectTls(String host, int port) throws IOException {
        SSLSocket socket = (SSLSocket) trustAll().getSocketFactory().createSocket();
        socket.connect(new InetSocketAddress(host, port), 10_000);
        socket.startHandshake();
        return new SmtpClient(socket);
    }

    /** Implicit TLS (port 465) from a chosen local address. */
    static SmtpClient connectTlsFrom(String localAddress, String host, int port) throws IOException {
        SSLSocket socket = (SSLSocket) trustAll().getSocketFactory().createSocket();
        socket.bind(new InetSocketAddress(localAddress, 0));
        socket.connect(new InetSocketAddress(host, port), 10_000);
        socket.startHandshake();
        return new SmtpClient(socket);
    }

    private void use(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(30_000);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    Socket socket() {
        return socket;
    }

    Reply readReply() throws IOException {
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = SmtpLines.readLine(in);
            if (line == null) {
                throw new IOException("connection closed by the server after " + lines);
            }
            lines.add(line);
            if (line.length() < 4 || line.charAt(3) != '-') {
                return new Reply(Integer.parseInt(line.substring(0, 3)), String.join("\n", lines));
            }
        }
    }

    Reply command(String command) throws IOException {
        sendRaw((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
        return readReply();
    }

    /** A command with UTF-8 in it (SMTPUTF8, RFC 6531). */
    Reply utf8Command(String command) throws IOException {
        sendRaw((command + "\r\n").getBytes(StandardCharsets.UTF_8));
        return readReply();
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    Reply greetingAndEhlo() throws IOException {
        Reply greeting = readReply();
        if (greeting.code() != 220) {
            throw new IOException("unexpected greeting " + greeting);
        }
        return command("EHLO client.test");
    }

    Reply startTls() throws IOException {
        Reply reply = command("STARTTLS");
        if (reply.code() == 220) {
            SSLSocket tls = (SSLSocket) trustAll().getSocketFactory()
                .createSocket(socket, socket.getInetAddress().getHostAddress(), socket.getPort(), true);
            tls.setUseClientMode(true);
            tls.startHandshake();
            use(tls);
        }
        return reply;
    }

    Reply authPlain(String user, String password) throws IOException {
        String token = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
        return command("AUTH PLAIN " + token);
    }

    /** One message in its own session, without AUTH: greeting, EHLO, then {@link #send}. */
    static Reply sendInNewSession(String host, int port, String sender, String recipient, String content) throws IOException {
        try (SmtpClient client = connect(host, port)) {
            client.greetingAndEhlo();
            return client.send(sender, List.of(recipient), content);
        }
    }

    /** MAIL, RCPT for each recipient, DATA and the content; returns the reply to the final dot. */
    Reply send(String sender, List<String> recipients, String content) throws IOException {
        expect(command("MAIL FROM:<" + sender + ">"), 250);
        for (String recipient : recipients) {
            expect(command("RCPT TO:<" + recipient + ">"), 250);
        }
        expect(command("DATA"), 354);
        sendRaw((dotStuff(content) + "\r\n.\r\n").getBytes(StandardCharsets.UTF_8));
        return readReply();
    }

    static Reply expect(Reply reply, int code) throws IOException {
        if (reply.code() != code) {
            throw new IOException("expected " + code + " but got: " + reply);
        }
        return reply;
    }

    private static String dotStuff(String content) {
        String normalised = content.replace("\r\n", "\n").replace("\n", "\r\n");
        return (normalised.startsWith(".") ? "." : "") + normalised.replace("\r\n.", "\r\n..");
    }

    static SSLContext trustAll() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[]{new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                    // The server's certificate is the self-signed one Postino generated for this test.
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, new SecureRandom());
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
