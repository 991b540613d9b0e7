package io.postino.server.trace;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.mail.internet.AddressException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.net.InetAddresses;

/**
 * What {@code POST /trace} asks: the envelope, who sends (an AUTH login, or a client address, or
 * both), on which listener, and the message as RFC 5322 text.
 *
 * <p>Defaults: {@code client} 192.0.2.1 (TEST-NET-1: a client on the Internet, in no authorised or
 * trusted network); {@code port} 587 with a {@code user}, else 25; {@code helo}
 * {@code trace.invalid}. Line ends of the message are made CRLF, as SMTP carries them.</p>
 */
record TraceRequest(MaybeSender sender, List<MailAddress> recipients, Optional<String> user, InetAddress client, int port, String helo, byte[] message) {
    static final String DEFAULT_CLIENT = "192.0.2.1";

    /** @throws IllegalArgumentException with a sentence naming the field that is wrong */
    static TraceRequest of(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("The body must be a JSON object {from, to: [...], user?, client?, port?, helo?, message}");
        }
        JsonNode from = body.get("from");
        if (from == null || !from.isTextual()) {
            throw new IllegalArgumentException("'from' is required: the envelope sender (\"\" for the null sender)");
        }
        MaybeSender sender = sender(from.asText());
        JsonNode to = body.get("to");
        if (to == null || !to.isArray() || to.isEmpty()) {
            throw new IllegalArgumentException("'to' is required: a list of one or more recipient addresses");
        }
        List<MailAddress> recipients = new ArrayList<>();
        for (JsonNode one : to) {
            recipients.add(address(one.asText(), "to"));
        }
        Optional<String> user = text(body, "user");
        String clientText = text(body, "client").orElse(DEFAULT_CLIENT);
        if (!InetAddresses.isInetAddress(clientText)) {
            throw new IllegalArgumentException("'client' must be an IP address, got '" + clientText + "'");
        }
        int port = body.has("port") ? body.get("port").asInt(-1) : user.isPresent() ? 587 : 25;
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("'port' must be a listener's port (25, 587, 465 or the port it is bound to)");
        }
        JsonNode message = body.get("message");
        if (message == null || !message.isTextual()) {
            throw new IllegalArgumentException("'message' is required: the message as RFC 5322 text (headers, blank line, body)");
        }
        return new TraceRequest(sender, List.copyOf(recipients), user, InetAddresses.forString(clientText), port,
            text(body, "helo").orElse("trace.invalid"), crlf(message.asText()).getBytes(StandardCharsets.UTF_8));
    }

    private static MaybeSender sender(String text) {
        String bare = stripBrackets(text);
        return bare.isEmpty() ? MaybeSender.nullSender() : MaybeSender.of(address(bare, "from"));
    }

    private static MailAddress address(String text, String field) {
        try {
            return new MailAddress(stripBrackets(text));
        } catch (AddressException e) {
            throw new IllegalArgumentException("'" + field + "': '" + text + "' is not a mail address (" + e.getMessage() + ")");
        }
    }

    private static String stripBrackets(String text) {
        String trimmed = text.trim();
        return trimmed.startsWith("<") && trimmed.endsWith(">") ? trimmed.substring(1, trimmed.length() - 1).trim() : trimmed;
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        return value == null || value.isNull() || value.asText().isBlank() ? Optional.empty() : Optional.of(value.asText().trim());
    }

    static String crlf(String text) {
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n");
    }
}
