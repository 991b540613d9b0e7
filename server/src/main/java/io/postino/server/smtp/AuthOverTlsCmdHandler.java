package io.postino.server.smtp;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

import org.apache.james.core.Username;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Request;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.CommandHandler;
import org.apache.james.protocols.api.handler.ExtensibleHandler;
import org.apache.james.protocols.api.handler.LineHandler;
import org.apache.james.protocols.api.handler.WiringException;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.esmtp.EhloExtension;
import org.apache.james.protocols.smtp.hook.AuthHook;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookResultHook;
import org.apache.james.protocols.smtp.hook.HookReturnCode;

import io.postino.address.HiddenCharacters;
import io.postino.server.smtp.listener.SmtpConnection;

/**
 * SMTP AUTH (RFC 4954) with the PLAIN and LOGIN mechanisms, only over TLS. Replaces James'
 * {@code AuthCmdHandler}, whose {@code requireSSL} only hid AUTH from EHLO: a client that sent
 * AUTH over plaintext anyway was logged in.
 *
 * <ul>
 *   <li>Where AUTH is not offered ({@code <auth><announce>never}, {@code forUnauthorizedAddresses}
 *   for a client of {@code authorizedAddresses}, or {@code <plainAuthEnabled>false}), every AUTH
 *   gets {@code 502 5.5.1 Authentication is not offered here}, over TLS too and before any
 *   credential is read, checked or counted; EHLO does not list AUTH there.</li>
 *   <li>Without TLS (no STARTTLS yet on 25 and 587), every AUTH, whatever the mechanism and also
 *   pipelined, gets {@code 538 5.7.11 Encryption required for requested authentication mechanism}
 *   (RFC 4954 section 6) before any credential is read, checked or counted. EHLO offers AUTH only
 *   over TLS.</li>
 *   <li>During a transaction: {@code 503 5.5.1}; already logged in: {@code 503 5.5.1}; unknown
 *   mechanism: {@code 504 5.5.4}; "*": {@code 501 5.0.0}; a response that is not base64, a user
 *   name or password that is not UTF-8 (RFC 4616, RFC 4954: decoded strictly, never with
 *   replacement characters, so two different octet strings cannot become one login), an empty or
 *   malformed user name, or one with a control, format or separator character
 *   ({@link HiddenCharacters}): {@code 501 5.5.2}. None of these is checked or counted as a failed
 *   login.</li>
 *   <li>The credentials go to the AUTH hooks in chain order; a {@link PacedAuthHook} (such as
 *   {@link ThrottleAuthentication}) is asked first whether and when the attempt is checked, and
 *   the answer then waits without holding a thread.</li>
 * </ul>
 *
 * <p>Part of {@link PostinoCoreHandlers}; nothing to configure beyond James' {@code <auth>}
 * elements, each of which it enforces rather than only advertises.</p>
 */
public class AuthOverTlsCmdHandler implements CommandHandler<SMTPSession>, EhloExtension, ExtensibleHandler {
    private static final String PLAIN = "PLAIN";
    private static final String LOGIN = "LOGIN";

    /**
     * RFC 5321 section 4.2.4: a command the server recognises but does not offer is 502, and EHLO
     * must not list what gets 502; 503 would say that another order of commands would work.
     */
    private static final Response NOT_OFFERED = new SMTPResponse("502", "5.5.1 Authentication is not offered here").immutable();
    private static final Response ENCRYPTION_REQUIRED = new SMTPResponse("538", "5.7.11 Encryption required for requested authentication mechanism").immutable();
    private static final Response EHLO_FIRST = new SMTPResponse("503", "5.5.1 Send EHLO first (again after STARTTLS)").immutable();
    private static final Response ALREADY_AUTHENTICATED = new SMTPResponse("503", "5.5.1 Already authenticated").immutable();
    private static final Response IN_TRANSACTION = new SMTPResponse("503", "5.5.1 AUTH is not permitted during a mail transaction; send RSET first").immutable();
    private static final Response USAGE = new SMTPResponse("501", "5.5.4 Usage: AUTH mechanism [initial-response]").immutable();
    private static final Response UNKNOWN_MECHANISM = new SMTPResponse("504", "5.5.4 Unrecognized authentication mechanism; this server offers PLAIN and LOGIN").immutable();
    private static final Response CANCELLED = new SMTPResponse("501", "5.0.0 Authentication cancelled").immutable();
    private static final Response NOT_BASE64 = new SMTPResponse("501", "5.5.2 Cannot decode the response: it is not base64").immutable();
    private static final Response BAD_USER_NAME = new SMTPResponse("501", "5.5.2 The user name is empty or not valid").immutable();
    private static final Response USER_NAME_NOT_UTF8 = new SMTPResponse("501", "5.5.2 The user name is not valid UTF-8").immutable();
    private static final Response PASSWORD_NOT_UTF8 = new SMTPResponse("501", "5.5.2 The password is not valid UTF-8").immutable();
    private static final Response BAD_PLAIN = new SMTPResponse("501", "5.5.2 A PLAIN response is [authorization-id] NUL user NUL password").immutable();
    private static final Response OTHER_IDENTITY = new SMTPResponse("535", "5.7.8 Acting as another user (authorization identity) is not allowed").immutable();
    private static final Response FAILED = new SMTPResponse("535", "5.7.8 Authentication credentials invalid").immutable();
    private static final Response PLAIN_CHALLENGE = new SMTPResponse("334", "").immutable();
    private static final Response USERNAME_CHALLENGE = new SMTPResponse("334", "VXNlcm5hbWU6").immutable();
    private static final Response PASSWORD_CHALLENGE = new SMTPResponse("334", "UGFzc3dvcmQ6").immutable();

    private List<AuthHook> hooks = List.of();
    private List<HookResultHook> resultHooks = List.of();

    @Override
    public Collection<String> getImplCommands() {
        return List.of("AUTH");
    }

    @Override
    public List<String> getImplementedEsmtpFeatures(SMTPSession session) {
        if (session.isTLSStarted() && session.isAuthAnnounced() && session.getConfiguration().isPlainAuthEnabled()) {
            return List.of("AUTH PLAIN LOGIN");
        }
        return List.of();
    }

    @Override
    public Response onCommand(SMTPSession session, Request request) {
        if (!offered(session)) {
            return NOT_OFFERED;
        }
        if (!session.isTLSStarted()) {
            return ENCRYPTION_REQUIRED;
        }
        if (session.getAttachment(SMTPSession.CURRENT_HELO_MODE, ProtocolSession.State.Connection).isEmpty()) {
            return EHLO_FIRST;
        }
        if (session.getUsername() != null) {
            return ALREADY_AUTHENTICATED;
        }
        if (session.getAttachment(SMTPSession.SENDER, ProtocolSession.State.Transaction).isPresent()) {
            return IN_TRANSACTION;
        }
        String argument = request.getArgument();
        if (argument == null || argument.isBlank()) {
            return USAGE;
        }
        String[] parts = argument.trim().split(" ", 2);
        String mechanism = parts[0].toUpperCase(Locale.ROOT);
        Optional<String> initial = parts.length > 1 ? Optional.of(parts[1].trim()) : Optional.empty();
        if (!(mechanism.equals(PLAIN) || mechanism.equals(LOGIN))) {
            return UNKNOWN_MECHANISM;
        }
        if (mechanism.equals(PLAIN)) {
            if (initial.isPresent()) {
                return plain(session, initial.get());
            }
            session.pushLineHandler(continuation(this::plain));
            return PLAIN_CHALLENGE;
        }
        if (initial.isPresent()) {
            return loginUser(session, initial.get());
        }
        session.pushLineHandler(continuation(this::loginUser));
        return USERNAME_CHALLENGE;
    }

    /**
     * Whether AUTH is offered to this client once it is on TLS: {@code <auth><announce>never} offers
     * it to nobody, {@code forUnauthorizedAddresses} not to clients of {@code authorizedAddresses}
     * (James only hid AUTH from EHLO then, and still logged such a client in), and
     * {@code <plainAuthEnabled>false} leaves no mechanism to offer. TLS is left out here: without
     * it the answer is 538, whatever {@code requireSSL} says.
     */
    private static boolean offered(SMTPSession session) {
        InetSocketAddress client = session.getRemoteAddress();
        String address = client == null || client.getAddress() == null ? "" : client.getAddress().getHostAddress();
        return session.getConfiguration().isPlainAuthEnabled() && session.getConfiguration().isAuthAnnounced(address, true);
    }

    private interface Step {
        Response apply(SMTPSession session, String response);
    }

    /** Reads one client response line of the exchange, then leaves the line to {@code next}. */
    private static LineHandler<SMTPSession> continuation(Step next) {
        return (session, line) -> {
            session.popLineHandler();
            String text = new String(line, StandardCharsets.US_ASCII).strip();
            if (text.equals("*")) {
                return CANCELLED;
            }
            if (line.length > CommandLine.AUTH_LIMIT) {
                return NOT_BASE64;
            }
            return next.apply(session, text);
        };
    }

    private Response plain(SMTPSession session, String response) {
        Optional<byte[]> decoded = decode(response);
        if (decoded.isEmpty()) {
            return NOT_BASE64;
        }
        List<byte[]> fields = splitAtNul(decoded.get());
        if (fields.size() != 3) {
            return BAD_PLAIN;
        }
        Optional<String> authorization = utf8(fields.get(0));
        Optional<String> user = utf8(fields.get(1));
        if (authorization.isEmpty() || user.isEmpty()) {
            return USER_NAME_NOT_UTF8;
        }
        Optional<String> password = utf8(fields.get(2));
        if (password.isEmpty()) {
            return PASSWORD_NOT_UTF8;
        }
        Optional<Response> refusal = refuseUserName(user.get());
        if (refusal.isPresent()) {
            return refusal.get();
        }
        if (!authorization.get().isEmpty() && !authorization.get().equals(user.get())) {
            return OTHER_IDENTITY;
        }
        return authenticate(session, user.get(), password.get());
    }

    private Response loginUser(SMTPSession session, String response) {
        Optional<byte[]> decoded = decode(response);
        if (decoded.isEmpty()) {
            return NOT_BASE64;
        }
        Optional<String> user = utf8(decoded.get());
        if (user.isEmpty()) {
            return USER_NAME_NOT_UTF8;
        }
        Optional<Response> refusal = refuseUserName(user.get());
        if (refusal.isPresent()) {
            return refusal.get();
        }
        session.pushLineHandler(continuation((s, passwordResponse) -> {
            Optional<byte[]> octets = decode(passwordResponse);
            if (octets.isEmpty()) {
                return NOT_BASE64;
            }
            Optional<String> password = utf8(octets.get());
            return password.isEmpty() ? PASSWORD_NOT_UTF8 : authenticate(s, user.get(), password.get());
        }));
        return PASSWORD_CHALLENGE;
    }

    private static List<byte[]> splitAtNul(byte[] octets) {
        List<byte[]> fields = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= octets.length; i++) {
            if (i == octets.length || octets[i] == 0) {
                fields.add(java.util.Arrays.copyOfRange(octets, start, i));
                start = i + 1;
            }
        }
        return fields;
    }

    /** Strict UTF-8: malformed input, overlong forms and encoded surrogates are refused, not replaced by U+FFFD. */
    private static Optional<String> utf8(byte[] octets) {
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(octets)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    private static Optional<Response> refuseUserName(String user) {
        OptionalInt hidden = HiddenCharacters.first(user);
        if (hidden.isPresent()) {
            return Optional.of(new SMTPResponse("501", "5.5.2 The user name contains a control or invisible character ("
                + HiddenCharacters.name(hidden.getAsInt()) + ")"));
        }
        return username(user).isEmpty() ? Optional.of(BAD_USER_NAME) : Optional.empty();
    }

    /** RFC 4954: "=" is an empty initial response. */
    private static Optional<byte[]> decode(String response) {
        if (response.equals("=")) {
            return Optional.of(new byte[0]);
        }
        try {
            return Optional.of(Base64.getDecoder().decode(response));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static Optional<Username> username(String user) {
        if (user.isBlank() || HiddenCharacters.first(user).isPresent() || user.length() > CommandLine.PATH_LIMIT) {
            return Optional.empty();
        }
        try {
            return Optional.of(Username.of(user));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private Response authenticate(SMTPSession session, String user, String password) {
        Optional<Username> username = username(user);
        if (username.isEmpty()) {
            return BAD_USER_NAME;
        }
        Duration delay = Duration.ZERO;
        for (AuthHook hook : hooks) {
            if (hook instanceof PacedAuthHook) {
                PacedAuthHook.Admission admission = ((PacedAuthHook) hook).admit(session, username.get());
                if (admission.refusal().isPresent()) {
                    return response(session, admission.refusal().get(), hook);
                }
                delay = delay.compareTo(admission.delay()) >= 0 ? delay : admission.delay();
            }
        }
        Optional<SmtpConnection> connection = SmtpConnection.of(session);
        if (connection.isEmpty()) {
            return check(session, username.get(), password);
        }
        // The password check asks the users' database: not on the thread that serves other connections.
        if (delay.isZero()) {
            connection.get().answerAsync(session, () -> check(session, username.get(), password));
        } else {
            connection.get().answerLater(session, delay, () -> check(session, username.get(), password));
        }
        return null;
    }

    private Response check(SMTPSession session, Username username, String password) {
        for (AuthHook hook : hooks) {
            HookResult result = hook.doAuth(session, username, password);
            if (result != null && result.getResult().getAction() != HookReturnCode.Action.DECLINED) {
                return response(session, result, hook);
            }
        }
        return FAILED;
    }

    private Response response(SMTPSession session, HookResult result, AuthHook hook) {
        HookResult finalResult = result;
        for (HookResultHook resultHook : resultHooks) {
            finalResult = resultHook.onHookResult(session, finalResult, 0, hook);
        }
        HookReturnCode code = finalResult.getResult();
        String smtpCode = Optional.ofNullable(finalResult.getSmtpRetCode()).orElse(switch (code.getAction()) {
            case OK -> "235";
            case DENYSOFT -> "454";
            default -> "535";
        });
        String text = Optional.ofNullable(finalResult.getSmtpDescription()).orElse(switch (code.getAction()) {
            case OK -> "2.7.0 Authentication successful";
            case DENYSOFT -> "4.7.0 Temporary authentication failure; try again later";
            default -> "5.7.8 Authentication credentials invalid";
        });
        SMTPResponse response = new SMTPResponse(smtpCode, text);
        if (code.isDisconnected()) {
            response.setEndSession(true);
        }
        return response;
    }

    @Override
    public List<Class<?>> getMarkerInterfaces() {
        return List.of(AuthHook.class, HookResultHook.class);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void wireExtensions(Class<?> interfaceName, List<?> extension) throws WiringException {
        if (AuthHook.class.equals(interfaceName)) {
            if (extension == null || extension.isEmpty()) {
                throw new WiringException("AUTH needs at least one AUTH hook to check passwords");
            }
            hooks = new ArrayList<>((List<AuthHook>) extension);
        } else if (HookResultHook.class.equals(interfaceName)) {
            resultHooks = new ArrayList<>((List<HookResultHook>) extension);
        }
    }
}
