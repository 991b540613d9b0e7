package io.postino.server.autoconfig;

import org.w3c.dom.Document;
import org.w3c.dom.Element;

import io.postino.organisations.MailboxServer;

/**
 * Thunderbird's autoconfig document ({@code config-v1.1.xml}, the format of
 * https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat), also read by
 * other clients (K-9/Thunderbird for Android, FairEmail, Evolution):
 *
 * <pre>{@code
 * <clientConfig version="1.1">
 *   <emailProvider id="acme.example">
 *     <domain>acme.example</domain>
 *     <displayName>Acme</displayName>
 *     <displayShortName>Acme</displayShortName>
 *     <incomingServer type="imap">...the organisation's <mailboxServer>, if declared...</incomingServer>
 *     <outgoingServer type="smtp">
 *       <hostname>POSTINO_HOSTNAME</hostname> <port>465</port> <socketType>SSL</socketType>
 *       <authentication>password-cleartext</authentication> <username>%EMAILADDRESS%</username>
 *     </outgoingServer>
 *     <outgoingServer type="smtp">...587, STARTTLS...</outgoingServer>
 *   </emailProvider>
 * </clientConfig>
 * }</pre>
 *
 * Only the requested domain is listed, not the organisation's others. "password-cleartext" is
 * AUTH PLAIN/LOGIN, which Postino accepts only inside TLS.
 */
final class ThunderbirdConfig {
    private ThunderbirdConfig() {
    }

    static byte[] document(ClientSettings settings) {
        Document document = XmlDocuments.newDocument();
        Element root = document.createElementNS(null, "clientConfig");
        root.setAttribute("version", "1.1");
        document.appendChild(root);
        Element provider = XmlDocuments.child(root, "emailProvider", null);
        provider.setAttribute("id", settings.domain());
        XmlDocuments.child(provider, "domain", settings.domain());
        XmlDocuments.child(provider, "displayName", settings.organisation().name());
        XmlDocuments.child(provider, "displayShortName", settings.organisation().name());
        if (settings.mailbox().isPresent()) {
            MailboxServer mailbox = settings.mailbox().get();
            Element incoming = XmlDocuments.child(provider, "incomingServer", null);
            incoming.setAttribute("type", mailbox.type().value());
            server(incoming, mailbox.host(), mailbox.port(), mailbox.implicitTls());
        }
        for (SubmissionListener listener : settings.submissions()) {
            Element outgoing = XmlDocuments.child(provider, "outgoingServer", null);
            outgoing.setAttribute("type", "smtp");
            server(outgoing, settings.hostname(), listener.port(), listener.implicitTls());
        }
        return XmlDocuments.write(document, null, null);
    }

    private static void server(Element server, String host, int port, boolean implicitTls) {
        XmlDocuments.child(server, "hostname", host);
        XmlDocuments.child(server, "port", String.valueOf(port));
        XmlDocuments.child(server, "socketType", implicitTls ? "SSL" : "STARTTLS");
        XmlDocuments.child(server, "authentication", "password-cleartext");
        XmlDocuments.child(server, "username", "%EMAILADDRESS%");
    }
}
