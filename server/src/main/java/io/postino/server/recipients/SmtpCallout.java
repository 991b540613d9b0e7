package io.postino.server.recipients;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

import io.postino.organisations.RelayDomain;
import io.postino.recipients.CalloutVerdict;
import io.postino.recipients.SmtpReplyCode;

/**
 * One recipient probe (an SMTP callout) to an organisation's internal server: greeting, EHLO (HELO
 * if refused), MAIL FROM, RCPT TO, then RSET and QUIT; no message is ever sent. The whole probe
 * has one deadline.
 */
final class SmtpCallout {
    private static final int MAX_LINE = 4096;
    private static final int MAX_LINES = 100;

    private final String heloName;
    private final Optional<String> sender;
    private final Duration timeout;

    SmtpCallout(String heloName, Optional<String> sender, Duration timeout) {
        this.heloName = heloName;
        this.sender = sender;
        this.timeout = timeout;
    }

    CalloutVerdict probe(RelayDomain relay, String address) {
        Instant deadline = Instant.now().plus(timeout);
        String server = relay.hostAndPort();
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(relay.host(), relay.port()), (int) Math.max(1, timeout.toMillis()));
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = socket.getOutputStream();
            String greeting = read(socket, in, deadline);
            if (!greeting.startsWith("2")) {
                return CalloutVerdict.unknown(server + " greeted with: " + greeting);
            }
            String ehlo = command(socket, in, out, deadline, "EHLO " + heloName);
            if (!ehlo.startsWith("2") && !command(socket, in, out, deadline, "HELO " + heloName).startsWith("2")) {
                return CalloutVerdict.unknown(server + " refused HELO: " + ehlo);
            }
            String mail = command(socket, in, out, deadline, "MAIL FROM:<" + sender.orElse("") + ">");
            if (!mail.startsWith("2")) {
                return CalloutVerdict.unknown(server + " refused MAIL FROM: " + mail);
            }
            String rcpt = command(socket, in, out, deadline, "RCPT TO:<" + address + ">");
            quietly(socket, in, out, deadline);
            if (rcpt.startsWith("2")) {
                return CalloutVerdict.accepted(rcpt);
            }
            if (saysNoSuchMailbox(rcpt)) {
                return CalloutVerdict.refused(rcpt);
            }
            return CalloutVerdict.unknown(server + " answered: " + rcpt);
        } catch (SocketTimeoutException e) {
            return CalloutVerdict.unreachable(server + " did not answer within " + timeout.toSeconds() + " s");
        } catch (IOException e) {
            return CalloutVerdict.unreachable(server + " could not be reached (" + e.getMessage() + ")");
        }
    }

    /**
     * Only an answer about the mailbox itself proves it does not exist: an enhanced code 5.1.x, or
     * 550/551/553 without an enhanced code. A policy refusal (5.7.x: the probe's sender refused,
     * TLS required, relaying denied) says nothing about the recipient and is "unknown".
     */
    static boolean saysNoSuchMailbox(String reply) {
        return SmtpReplyCode.parse(reply)
            .filter(SmtpReplyCode::isPermanent)
            .map(code -> code.enhanced().map(status -> status.startsWith("5.1.")).orElse(Set.of("550", "551", "553").contains(code.basic())))
            .orElse(false);
    }

    private void quietly(Socket socket, BufferedReader in, OutputStream out, Instant deadline) {
        try {
            command(socket, in, out, deadline, "RSET");
            command(socket, in, out, deadline, "QUIT");
        } catch (IOException e) {
            // the answer is known already
        }
    }

    private String command(Socket socket, BufferedReader in, OutputStream out, Instant deadline, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return read(socket, in, deadline);
    }

    /** A whole reply, multi-line ones joined: its last line carries the final code. */
    private static String read(Socket socket, BufferedReader in, Instant deadline) throws IOException {
        StringBuilder reply = new StringBuilder();
        for (int lines = 0; lines < MAX_LINES; lines++) {
            long left = Duration.between(Instant.now(), deadline).toMillis();
            if (left <= 0) {
                throw new SocketTimeoutException("deadline");
            }
            socket.setSoTimeout((int) left);
            String line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed");
            }
            if (line.length() > MAX_LINE || line.length() < 3) {
                throw new IOException("not an SMTP reply: " + line.substring(0, Math.min(line.length(), 80)));
            }
            if (line.length() == 3 || line.charAt(3) != '-') {
                return line.trim();
            }
        }
        throw new IOException("reply too long");
    }
}
