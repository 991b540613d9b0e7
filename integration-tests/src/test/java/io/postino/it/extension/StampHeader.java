package io.postino.it.extension;

import javax.mail.MessagingException;

import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

/**
 * An integrator's mailet, shipped to Postino as a jar in extensions-jars/: adds a header.
 * The test packs this class alone into a jar; the server's own classpath does not have it.
 */
public class StampHeader extends GenericMailet {
    private String header;
    private String value;

    @Override
    public void init() throws MessagingException {
        header = getInitParameter("header");
        value = getInitParameter("value", "stamped");
        if (header == null || header.isBlank()) {
            throw new MessagingException("StampHeader needs a 'header' parameter");
        }
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        mail.getMessage().setHeader(header, value);
        mail.getMessage().saveChanges();
    }
}
