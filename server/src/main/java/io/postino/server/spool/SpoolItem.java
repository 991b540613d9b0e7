package io.postino.server.spool;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
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

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;

/**
 * One queued mail as the spool keeps it: its queue, when it is due, how often processing it
 * failed, the message it refers to ({@link MessageRef}) and its envelope (sender, recipients,
 * state, error message, remote client, attributes and per-recipient headers, as James' own JMS
 * queue keeps them: attributes in their JSON form, those without one are not kept).
 *
 * <p>The envelope stays the JSON octets of the record on disk, decoded only when the mail is
 * handed out or looked at: a queue of 100,000 deferred mails then holds 100,000 small arrays
 * instead of trees of Jackson nodes and addresses, and a restart only slices each record.</p>
 */
record SpoolItem(long id, String queue, long due, int failures, MessageRef message, byte[] envelope) {
    private static final Logger LOGGER = LoggerFactory.getLogger(SpoolItem.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] NO_ENVELOPE = "{}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ENVELOPE_FIELD = ",\"envelope\":".getBytes(StandardCharsets.US_ASCII);

    SpoolItem withQueueAndDue(String queue, long due) {
        return new SpoolItem(id, queue, due, failures, message, envelope);
    }

    SpoolItem withId(long newId) {
        return new SpoolItem(newId, queue, due, failures, message, envelope);
    }

    String name() {
        return tree().path("name").asText();
    }

    String sender() {
        return tree().path("sender").asText("");
    }

    List<String> recipients() {
        List<String> recipients = new ArrayList<>();
        tree().path("recipients").forEach(recipient -> recipients.add(recipient.asText()));
        return recipients;
    }

    /** The envelope decoded; an unreadable one is empty (no name, no recipients). */
    private JsonNode tree() {
        try {
            return readEnvelope();
        } catch (IOException e) {
            return MissingNode.getInstance();
        }
    }

    private JsonNode readEnvelope() throws IOException {
        return JSON.readTree(envelope);
    }

    /**
     * The record on disk: {@code {"queue":..,"due":..,"failures":..,"body":..,"offset":..,
     * "headers":..,"envelope":{..}}}, the envelope's octets appended as they are.
     */
    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(envelope.length + 128 + (message.headers() == null ? 0 : message.headers().length * 4 / 3));
        try (JsonGenerator generator = JSON.getFactory().createGenerator(out)) {
            generator.writeStartObject();
            generator.writeStringField("queue", queue);
            generator.writeNumberField("due", due);
            generator.writeNumberField("failures", failures);
            generator.writeNumberField("body", message.bodyId());
            generator.writeNumberField("offset", message.bodyOffset());
            if (message.headers() != null) {
                generator.writeBinaryField("headers", message.headers());
            }
            generator.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot encode a spool item", e);
        }
        byte[] fields = out.toByteArray();
        byte[] record = new byte[fields.length - 1 + ENVELOPE_FIELD.length + envelope.length + 1];
        System.arraycopy(fields, 0, record, 0, fields.length - 1);
        System.arraycopy(ENVELOPE_FIELD, 0, record, fields.length - 1, ENVELOPE_FIELD.length);
        System.arraycopy(envelope, 0, record, fields.length - 1 + ENVELOPE_FIELD.length, envelope.length);
        record[record.length - 1] = '}';
        return record;
    }

    /** Reads a record field by field; the envelope is copied out as it is, not parsed. */
    static SpoolItem decode(long id, byte[] octets) throws IOException {
        String queue = "";
        long due = 0;
        int failures = 0;
        long body = 0;
        int offset = 0;
        byte[] headers = null;
        byte[] envelope = NO_ENVELOPE;
        try (JsonParser parser = JSON.getFactory().createParser(octets)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("A spool item is a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.getCurrentName();
                JsonToken value = parser.nextToken();
                switch (field) {
                    case "queue" -> queue = parser.getValueAsString("").intern();
                    case "due" -> due = parser.getValueAsLong();
                    case "failures" -> failures = parser.getValueAsInt();
                    case "body" -> body = parser.getValueAsLong();
                    case "offset" -> offset = parser.getValueAsInt();
                    case "headers" -> headers = value == JsonToken.VALUE_NULL ? null : parser.getBinaryValue();
                    case "envelope" -> {
                        int start = (int) parser.getTokenLocation().getByteOffset();
                        parser.skipChildren();
                        envelope = Arrays.copyOfRange(octets, start, (int) parser.getCurrentLocation().getByteOffset());
                    }
                    default -> parser.skipChildren();
                }
            }
        }
        return new SpoolItem(id, queue, due, failures, new MessageRef(body, offset, headers), envelope);
    }

    /** The envelope of {@code mail}, as JSON octets, written in one pass (no tree of nodes). */
    static byte[] envelopeOf(Mail mail) throws MessagingException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + 64 * mail.getRecipients().size());
        try (JsonGenerator generator = JSON.getFactory().createGenerator(out)) {
            generator.writeStartObject();
            generator.writeStringField("name", mail.getName());
            generator.writeStringField("sender", mail.getMaybeSender().asString(""));
            generator.writeArrayFieldStart("recipients");
            for (MailAddress recipient : mail.getRecipients()) {
                generator.writeString(recipient.asString());
            }
            generator.writeEndArray();
            writeIfPresent(generator, "state", mail.getState());
            writeIfPresent(generator, "errorMessage", mail.getErrorMessage());
            if (mail.getLastUpdated() != null) {
                generator.writeNumberField("lastUpdated", mail.getLastUpdated().getTime());
            }
            writeIfPresent(generator, "remoteHost", mail.getRemoteHost());
            writeIfPresent(generator, "remoteAddr", mail.getRemoteAddr());
            generator.writeObjectFieldStart("attributes");
            for (Iterator<Attribute> attributes = mail.attributes().iterator(); attributes.hasNext(); ) {
                Attribute attribute = attributes.next();
                Optional<JsonNode> json = attribute.getValue().toJson();
                if (json.isPresent()) {
                    generator.writeFieldName(attribute.getName().asString());
                    JSON.writeTree(generator, json.get());
                } else {
                    LOGGER.debug("Attribute {} of {} has no JSON form and is not spooled", attribute.getName().asString(), mail.getName());
                }
            }
            generator.writeEndObject();
            generator.writeObjectFieldStart("perRecipientHeaders");
            for (Map.Entry<MailAddress, java.util.Collection<PerRecipientHeaders.Header>> entry
                : mail.getPerRecipientSpecificHeaders().getHeadersByRecipient().asMap().entrySet()) {
                generator.writeArrayFieldStart(entry.getKey().asString());
                for (PerRecipientHeaders.Header header : entry.getValue()) {
                    generator.writeString(header.asString());
                }
                generator.writeEndArray();
            }
            generator.writeEndObject();
            generator.writeEndObject();
        } catch (IOException e) {
            throw new MessagingException("Cannot encode the envelope of " + mail.getName(), e);
        }
        return out.toByteArray();
    }

    private static void writeIfPresent(JsonGenerator generator, String field, String value) throws IOException {
        if (value != null) {
            generator.writeStringField(field, value);
        }
    }

    /** A James mail with this item's envelope and {@code message}. */
    MailImpl toMail(SpooledMessage message) throws MessagingException {
        JsonNode envelope;
        try {
            envelope = readEnvelope();
        } catch (IOException e) {
            throw new MessagingException("The envelope of spool item " + id + " cannot be read", e);
        }
        String name = envelope.path("name").asText();
        MailImpl.Builder builder = MailImpl.builder()
            .name(name)
            .sender(MaybeSender.getMailSender(envelope.path("sender").asText("")));
        for (JsonNode address : envelope.path("recipients")) {
            String recipient = address.asText();
            try {
                builder.addRecipient(new MailAddress(recipient));
            } catch (AddressException e) {
                LOGGER.error("Spooled mail {} has a recipient that no longer parses: {}", name, recipient);
            }
        }
        Optional.ofNullable(text(envelope, "state")).ifPresent(builder::state);
        Optional.ofNullable(text(envelope, "errorMessage")).ifPresent(builder::errorMessage);
        if (envelope.has("lastUpdated")) {
            builder.lastUpdated(new Date(envelope.get("lastUpdated").asLong()));
        }
        Optional.ofNullable(text(envelope, "remoteHost")).ifPresent(builder::remoteHost);
        Optional.ofNullable(text(envelope, "remoteAddr")).ifPresent(builder::remoteAddr);
        for (Iterator<Map.Entry<String, JsonNode>> fields = envelope.path("attributes").fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            try {
                builder.addAttribute(new Attribute(AttributeName.of(field.getKey()), AttributeValue.fromJson(field.getValue())));
            } catch (RuntimeException e) {
                LOGGER.warn("Attribute {} of spooled mail {} cannot be read back: {}", field.getKey(), name, e.toString());
            }
        }
        PerRecipientHeaders headers = new PerRecipientHeaders();
        for (Iterator<Map.Entry<String, JsonNode>> fields = envelope.path("perRecipientHeaders").fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            try {
                MailAddress recipient = new MailAddress(field.getKey());
                field.getValue().forEach(line -> headers.addHeaderForRecipient(PerRecipientHeaders.Header.fromString(line.asText()), recipient));
            } catch (AddressException e) {
                LOGGER.warn("Per-recipient headers of {} for {} dropped: the address no longer parses", name, field.getKey());
            }
        }
        builder.addAllHeadersForRecipients(headers);
        MailImpl mail = builder.build();
        mail.setMessageNoCopy(message);
        return mail;
    }

    private static String text(JsonNode envelope, String field) {
        JsonNode value = envelope.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
