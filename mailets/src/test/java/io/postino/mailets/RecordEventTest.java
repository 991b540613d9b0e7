package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import javax.mail.internet.MimeMessage;

import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;

import io.postino.events.DeliveryEvent;
import io.postino.organisations.PostinoAttributes;

class RecordEventTest {
    private final List<DeliveryEvent> recorded = new ArrayList<>();

    private RecordEvent mailet(String type) throws Exception {
        RecordEvent mailet = new RecordEvent(recorded::add);
        mailet.init(FakeMailetConfig.builder().mailetName("RecordEvent").setProperty("type", type).setProperty("remoteHost", "relay.test:25").build());
        return mailet;
    }

    private static Mail mail() throws Exception {
        MimeMessage message = MimeMessageBuilder.mimeMessageBuilder().addHeader("Message-ID", "<m1@acme.test>").setText("hi").build();
        return FakeMail.builder().name("copy-of-m1").sender("app@acme.test").recipients("bob@example.net", "carol@example.net")
            .mimeMessage(message)
            .attribute(new Attribute(PostinoAttributes.TRACKING_ID, AttributeValue.of("m1")))
            .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme")))
            .build();
    }

    @Test
    void recordsOneEventPerRecipientUnderTheTrackingId() throws Exception {
        mailet("delivered").service(mail());

        assertThat(recorded).hasSize(2);
        assertThat(recorded).allSatisfy(event -> {
            assertThat(event.type()).isEqualTo(DeliveryEvent.Type.DELIVERED);
            assertThat(event.mailId()).isEqualTo("m1");
            assertThat(event.organisation()).contains("acme");
            assertThat(event.sender()).contains("app@acme.test");
            assertThat(event.remoteHost()).contains("relay.test:25");
            assertThat(event.messageId()).contains("<m1@acme.test>");
        });
        assertThat(recorded).extracting(event -> event.recipient().orElseThrow()).containsExactly("bob@example.net", "carol@example.net");
    }

    @Test
    void aBounceCarriesTheRemoteReply() throws Exception {
        Mail mail = mail();
        mail.setAttribute(new Attribute(RecordEvent.DELIVERY_ERROR, AttributeValue.of("550 5.1.1 no such user")));

        mailet("bounced").service(mail);

        assertThat(recorded.get(0).reply()).contains("550 5.1.1 no such user");
    }

    @Test
    void aNotificationIsTrackedAsAMessageOfItsOwn() throws Exception {
        Mail mail = mail();
        mail.setAttribute(new Attribute(PostinoAttributes.NOTIFICATION, AttributeValue.of("true")));

        mailet("queued").service(mail);

        assertThat(recorded.get(0).mailId()).isEqualTo("m1" + io.postino.events.TrackedMail.NOTIFICATION_SUFFIX);
    }

    @Test
    void smtpEventTypesAndUnknownTypesAreRefused() {
        assertThatThrownBy(() -> mailet("received")).hasMessageContaining("recorded by the SMTP listeners");
        assertThatThrownBy(() -> mailet("lost")).hasMessageContaining("unknown <type> 'lost'");
        assertThatThrownBy(() -> new RecordEvent(recorded::add).init(FakeMailetConfig.builder().mailetName("RecordEvent").build()))
            .hasMessageContaining("needs <type>");
    }
}
