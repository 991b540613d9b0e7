package io.postino.server.smtp;

import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.dsn.DSNStatus;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.SenderIdentity;

/**
 * Checks MAIL FROM against the sender's organisation (organisations.xml) and attributes the
 * transaction to it. A client in an organisation's {@code <trustedNetwork>} may relay without
 * SMTP AUTH: this hook grants it, reading the networks in force at each MAIL FROM, so a reload
 * applies to the next transaction.
 * <ul>
 *   <li>after SMTP AUTH: the user's organisation and identity policy ({@code exact} or {@code domain});</li>
 *   <li>from an organisation's trusted network: that organisation's domains;</li>
 *   <li>from the listener's {@code authorizedAddresses}: the organisation owning the sender domain.</li>
 * </ul>
 * Any other client (mail from the Internet for the served domains) may not use an organisation's
 * domain as its sender: that needs AUTH ({@code 530 5.7.0}), as Postfix's
 * {@code reject_unauthenticated_sender_login_mismatch} does. The null sender is accepted from
 * users and trusted networks (bounces, read receipts).
 *
 * <pre>{@code
 * <handlerchain>
 *     <handler class="io.postino.server.smtp.EnforceSenderIdentity"/>
 * </handlerchain>
 * }</pre>
 *
 * <p>No parameters. Reply on refusal: {@code 550 5.7.1} (or {@code 530 5.7.0}) with the reason.</p>
 */
public class EnforceSenderIdentity implements MailHook {
    private final Organisations organisations;

    @Inject
    public EnforceSenderIdentity(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        SenderIdentity.Verdict verdict = judge(session, sender);
        if (!verdict.isAllowed()) {
            return verdict.requiresAuthentication() ? authenticationRequired(verdict.refusal().orElseThrow()) : refused(verdict.refusal().orElseThrow());
        }
        verdict.organisation().ifPresent(organisation ->
            session.setAttachment(OrganisationSession.SENDING_ORGANISATION, organisation.id(), ProtocolSession.State.Transaction));
        return HookResult.DECLINED;
    }

    private SenderIdentity.Verdict judge(SMTPSession session, MaybeSender sender) {
        OrganisationsConfig config = organisations.current();
        if (session.getUsername() != null) {
            return SenderIdentity.forUser(config, session.getUsername().asString(), sender);
        }
        String client = session.getRemoteAddress().getAddress().getHostAddress();
        Optional<Organisation> trusting = config.trustingClient(session.getRemoteAddress().getAddress());
        boolean operatorHost = session.getConfiguration().isRelayingAllowed(client);
        // Decided again at every MAIL FROM, so a network removed by a reload stops relaying on open
        // connections too. James checks relaying at RCPT, after this hook.
        session.setRelayingAllowed(operatorHost || trusting.isPresent());
        if (trusting.isPresent()) {
            return SenderIdentity.forTrustedNetwork(trusting.get(), sender);
        }
        if (operatorHost) {
            return SenderIdentity.forSenderDomain(config, sender);
        }
        return SenderIdentity.forStranger(config, sender);
    }

    private static HookResult authenticationRequired(String reason) {
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("530")
            .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SECURITY_OTHER) + " " + reason)
            .build();
    }

    static HookResult refused(String reason) {
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("550")
            .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.SECURITY_AUTH) + " " + reason)
            .build();
    }
}
