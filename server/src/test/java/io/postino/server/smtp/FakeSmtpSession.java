package io.postino.server.smtp;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.james.core.Username;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPConfiguration;
import org.apache.james.protocols.smtp.SMTPSession;

/**
 * The part of an SMTP session that Postino's hooks use (client address, user, relaying,
 * attachments), with real state. Any other method fails the test, so a hook that starts
 * depending on more is noticed.
 */
final class FakeSmtpSession implements InvocationHandler {
    private final InetSocketAddress remote;
    private final Map<String, Object> attachments = new HashMap<>();
    private final SMTPConfiguration configuration;
    private Username username;
    private boolean relayingAllowed;

    /** @param relayingAllowed whether the client is in the listener's authorizedAddresses */
    private FakeSmtpSession(String clientAddress, boolean relayingAllowed) {
        this.remote = new InetSocketAddress(clientAddress, 40000);
        this.relayingAllowed = relayingAllowed;
        this.configuration = (SMTPConfiguration) Proxy.newProxyInstance(SMTPConfiguration.class.getClassLoader(),
            new Class<?>[]{SMTPConfiguration.class}, (proxy, method, args) -> {
                if (method.getName().equals("isRelayingAllowed")) {
                    return relayingAllowed && clientAddress.equals(args[0]);
                }
                throw new UnsupportedOperationException("fake SMTPConfiguration does not implement " + method.getName());
            });
    }

    static SMTPSession client(String clientAddress, boolean relayingAllowed) {
        return (SMTPSession) Proxy.newProxyInstance(SMTPSession.class.getClassLoader(), new Class<?>[]{SMTPSession.class},
            new FakeSmtpSession(clientAddress, relayingAllowed));
    }

    static SMTPSession authenticated(String user) {
        SMTPSession session = client("192.0.2.50", true);
        session.setUsername(Username.of(user));
        return session;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "getRemoteAddress":
                return remote;
            case "getConfiguration":
                return configuration;
            case "getUsername":
                return username;
            case "setUsername":
                username = (Username) args[0];
                return null;
            case "isRelayingAllowed":
                return relayingAllowed;
            case "setRelayingAllowed":
                relayingAllowed = (Boolean) args[0];
                return null;
            case "setAttachment": {
                ProtocolSession.AttachmentKey<?> key = (ProtocolSession.AttachmentKey<?>) args[0];
                return Optional.ofNullable(attachments.put(args[2] + "/" + key.asString(), args[1]));
            }
            case "getAttachment": {
                ProtocolSession.AttachmentKey<?> key = (ProtocolSession.AttachmentKey<?>) args[0];
                return key.convert(attachments.get(args[1] + "/" + key.asString()));
            }
            case "getRcptCount": {
                Object recipients = attachments.get(ProtocolSession.State.Transaction + "/" + SMTPSession.RCPT_LIST.asString());
                return recipients == null ? 0 : ((java.util.List<?>) recipients).size();
            }
            case "toString":
                return "FakeSmtpSession[" + remote + ", " + username + "]";
            default:
                throw new UnsupportedOperationException("FakeSmtpSession does not implement " + method.getName());
        }
    }
}
