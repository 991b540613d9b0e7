package io.postino.organisations;

import java.util.Locale;

/**
 * An organisation's own mailbox server ({@code <mailboxServer>} in organisations.xml): Postino
 * hosts no mailboxes, so this is where the organisation's people read their mail. The client
 * autoconfiguration documents name it as the incoming server beside Postino's submission ports.
 *
 * @param type IMAP or POP3
 * @param host its host name, in lower case
 * @param port its port
 * @param implicitTls TLS from the first byte (993, 995); false: STARTTLS (143, 110)
 */
public record MailboxServer(Type type, String host, int port, boolean implicitTls) {
    public enum Type {
        IMAP(993, 143),
        POP3(995, 110);

        private final int implicitTlsPort;
        private final int startTlsPort;

        Type(int implicitTlsPort, int startTlsPort) {
            this.implicitTlsPort = implicitTlsPort;
            this.startTlsPort = startTlsPort;
        }

        /** The protocol's port for the TLS mode, when {@code port} is not given. */
        public int defaultPort(boolean implicitTls) {
            return implicitTls ? implicitTlsPort : startTlsPort;
        }

        /** {@code imap} or {@code pop3}, as in the XML and Thunderbird's autoconfig. */
        public String value() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
