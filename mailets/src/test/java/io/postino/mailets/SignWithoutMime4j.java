package io.postino.mailets;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.BiFunction;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;
import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;

/**
 * Signs a message of acme.test with an RSA key pair of selector s1 and gives back the signed
 * message: for {@link SignDkimTest} to run in a class loader that has no mime4j. Only JDK types
 * go in and out.
 */
public class SignWithoutMime4j implements BiFunction<KeyPair, byte[], byte[]> {
    @Override
    public byte[] apply(KeyPair pair, byte[] raw) {
        DkimKey key = new DkimKey("acme.test", "s1", DkimKey.Algorithm.RSA, pair.getPrivate(), pair.getPublic(), Instant.now(), true);
        DkimKeys keys = new DkimKeys() {
            @Override
            public List<DkimKey> signingKeys(String domain) {
                return List.of(key);
            }

            @Override
            public List<DkimKey> keys(String domain) {
                return List.of(key);
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
        try {
            SignDkim mailet = new SignDkim(keys, Organisations.of(new OrganisationsConfig(List.of(
                new Organisation("acme", "Acme", Set.of("acme.test"), List.of(), IdentityPolicy.DOMAIN, Map.of())))));
            mailet.init(FakeMailetConfig.builder().mailetName("SignDkim").mailetContext(FakeMailContext.defaultContext()).build());
            Mail mail = FakeMail.builder().name("m").recipient("bob@example.com")
                .mimeMessage(new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(raw)))
                .attribute(new Attribute(PostinoAttributes.ORGANISATION, AttributeValue.of("acme"))).build();
            mailet.service(mail);
            ByteArrayOutputStream signed = new ByteArrayOutputStream();
            mail.getMessage().writeTo(signed);
            return signed.toByteArray();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
