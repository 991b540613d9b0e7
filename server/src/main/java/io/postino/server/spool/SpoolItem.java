package io.postino.server.spool;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Date;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.mail.MessagingException;
import javax.mail.internet.AddressException;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.PerRecipientHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One queued mail as the spool keeps it: its queue, when it is due, how often processing it
 * failed, the message it refers to ({@link MessageRef}) and its envelope (sender, recipients,
 * state, error message, remote client, attributes and per-recipient headers, as James' own JMS
 * queue keeps them: attributes in their JSON form, those without one are not kept).
 */
record SpoolItem(long id, String queue, long due, int failures, MessageRef message, JsonNode envelope) {
    private static final Logger LOGGER = LoggerFactory.getLogger(SpoolItem.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    SpoolItem withQueueAndDue(String queue, long due) {
        return new SpoolItem(id, queue, due, failures, message, envelope);
    }

    SpoolItem withId(long newId) {
        return new SpoolItem(newId, queue, due, failures, message, envelope);
    }

    String name() {
        return envelope.path("name").asText();
    }

    String sender() {
        return envelope.path("sender").asText("");
    }

    List<String> recipients() {
        List<String> recipients = new ArrayList<>();
        envelope.path("recipients").forEach(recipient -> recipients.add(recipient.asText()));
        return recipients;
    }

    byte[] encode() {
        ObjectNode node = JSON.createObjectNode();
        node.put("queue", queue);
        node.put("due", due);
        node.put("failures", failures);
        node.put("body", message.bodyId());
        node.put("offset", message.bodyOffset());
        if (message.headers() != null) {
            node.put("headers", message.headers());
        }
        node.set("envelope", envelope);
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot encode a spool item", e);
        }
    }

    static SpoolItem decode(long id, byte[] octets) throws IOException {
        JsonNode node = JSON.readTree(octets);
        byte[] headers = node.has("headers") ? node.get("headers").binaryValue() : null;
        return new SpoolItem(id, node.path("queue").asText(), node.path("due").asLong(), node.path("failures").asInt(),
            new MessageRef(node.path("body").asLong(), node.path("offset").asInt(), headers), node.path("envelope"));
    }

    /** The envelope of {@code mail}. */
    static JsonNode envelopeOf(Mail mail) throws MessagingException {
        ObjectNode envelope = JSON.createObjectNode();
        envelope.put("name", mail.getName());
        envelope.put("sender", mail.getMaybeSender().asString(""));
        ArrayNode recipients = envelope.putArray("recipients");
        mail.getRecipients().forEach(recipient -> recipients.add(recipient.asString()));
        putIfPresent(envelope, "state", mail.getState());
        putIfPresent(envelope, "errorMessage", mail.getErrorMessage());
        if (mail.getLastUpdated() != null) {
            envelope.put("lastUpdated", mail.getLastUpdated().getTime());
        }
        putIfPresent(envelope, "remoteHost", mail.getRemoteHost());
        putIfPresent(envelope, "remoteAddr", mail.getRemoteAddr());
        ObjectNode attributes = envelope.putObject("attributes");
        mail.attributes().forEach(attribute -> attribute.getValue().toJson()
            .ifPresentOrElse(json -> attributes.set(attribute.getName().asString(), json),
                () -> LOGGER.debug("Attribute {} of {} has no JSON form and is not spooled", attribute.getName().asString(), mail.getName())));
        ObjectNode perRecipient = envelope.putObject("perRecipientHeaders");
        mail.getPerRecipientSpecificHeaders().getHeadersByRecipient().asMap().forEach((recipient, headers) -> {
            ArrayNode lines = perRecipient.putArray(recipient.asString());
            headers.forEach(header -> lines.add(header.asString()));
        });
        return envelope;
    }

    private static void putIfPresent(ObjectNode node, String field, String value) {
        if (value != null) {
            node.put(field, value);
        }
    }

    /** A James mail with this item's envelope and {@code message}. */
    MailImpl toMail(SpooledMessage message) throws MessagingException {
        MailImpl.Builder builder = MailImpl.builder()
            .name(name())
            .sender(MaybeSender.getMailSender(sender()));
        for (String recipient : recipients()) {
            try {
                builder.addRecipient(new MailAddress(recipient));
            } catch (AddressException e) {
                LOGGER.error("Spooled mail {} has a recipient that no longer parses: {}", name(), recipient);
            }
        }
        Optional.ofNullable(text("state")).ifPresent(builder::state);
        Optional.ofNullable(text("errorMessage")).ifPresent(builder::errorMessage);
        if (envelope.has("lastUpdated")) {
            builder.lastUpdated(new Date(envelope.get("lastUpdated").asLong()));
        }
        Optional.ofNullable(text("remoteHost")).ifPresent(builder::remoteHost);
        Optional.ofNullable(text("remoteAddr")).ifPresent(builder::remoteAddr);
        for (Iterator<Map.Entry<String, JsonNode>> fields = envelope.path("attributes").fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            try {
                builder.addAttribute(new Attribute(AttributeName.of(field.getKey()), AttributeValue.fromJson(field.getValue())));
            } catch (RuntimeException e) {
                LOGGER.warn("Attribute {} of spooled mail {} cannot be read back: {}", field.getKey(), name(), e.toString());
            }
        }
        PerRecipientHeaders headers = new PerRecipientHeaders();
        for (Iterator<Map.Entry<String, JsonNode>> fields = envelope.path("perRecipientHeaders").fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            try {
                MailAddress recipient = new MailAddress(field.getKey());
                field.getValue().forEach(line -> headers.addHeaderForRecipient(PerRecipientHeaders.Header.fromString(line.asText()), recipient));
            } catch (AddressException e) {
                LOGGER.warn("Per-recipient headers of {} for {} dropped: the address no longer parses", name(), field.getKey());
            }
        }
        builder.addAllHeadersForRecipients(headers);
        MailImpl mail = builder.build();
        mail.setMessageNoCopy(message);
        return mail;
    }

    private String text(String field) {
        JsonNode value = envelope.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
