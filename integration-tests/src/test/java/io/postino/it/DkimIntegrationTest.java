package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.postino.mailets.DkimVerification;

/**
 * DKIM signing over real SMTP: a key generated through WebAdmin signs acme's mail, the signature
 * verifies with Apache jDKIM against the TXT record WebAdmin returned, and fails once the body is
 * altered; beta requires signing and is refused until it has a key; gamma has none and sends
 * unsigned. Clients: acme 127.0.0.22, beta 127.0.0.23, gamma 127.0.0.24 (trusted networks).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DkimIntegrationTest {
    private static final Duration DELIVERY = Duration.ofSeconds(60);
    private static final String ORGANISATIONS = "<organisations>\n"
        + "  <organisation id=\"acme\"><domain>acme.test</domain><trustedNetwork>127.0.0.22</trustedNetwork></organisation>\n"
        + "  <organisation id=\"beta\"><domain>beta.test</domain><trustedNetwork>127.0.0.23</trustedNetwork><dkim required=\"true\"/></organisation>\n"
        + "  <organisation id=\"gamma\"><domain>gamma.test</domain><trustedNetwork>127.0.0.24</trustedNetwork></organisation>\n"
        + "  <organisation id=\"delta\"><domain>delta.test</domain><trustedNetwork>127.0.0.25</trustedNetwork></organisation>\n"
        + "  <organisation id=\"epsilon\"><domain>epsilon.test</domain><trustedNetwork>127.0.0.26</trustedNetwork></organisation>\n"
        + "</organisations>\n";

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("dkim");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"),
            "<authorizedAddresses>127.0.0.0/8</authorizedAddresses>", "<authorizedAddresses>127.0.0.1/32</authorizedAddresses>");
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private SmtpClient.Reply send(String client, String from, String token, String body) throws Exception {
        try (SmtpClient smtp = SmtpClient.connectFrom(client, "127.0.0.1", postino.smtpPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.expect(smtp.command("MAIL FROM:<" + from + ">"), 250);
            SmtpClient.expect(smtp.command("RCPT TO:<bob@example.com>"), 250);
            SmtpClient.expect(smtp.command("DATA"), 354);
            smtp.sendRaw(("From: Sender <" + from + ">\r\nTo: bob@example.com\r\nSubject: " + token
                + "\r\nMessage-ID: <" + token + "@test>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n\r\n" + body + "\r\n.\r\n")
                .getBytes(StandardCharsets.UTF_8));
            return smtp.readReply();
        }
    }

    private SmtpSink.Message arrived(String token) throws InterruptedException {
        List<SmtpSink.Message> messages = sink.awaitMessages(m -> m.text().contains(token), 1, DELIVERY);
        assertThat(messages).hasSize(1);
        return messages.get(0);
    }

    private static String field(String json, String name) {
        Matcher matcher = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(json);
        assertThat(matcher.find()).as(json).isTrue();
        return matcher.group(1);
    }

    /** jDKIM's verifier (able to read Ed25519 keys), asking "DNS" for exactly the records WebAdmin told us to publish. */
    private static List<SignatureRecord> verify(byte[] message, Map<String, String> dns) throws Exception {
        DKIMVerifier verifier = DkimVerification.verifier((method, selector, domain) -> {
            String record = dns.get(selector + "._domainkey." + domain);
            if (record == null) {
                throw new PermFailException("no key for " + selector + "._domainkey." + domain);
            }
            return List.of(record);
        });
        return verifier.verify(new ByteArrayInputStream(message));
    }

    @Test
    void aGeneratedKeySignsAndTheSignatureVerifiesWithThePublishedRecordUntilTheBodyChanges() throws Exception {
        HttpResponse<String> generated = postino.webAdmin("POST", "/dkim/domains/acme.test/keys?selector=s1", null);
        assertThat(generated.statusCode()).as(generated.body()).isEqualTo(201);
        String dnsName = field(generated.body(), "dnsName");
        String txt = field(generated.body(), "txt");
        assertThat(dnsName).isEqualTo("s1._domainkey.acme.test");
        assertThat(txt).startsWith("v=DKIM1; k=rsa; p=MII");
        assertThat(postino.webAdmin("GET", "/dkim/domains/acme.test", null).body()).contains("\"selector\":\"s1\"", "\"active\":false", txt);
        String pending = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.22", "app@acme.test", pending, "before activation " + pending), 250);
        assertThat(arrived(pending).text()).as("a key signs only once activated").doesNotContain("DKIM-Signature");
        assertThat(postino.webAdmin("POST", "/dkim/domains/acme.test/keys/s1/activate", null).body()).contains("\"active\":true");

        String token = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.22", "app@acme.test", token, "Hello,\r\n\r\nthe body " + token + " with caf\u00e9 and trailing lines\r\n\r\n"), 250);
        SmtpSink.Message delivered = arrived(token);
        String text = delivered.text();
        assertThat(text).startsWith("DKIM-Signature:");
        assertThat(text).contains("a=rsa-sha256", "c=relaxed/relaxed", "d=acme.test", "s=s1");

        List<SignatureRecord> valid = verify(delivered.content(), Map.of(dnsName, txt));
        assertThat(valid).hasSize(1);
        assertThat(valid.get(0).getDToken().toString()).isEqualTo("acme.test");

        byte[] altered = text.replace("the body " + token, "the body " + token + "!").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> verify(altered, Map.of(dnsName, txt))).isInstanceOf(PermFailException.class);
        byte[] otherSubject = text.replace("Subject: " + token, "Subject: changed").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> verify(otherSubject, Map.of(dnsName, txt))).isInstanceOf(PermFailException.class);
    }

    @Test
    void rsaAndEd25519KeysTogetherSignTwiceAndBothSignaturesVerify() throws Exception {
        HttpResponse<String> rsa = postino.webAdmin("POST", "/dkim/domains/delta.test/keys?selector=r1", null);
        HttpResponse<String> ed25519 = postino.webAdmin("POST", "/dkim/domains/delta.test/keys?selector=e1&algorithm=ed25519", null);
        postino.webAdmin("POST", "/dkim/domains/delta.test/keys/r1/activate", null);
        postino.webAdmin("POST", "/dkim/domains/delta.test/keys/e1/activate", null);
        assertThat(ed25519.statusCode()).as(ed25519.body()).isEqualTo(201);
        assertThat(field(ed25519.body(), "algorithm")).isEqualTo("ed25519-sha256");
        assertThat(field(ed25519.body(), "txt")).matches("v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=");
        Map<String, String> dns = Map.of(field(rsa.body(), "dnsName"), field(rsa.body(), "txt"),
            field(ed25519.body(), "dnsName"), field(ed25519.body(), "txt"));

        String token = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.25", "app@delta.test", token, "dual " + token), 250);
        SmtpSink.Message delivered = arrived(token);

        assertThat(delivered.text()).contains("a=ed25519-sha256", "s=e1", "a=rsa-sha256", "s=r1");
        assertThat(verify(delivered.content(), dns)).extracting(record -> record.getSelector().toString()).containsExactlyInAnyOrder("e1", "r1");
        assertThat(verify(delivered.content(), Map.of(field(ed25519.body(), "dnsName"), field(ed25519.body(), "txt"),
            field(rsa.body(), "dnsName"), field(ed25519.body(), "txt").replace("k=ed25519", "k=rsa"))))
            .as("with the RSA record wrong, only the Ed25519 signature holds")
            .extracting(record -> record.getSelector().toString()).containsExactly("e1");
        byte[] altered = delivered.text().replace("dual " + token, "duel " + token).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> verify(altered, dns)).isInstanceOf(PermFailException.class);
    }

    @Test
    void anOrganisationRequiringSigningIsRefusedUntilItsDomainHasAKey() throws Exception {
        SmtpClient.Reply refused = send("127.0.0.23", "app@beta.test", UUID.randomUUID().toString(), "body");
        assertThat(refused.code()).isEqualTo(550);
        assertThat(refused.text()).contains("5.7.1", "requires DKIM signing", "beta.test has no active DKIM key", "POST /dkim/domains/beta.test/keys");

        assertThat(postino.webAdmin("POST", "/dkim/domains/beta.test/keys?selector=b1&bits=3072", null).statusCode()).isEqualTo(201);
        assertThat(send("127.0.0.23", "app@beta.test", UUID.randomUUID().toString(), "body").code()).as("not active yet").isEqualTo(550);
        assertThat(postino.webAdmin("POST", "/dkim/domains/beta.test/keys/b1/activate", null).statusCode()).isEqualTo(200);
        String token = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.23", "app@beta.test", token, "body " + token), 250);
        assertThat(arrived(token).text()).contains("d=beta.test", "s=b1");
    }

    @Test
    void smtpUtf8MailWithUtf8HeadersIsSignedAsItIsSent() throws Exception {
        HttpResponse<String> generated = postino.webAdmin("POST", "/dkim/domains/epsilon.test/keys?selector=u1", null);
        assertThat(generated.statusCode()).as(generated.body()).isEqualTo(201);
        assertThat(postino.webAdmin("POST", "/dkim/domains/epsilon.test/keys/u1/activate", null).statusCode()).isEqualTo(200);
        sink.offeringSmtpUtf8(true);
        String token = UUID.randomUUID().toString();
        try (SmtpClient smtp = SmtpClient.connectFrom("127.0.0.26", "127.0.0.1", postino.smtpPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.expect(smtp.utf8Command("MAIL FROM:<jösé@epsilon.test> SMTPUTF8"), 250);
            SmtpClient.expect(smtp.utf8Command("RCPT TO:<用户@例子.测试>"), 250);
            SmtpClient.expect(smtp.command("DATA"), 354);
            smtp.sendRaw(("From: Jösé <jösé@epsilon.test>\r\nTo: 用户@例子.测试\r\nSubject: Grüße " + token
                + "\r\nMessage-ID: <" + token + "@test>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÜnïcödé ✓\r\n.\r\n")
                .getBytes(StandardCharsets.UTF_8));
            SmtpClient.expect(smtp.readReply(), 250);
        }
        SmtpSink.Message delivered = arrived(token);
        sink.offeringSmtpUtf8(false);
        assertThat(delivered.text()).contains("DKIM-Signature:", "Subject: Grüße " + token, "Ünïcödé ✓");
        List<SignatureRecord> valid = verify(delivered.content(), Map.of(field(generated.body(), "dnsName"), field(generated.body(), "txt")));
        assertThat(valid).hasSize(1);
    }

    @Test
    void eightBitHeadersWithoutSmtpUtf8KeepTheirOctetsThroughThe7BitConversion() throws Exception {
        HttpResponse<String> generated = postino.webAdmin("POST", "/dkim/domains/delta.test/keys?selector=d1", null);
        assertThat(generated.statusCode()).as(generated.body()).isEqualTo(201);
        assertThat(postino.webAdmin("POST", "/dkim/domains/delta.test/keys/d1/activate", null).statusCode()).isEqualTo(200);
        String token = UUID.randomUUID().toString();
        try (SmtpClient smtp = SmtpClient.connectFrom("127.0.0.25", "127.0.0.1", postino.smtpPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.expect(smtp.command("MAIL FROM:<app@delta.test> BODY=8BITMIME"), 250);
            SmtpClient.expect(smtp.command("RCPT TO:<bob@example.com>"), 250);
            SmtpClient.expect(smtp.command("DATA"), 354);
            smtp.sendRaw(("From: app@delta.test\r\nTo: bob@example.com\r\nSubject: Grüße " + token
                + "\r\nMessage-ID: <" + token + "@test>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÜnïcödé\r\n.\r\n")
                .getBytes(StandardCharsets.UTF_8));
            SmtpClient.expect(smtp.readReply(), 250);
        }
        SmtpSink.Message delivered = arrived(token);
        assertThat(delivered.text()).contains("Subject: Grüße " + token, "Content-Transfer-Encoding: quoted-printable");
        assertThat(verify(delivered.content(), Map.of(field(generated.body(), "dnsName"), field(generated.body(), "txt")))).hasSize(1);
    }

    @Test
    void withoutAKeyMailLeavesUnsigned() throws Exception {
        String token = UUID.randomUUID().toString();
        SmtpClient.expect(send("127.0.0.24", "app@gamma.test", token, "body " + token), 250);

        assertThat(arrived(token).text()).doesNotContain("DKIM-Signature");
    }

    @Test
    void webAdminRefusesWhatItCannotDo() throws Exception {
        assertThat(postino.webAdmin("POST", "/dkim/domains/unknown.test/keys", null).statusCode()).isEqualTo(404);
        assertThat(postino.webAdmin("POST", "/dkim/domains/gamma.test/keys?bits=1024", null).statusCode()).isEqualTo(400);
        assertThat(postino.webAdmin("POST", "/dkim/domains/gamma.test/keys?algorithm=dsa", null).body()).contains("algorithm must be rsa or ed25519");
        assertThat(postino.webAdmin("POST", "/dkim/domains/gamma.test/keys?selector=Bad_Selector", null).statusCode()).isEqualTo(400);
        assertThat(postino.webAdmin("POST", "/dkim/domains/gamma.test/keys?selector=g1", null).statusCode()).isEqualTo(201);
        assertThat(postino.webAdmin("POST", "/dkim/domains/gamma.test/keys?selector=g1", null).statusCode()).as("selector taken").isEqualTo(409);
        assertThat(postino.webAdmin("DELETE", "/dkim/domains/gamma.test/keys/g1", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("DELETE", "/dkim/domains/gamma.test/keys/none", null).statusCode()).isEqualTo(404);
    }
}
