package io.postino.server.trace;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.james.core.Username;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPConfiguration;
import org.apache.james.protocols.smtp.SMTPSession;

/**
 * The SMTP session a trace hands to the real hooks: what a client at that address, logged in as
 * that user (or not), would present on that listener, and nothing that could reach the network.
 * It answers what Postino's and James' decision hooks read (remote address, user, TLS, relaying,
 * attachments, recipient count, the listener's size limit and authorised networks); any other
 * call fails with {@link UnsupportedOperationException}, which the trace reports as "not
 * evaluated" for that hook rather than guessing.
 */
final class DryRunSession implements InvocationHandler {
    private final Listener listener;
    private final InetAddress client;
    private final Username user;
    private final String helo;
    private final Map<ProtocolSession.State, Map<ProtocolSession.AttachmentKey<?>, Object>> attachments = new EnumMap<>(ProtocolSession.State.class);
    private boolean relayingAllowed;
    private int rcptCount;

    private DryRunSession(Listener listener, InetAddress client, Optional<String> user, String helo) {
        this.listener = listener;
        this.client = client;
        this.user = user.map(Username::of).orElse(null);
        this.helo = helo;
        // James' AUTH handler allows relaying once the login succeeds.
        this.relayingAllowed = this.user != null || listener.isAuthorised(client);
        attachments.put(ProtocolSession.State.Connection, new HashMap<>());
        attachments.put(ProtocolSession.State.Transaction, new HashMap<>());
        attachments.get(ProtocolSession.State.Connection).put(SMTPSession.CURRENT_HELO_NAME, helo);
    }

    static DryRunSession of(Listener listener, InetAddress client, Optional<String> user, String helo) {
        return new DryRunSession(listener, client, user, helo);
    }

    SMTPSession session() {
        return (SMTPSession) Proxy.newProxyInstance(SMTPSession.class.getClassLoader(), new Class<?>[]{SMTPSession.class}, this);
    }

    void recipientAccepted() {
        rcptCount++;
    }

    boolean relayingAllowed() {
        return relayingAllowed;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Object invoke(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "getAttachment":
                return Optional.ofNullable(attachments.get((ProtocolSession.State) args[1]).get((ProtocolSession.AttachmentKey<?>) args[0]));
            case "setAttachment":
                return Optional.ofNullable(attachments.get((ProtocolSession.State) args[2]).put((ProtocolSession.AttachmentKey<?>) args[0], args[1]));
            case "removeAttachment":
                return Optional.ofNullable(attachments.get((ProtocolSession.State) args[1]).remove((ProtocolSession.AttachmentKey<?>) args[0]));
            case "getRemoteAddress":
                return new InetSocketAddress(client, 0);
            case "getLocalAddress":
                return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.port());
            case "getSessionID":
                return "trace";
            case "getUsername":
                return user;
            case "isStartTLSSupported":
                return listener.startTls();
            case "isTLSStarted":
                // AUTH is only possible over TLS; a trace with a user is one that got that far.
                return user != null || listener.implicitTls();
            case "getSSLSession":
                return Optional.empty();
            case "getProxyInformation":
                return Optional.empty();
            case "getConfiguration":
                return configuration();
            case "isRelayingAllowed":
                return relayingAllowed;
            case "setRelayingAllowed":
                relayingAllowed = (Boolean) args[0];
                return null;
            case "isAuthAnnounced":
                return listener.announcesAuth(client);
            case "getRcptCount":
                return rcptCount;
            case "getCharset":
                return StandardCharsets.US_ASCII;
            case "getLineDelimiter":
                return "\r\n";
            case "supportsOAuth":
                return false;
            case "toString":
                return "dry-run session of " + client.getHostAddress() + (user == null ? "" : " as " + user.asString()) + " (HELO " + helo + ")";
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            default:
                throw new UnsupportedOperationException("a dry-run session cannot answer " + method.getName() + "()");
        }
    }

    private SMTPConfiguration configuration() {
        return (SMTPConfiguration) Proxy.newProxyInstance(SMTPConfiguration.class.getClassLoader(), new Class<?>[]{SMTPConfiguration.class},
            (proxy, method, args) -> {
                switch (method.getName()) {
                    case "getMaxMessageSize":
                        return listener.maxMessageSize();
                    case "isRelayingAllowed":
                        return listener.isAuthorised(InetAddress.getByName((String) args[0]));
                    case "isAuthAnnounced":
                        return listener.announcesAuth(InetAddress.getByName((String) args[0]));
                    case "useHeloEhloEnforcement":
                    case "useAddressBracketsEnforcement":
                        return true;
                    case "isPlainAuthEnabled":
                        return true;
                    case "getHelloName":
                        return "trace";
                    case "saslConfiguration":
                        return Optional.empty();
                    case "toString":
                        return "dry-run configuration of " + listener;
                    case "hashCode":
                        return System.identityHashCode(proxy);
                    case "equals":
                        return proxy == args[0];
                    default:
                        throw new UnsupportedOperationException("a dry-run listener configuration cannot answer " + method.getName() + "()");
                }
            });
    }
}
