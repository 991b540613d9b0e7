package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class DataLineEndingsTest {

    private static byte[] bytes(String line) {
        return line.getBytes(StandardCharsets.US_ASCII);
    }

    private static String text(DataLineEndings.Line line) {
        return new String(line.bytes(), StandardCharsets.US_ASCII);
    }

    @Test
    void keepsACrlfLineAsItIs() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes("Subject: hi\r\n"), true);

        assertThat(text(line)).isEqualTo("Subject: hi\r\n");
        assertThat(line.endedWithCrlf()).isTrue();
        assertThat(line.endOfData()).isFalse();
    }

    @Test
    void turnsABareLineFeedIntoCrlf() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes("body\n"), true);

        assertThat(text(line)).isEqualTo("body\r\n");
        assertThat(line.endedWithCrlf()).isFalse();
    }

    @Test
    void endsTheDataOnlyOnCrlfDotCrlf() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes(".\r\n"), true);

        assertThat(text(line)).isEqualTo(".\r\n");
        assertThat(line.endOfData()).isTrue();
    }

    @Test
    void keepsADotAfterABareLineFeedAsContent() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes(".\r\n"), false);

        assertThat(text(line)).isEqualTo("..\r\n");
        assertThat(line.endOfData()).isFalse();
    }

    @Test
    void keepsADotEndedByABareLineFeedAsContent() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes(".\n"), true);

        assertThat(text(line)).isEqualTo("..\r\n");
        assertThat(line.endOfData()).isFalse();
    }

    @Test
    void keepsABareCarriageReturnInsideTheLine() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes(".\rMAIL FROM:<x@y>\r\n"), true);

        assertThat(text(line)).isEqualTo(".\rMAIL FROM:<x@y>\r\n");
        assertThat(line.endOfData()).isFalse();
    }

    @Test
    void leavesDotStuffedLinesToTheNextFilter() {
        DataLineEndings.Line line = DataLineEndings.normalise(bytes("..hidden\r\n"), true);

        assertThat(text(line)).isEqualTo("..hidden\r\n");
        assertThat(line.endOfData()).isFalse();
    }
}
