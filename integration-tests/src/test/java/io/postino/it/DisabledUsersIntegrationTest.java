package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Disabling a user ({@code /disabledUsers}), checked over real SMTP with the user's right
 * password: a disabled user is told so at AUTH only after the password was right, an enabled one
 * logs in again, and a session that logged in before cannot start another mail. Each test uses
 * its own user and loopback address, so that the AUTH throttle of one does not slow another.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DisabledUsersIntegrationTest {
    private static final String ORGANISATIONS = "<organisations>"
        + "<organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain></organisation>"
        + "<organisation id=\"beta\" name=\"Beta\"><domain>beta.test</domain></organisation>"
        + "</organisations>";
    private static final List<String> USERS = List.of("alice@acme.test", "carol@acme.test", "dave@acme.test", "bob@beta.test");

    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private PostinoProcess postino;
    private String acmeToken;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("disabled-users");
        sink = SmtpSink.start();
        installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        for (String domain : List.of("acme.test", "beta.test")) {
            assertThat(postino.webAdmin("PUT", "/domains/" + domain, null).statusCode()).isEqualTo(204);
        }
        for (String user : USERS) {
            assertThat(postino.webAdmin("PUT", "/users/" + user, "{\"password\":\"pw-" + user + "\"}").statusCode()).isEqualTo(204);
        }
        HttpResponse<String> made = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:acme\",\"description\":\"Acme IT\"}");
        assertThat(made.statusCode()).isEqualTo(201);
        Matcher token = Pattern.compile("\"token\":\"([^\"]+)\"").matcher(made.body());
        assertThat(token.find()).isTrue();
        acmeToken = token.group(1);
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private SmtpClient submission(String client) throws Exception {
        SmtpClient smtp = SmtpClient.connectTlsFrom(client, "127.0.0.1", postino.smtpsPort);
        smtp.greetingAndEhlo();
        return smtp;
    }

    private HttpResponse<String> asAcme(String method, String path) throws Exception {
        return postino.webAdmin(method, path, null, Map.of("Authorization", "Bearer " + acmeToken));
    }

    @Test
    void aDisabledUserIsToldSoOnlyWithTheRightPasswordAndLogsInAgainOnceEnabled() throws Exception {
        assertThat(postino.webAdmin("PUT", "/disabledUsers/alice@acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("GET", "/disabledUsers", null).body()).isEqualTo("[\"alice@acme.test\"]");

        try (SmtpClient smtp = submission("127.0.0.21")) {
            SmtpClient.Reply wrong = smtp.authPlain("alice@acme.test", "guess");
            assertThat(wrong.code()).isEqualTo(535);
            assertThat(wrong.text()).contains("5.7.8 Authentication credentials invalid").doesNotContain("disabled");

            SmtpClient.Reply right = smtp.authPlain("alice@acme.test", "pw-alice@acme.test");
            assertThat(right.code()).isEqualTo(535);
            assertThat(right.text()).contains("5.7.8", "disabled", "administrator");
            assertThat(smtp.command("MAIL FROM:<alice@acme.test>").code()).as("not logged in").isEqualTo(530);
        }

        assertThat(postino.webAdmin("DELETE", "/disabledUsers/alice@acme.test", null).statusCode()).isEqualTo(204);
        assertThat(postino.webAdmin("GET", "/disabledUsers", null).body()).isEqualTo("[]");
        try (SmtpClient smtp = submission("127.0.0.21")) {
            SmtpClient.expect(smtp.authPlain("alice@acme.test", "pw-alice@acme.test"), 235);
        }
    }

    @Test
    void aSessionThatLoggedInBeforeItsUserWasDisabledCannotStartAnotherMail() throws Exception {
        try (SmtpClient smtp = submission("127.0.0.22")) {
            SmtpClient.expect(smtp.authPlain("carol@acme.test", "pw-carol@acme.test"), 235);
            SmtpClient.expect(smtp.send("carol@acme.test", List.of("someone@example.net"),
                "From: carol@acme.test\r\nTo: someone@example.net\r\nSubject: before\r\n\r\nbefore\r\n"), 250);

            assertThat(postino.webAdmin("PUT", "/disabledUsers/carol@acme.test", null).statusCode()).isEqualTo(204);

            SmtpClient.Reply refused = smtp.command("MAIL FROM:<carol@acme.test>");
            assertThat(refused.code()).isEqualTo(550);
            assertThat(refused.text()).contains("5.7.1", "disabled");
        } finally {
            postino.webAdmin("DELETE", "/disabledUsers/carol@acme.test", null);
        }
    }

    @Test
    void theListIsKeptInTheDataDirectoryAndShownPerOrganisation() throws Exception {
        assertThat(postino.webAdmin("PUT", "/disabledUsers/DAVE@acme.test", null).statusCode()).isEqualTo(204);
        try {
            assertThat(Files.readString(postino.dataDirectory.resolve("store/disabled-users.txt"), StandardCharsets.UTF_8))
                .isEqualTo("dave@acme.test\n");
            assertThat(postino.webAdmin("GET", "/organisations/acme/users", null).body()).isEqualTo("["
                + "{\"login\":\"alice@acme.test\",\"disabled\":false},"
                + "{\"login\":\"carol@acme.test\",\"disabled\":false},"
                + "{\"login\":\"dave@acme.test\",\"disabled\":true}]");
        } finally {
            assertThat(postino.webAdmin("DELETE", "/disabledUsers/dave@acme.test", null).statusCode()).isEqualTo(204);
        }
    }

    @Test
    void aDisabledUserStaysDisabledAfterARestart() throws Exception {
        assertThat(postino.webAdmin("PUT", "/disabledUsers/dave@acme.test", null).statusCode()).isEqualTo(204);
        try {
            postino.stop();
            postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());

            assertThat(postino.webAdmin("GET", "/disabledUsers", null).body()).isEqualTo("[\"dave@acme.test\"]");
            try (SmtpClient smtp = submission("127.0.0.24")) {
                SmtpClient.Reply refused = smtp.authPlain("dave@acme.test", "pw-dave@acme.test");
                assertThat(refused.code()).isEqualTo(535);
                assertThat(refused.text()).contains("disabled");
            }
        } finally {
            postino.webAdmin("DELETE", "/disabledUsers/dave@acme.test", null);
        }
    }

    @Test
    void onlyAnExistingUserCanBeDisabled() throws Exception {
        HttpResponse<String> missing = postino.webAdmin("PUT", "/disabledUsers/nobody@acme.test", null);

        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("\"message\":\"No user 'nobody@acme.test'");
        assertThat(postino.webAdmin("GET", "/disabledUsers", null).body()).doesNotContain("nobody");
    }

    @Test
    void anOrganisationsTokenDisablesItsOwnUsersOnly() throws Exception {
        assertThat(asAcme("PUT", "/disabledUsers/dave@acme.test").statusCode()).isEqualTo(204);
        assertThat(asAcme("DELETE", "/disabledUsers/dave@acme.test").statusCode()).isEqualTo(204);

        assertThat(asAcme("PUT", "/disabledUsers/bob@beta.test").statusCode()).isEqualTo(403);
        assertThat(asAcme("DELETE", "/disabledUsers/bob@beta.test").statusCode()).isEqualTo(403);
        assertThat(asAcme("GET", "/disabledUsers").statusCode()).isEqualTo(403);
        assertThat(postino.webAdmin("GET", "/disabledUsers", null).body()).doesNotContain("bob@beta.test");
        try (SmtpClient smtp = submission("127.0.0.23")) {
            SmtpClient.expect(smtp.authPlain("bob@beta.test", "pw-bob@beta.test"), 235);
        }
    }

    @Test
    void anOrganisationCannotEnableAUserTheOperatorDisabled() throws Exception {
        assertThat(postino.webAdmin("PUT", "/disabledUsers/dave@acme.test", null).statusCode()).isEqualTo(204);
        try {
            HttpResponse<String> refused = asAcme("DELETE", "/disabledUsers/dave@acme.test");

            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.body()).contains("only the operator can enable it again");
            assertThat(postino.webAdmin("GET", "/disabledUsers", null).body()).contains("dave@acme.test");
        } finally {
            assertThat(postino.webAdmin("DELETE", "/disabledUsers/dave@acme.test", null).statusCode()).isEqualTo(204);
        }
        assertThat(asAcme("PUT", "/disabledUsers/dave@acme.test").statusCode()).isEqualTo(204);
        assertThat(Files.readString(postino.dataDirectory.resolve("store/disabled-users.txt"), StandardCharsets.UTF_8))
            .isEqualTo("dave@acme.test organisation:acme\n");
        assertThat(asAcme("DELETE", "/disabledUsers/dave@acme.test").statusCode()).as("its own disable").isEqualTo(204);
    }

    @Test
    void aTrustedClientCannotSendAsADisabledAccountWithoutLoggingIn() throws Exception {
        assertThat(postino.webAdmin("PUT", "/disabledUsers/dave@acme.test", null).statusCode()).isEqualTo(204);
        try (SmtpClient smtp = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            smtp.greetingAndEhlo();
            SmtpClient.Reply refused = smtp.command("MAIL FROM:<dave@acme.test>");
            assertThat(refused.code()).isEqualTo(550);
            assertThat(refused.text()).contains("5.7.1").contains("disabled account");
            SmtpClient.expect(smtp.command("MAIL FROM:<alice@acme.test>"), 250);
        } finally {
            postino.webAdmin("DELETE", "/disabledUsers/dave@acme.test", null);
        }
    }
}
