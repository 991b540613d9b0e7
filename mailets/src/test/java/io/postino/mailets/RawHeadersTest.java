package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

class RawHeadersTest {
    private static RawHeaders of(String section) {
        byte[] octets = section.getBytes(StandardCharsets.UTF_8);
        return RawHeaders.of(octets, octets.length, StandardCharsets.UTF_8);
    }

    @Test
    void fieldsAreTheirTextWithFoldingAndWithoutTheirLastLineEnd() {
        RawHeaders headers = of("Subject: a long\r\n\tsubject  \r\nTo: bob@example.com\r\n\r\n");

        assertThat(headers.getFields()).containsExactly("Subject: a long\r\n\tsubject  ", "To: bob@example.com");
    }

    @Test
    void fieldsOfOneNameComeInTheOrderOfTheMessageWhateverTheCase() {
        RawHeaders headers = of("Received: from b\r\nFrom: a@acme.test\r\nRECEIVED : from a\r\n by b\r\n\r\n");

        assertThat(headers.getFields("received")).containsExactly("Received: from b", "RECEIVED : from a\r\n by b");
        assertThat(headers.getFields("Cc")).isEmpty();
    }

    @Test
    void theHeaderSectionEndsAtTheEmptyLineOrAtItsEnd() {
        assertThat(of("From: a@acme.test\r\n\r\nNot: a header\r\n").getFields()).containsExactly("From: a@acme.test");
        assertThat(of("From: a@acme.test\r\nTo: b@example.com").getFields()).containsExactly("From: a@acme.test", "To: b@example.com");
        assertThat(of("\r\nFrom: a@acme.test\r\n").getFields()).isEmpty();
    }

    @Test
    void linesThatAreNoFieldAreLeftOut() {
        assertThat(of(" stray continuation\r\nno colon here\r\n: no name\r\nFrom: a@acme.test\r\n\r\n").getFields())
            .containsExactly("From: a@acme.test");
    }

    @Test
    void eightBitFieldsAreReadInTheCharsetJdkimHashesThemIn() {
        RawHeaders utf8 = of("Subject: Gr\u00fc\u00dfe\r\nFrom: J\u00f6s\u00e9 <j@acme.test>\r\n\r\n");
        byte[] latin1 = "Subject: Gr\u00fc\u00dfe\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        RawHeaders malformed = RawHeaders.of(latin1, latin1.length, StandardCharsets.UTF_8);

        assertThat(utf8.getFields("subject")).containsExactly("Subject: Gr\u00fc\u00dfe");
        assertThat(utf8.hashedAsWritten(List.of("from", "subject"))).isTrue();
        assertThat(malformed.hashedAsWritten(List.of("from"))).as("only signed fields count").isTrue();
        assertThat(malformed.hashedAsWritten(List.of("from", "subject"))).isFalse();
    }
}
