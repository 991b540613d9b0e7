package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.junit.jupiter.api.Test;

import io.postino.server.users.DisabledUsers;

class RefuseDisabledUserTest {
    private final DisabledUsers disabled = DisabledUsers.inMemory();
    private final RefuseDisabledUser hook = new RefuseDisabledUser(disabled);

    @Test
    void aSessionOfAUserDisabledSinceItLoggedInCannotStartAMail() {
        var session = FakeSmtpSession.authenticated("alice@acme.test");
        disabled.disable("alice@acme.test");

        HookResult result = hook.doMail(session, MaybeSender.getMailSender("alice@acme.test"));

        assertThat(result.getSmtpRetCode()).isEqualTo("550");
        assertThat(result.getSmtpDescription()).startsWith("5.7.1 ").contains("disabled");
    }

    @Test
    void otherUsersAndClientsThatDidNotLogInAreLeftToTheOtherHooks() {
        disabled.disable("alice@acme.test");

        assertThat(hook.doMail(FakeSmtpSession.authenticated("bob@acme.test"), MaybeSender.nullSender())).isEqualTo(HookResult.DECLINED);
        assertThat(hook.doMail(FakeSmtpSession.client("192.0.2.1", false), MaybeSender.nullSender())).isEqualTo(HookResult.DECLINED);
        assertThat(hook.doMail(FakeSmtpSession.client("192.0.2.1", false), MaybeSender.getMailSender("bob@acme.test")))
            .isEqualTo(HookResult.DECLINED);
    }

    @Test
    void aClientThatDidNotLogInCannotSendAsADisabledAccount() {
        disabled.disable("alice@acme.test");

        HookResult result = hook.doMail(FakeSmtpSession.client("127.0.0.1", false), MaybeSender.getMailSender("Alice@ACME.test"));

        assertThat(result.getSmtpRetCode()).isEqualTo("550");
        assertThat(result.getSmtpDescription()).startsWith("5.7.1 ").contains("disabled account");
    }
}
