package io.postino.server.dkim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.james.server.core.MimeMessageInputStreamSource;
import org.apache.james.server.core.MimeMessageWrapper;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.dkim.DkimKey;
import io.postino.mailets.DkimVerification;
import io.postino.mailets.SignDkim;
import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;

/**
 * SignDkim on messages as James' spool holds them (a MimeMessageWrapper read from a stream), with
 * the file key store: an 8-bit multipart body must leave converted to 7 bit and signed as sent.
 */
class SignDkimOnJamesMessagesTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.DOMAIN, Map.of()))));

    @TempDir
    Path directory;

    @Test
    void anEightBitMultipartLeavesInSevenBitAndItsSignatureVerifies() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);
        DkimKey key = keys.generate("acme.test", "s1", DkimKey.Algorithm.RSA, 2048);
        keys.activate("acme.test", "s1");
        SignDkim mailet = new SignDkim(keys, ORGANISATIONS);
        mailet.init(FakeMailetConfig.builder().mailetName("SignDkim").mailetContext(FakeMailContext.defaultContext()).build());
        String raw = "From: alice@acme.test\r\nTo: bob@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            + "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf\u00e9 cr\u00e8me\r\n"
            + "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nna\u00efve\r\n--b1--\r\n";
        MimeMessageWrapper message = new MimeMessageWrapper(MimeMessageInputStreamSource.create("m1",
            new ByteArrayInputStream(raw.getBytes(StandardCharsets.UTF_8))));
        Mail mail = FakeMail.builder().name("m1").mimeMessage(message).recipient("bob@example.com")
            .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme"))).build();

        mailet.service(mail);

        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        mail.getMessage().writeTo(sent);
        String text = sent.toString(StandardCharsets.UTF_8);
        assertThat(text).startsWith("DKIM-Signature:");
        assertThat(text).as("no header added after signing").containsOnlyOnce("Date:").containsOnlyOnce("Message-ID:");
        assertThat(text).doesNotContain("Content-Transfer-Encoding: 8bit").contains("quoted-printable");
        assertThat(DkimVerification.verifier((method, selector, domain) -> List.of(key.txtRecord()))
            .verify(new ByteArrayInputStream(sent.toByteArray()))).hasSize(1);
    }
}
