package io.postino.server.smtp;

import java.util.Collection;

import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.ReceivedDataLineFilter;

import io.postino.address.InternationalAddresses;

/**
 * James' {@code Received:} header with the protocol keywords of RFC 3848 and RFC 6531 section
 * 4.3: {@code ESMTP}, then {@code S} for TLS and {@code A} for AUTH, and {@code UTF8SMTP...} for
 * an SMTPUTF8 transaction. James writes the header as US-ASCII, so the optional {@code for} clause
 * is left out when its address is UTF-8 (it would read {@code "??"@...}).
 *
 * <p>Part of {@link PostinoCoreHandlers}, so always present; nothing to configure.</p>
 */
public class ReceivedHeader extends ReceivedDataLineFilter {
    @Override
    protected String getServiceType(SMTPSession session, String heloMode) {
        if (!"EHLO".equals(heloMode)) {
            return "SMTP";
        }
        boolean utf8 = session.getAttachment(PostinoCommandDispatcher.SMTPUTF8, ProtocolSession.State.Transaction).orElse(false);
        return (utf8 ? "UTF8SMTP" : "ESMTP") + (session.isTLSStarted() ? "S" : "") + (session.getUsername() != null ? "A" : "");
    }

    @Override
    protected Collection<Header> headers(SMTPSession session) {
        Collection<Header> headers = super.headers(session);
        for (Header header : headers) {
            for (int i = 1; i < header.values.size(); i++) {
                String value = header.values.get(i);
                if (value.startsWith("for <") && !InternationalAddresses.isAscii(value)) {
                    header.values.remove(i);
                    header.values.set(i - 1, header.values.get(i - 1) + ";");
                    break;
                }
            }
        }
        return headers;
    }
}
