package io.postino.server.delivery;

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
 * JavaMail's SMTP transport that remembers the host it delivered to, the server's last reply
 * and the recipients it refused ({@link LastSmtpReply}), success or failure, so that tracking can
 * say what the remote server answered and suppression lists learn which addresses bounced. Installed in RemoteDelivery with the JavaMail property
 * {@code <mail.smtp.class>io.postino.server.delivery.SMTPTransport</mail.smtp.class>} (registered
 * in META-INF/javamail.providers).
 *
 * <p>It also carries SMTPUTF8 (RFC 6531): a mail with a UTF-8 address (or, declared SMTPUTF8, UTF-8
 * headers) goes with SMTPUTF8 to a next hop that offers it, and fails with {@code 553 5.6.7}
 * (a DSN) for a next hop that does not.</p>
 *
 * <p>Named like its parent on purpose: James' RemoteDelivery sends 8-bit mail unchanged only to a
 * transport whose class name ends with {@code .SMTPTransport}, and converts it to 7-bit otherwise.</p>
 */
public class SMTPTransport extends com.sun.mail.smtp.SMTPTransport {
    private static final String FROM = "mail.smtp.from";
    private static final String MAIL_EXTENSION = "mail.smtp.mailextension";
    private final Optional<Route> route;

    public SMTPTransport(Session session, URLName urlName) {
        super(implicitTlsIfRouted(session), urlName);
        this.route = CurrentDelivery.route();
    }

    /** JavaMail decides on implicit TLS when the transport is created: the route must say so before. */
    private static Session implicitTlsIfRouted(Session session) {
        CurrentDelivery.route().filter(route -> route.tls() == Route.Tls.IMPLICIT)
            .ifPresent(route -> session.getProperties().put("mail.smtp.ssl.enable", "true"));
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
        CurrentDelivery.nextSource(routed).ifPresent(source -> {
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
