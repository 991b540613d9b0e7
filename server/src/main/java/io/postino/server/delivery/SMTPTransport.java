package io.postino.server.delivery;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import javax.mail.Address;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.SendFailedException;
import javax.mail.Session;
import javax.mail.URLName;

import com.sun.mail.smtp.SMTPAddressFailedException;

import io.postino.organisations.Route;

/**
 * JavaMail's SMTP transport that remembers the host it delivered to, the server's last reply
 * and the recipients it refused ({@link LastSmtpReply}), success or failure, so that tracking can
 * say what the remote server answered and suppression lists learn which addresses bounced. Installed in RemoteDelivery with the JavaMail property
 * {@code <mail.smtp.class>io.postino.server.delivery.SMTPTransport</mail.smtp.class>} (registered
 * in META-INF/javamail.providers).
 *
 * <p>Named like its parent on purpose: James' RemoteDelivery sends 8-bit mail unchanged only to a
 * transport whose class name ends with {@code .SMTPTransport}, and converts it to 7-bit otherwise.</p>
 */
public class SMTPTransport extends com.sun.mail.smtp.SMTPTransport {
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
            super.sendMessage(message, addresses);
        } catch (SendFailedException e) {
            refusedRecipients(e, refused);
            throw e;
        } finally {
            String reply = getLastServerResponse();
            String host = getURLName() == null ? null : getURLName().getHost() + (getURLName().getPort() > 0 ? ":" + getURLName().getPort() : "");
            LastSmtpReply.set(message, new LastSmtpReply.Reply(host, reply == null ? "" : reply.trim(), Instant.now(), Map.copyOf(refused)));
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
