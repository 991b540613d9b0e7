package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class CommandLineTest {
    private static final long MAX = 25 * 1024 * 1024;

    private static CommandLine.Checked check(String line) {
        return CommandLine.check((line + "\r\n").getBytes(StandardCharsets.UTF_8), false, false, MAX);
    }

    private static String refusal(String line) {
        CommandLine.Checked checked = check(line);
        assertThat(checked.refusal()).as("refusal of %s", line).isNotNull();
        return checked.refusal().code() + " " + checked.refusal().text();
    }

    private static void accepted(String line) {
        assertThat(check(line).refusal()).as("refusal of %s", line).isNull();
    }

    @Test
    void anOrdinaryMailFromPasses() {
        CommandLine.Checked checked = check("MAIL FROM:<alice@acme.test> SIZE=1000 BODY=8BITMIME");
        assertThat(checked.refusal()).isNull();
        assertThat(checked.command().verb()).isEqualTo("MAIL");
        assertThat(checked.command().argument()).isEqualTo("FROM:<alice@acme.test> SIZE=1000 BODY=8BITMIME");
        assertThat(checked.command().hasMailParameter("SIZE")).isTrue();
    }

    @Test
    void aNulInAnAddressIsRefusedNotStripped() {
        assertThat(refusal("MAIL FROM:<a@orga.test\u0000>")).startsWith("501 5.1.7");
        assertThat(refusal("RCPT TO:<x@remote.test\u0000>")).startsWith("501 5.1.3");
    }

    @Test
    void controlCharactersAnywhereAreRefused() {
        assertThat(refusal("RCPT TO:<\u000cz@remote.test>")).startsWith("501 5.1.3");
        assertThat(refusal("EHLO a\u0007b")).startsWith("501 5.5.2");
        assertThat(refusal("NOOP \u007f")).startsWith("501 5.5.2");
        assertThat(refusal("MAIL FROM:<a@b.test>\tSIZE=1")).startsWith("501");
    }

    @Test
    void aBareCarriageReturnInsideACommandIsRefused() {
        assertThat(refusal("MAIL FROM:<a@b.test>\rRCPT TO:<c@d.test>")).startsWith("501");
    }

    @Test
    void sizeMustBeANonNegativeInteger() {
        assertThat(refusal("MAIL FROM:<> SIZE=-1")).isEqualTo("501 5.5.4 SIZE must be a non-negative number of octets (RFC 1870)");
        assertThat(refusal("MAIL FROM:<> SIZE=abc")).startsWith("501 5.5.4");
        assertThat(refusal("MAIL FROM:<> SIZE=")).startsWith("501 5.5.4");
        assertThat(refusal("MAIL FROM:<> SIZE")).startsWith("501 5.5.4");
        accepted("MAIL FROM:<> SIZE=0");
        // An address without brackets, which James reads when addressBracketsEnforcement is false.
        assertThat(refusal("MAIL FROM:app@x.test> SIZE=-1")).isEqualTo("501 5.5.4 SIZE must be a non-negative number of octets (RFC 1870)");
        assertThat(refusal("MAIL FROM:app@x.test SIZE=-1")).startsWith("501 5.5.4");
    }

    @Test
    void aSizeAboveTheLimitIs552WhateverItsLength() {
        assertThat(refusal("MAIL FROM:<> SIZE=" + (MAX + 1))).startsWith("552 5.3.4");
        assertThat(refusal("MAIL FROM:<> SIZE=99999999999999999999")).startsWith("552 5.3.4");
    }

    @Test
    void unknownAndRepeatedParametersAreRefused() {
        assertThat(refusal("MAIL FROM:<a@b.test> XFOO=1")).isEqualTo("555 5.5.4 MAIL FROM parameter XFOO is not supported");
        assertThat(refusal("MAIL FROM:<a@b.test> SIZE=1 SIZE=2")).startsWith("501 5.5.4");
        assertThat(refusal("RCPT TO:<a@b.test> NOTIFY=NEVER")).startsWith("555 5.5.4");
        assertThat(refusal("MAIL FROM:<a@b.test> BODY=BINARYMIME")).startsWith("501 5.5.4");
    }

    @Test
    void smtpUtf8IsNotAcceptedWhenNotOffered() {
        assertThat(refusal("MAIL FROM:<a@b.test> SMTPUTF8")).startsWith("555 5.5.4");
    }

    @Test
    void eightBitAddressesNeedSmtpUtf8() {
        assertThat(refusal("MAIL FROM:<jösé@bücher.example>")).startsWith("553 5.6.7");
        assertThat(refusal("RCPT TO:<\"josé\"@y.example>")).startsWith("553 5.6.7");
        assertThat(refusal("EHLO bücher")).startsWith("500 5.5.2");
    }

    @Test
    void eightBitAddressesPassInAnSmtpUtf8Transaction() {
        byte[] mail = "MAIL FROM:<jösé@bücher.example> SMTPUTF8\r\n".getBytes(StandardCharsets.UTF_8);
        CommandLine.Checked checked = CommandLine.check(mail, false, true, MAX);
        assertThat(checked.refusal()).isNull();
        assertThat(checked.command().argument()).isEqualTo("FROM:<\"jösé\"@xn--bcher-kva.example> SMTPUTF8");
        byte[] rcpt = "RCPT TO:<用户@例子.测试>\r\n".getBytes(StandardCharsets.UTF_8);
        assertThat(CommandLine.check(rcpt, true, true, MAX).command().argument()).isEqualTo("TO:<\"用户\"@xn--fsqu00a.xn--0zwm56d>");
        assertThat(CommandLine.check(rcpt, false, true, MAX).refusal().text()).startsWith("5.6.7");
    }

    @Test
    void internationalisedPathsThatCannotBeHeldAreRefused() {
        byte[] badDomain = "RCPT TO:<a@ü-.example>\r\n".getBytes(StandardCharsets.UTF_8);
        assertThat(CommandLine.check(badDomain, true, true, MAX).refusal().text()).startsWith("5.1.3 Syntax error: 'ü-.example' is not a valid");
        byte[] badLocal = "RCPT TO:<jö..sé@example.com>\r\n".getBytes(StandardCharsets.UTF_8);
        assertThat(CommandLine.check(badLocal, true, true, MAX).refusal().code()).isEqualTo("501");
    }

    @Test
    void hiddenCharactersInUtf8PathsAreRefusedThoseIdnaWouldDropToo() {
        // C1 control in a quoted local part, bidi override, zero-width space in a domain (IDNA maps it to nothing), soft hyphen, BOM, LRI.
        String[] paths = {"\"j\u0085o\"@example.com", "j\u202eosé@example.com", "josé@exa\u200bmple.com", "jo\u00adsé@bücher.example",
            "\ufeffjosé@example.com", "jos\u2066é@example.com", "josé@bücher\u2028.example"};
        for (String path : paths) {
            byte[] rcpt = ("RCPT TO:<" + path + ">\r\n").getBytes(StandardCharsets.UTF_8);
            assertThat(CommandLine.check(rcpt, true, true, MAX).refusal()).as(path).isNotNull();
            assertThat(CommandLine.check(rcpt, true, true, MAX).refusal().text()).as(path)
                .startsWith("5.1.3 Syntax error: the address contains a control or invisible character (U+");
            byte[] mail = ("MAIL FROM:<" + path + "> SMTPUTF8\r\n").getBytes(StandardCharsets.UTF_8);
            assertThat(CommandLine.check(mail, false, true, MAX).refusal().text()).as(path).startsWith("5.1.7 Syntax error: the address contains");
        }
        byte[] joiner = "RCPT TO:<\ud83d\udc69\u200d\ud83d\udcbb@example.com>\r\n".getBytes(StandardCharsets.UTF_8);
        assertThat(CommandLine.check(joiner, true, true, MAX).refusal()).as("an emoji sequence with ZWJ").isNull();
    }

    @Test
    void aRefusalNamesOnlyAKnownCommandNeverTheClientsOctets() {
        assertThat(refusal("NOOP " + "a".repeat(600))).isEqualTo("500 5.5.2 Line too long: a NOOP command may be at most 512 octets (RFC 5321 section 4.5.3.1.4)");
        assertThat(refusal("X".repeat(600))).isEqualTo("500 5.5.2 Line too long: a command may be at most 512 octets (RFC 5321 section 4.5.3.1.4)");
        assertThat(refusal("HELP é")).isEqualTo("500 5.5.2 Syntax error: non-ASCII characters are not allowed in a HELP command");
        assertThat(refusal("HE\u00e9LP")).isEqualTo("500 5.5.2 Syntax error: non-ASCII characters are not allowed in a command");
    }

    @Test
    void invalidUtf8IsRefused() {
        byte[] mail = {'M', 'A', 'I', 'L', ' ', 'F', 'R', 'O', 'M', ':', '<', (byte) 0xc3, 'a', '@', 'b', '>', ' ',
            'S', 'M', 'T', 'P', 'U', 'T', 'F', '8', '\r', '\n'};
        assertThat(CommandLine.check(mail, false, true, MAX).refusal().text()).contains("not valid UTF-8");
    }

    @Test
    void rfc5321Limits() {
        String local64 = "a".repeat(64);
        accepted("RCPT TO:<" + local64 + "@b.test>");
        assertThat(refusal("RCPT TO:<" + local64 + "a@b.test>")).startsWith("501 5.1.3 Address too long: a local part");
        String label = "d".repeat(63);
        String domain256 = String.join(".", label, label, label, label) + ".test";
        assertThat(refusal("RCPT TO:<a@" + domain256 + ">")).startsWith("501 5.1.3 Address too long: a path");
        String domain250 = String.join(".", label, label, label, "d".repeat(58)) + ".t";
        assertThat(refusal("RCPT TO:<" + "x".repeat(10) + "@" + domain250 + ">")).startsWith("501 5.1.3 Address too long: a path");
        assertThat(refusal("MAIL FROM:<" + local64 + "a@b.test>")).startsWith("501 5.1.7");
    }

    @Test
    void commandLinesAreLimitedTo512OctetsAndMailFromToWhatItsExtensionsAdd() {
        accepted("NOOP " + "a".repeat(505));
        assertThat(refusal("NOOP " + "a".repeat(506))).startsWith("500 5.5.2 Line too long");
        accepted("MAIL FROM:<a@b.test> AUTH=" + "x".repeat(500));
        assertThat(refusal("MAIL FROM:<a@b.test> AUTH=" + "x".repeat(1100))).startsWith("500 5.5.2");
        accepted("AUTH PLAIN " + "A".repeat(12_000));
    }

    @Test
    void addressesWithoutADomainAreRefusedButPostmasterIsNot() {
        assertThat(refusal("RCPT TO:<nobody>")).startsWith("501 5.1.3 Address without a domain");
        accepted("RCPT TO:<postmaster>");
        accepted("RCPT TO:<Postmaster>");
        accepted("MAIL FROM:<>");
        assertThat(refusal("MAIL FROM:<someone>")).startsWith("501 5.1.7");
    }

    @Test
    void aQuotedLocalPartMayHoldAnAngleBracket() {
        CommandLine.Checked checked = check("RCPT TO:<\"a>b\"@c.test>");
        assertThat(checked.refusal()).isNull();
        // James reads MAIL FROM's parameters after the first '>': refused rather than misread.
        assertThat(refusal("MAIL FROM:<\"a>b\"@c.test> SIZE=-1")).startsWith("501 5.1.7");
    }

    @Test
    void aBareLineFeedEndsACommand() {
        CommandLine.Checked checked = CommandLine.check("NOOP\n".getBytes(StandardCharsets.US_ASCII), false, false, MAX);
        assertThat(checked.refusal()).isNull();
        assertThat(checked.command().verb()).isEqualTo("NOOP");
    }
}
