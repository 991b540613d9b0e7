package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;

import org.apache.james.core.MailAddress;
import org.apache.james.core.builder.MimeMessageBuilder;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;

class DSNBounceWithUtf8RecipientsTest {
    /** Enough DNS for DSNBounce's Reporting-MTA. */
    private static final DNSService DNS = new DNSService() {
        @Override
        public Collection<String> findMXRecords(String hostname) {
            return List.of();
        }

        @Override
        public Collection<String> findTXTRecords(String hostname) {
            return List.of();
        }

        @Override
        public Collection<InetAddress> getAllByName(String host) {
            return List.of(InetAddress.getLoopbackAddress());
        }

        @Override
        public InetAddress getByName(String host) {
            return InetAddress.getLoopbackAddress();
        }

        @Override
        public InetAddress getLocalHost() {
            return InetAddress.getLoopbackAddress();
        }

        @Override
        public String getHostName(InetAddress address) {
            return "postino.test";
        }
    };

    /** The DSN the mailet sends for a mail bounced for these recipients, as octets on the wire. */
    private static byte[] dsnFor(String... recipients) throws Exception {
        FakeMailContext context = FakeMailContext.builder().postmaster(new MailAddress("postmaster@postino.test")).build();
        DSNBounceWithUtf8Recipients mailet = new DSNBounceWithUtf8Recipients(DNS);
        mailet.init(FakeMailetConfig.builder()
            .mailetName("DSNBounceWithUtf8Recipients")
            .mailetContext(context)
            .setProperty("passThrough", "false")
            .setProperty("attachment", "heads")
            .build());
        FakeMail.Builder mail = FakeMail.builder()
            .name("bounced")
            .lastUpdated(new java.util.Date())
            .sender("app@acme.test")
            .mimeMessage(MimeMessageBuilder.mimeMessageBuilder().setSubject("hello").setText("body"));
        for (String recipient : recipients) {
            mail.recipient(new MailAddress(recipient));
        }

        mailet.service(mail.build());

        assertThat(context.getSentMails()).hasSize(1);
        ByteArrayOutputStream octets = new ByteArrayOutputStream();
        context.getSentMails().get(0).getMsg().writeTo(octets);
        return octets.toByteArray();
    }

    @Test
    void aUtf8RecipientIsNamedInTheUtf8AddressTypeOfRfc6533() throws Exception {
        String dsn = new String(dsnFor("\"jösé\"@xn--bcher-kva.example", "\"用户\"@xn--fsqu00a.xn--0zwm56d"), StandardCharsets.US_ASCII);

        assertThat(dsn).contains("Final-Recipient: utf-8; j\\x{F6}s\\x{E9}@xn--bcher-kva.example")
            .contains("Final-Recipient: utf-8; \\x{7528}\\x{6237}@xn--fsqu00a.xn--0zwm56d")
            .contains("Content-Type: message/delivery-status").doesNotContain("rfc822; \"");
    }

    @Test
    void anAsciiRecipientStaysAnRfc822Address() throws Exception {
        String dsn = new String(dsnFor("bob@example.com", "\"jösé\"@xn--bcher-kva.example"), StandardCharsets.US_ASCII);

        assertThat(dsn).contains("Final-Recipient: rfc822; bob@example.com")
            .contains("Final-Recipient: utf-8; j\\x{F6}s\\x{E9}@xn--bcher-kva.example");
    }

    @Test
    void theDsnIsSevenBit() throws Exception {
        byte[] dsn = dsnFor("\"jösé\"@xn--bcher-kva.example", "\"用户\"@xn--fsqu00a.xn--0zwm56d");

        for (byte octet : dsn) {
            assertThat(octet).as("an octet of the DSN").isBetween((byte) 0, (byte) 0x7f);
        }
    }

    @Test
    void fieldsThatDoNotNameOneRecipientEachAreLeftAlone() throws Exception {
        String fields = "Final-Recipient: rfc822; a@x.example\n";

        assertThat(DSNBounceWithUtf8Recipients.typeRecipients(fields,
            List.of(new MailAddress("a@x.example"), new MailAddress("\"j\u00f6\"@x.example")))).isEqualTo(fields);
    }

    @Test
    void plusEqualsAndBackslashAreEscapedAsRfc6533Says() {
        assertThat(DSNBounceWithUtf8Recipients.xtext("a+b=c\\d\u00e9@x.example")).isEqualTo("a\\x{2B}b\\x{3D}c\\x{5C}d\\x{E9}@x.example");
    }
}
