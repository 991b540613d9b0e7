package io.postino.server.autoconfig;

import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

import io.postino.organisations.MailboxServer;

/**
 * Outlook's "plain old XML" autodiscover ({@code POST /autodiscover/autodiscover.xml}). The
 * request names the address:
 *
 * <pre>{@code
 * <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
 *   <Request>
 *     <EMailAddress>alice@acme.example</EMailAddress>
 *     <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
 *   </Request>
 * </Autodiscover>
 * }</pre>
 *
 * The answer is an {@code email} account with {@code Action settings}: the organisation's
 * mailbox server as an {@code IMAP} or {@code POP3} protocol when declared, then one {@code SMTP}
 * protocol per submission listener (465 with {@code SSL on}/{@code Encryption SSL}, 587 with
 * {@code Encryption TLS}, which is STARTTLS), the login being the address.
 */
final class OutlookAutodiscover {
    static final String REQUEST_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
    static final String RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    static final String AUTODISCOVER_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";

    private OutlookAutodiscover() {
    }

    /**
     * @return the requested e-mail address
     * @throws AutoconfigDirectory.BadRequest saying what is wrong with the request
     */
    static String requestedAddress(InputStream body) throws AutoconfigDirectory.BadRequest, IOException {
        Document request;
        try {
            request = XmlDocuments.parseRequest(body);
        } catch (SAXException e) {
            String reason = String.valueOf(e.getMessage());
            if (reason.contains("DOCTYPE")) {
                throw new AutoconfigDirectory.BadRequest("The autodiscover request declares a DOCTYPE: refused, no DTD or entity is accepted");
            }
            throw new AutoconfigDirectory.BadRequest("The autodiscover request is not well-formed XML: " + AutoconfigDirectory.printable(reason));
        }
        Element root = request.getDocumentElement();
        if (!"Autodiscover".equals(root.getLocalName()) || !REQUEST_SCHEMA.equals(root.getNamespaceURI())) {
            throw new AutoconfigDirectory.BadRequest("An autodiscover request is <Autodiscover xmlns=\"" + REQUEST_SCHEMA
                + "\">, got <" + AutoconfigDirectory.printable(root.getTagName()) + ">");
        }
        Optional<String> schema = text(root, "AcceptableResponseSchema");
        if (schema.isPresent() && !schema.get().equals(RESPONSE_SCHEMA)) {
            throw new AutoconfigDirectory.BadRequest("Only the Outlook response schema " + RESPONSE_SCHEMA + " is served, the request asks for "
                + AutoconfigDirectory.printable(schema.get()));
        }
        return text(root, "EMailAddress")
            .orElseThrow(() -> new AutoconfigDirectory.BadRequest("The autodiscover request has no <Request><EMailAddress>"));
    }

    private static Optional<String> text(Element root, String name) {
        NodeList nodes = root.getElementsByTagNameNS(REQUEST_SCHEMA, name);
        return nodes.getLength() == 0 ? Optional.empty() : Optional.of(nodes.item(0).getTextContent().trim()).filter(text -> !text.isEmpty());
    }

    static byte[] response(ClientSettings settings) {
        Document document = XmlDocuments.newDocument();
        Element root = document.createElementNS(AUTODISCOVER_SCHEMA, "Autodiscover");
        document.appendChild(root);
        Element response = document.createElementNS(RESPONSE_SCHEMA, "Response");
        root.appendChild(response);
        Element user = XmlDocuments.child(response, "User", null);
        XmlDocuments.child(user, "DisplayName", settings.address().orElseThrow());
        Element account = XmlDocuments.child(response, "Account", null);
        XmlDocuments.child(account, "AccountType", "email");
        XmlDocuments.child(account, "Action", "settings");
        String login = settings.address().orElseThrow();
        if (settings.mailbox().isPresent()) {
            MailboxServer mailbox = settings.mailbox().get();
            Element protocol = protocol(account, mailbox.type() == MailboxServer.Type.IMAP ? "IMAP" : "POP3", mailbox.host(),
                mailbox.port(), login, mailbox.implicitTls());
            XmlDocuments.child(protocol, "AuthRequired", "on");
        }
        for (SubmissionListener listener : settings.submissions()) {
            Element protocol = protocol(account, "SMTP", settings.hostname(), listener.port(), login, listener.implicitTls());
            XmlDocuments.child(protocol, "AuthRequired", "on");
            XmlDocuments.child(protocol, "UsePOPAuth", "off");
            XmlDocuments.child(protocol, "SMTPLast", "off");
        }
        return XmlDocuments.write(document, null, null);
    }

    private static Element protocol(Element account, String type, String host, int port, String login, boolean implicitTls) {
        Element protocol = XmlDocuments.child(account, "Protocol", null);
        XmlDocuments.child(protocol, "Type", type);
        XmlDocuments.child(protocol, "Server", host);
        XmlDocuments.child(protocol, "Port", String.valueOf(port));
        XmlDocuments.child(protocol, "LoginName", login);
        XmlDocuments.child(protocol, "DomainRequired", "off");
        XmlDocuments.child(protocol, "SPA", "off");
        // Encryption (Outlook 2010 and later) wins over SSL; older ones read SSL alone.
        XmlDocuments.child(protocol, "SSL", "on");
        XmlDocuments.child(protocol, "Encryption", implicitTls ? "SSL" : "TLS");
        return protocol;
    }
}
