package io.postino.server.delivery;

import java.lang.reflect.Field;
import java.net.Socket;
import java.net.SocketException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import javax.mail.Address;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.SendFailedException;
import javax.mail.Session;
import javax.mail.URLName;
import javax.mail.internet.InternetAddress;

import com.sun.mail.smtp.SMTPAddressFailedException;
import com.sun.mail.smtp.SMTPSendFailedException;

import io.postino.organisations.Route;

/**
 * One SMTP connection to a next hop: JavaMail's SMTP transport that remembers the host it
 * delivered to, the server's last reply and the recipients it refused ({@link LastSmtpReply}),
 * success or failure, so that tracking can say what the remote server answered and suppression
 * lists learn which addresses bounced. {@link SMTPTransport}, the transport James' RemoteDelivery
 * gets from JavaMail, borrows one from {@link NextHopConnections} or makes a new one.
 *
 * <p>It also carries SMTPUTF8 (RFC 6531): a mail with a UTF-8 address (or, declared SMTPUTF8, UTF-8
 * headers) goes with SMTPUTF8 to a next hop that offers it, and fails with {@code 553 5.6.7}
 * (a DSN) for a next hop that does not.</p>
 *
 * <p>A kept connection serves deliveries of several mails, one at a time: each use gives it the
 * JavaMail session of the delivery (the envelope sender and the mail's extensions are read from
 * there), and it remembers whether its socket is still open.</p>
 */
final class NextHopConnection extends com.sun.mail.smtp.SMTPTransport {
    private static final String FROM = "mail.smtp.from";
    private static final String MAIL_EXTENSION = "mail.smtp.mailextension";
    private static final Field SOCKET = socketField();
    private final Optional<Route> route;
    private final long madeAt = System.nanoTime();
    private volatile boolean open;
    private volatile long idleSince;

    private final Optional<Route.Source> source;

    /** @param source the route's source address for this connection, if it has any */
    NextHopConnection(Session session, URLName urlName, Optional<Route> route, Optional<Route.Source> source) {
        super(keptSettings(implicitTlsIfRouted(session, route)), urlName);
        this.route = route;
        this.source = source;
    }

    /**
     * Sends one mail, its envelope read from the delivery's own session: the session is swapped
     * and the mail sent under one lock.
     */
    synchronized void send(Session delivery, Message message, Address[] addresses) throws MessagingException {
        session = delivery;
        sendMessage(message, addresses);
    }

    /** Whether the socket is open, as far as this side knows (no command is sent). */
    boolean open() {
        return open;
    }

    @Override
    protected synchronized void setConnected(boolean connected) {
        super.setConnected(connected);
        open = connected;
    }

    /**
     * Before a kept connection takes another mail: {@code RSET} (as Postfix does with a cached
     * session), which ends whatever the last transaction left and shows the server still answers,
     * within {@code timeoutMillis} rather than the delivery's read timeout (180 s as shipped). False, and the connection closed, when it does not answer 250 in time.
     */
    synchronized boolean reset(int timeoutMillis) {
        try {
            if (open && withReadTimeout(timeoutMillis, () -> simpleCommand("RSET")) == 250) {
                return true;
            }
        } catch (MessagingException e) {
            // closed by the server while it was kept, or not answering: not reused
        }
        quit();
        return false;
    }

    /**
     * QUIT and close without waiting for the reply (kept connections are made with
     * {@code quitwait} off): a server that went away cannot hold the thread that closes it.
     */
    void quit() {
        try {
            close();
        } catch (MessagingException e) {
            // already closed by the server
        }
        open = false;
    }

    private interface Command {
        int run() throws MessagingException;
    }

    /** Runs {@code command} with the socket's read timeout set to {@code millis}, then puts it back. */
    private int withReadTimeout(int millis, Command command) throws MessagingException {
        Socket socket = socket();
        if (socket == null) {
            return command.run();
        }
        int before;
        try {
            before = socket.getSoTimeout();
            socket.setSoTimeout(millis);
        } catch (SocketException e) {
            throw new MessagingException("The kept connection's socket is closed", e);
        }
        try {
            return command.run();
        } finally {
            try {
                socket.setSoTimeout(before);
            } catch (SocketException e) {
                // closed meanwhile: not kept
            }
        }
    }

    /**
     * The connection's socket: JavaMail 1.6.2 keeps it in a private field ({@code serverSocket}),
     * which {@code SMTPTransportTest} checks is still reachable. Null where it is not.
     */
    private Socket socket() {
        if (SOCKET == null) {
            return null;
        }
        try {
            return (Socket) SOCKET.get(this);
        } catch (IllegalAccessException e) {
            return null;
        }
    }

    private static Field socketField() {
        try {
            Field field = com.sun.mail.smtp.SMTPTransport.class.getDeclaredField("serverSocket");
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    static boolean socketReachable() {
        return SOCKET != null;
    }

    void idle(long now) {
        idleSince = now;
    }

    long idleSince() {
        return idleSince;
    }

    long madeAt() {
        return madeAt;
    }

    /** JavaMail reads {@code quitwait} when the transport is created: a kept connection never waits for QUIT's reply. */
    private static Session keptSettings(Session session) {
        session.getProperties().put("mail.smtp.quitwait", "false");
        session.getProperties().put("mail.smtps.quitwait", "false");
        return session;
    }

    /** JavaMail decides on implicit TLS when the transport is created: the route must say so before. */
    private static Session implicitTlsIfRouted(Session session, Optional<Route> route) {
        route.filter(routed -> routed.tls() == Route.Tls.IMPLICIT)
            .ifPresent(routed -> session.getProperties().put("mail.smtp.ssl.enable", "true"));
        return session;
    }

    /**
     * JavaMail's {@code Service.connect} remembers the password (none for MX delivery) of every
     * server it connected to in the {@code Session}, and RemoteDelivery keeps its sessions
     * (see {@link RemoteDelivery}): the table would grow by one entry per next-hop address for ever.
     */
    @Override
    public synchronized void connect(String host, int port, String user, String password) throws MessagingException {
        super.connect(host, port, user, password);
        if (getURLName() != null) {
            session.setPasswordAuthentication(getURLName(), null);
        }
    }

    /**
     * Applies the mail's route (organisations.xml {@code <routes>}), if it has one: its smarthost
     * and credentials, its TLS policy, and the next of its source addresses with its HELO name.
     */
    @Override
    protected synchronized boolean protocolConnect(String host, int port, String user, String password) throws MessagingException {
        LastSmtpReply.forgetThread();
        if (route.isEmpty()) {
            return super.protocolConnect(host, port, user, password);
        }
        Route routed = route.get();
        Properties properties = session.getProperties();
        source.ifPresent(source -> {
            properties.put("mail.smtp.localaddress", source.address());
            properties.put("mail.smtps.localaddress", source.address());
            setLocalHost(source.helo());
        });
        setStartTLS(routed.tls() == Route.Tls.OPPORTUNISTIC || routed.tls() == Route.Tls.REQUIRED);
        setRequireStartTLS(routed.tls() == Route.Tls.REQUIRED);
        if (routed.kind() == Route.Kind.SMARTHOST) {
            properties.put("mail.smtp.auth", String.valueOf(routed.username().isPresent()));
            return super.protocolConnect(routed.host().orElse(host), routed.port(), routed.username().orElse(null), routed.password().orElse(null));
        }
        return super.protocolConnect(host, port, user, password);
    }

    @Override
    public synchronized void sendMessage(Message message, Address[] addresses) throws MessagingException {
        Map<String, String> refused = new LinkedHashMap<>();
        try {
            Utf8Envelope envelope = Utf8Envelope.of(session.getProperty(FROM), addresses, message, CurrentDelivery.smtpUtf8());
            if (!envelope.needsSmtpUtf8()) {
                super.sendMessage(message, envelope.recipients());
            } else if (supportsExtension("SMTPUTF8")) {
                sendWithSmtpUtf8(message, envelope);
            } else {
                sendWithoutSmtpUtf8(message, envelope);
            }
        } catch (SendFailedException e) {
            refusedRecipients(e, refused);
            throw e;
        } finally {
            String reply = getLastServerResponse();
            String host = getURLName() == null ? null : getURLName().getHost() + (getURLName().getPort() > 0 ? ":" + getURLName().getPort() : "");
            LastSmtpReply.set(message, new LastSmtpReply.Reply(host, reply == null ? "" : reply.trim(), Instant.now(), Map.copyOf(refused)));
        }
    }

    /**
     * MAIL FROM with SMTPUTF8 (JavaMail's {@code mailextension}), the addresses in their wire form.
     * JavaMail's own SMTPUTF8 support ({@code mail.mime.allowutf8}) is fixed when the transport is
     * created and would declare SMTPUTF8 for every mail, ASCII or not, which makes the next hop
     * bounce ASCII mail it cannot pass on to an older server.
     */
    private void sendWithSmtpUtf8(Message message, Utf8Envelope envelope) throws MessagingException {
        Properties properties = session.getProperties();
        Object from = properties.get(FROM);
        Object extension = properties.get(MAIL_EXTENSION);
        try {
            if (envelope.wireSenderOctets() != null) {
                properties.put(FROM, envelope.wireSenderOctets());
            }
            properties.put(MAIL_EXTENSION, extension == null ? "SMTPUTF8" : extension + " SMTPUTF8");
            super.sendMessage(message, envelope.wireRecipients());
        } catch (MessagingException e) {
            throw envelope.translate(e);
        } finally {
            restore(properties, FROM, from);
            restore(properties, MAIL_EXTENSION, extension);
        }
    }

    /**
     * RFC 6531 section 3.2: what needs SMTPUTF8 is not sent to a next hop that does not offer it.
     * Those recipients fail permanently with {@code 553 5.6.7} (the sender gets a DSN); the others,
     * if any, are delivered. The IDN domains are already A-labels, so they need nothing.
     */
    private void sendWithoutSmtpUtf8(Message message, Utf8Envelope envelope) throws MessagingException {
        String host = getURLName() == null ? "the next hop" : getURLName().getHost();
        String reply = "553 5.6.7 " + host + " does not offer SMTPUTF8 (RFC 6531) and " + envelope.why()
            + "; the message cannot be delivered there without changing it";
        List<InternetAddress> failing = envelope.everyRecipientNeedsIt()
            ? java.util.stream.Stream.concat(envelope.utf8Recipients().stream(), envelope.asciiRecipients().stream()).toList()
            : envelope.utf8Recipients();
        MessagingException refusals = Utf8Envelope.refusals(failing, reply);
        Address[] invalid = failing.toArray(new Address[0]);
        if (envelope.everyRecipientNeedsIt() || envelope.asciiRecipients().isEmpty()) {
            throw new SMTPSendFailedException("MAIL FROM", 553, reply, refusals, new Address[0], new Address[0], invalid);
        }
        Address[] ascii = envelope.asciiRecipients().toArray(new Address[0]);
        try {
            super.sendMessage(message, ascii);
        } catch (SendFailedException e) {
            MessagingException merged = e instanceof SMTPSendFailedException
                ? new SMTPSendFailedException(((SMTPSendFailedException) e).getCommand(), ((SMTPSendFailedException) e).getReturnCode(),
                    e.getMessage(), refusals, e.getValidSentAddresses(), e.getValidUnsentAddresses(), concat(e.getInvalidAddresses(), invalid))
                : new SendFailedException(e.getMessage(), refusals, e.getValidSentAddresses(), e.getValidUnsentAddresses(),
                    concat(e.getInvalidAddresses(), invalid));
            if (e.getNextException() != null) {
                merged.setNextException(e.getNextException());
            }
            throw merged;
        }
        throw new SMTPSendFailedException("RCPT TO", 553, reply, refusals, ascii, new Address[0], invalid);
    }

    private static Address[] concat(Address[] first, Address[] second) {
        Address[] all = java.util.Arrays.copyOf(first == null ? new Address[0] : first, (first == null ? 0 : first.length) + second.length);
        System.arraycopy(second, 0, all, all.length - second.length, second.length);
        return all;
    }

    private static void restore(Properties properties, String key, Object value) {
        if (value == null) {
            properties.remove(key);
        } else {
            properties.put(key, value);
        }
    }

    /** JavaMail chains one SMTPAddressFailedException per recipient refused at RCPT TO. */
    private static void refusedRecipients(MessagingException failure, Map<String, String> refused) {
        Exception next = failure;
        for (int depth = 0; next instanceof MessagingException && depth < 10_000; depth++) {
            if (next instanceof SMTPAddressFailedException) {
                SMTPAddressFailedException address = (SMTPAddressFailedException) next;
                refused.put(address.getAddress().getAddress(), address.getMessage() == null ? String.valueOf(address.getReturnCode())
                    : address.getMessage().trim());
            }
            next = ((MessagingException) next).getNextException();
        }
    }
}
