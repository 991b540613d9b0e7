package io.postino.organisations;

/**
 * An inbound domain of an organisation whose mailboxes live on the organisation's own mail server:
 * Postino verifies each recipient there (an SMTP callout) before accepting mail for it, then
 * delivers the mail there instead of to the domain's MX.
 *
 * @param domain the domain, lower case
 * @param host the internal server's host name or IPv4 address
 * @param port its SMTP port
 */
public record RelayDomain(String domain, String host, int port) {
    /** {@code host:port}, as an MX entry James' RemoteDelivery understands. */
    public String hostAndPort() {
        return host + ":" + port;
    }
}
