package io.postino.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.config.ConfigFileException;
import io.postino.events.DeliveryEvent;

class EventSinksFileTest {
    @TempDir
    Path directory;

    private List<EventSink> read(String xml) throws Exception {
        Path file = directory.resolve("eventsinks.xml");
        Files.writeString(file, xml, StandardCharsets.UTF_8);
        return EventSinksFile.read(file, path -> directory.resolve(path));
    }

    @Test
    void readsWebhooksAndJsonLines() throws Exception {
        List<EventSink> sinks = read("<eventSinks>\n"
            + "<webhook name=\"app\" url=\"https://app.test/hook\" secret=\"0123456789abcdef\" organisations=\"acme, beta\" types=\"delivered bounced\"/>\n"
            + "<jsonLines name=\"archive\" file=\"var/events/all.jsonl\"/>\n"
            + "</eventSinks>");

        EventSink webhook = sinks.get(0);
        assertThat(webhook.kind()).isEqualTo(EventSink.Kind.WEBHOOK);
        assertThat(webhook.organisations()).containsExactly("acme", "beta");
        assertThat(webhook.types()).containsExactly(DeliveryEvent.Type.DELIVERED, DeliveryEvent.Type.BOUNCED);
        assertThat(webhook.maxAttempts()).isEqualTo(12);
        assertThat(webhook.firstRetry()).isEqualTo(Duration.ofSeconds(1));
        assertThat(webhook.maxRetry()).isEqualTo(Duration.ofMinutes(10));
        assertThat(sinks.get(1).file()).contains(directory.resolve("var/events/all.jsonl"));
        assertThat(sinks.get(1).organisations()).isEmpty();
    }

    @Test
    void aSinkWantsItsOrganisationsAndTypesOnly() throws Exception {
        EventSink webhook = read("<eventSinks><webhook name=\"app\" url=\"http://app.test/\" secret=\"0123456789abcdef\""
            + " organisations=\"acme\" types=\"delivered\"/></eventSinks>").get(0);

        assertThat(webhook.wants(event(DeliveryEvent.Type.DELIVERED, "acme"))).isTrue();
        assertThat(webhook.wants(event(DeliveryEvent.Type.DELIVERED, "beta"))).isFalse();
        assertThat(webhook.wants(event(DeliveryEvent.Type.DELIVERED, null))).isFalse();
        assertThat(webhook.wants(event(DeliveryEvent.Type.QUEUED, "acme"))).isFalse();
    }

    private static DeliveryEvent event(DeliveryEvent.Type type, String organisation) {
        return new DeliveryEvent(type, java.time.Instant.now(), "m", Optional.empty(), Optional.ofNullable(organisation), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty(), 0, Optional.empty(), Optional.empty());
    }

    @Test
    void problemsNameTheLine() {
        assertThatThrownBy(() -> read("<eventSinks>\n<webhook name=\"a\" url=\"http://x.test/\" secret=\"short\"/></eventSinks>"))
            .isInstanceOf(ConfigFileException.class).hasMessageContaining("eventsinks.xml:2: ");
        assertThatThrownBy(() -> read("<eventSinks>\n<jsonLines name=\"a\" file=\"x\"/>\n<jsonLines name=\"a\" file=\"y\"/></eventSinks>"))
            .hasMessageContaining("eventsinks.xml:3: sink name 'a' is already used on line 2");
        assertThatThrownBy(() -> read("<eventSinks>\n<jsonLines name=\"a\" file=\"x\" types=\"sent\"/></eventSinks>"))
            .hasMessageContaining("eventsinks.xml:2: sink 'a': unknown event type 'sent'");
        assertThatThrownBy(() -> read("<eventSinks>\n<webhook name=\"a\" url=\"http://x.test/\" secret=\"0123456789abcdef\" firstRetry=\"soon\"/></eventSinks>"))
            .hasMessageContaining("eventsinks.xml:2: sink 'a': firstRetry must be a positive duration");
        assertThatThrownBy(() -> read("<eventSinks>\n<webhook name=\"a\" url=\"ftp://x.test/\" secret=\"0123456789abcdef\"/></eventSinks>"))
            .hasMessageContaining("eventsinks.xml:2: ");
    }

    @Test
    void aWebhookUrlWithUserAndPasswordIsRefusedWithWhatToDoInstead() {
        assertThatThrownBy(() -> read("<eventSinks>\n<jsonLines name=\"archive\" file=\"x\"/>\n"
            + "<webhook name=\"crm\" url=\"https://postino:hunter2@crm.test/in\" secret=\"0123456789abcdef\"/></eventSinks>"))
            .isInstanceOf(ConfigFileException.class)
            .hasMessageContaining("eventsinks.xml:3: sink 'crm': url must not carry a user name or password")
            .hasMessageContaining("X-Postino-Signature").hasMessageContaining("secret attribute")
            .hasMessageNotContaining("hunter2");
    }
}
