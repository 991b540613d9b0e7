package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.BiFunction;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;
import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;

class SignDkimTest {
    private static KeyPair rsaPair;
    private static DkimKey key;

    @BeforeAll
    static void generate() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair pair = generator.generateKeyPair();
        rsaPair = pair;
        key = new DkimKey("acme.test", "s1", DkimKey.Algorithm.RSA, pair.getPrivate(), pair.getPublic(), Instant.now(), true);
        KeyPair edPair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        edKey = new DkimKey("dual.test", "e1", DkimKey.Algorithm.ED25519, edPair.getPrivate(), edPair.getPublic(), Instant.now(), true);
        rsaOfDual = new DkimKey("dual.test", "r1", DkimKey.Algorithm.RSA, pair.getPrivate(), pair.getPublic(), Instant.now(), true);
    }

    private static DkimKey edKey;
    private static DkimKey rsaOfDual;

    /** One key, for acme.test. */
    private static final DkimKeys KEYS = new DkimKeys() {
        @Override
        public List<DkimKey> signingKeys(String domain) {
            return domain.equals("acme.test") ? List.of(key) : domain.equals("dual.test") ? List.of(edKey, rsaOfDual) : List.of();
        }

        @Override
        public List<DkimKey> keys(String domain) {
            return signingKeys(domain);
        }

        @Override
        public DkimKey generate(String domain, String selector, DkimKey.Algorithm algorithm, int bits) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean activate(String domain, String selector) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean delete(String domain, String selector) {
            throw new UnsupportedOperationException();
        }
    };

    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test", "dual.test"), List.of(), IdentityPolicy.DOMAIN, Map.of()),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.DOMAIN, Map.of()))));

    private static SignDkim mailet(Map<String, String> parameters) throws Exception {
        SignDkim mailet = new SignDkim(KEYS, ORGANISATIONS);
        FakeMailetConfig.Builder config = FakeMailetConfig.builder().mailetName("SignDkim").mailetContext(FakeMailContext.defaultContext());
        parameters.forEach(config::setProperty);
        mailet.init(config.build());
        return mailet;
    }

    private static Mail mail(String from, String body) throws Exception {
        return mail("acme", from, body);
    }

    private static Mail mail(String organisation, String from, String body) throws Exception {
        String raw = "From: Alice <" + from + ">\r\nTo: bob@example.com\r\nSubject: hello\r\nMessage-ID: <1@acme.test>\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body;
        return mail(organisation, raw, List.of());
    }

    private static Mail mail(String organisation, String raw, List<Attribute> attributes) throws Exception {
        MimeMessage message = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(raw.getBytes(StandardCharsets.UTF_8)));
        FakeMail.Builder builder = FakeMail.builder().name("m").mimeMessage(message).recipient("bob@example.com").attributes(attributes);
        if (organisation != null) {
            builder.attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of(organisation)));
        }
        return builder.build();
    }

    private static byte[] bytes(Mail mail) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        mail.getMessage().writeTo(out);
        return out.toByteArray();
    }

    private static List<SignatureRecord> verify(byte[] message) throws Exception {
        Map<String, String> dns = Map.of(key.dnsName(), key.txtRecord(), edKey.dnsName(), edKey.txtRecord(),
            rsaOfDual.dnsName(), rsaOfDual.txtRecord());
        return DkimVerification.verifier((method, selector, domain) -> List.of(dns.get(selector + "._domainkey." + domain)))
            .verify(new ByteArrayInputStream(message));
    }

    @Test
    void aDomainWithAnEd25519AndAnRsaKeyGetsBothSignaturesAndBothVerify() throws Exception {
        Mail mail = mail("alice@dual.test", "two signatures\r\n");

        mailet(Map.of()).service(mail);

        String text = new String(bytes(mail), StandardCharsets.UTF_8);
        assertThat(text).contains("a=ed25519-sha256", "s=e1", "a=rsa-sha256", "s=r1");
        assertThat(edKey.txtRecord()).matches("v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=");
        List<SignatureRecord> valid = verify(bytes(mail));
        assertThat(valid).extracting(record -> record.getSelector().toString()).containsExactlyInAnyOrder("e1", "r1");
        assertThatThrownBy(() -> verify(text.replace("two signatures", "two signatures!").getBytes(StandardCharsets.UTF_8)))
            .isInstanceOf(PermFailException.class);
    }

    @Test
    void signsWithTheKeyOfTheFromDomainAndTheSignatureVerifies() throws Exception {
        Mail mail = mail("alice@Acme.test", "Caf\u00e9 au lait\r\nsecond line\r\n\r\n");

        mailet(Map.of()).service(mail);

        byte[] signed = bytes(mail);
        String text = new String(signed, StandardCharsets.UTF_8);
        assertThat(text).startsWith("DKIM-Signature:").contains("a=rsa-sha256", "c=relaxed/relaxed", "d=acme.test", "s=s1",
            "h=from:to:cc:subject:date:message-id");
        assertThat(text).as("8-bit content went 7-bit first").doesNotContain("Content-Transfer-Encoding: 8bit");
        assertThat(verify(signed)).hasSize(1);
        String signatureHeader = text.substring(0, text.indexOf("\r\nFrom:"));
        assertThat(signatureHeader.split("\r\n")).as("folded between tags and inside b=").hasSizeGreaterThan(3)
            .allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(200));
        assertThatThrownBy(() -> verify(text.replace("second line", "second  line!").getBytes(StandardCharsets.UTF_8)))
            .isInstanceOf(PermFailException.class);
    }

    @Test
    void onlyAnOrganisationsOwnMailForItsOwnDomainIsSigned() throws Exception {
        Mail inbound = mail(null, "alice@acme.test", "forged by a stranger\r\n");
        Mail otherOrganisation = mail("beta", "alice@acme.test", "beta posing as acme\r\n");

        mailet(Map.of()).service(inbound);
        mailet(Map.of()).service(otherOrganisation);

        assertThat(new String(bytes(inbound), StandardCharsets.UTF_8)).doesNotContain("DKIM-Signature");
        assertThat(new String(bytes(otherOrganisation), StandardCharsets.UTF_8)).doesNotContain("DKIM-Signature");
    }

    @Test
    void mailOfADomainWithoutKeyIsLeftUnsigned() throws Exception {
        Mail mail = mail("carol@other.test", "hi\r\n");

        mailet(Map.of()).service(mail);

        assertThat(new String(bytes(mail), StandardCharsets.UTF_8)).doesNotContain("DKIM-Signature");
    }

    @Test
    void signedHeadersAreConfigurableAndAlwaysIncludeFrom() throws Exception {
        Mail mail = mail("alice@acme.test", "hi\r\n");

        mailet(Map.of("headers", "Subject:To")).service(mail);

        assertThat(new String(bytes(mail), StandardCharsets.UTF_8)).contains("h=from:subject:to;");
        assertThat(verify(bytes(mail))).hasSize(1);
        assertThatThrownBy(() -> mailet(Map.of("headers", "from:sub ject"))).hasMessageContaining("<headers>");
    }

    @Test
    void foldedRepeatedAndUtf8HeadersAreSignedAsTheyAreAndTheSignatureVerifies() throws Exception {
        String lastHop = "Received: from b.example by a.example; Tue, 1 Dec 2026 10:00:01 +0000\r\n";
        String firstHop = "Received: from c.example (c.example [192.0.2.3])\r\n\tby b.example; Tue, 1 Dec 2026 10:00:00 +0000\r\n";
        String headerSection = lastHop + firstHop
            + "From: J\u00f6s\u00e9 <jose@acme.test>\r\nTo: bob@example.com,\r\n  carol@example.com\r\n"
            + "Subject: Gr\u00fc\u00dfe   aus\r\n K\u00f6ln \u2713\r\nMessage-ID: <2@acme.test>\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n";
        Mail mail = mail("acme", headerSection + "\r\n\u00dcn\u00efc\u00f6d\u00e9\r\n",
            List.of(new Attribute(PostinoAttributes.SMTPUTF8, AttributeValue.of(true))));

        mailet(Map.of("headers", "from:to:subject:received:received")).service(mail);

        String text = new String(bytes(mail), StandardCharsets.UTF_8);
        assertThat(text).startsWith(headerSection).contains("DKIM-Signature:", "h=from:to:subject:received:received;");
        assertThat(verify(text.getBytes(StandardCharsets.UTF_8))).hasSize(1);
        String swapped = text.replace(lastHop + firstHop, firstHop + lastHop);
        assertThatThrownBy(() -> verify(swapped.getBytes(StandardCharsets.UTF_8))).as("both Received, in their order")
            .isInstanceOf(PermFailException.class);
        assertThatThrownBy(() -> verify(text.replace("K\u00f6ln", "Koln").getBytes(StandardCharsets.UTF_8)))
            .isInstanceOf(PermFailException.class);
    }

    /**
     * jDKIM's own reading of a message (its Message class, mime4j) looks mime4j's services up on
     * the class path for every message, which cost a third of the CPU of a loaded server.
     */
    @Test
    void signingNeedsNoMime4jAndSoNoServiceLookupPerMessage() throws Exception {
        String raw = "From: alice@acme.test\r\nTo: bob@example.com\r\nSubject: hello\r\n\r\nhi\r\n";
        try (URLClassLoader withoutMime4j = withoutMime4j()) {
            assertThatThrownBy(() -> withoutMime4j.loadClass(org.apache.james.mime4j.dom.MessageServiceFactory.class.getName()))
                .isInstanceOf(ClassNotFoundException.class);
            @SuppressWarnings("unchecked")
            BiFunction<KeyPair, byte[], byte[]> sign = (BiFunction<KeyPair, byte[], byte[]>) withoutMime4j
                .loadClass(SignWithoutMime4j.class.getName()).getConstructor().newInstance();

            byte[] signed = sign.apply(rsaPair, raw.getBytes(StandardCharsets.US_ASCII));

            assertThat(new String(signed, StandardCharsets.US_ASCII)).contains("DKIM-Signature:");
            assertThat(verify(signed)).hasSize(1);
        }
    }

    /** This test's class path, loaded anew, with mime4j's classes missing. */
    private static URLClassLoader withoutMime4j() throws MalformedURLException {
        List<URL> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            classPath.add(new File(entry).toURI().toURL());
        }
        return new URLClassLoader(classPath.toArray(URL[]::new), ClassLoader.getPlatformClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (name.startsWith("org.apache.james.mime4j.")) {
                    throw new ClassNotFoundException(name + " is left out of this class loader");
                }
                return super.loadClass(name, resolve);
            }
        };
    }
}
