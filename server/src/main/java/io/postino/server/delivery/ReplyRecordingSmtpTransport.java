package io.postino.server.delivery;

import javax.mail.Address;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.URLName;

import com.sun.mail.smtp.SMTPTransport;

/**
 * JavaMail's SMTP transport that remembers, per thread, the host it delivered to and the server's
 * last reply ({@link LastSmtpReply}), success or failure, so that tracking can say what the
 * remote server answered. Installed in RemoteDelivery with the JavaMail property
 * {@code <mail.smtp.class>io.postino.server.delivery.ReplyRecordingSmtpTransport</mail.smtp.class>}.
 */
public class ReplyRecordingSmtpTransport extends SMTPTransport {
    public ReplyRecordingSmtpTransport(Session session, URLName urlName) {
        super(session, urlName);
    }

    @Override
    public synchronized void sendMessage(Message message, Address[] addresses) throws MessagingException {
        try {
            super.sendMessage(message, addresses);
        } finally {
            String reply = getLastServerResponse();
            String host = getURLName() == null ? null : getURLName().getHost() + (getURLName().getPort() > 0 ? ":" + getURLName().getPort() : "");
            LastSmtpReply.set(message, new LastSmtpReply.Reply(host, reply == null ? "" : reply.trim()));
        }
    }
}
