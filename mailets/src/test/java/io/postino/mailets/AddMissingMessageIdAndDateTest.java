package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AddMissingMessageIdAndDateTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-29T10:15:30Z"), ZoneOffset.UTC);

    private AddMissingMessageIdAndDate mailet;

    @BeforeEach
    void setUp() throws Exception {
        mailet = new AddMissingMessageIdAndDate(CLOCK);
        mailet.init(FakeMailetConfig.builder()
            .mailetName("AddMissingMessageIdAndDate")
            .setProperty("domain", "relay.example.com")
            .build());
    }

    @Test
    void addsMessageIdAndDateWhenBothAreMissing() throws Exception {
        Mail mail = mailWith("Subject: hi\r\n\r\nbody");

        mailet.service(mail);

        assertThat(mail.getMessage().getHeader("Message-ID", null)).matches("<[0-9a-f-]{36}@relay\\.example\\.com>");
        assertThat(mail.getMessage().getHeader("Date", null)).isEqualTo("Sun, 29 Nov 2026 10:15:30 +0000");
    }

    @Test
    void keepsAnExistingMessageIdAndDate() throws Exception {
        Mail mail = mailWith("Message-ID: <original@app.example>\r\nDate: Mon, 2 Nov 2026 08:00:00 +0100\r\n\r\nbody");

        mailet.service(mail);

        assertThat(mail.getMessage().getHeader("Message-ID")).containsExactly("<original@app.example>");
        assertThat(mail.getMessage().getHeader("Date")).containsExactly("Mon, 2 Nov 2026 08:00:00 +0100");
    }

    @Test
    void addsOnlyTheMissingDate() throws Exception {
        Mail mail = mailWith("Message-ID: <original@app.example>\r\n\r\nbody");

        mailet.service(mail);

        assertThat(mail.getMessage().getHeader("Message-ID")).containsExactly("<original@app.example>");
        assertThat(mail.getMessage().getHeader("Date")).hasSize(1);
    }

    @Test
    void keepsTraceHeadersAboveTheAddedHeaders() throws Exception {
        Mail mail = mailWith("Received: from second.example by relay.example.com\r\n"
            + "Received: from first.example by second.example\r\nSubject: hi\r\n\r\nbody");

        mailet.service(mail);

        List<String> lines = Collections.list(mail.getMessage().getAllHeaderLines());
        assertThat(lines.get(0)).isEqualTo("Received: from second.example by relay.example.com");
        assertThat(lines.get(1)).isEqualTo("Received: from first.example by second.example");
        assertThat(lines).anyMatch(line -> line.startsWith("Message-ID: <"));
    }

    @Test
    void defaultsTheDomainToThePostmasterDomain() throws Exception {
        AddMissingMessageIdAndDate withDefault = new AddMissingMessageIdAndDate(CLOCK);
        withDefault.init(FakeMailetConfig.builder()
            .mailetName("AddMissingMessageIdAndDate")
            .mailetContext(FakeMailContext.builder().postmaster(new MailAddress("postmaster@acme.test")))
            .build());
        Mail mail = mailWith("Subject: hi\r\n\r\nbody");

        withDefault.service(mail);

        assertThat(mail.getMessage().getHeader("Message-ID", null)).endsWith("@acme.test>");
    }

    @Test
    void refusesADomainThatIsNotADomainName() {
        AddMissingMessageIdAndDate bad = new AddMissingMessageIdAndDate(CLOCK);

        assertThatThrownBy(() -> bad.init(FakeMailetConfig.builder()
                .mailetName("AddMissingMessageIdAndDate")
                .setProperty("domain", "not a domain>")
                .build()))
            .isInstanceOf(MessagingException.class)
            .hasMessageContaining("'domain' must be a domain name");
    }

    private Mail mailWith(String rawMessage) throws Exception {
        MimeMessage message = new MimeMessage(Session.getInstance(new Properties()),
            new ByteArrayInputStream(rawMessage.getBytes(StandardCharsets.US_ASCII)));
        return FakeMail.builder().name("m").mimeMessage(message).build();
    }
}
