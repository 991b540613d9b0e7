package io.postino.server.smtp;

import org.apache.james.protocols.api.ProtocolSession;

/** What Postino's identity hooks remember in an SMTP session. */
public final class OrganisationSession {
    /** The organisation the current transaction's sender was verified for (transaction state). */
    public static final ProtocolSession.AttachmentKey<String> SENDING_ORGANISATION = ProtocolSession.AttachmentKey.of("postino.organisation", String.class);

    private OrganisationSession() {
    }
}
