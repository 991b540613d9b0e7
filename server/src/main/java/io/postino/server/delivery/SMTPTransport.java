package io.postino.server.delivery;

import java.util.Optional;

import javax.mail.Address;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.SendFailedException;
import javax.mail.Session;
import javax.mail.URLName;

import com.sun.mail.smtp.SMTPAddressFailedException;
import com.sun.mail.smtp.SMTPSendFailedException;

import io.postino.organisations.Route;

/**
 * The SMTP transport James' RemoteDelivery gets from JavaMail for each delivery, which delivers
 * over a connection kept from an earlier delivery to the same next hop when there is one
 * ({@link NextHopConnections}: like Postfix, a connection waits up to 2 s for the next mail and
 * serves mails for up to 300 s) and otherwise opens one ({@link NextHopConnection}, which applies
 * the mail's route, carries SMTPUTF8 and remembers the replies for tracking). James 3.8.1 alone
 * opens a connection (TCP, banner, EHLO, STARTTLS where offered) for every mail and closes it with
 * QUIT. Installed in RemoteDelivery with the JavaMail property
 * {@code <mail.smtp.class>io.postino.server.delivery.SMTPTransport</mail.smtp.class>} (registered
 * in META-INF/javamail.providers).
 *
 * <p>Its {@link #close()} gives the connection back to be kept, unless the delivery left it
 * closed or broken (an I/O failure: JavaMail closes the socket). A kept connection answers
 * {@code RSET} before it takes another mail, or a new one is opened; a kept connection that the
 * server ends with {@code 421} during the mail (a limit of mails per connection, a shutdown)
 * hands the mail to a new connection, once, instead of deferring it.</p>
 *
 * <p>META-INF/javamail.providers also makes it the {@code smtp} transport of every other JavaMail
 * session of the process (none sends mail today): anything that sends with JavaMail shares the
 * kept connections.</p>
 *
 * <p>Named like its parent on purpose: James' RemoteDelivery sends 8-bit mail unchanged only to a
 * transport whose class name ends with {@code .SMTPTransport}, and converts it to 7-bit otherwise.
 * Only what RemoteDelivery calls goes to the connection: connecting, sending, the server's
 * extensions and last reply, closing.</p>
 */
public class SMTPTransport extends com.sun.mail.smtp.SMTPTransport {
    /** Extensions James looks at before sending (7-bit conversion, ENVID): a new connection must offer the same. */
    private static final String[] DECIDED_BEFORE_SENDING = {"8BITMIME", "DSN"};
    private final NextHopConnections connections;
    private final Optional<Route> route;
    private NextHopConnection connection;
    private boolean broken;
    private boolean reused;
    private Target target;

    /** What {@link #connect} was asked for, to open a new connection for the same mail. */
    private record Target(NextHopConnections.Key key, URLName name, Optional<Route.Source> source, String host, int port,
                          String user, String password) {
    }

    public SMTPTransport(Session session, URLName urlName) {
        this(session, urlName, NextHopConnections.SHARED);
    }

    SMTPTransport(Session session, URLName urlName, NextHopConnections connections) {
        super(session, urlName);
        this.connections = connections;
        this.route = CurrentDelivery.route();
    }

    @Override
    public synchronized void connect(String host, int port, String user, String password) throws MessagingException {
        if (connection != null) {
            throw new IllegalStateException("already connected");
        }
        LastSmtpReply.forgetThread();
        Optional<Route.Source> source = route.flatMap(CurrentDelivery::nextSource);
        URLName name = getURLName();
        String protocol = name == null || name.getProtocol() == null ? "smtp" : name.getProtocol();
        NextHopConnections.Key key = NextHopConnections.Key.of(session, protocol,
            host != null ? host : name == null ? null : name.getHost(),
            port != -1 ? port : name == null ? -1 : name.getPort(),
            user != null ? user : name == null ? null : name.getUsername(), route, source, getLocalHost());
        Optional<NextHopConnection> kept = connections.borrow(key);
        target = new Target(key, name, source, host, port, user, password);
        reused = kept.isPresent();
        connection = kept.isPresent() ? kept.get() : open(target);
        broken = false;
    }

    private NextHopConnection open(Target to) throws MessagingException {
        NextHopConnection fresh = new NextHopConnection(session, to.name(), route, to.source());
        fresh.setLocalHost(getLocalHost());
        fresh.connect(to.host(), to.port(), to.user(), to.password());
        connections.made(fresh, to.key());
        return fresh;
    }

    @Override
    public synchronized void sendMessage(Message message, Address[] addresses) throws MessagingException {
        NextHopConnection current = connected();
        try {
            sendOnce(current, message, addresses);
        } catch (MessagingException e) {
            if (!reused || !endedWith421(e, current)) {
                throw e;
            }
            // A kept connection the server ends (421: shutting down, or enough mails on one
            // connection) took no part of this mail: it goes on a new connection, once.
            connections.forget(current);
            current.quit();
            connection = null;
            reused = false;
            broken = false;
            LastSmtpReply.takeFor(message);
            connection = open(target);
            for (String extension : DECIDED_BEFORE_SENDING) {
                if (current.supportsExtension(extension) != connection.supportsExtension(extension)) {
                    broken = true;
                    throw new MessagingException("The next hop ended a kept connection with 421 and offers "
                        + (connection.supportsExtension(extension) ? "" : "no longer ") + extension
                        + " on a new one: the mail is tried again later");
                }
            }
            sendOnce(connection, message, addresses);
        }
    }

    /**
     * Whether the server answered 421 (closing the connection) to any command of the mail: to
     * MAIL FROM or DATA, to a RCPT TO (JavaMail reports it as a refused recipient), or just before
     * the connection broke (JavaMail then reports the broken RSET that followed).
     */
    private static boolean endedWith421(MessagingException failure, NextHopConnection connection) {
        if (connection.getLastReturnCode() == 421) {
            return true;
        }
        Exception next = failure;
        for (int depth = 0; next instanceof MessagingException && depth < 10_000; depth++) {
            if (next instanceof SMTPSendFailedException sent && sent.getReturnCode() == 421
                || next instanceof SMTPAddressFailedException refused && refused.getReturnCode() == 421) {
                return true;
            }
            next = ((MessagingException) next).getNextException();
        }
        return false;
    }

    private void sendOnce(NextHopConnection current, Message message, Address[] addresses) throws MessagingException {
        boolean answered = false;
        try {
            current.send(session, message, addresses);
            answered = true;
        } catch (SendFailedException e) {
            answered = true;
            throw e;
        } finally {
            // anything else is not an answer of the server to the mail: the connection's state is unknown
            if (!answered) {
                broken = true;
            }
        }
    }

    @Override
    public synchronized void close() throws MessagingException {
        NextHopConnection current = connection;
        connection = null;
        if (current == null) {
            return;
        }
        if (broken) {
            connections.forget(current);
            current.quit();
        } else {
            connections.giveBack(current);
        }
    }

    @Override
    public synchronized boolean isConnected() {
        return connection != null && connection.open();
    }

    @Override
    public boolean supportsExtension(String extension) {
        NextHopConnection current = connection;
        return current != null && current.supportsExtension(extension);
    }

    @Override
    public String getExtensionParameter(String extension) {
        NextHopConnection current = connection;
        return current == null ? null : current.getExtensionParameter(extension);
    }

    @Override
    public synchronized String getLastServerResponse() {
        return connection == null ? null : connection.getLastServerResponse();
    }

    @Override
    public synchronized int getLastReturnCode() {
        return connection == null ? -1 : connection.getLastReturnCode();
    }

    private NextHopConnection connected() {
        if (connection == null) {
            throw new IllegalStateException("Not connected");
        }
        return connection;
    }
}
