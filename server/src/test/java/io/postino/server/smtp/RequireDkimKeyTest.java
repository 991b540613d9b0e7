package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.mailet.Mail;
import org.apache.mailet.base.test.FakeMail;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.postino.organisations.IdentityPolicy;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsConfig;
import io.postino.server.dkim.FileDkimKeys;

class RequireDkimKeyTest {
    private static final Organisations ORGANISATIONS = Organisations.of(new OrganisationsConfig(List.of(
        new Organisation("acme", "Acme", Set.of("acme.test", "news.acme.test"), List.of(), IdentityPolicy.DOMAIN, Map.of())
            .withDelivery(Optional.empty(), Map.of(), true),
        new Organisation("beta", "Beta", Set.of("beta.test"), List.of(), IdentityPolicy.DOMAIN, Map.of()))));

    @TempDir
    Path directory;

    private static SMTPSession sessionOf(String organisation) {
        SMTPSession session = FakeSmtpSession.client("198.51.100.7", true);
        session.setAttachment(OrganisationSession.SENDING_ORGANISATION, organisation, ProtocolSession.State.Transaction);
        return session;
    }

    private static Mail mail(String envelope, String from) throws Exception {
        String raw = (from == null ? "" : "From: " + from + "\r\n") + "Subject: x\r\n\r\nbody\r\n";
        return FakeMail.builder().name("m").sender(MaybeSender.getMailSender(envelope).asString())
            .mimeMessage(new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(raw.getBytes(StandardCharsets.US_ASCII))))
            .recipient("bob@example.com").build();
    }

    @Test
    void refusesMailOfAnOrganisationRequiringSigningWhenTheFromDomainHasNoKey() throws Exception {
        FileDkimKeys keys = new FileDkimKeys(directory);
        keys.generate("acme.test", "s1", io.postino.dkim.DkimKey.Algorithm.RSA, 2048);
        keys.generate("news.acme.test", "pending", io.postino.dkim.DkimKey.Algorithm.RSA, 2048);
        keys.activate("acme.test", "s1");
        RequireDkimKey hook = new RequireDkimKey(ORGANISATIONS, keys);

        HookResult refused = hook.onMessage(sessionOf("acme"), mail("app@acme.test", "News <news@news.acme.test>"));

        assertThat(refused.getResult()).isEqualTo(HookReturnCode.deny());
        assertThat(refused.getSmtpRetCode()).isEqualTo("550");
        assertThat(refused.getSmtpDescription()).startsWith("5.7.1 Organisation 'acme' requires DKIM signing, but news.acme.test has no active DKIM key");
        assertThat(hook.onMessage(sessionOf("acme"), mail("news@news.acme.test", "app@acme.test")).getResult())
            .as("the From: domain counts").isEqualTo(HookReturnCode.declined());
        HookResult noFrom = hook.onMessage(sessionOf("acme"), mail("app@acme.test", null));
        assertThat(noFrom.getResult()).isEqualTo(HookReturnCode.deny());
        assertThat(noFrom.getSmtpDescription()).contains("has none");
    }

    @Test
    void otherOrganisationsSendUnsigned() throws Exception {
        RequireDkimKey hook = new RequireDkimKey(ORGANISATIONS, new FileDkimKeys(directory));

        assertThat(hook.onMessage(sessionOf("beta"), mail("app@beta.test", "app@beta.test")).getResult()).isEqualTo(HookReturnCode.declined());
        assertThat(hook.onMessage(FakeSmtpSession.client("203.0.113.9", false), mail("x@example.org", "x@example.org")).getResult())
            .isEqualTo(HookReturnCode.declined());
    }
}
