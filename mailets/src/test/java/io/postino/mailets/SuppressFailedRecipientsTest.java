package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;

import io.postino.organisations.PostinoAttributes;
import io.postino.recipients.MemorySuppressionList;
import io.postino.recipients.Suppression;

class SuppressFailedRecipientsTest {
    private static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    private final MemorySuppressionList list = new MemorySuppressionList(clock);

    private SuppressFailedRecipients mailet(Map<String, String> parameters) throws Exception {
        SuppressFailedRecipients mailet = new SuppressFailedRecipients(list, clock);
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("SuppressFailedRecipients");
        parameters.forEach(config::setProperty);
        mailet.init(config.build());
        return mailet;
    }

    private static Mail bounce(String organisation, Map<String, String> refused, String remoteReply, String... recipients) throws Exception {
        FakeMail.Builder builder = FakeMail.builder().name("m");
        for (String recipient : recipients) {
            builder.recipient(recipient);
        }
        if (organisation != null) {
            builder.attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation)));
        }
        if (!refused.isEmpty()) {
            Map<String, AttributeValue<?>> values = new LinkedHashMap<>();
            refused.forEach((address, reply) -> values.put(address, AttributeValue.of(reply)));
            builder.attribute(new Attribute(PostinoAttributes.FAILED_RECIPIENTS, AttributeValue.of(values)));
        }
        if (remoteReply != null) {
            builder.attribute(new Attribute(PostinoAttributes.REMOTE_REPLY, AttributeValue.of(remoteReply)));
        }
        return builder.build();
    }

    @Test
    void suppressesRecipientsRefusedAsBadAddresses() throws Exception {
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("Gone@example.com", "550 5.1.1 <gone@example.com>: no such user");
        refused.put("full@example.com", "552 5.2.2 mailbox full");
        refused.put("blocked@example.com", "550 5.7.1 message refused as spam");
        refused.put("old@example.com", "550 no such user");
        refused.put("later@example.com", "450 4.2.0 try again");

        mailet(Map.of()).service(bounce("acme", refused, null, "gone@example.com", "full@example.com", "blocked@example.com",
            "old@example.com", "later@example.com"));

        assertThat(list.list("acme", 0, 10)).extracting(Suppression::address).containsExactly("gone@example.com", "old@example.com");
        Suppression gone = list.find("acme", "gone@example.com").orElseThrow();
        assertThat(gone.reason()).isEqualTo(Suppression.BOUNCE);
        assertThat(gone.detail()).isEqualTo("550 5.1.1 <gone@example.com>: no such user");
        assertThat(gone.createdAt()).isEqualTo(NOW);
        assertThat(gone.expiresAt()).isEmpty();
    }

    @Test
    void aWholeMessageRefusalCountsForEveryRecipient() throws Exception {
        mailet(Map.of()).service(bounce("acme", Map.of(), "550 5.1.1 mailbox unavailable", "bob@example.com"));

        assertThat(list.find("acme", "bob@example.com")).isPresent();
    }

    @Test
    void aWholeMessageRefusalWithoutEnhancedCodeSuppressesNobody() throws Exception {
        mailet(Map.of()).service(bounce("acme", Map.of(), "550 rejected as spam", "bob@example.com", "carol@example.com"));

        assertThat(list.list("acme", 0, 10)).isEmpty();
    }

    @Test
    void onlyRecipientsOfTheBounceAreSuppressed() throws Exception {
        mailet(Map.of()).service(bounce("acme", Map.of("other@example.com", "550 5.1.1 unknown", "bob@example.com", "550 5.1.1 unknown"),
            null, "bob@example.com"));

        assertThat(list.list("acme", 0, 10)).extracting(Suppression::address).containsExactly("bob@example.com");
    }

    @Test
    void skipsMailWithoutOrganisationAndNotifications() throws Exception {
        mailet(Map.of()).service(bounce(null, Map.of("bob@example.com", "550 5.1.1 unknown"), null, "bob@example.com"));
        Mail notification = bounce("acme", Map.of("bob@example.com", "550 5.1.1 unknown"), null, "bob@example.com");
        notification.setAttribute(new Attribute(PostinoAttributes.NOTIFICATION, AttributeValue.of(true)));
        mailet(Map.of()).service(notification);

        assertThat(list.list("acme", 0, 10)).isEmpty();
    }

    @Test
    void codesAndExpiryAreConfigurable() throws Exception {
        SuppressFailedRecipients mailet = mailet(Map.of("statusCodes", "5.7.*", "basicCodes", "554", "expiresAfter", "30d"));

        mailet.service(bounce("acme", Map.of("spam@example.com", "550 5.7.1 spam", "gone@example.com", "550 5.1.1 unknown",
            "bare@example.com", "554 rejected"), null, "spam@example.com", "gone@example.com", "bare@example.com"));

        assertThat(list.list("acme", 0, 10)).extracting(Suppression::address).containsExactly("bare@example.com", "spam@example.com");
        assertThat(list.find("acme", "spam@example.com").orElseThrow().expiresAt()).contains(NOW.plus(Duration.ofDays(30)));
    }

    @Test
    void badParametersAreRefused() {
        assertThatThrownBy(() -> mailet(Map.of("statusCodes", "4.2.0"))).hasMessageContaining("<statusCodes>");
        assertThatThrownBy(() -> mailet(Map.of("basicCodes", "250"))).hasMessageContaining("<basicCodes>");
        assertThatThrownBy(() -> mailet(Map.of("expiresAfter", "forever"))).hasMessageContaining("<expiresAfter>");
    }

    @Test
    void aListThatCannotBeWrittenFailsTheMailRatherThanLosingIt() throws Exception {
        list.setUnavailable(true);

        assertThatThrownBy(() -> mailet(Map.of()).service(bounce("acme", Map.of("bob@example.com", "550 5.1.1 unknown"), null, "bob@example.com")))
            .hasMessageContaining("Cannot add bob@example.com");
    }
}
