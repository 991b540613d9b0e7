package io.postino.it.extension;

import java.util.List;
import java.util.Properties;

import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

/**
 * An integrator's mailet that creates mail of its own: for each mail it sees, sends a notification
 * with the configured envelope sender and From: to the configured recipient, through the mailet
 * context. Such mail never passed the SMTP checks; Postino's RejectUnauthorisedSender must judge it.
 */
public class SendNotification extends GenericMailet {
    private MailAddress sender;
    private String from;
    private MailAddress to;

    @Override
    public void init() throws MessagingException {
        sender = new MailAddress(getInitParameter("sender"));
        from = getInitParameter("from");
        to = new MailAddress(getInitParameter("to"));
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        MimeMessage notification = new MimeMessage(Session.getInstance(new Properties()));
        notification.setHeader("From", from);
        notification.setHeader("To", to.asString());
        notification.setSubject("Notification about " + mail.getMessage().getSubject());
        notification.setText("A notification.");
        notification.saveChanges();
        getMailetContext().sendMail(sender, List.of(to), notification);
    }
}
