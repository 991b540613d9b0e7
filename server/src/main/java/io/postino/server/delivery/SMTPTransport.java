package io.postino.server.delivery;

import java.time.Instant;

import javax.mail.Address;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.URLName;

/**
 * JavaMail's SMTP transport that remembers the host it delivered to and the server's last reply
 * ({@link LastSmtpReply}), success or failure, so that tracking can say what the remote server
 * answered. Installed in RemoteDelivery with the JavaMail property
 * {@code <mail.smtp.class>io.postino.server.delivery.SMTPTransport</mail.smtp.class>} (registered
 * in META-INF/javamail.providers).
 *
 * <p>Named like its parent on purpose: James' RemoteDelivery sends 8-bit mail unchanged only to a
 * transport whose class name ends with {@code .SMTPTransport}, and converts it to 7-bit otherwise.</p>
 */
public class SMTPTransport extends com.sun.mail.smtp.SMTPTransport {
    public SMTPTransport(Session session, URLName urlName) {
        super(session, urlName);
    }

    @Override
    protected synchronized boolean protocolConnect(String host, int port, String user, String password) throws MessagingException {
        LastSmtpReply.forgetThread();
        return super.protocolConnect(host, port, user, password);
    }

    @Override
    public synchronized void sendMessage(Message message, Address[] addresses) throws MessagingException {
        try {
            super.sendMessage(message, addresses);
        } finally {
            String reply = getLastServerResponse();
            String host = getURLName() == null ? null : getURLName().getHost() + (getURLName().getPort() > 0 ? ":" + getURLName().getPort() : "");
            LastSmtpReply.set(message, new LastSmtpReply.Reply(host, reply == null ? "" : reply.trim(), Instant.now()));
        }
    }
}
