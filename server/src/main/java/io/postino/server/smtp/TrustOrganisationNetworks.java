package io.postino.server.smtp;

import javax.inject.Inject;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.ConnectHandler;
import org.apache.james.protocols.smtp.SMTPSession;

import io.postino.organisations.Organisations;

/**
 * Lets a client that connects from an organisation's {@code <trustedNetwork>} (organisations.xml)
 * relay without SMTP AUTH, and remembers which organisation trusts it: its mail belongs to that
 * organisation and may only use that organisation's domains ({@link EnforceSenderIdentity}).
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.TrustOrganisationNetworks"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. The networks are read at connection time from the organisations in force,
 * so a reload applies to the next connection.</p>
 */
public class TrustOrganisationNetworks implements ConnectHandler<SMTPSession> {
    private final Organisations organisations;

    @Inject
    public TrustOrganisationNetworks(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public Response onConnect(SMTPSession session) {
        organisations.current().trustingClient(session.getRemoteAddress().getAddress())
            .ifPresent(organisation -> {
                session.setRelayingAllowed(true);
                session.setAttachment(OrganisationSession.TRUSTED_BY, organisation.id(), ProtocolSession.State.Connection);
            });
        return null;
    }
}
