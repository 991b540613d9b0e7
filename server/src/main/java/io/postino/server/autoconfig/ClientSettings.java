package io.postino.server.autoconfig;

import java.util.List;
import java.util.Optional;

import io.postino.organisations.MailboxServer;
import io.postino.organisations.Organisation;

/**
 * What a mail client of one address is told: Postino's host name and submission listeners (the
 * outgoing server), and the organisation's own mailbox server, if it declared one (the incoming
 * server: Postino hosts no mailboxes).
 *
 * @param address the e-mail address asked about, in lower case; empty when only the domain is known
 * @param submissions implicit TLS first (RFC 8314 §3.3 prefers it), then STARTTLS
 */
public record ClientSettings(String hostname, Organisation organisation, String domain, Optional<String> address,
                             List<SubmissionListener> submissions, Optional<MailboxServer> mailbox) {
    public ClientSettings {
        submissions = List.copyOf(submissions);
    }
}
