package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class LogSafeTest {
    /** "\0alice@acme.test\0s3cret". */
    private static final String TOKEN = "AGFsaWNlQGFjbWUudGVzdABzM2NyZXQ=";

    private static String command(String line, boolean mayBeCredential) {
        return LogSafe.command(line.getBytes(StandardCharsets.US_ASCII), mayBeCredential);
    }

    @Test
    void ofAnAuthLineOnlyTheVerbAndAKnownMechanismAreShown() {
        assertThat(command("AUTH PLAIN " + TOKEN + "\t\r\n", false)).isEqualTo("AUTH PLAIN (" + (TOKEN.length() + 2) + " more octets not shown)");
        assertThat(command("auth\tlogin " + TOKEN + "\r\n", false)).startsWith("AUTH LOGIN (").doesNotContain(TOKEN);
        assertThat(command("AUTH PLAIN\r\n", false)).isEqualTo("AUTH PLAIN");
        assertThat(command("  AUTH XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2tlbgEB\r\n", false)).startsWith("AUTH XOAUTH2 (");
    }

    @Test
    void aWordInTheMechanismsPlaceThatIsNoMechanismIsNotShown() {
        assertThat(command("AUTH " + TOKEN + "\u0001\r\n", false)).isEqualTo("AUTH (" + (TOKEN.length() + 6) + " octets, not shown)");
        assertThat(command("AUTHPLAIN " + TOKEN + "\r\n", false)).doesNotContain("AGFs");
    }

    @Test
    void aLineThatMayAnswerAnAuthChallengeIsNotShownAtAll() {
        assertThat(command(TOKEN + "\u0001\r\n", true)).isEqualTo("a line of " + (TOKEN.length() + 3) + " octets after AUTH (not shown: it may be a credential)");
    }

    @Test
    void otherCommandsAreShownEscaped() {
        assertThat(command("MAIL FROM:<a@b.test\u0000>\r\n", false)).isEqualTo("MAIL FROM:<a@b.test\\x00>");
        assertThat(command("NOOP\rx\r\n", false)).as("a line end inside is shown").isEqualTo("NOOP\\x0dx");
        assertThat(LogSafe.leadingWord("  rcpt TO:<x>".getBytes(StandardCharsets.US_ASCII))).isEqualTo("RCPT");
    }
}
