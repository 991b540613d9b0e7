package io.postino.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ArgumentsTest {
    @Test
    void readsWordsAndOptionsInAnyOrderWithSpaceOrEquals() throws Exception {
        Arguments arguments = Arguments.parse(List.of("queue", "--organisation", "acme", "list", "--domain=gmail.com", "--json"));

        assertThat(arguments.words()).containsExactly("queue", "list");
        assertThat(arguments.option("organisation")).contains("acme");
        assertThat(arguments.option("domain")).contains("gmail.com");
        assertThat(arguments.flag("json")).isTrue();
    }

    @Test
    void afterDoubleDashEverythingIsAWord() throws Exception {
        assertThat(Arguments.parse(List.of("dkim", "records", "--", "--json")).words()).containsExactly("dkim", "records", "--json");
    }

    @Test
    void refusesAnUnknownOptionAMissingValueAndARepeatedOne() {
        assertThatThrownBy(() -> Arguments.parse(List.of("queue", "--organization", "acme"))).hasMessage("unknown option --organization");
        assertThatThrownBy(() -> Arguments.parse(List.of("queue", "list", "--domain"))).hasMessage("--domain needs a value");
        assertThatThrownBy(() -> Arguments.parse(List.of("--url", "a", "--url=b"))).hasMessage("--url is given twice");
        assertThatThrownBy(() -> Arguments.parse(List.of("--json=yes"))).hasMessage("--json takes no value");
    }

    @Test
    void aCommandRefusesAnOptionItDoesNotTake() throws Exception {
        Arguments arguments = Arguments.parse(List.of("queue", "flush", "--domain", "x.test"));

        assertThatThrownBy(() -> arguments.allowOnly("queue flush", Arguments.union(Arguments.CONNECTION, "organisation")))
            .hasMessage("queue flush does not take --domain");
    }

    @Test
    void operandsAreCountedAfterTheCommandWords() throws Exception {
        Arguments arguments = Arguments.parse(List.of("dkim", "activate", "acme.test"));

        assertThatThrownBy(() -> arguments.operands("dkim activate", 2, "DOMAIN", "SELECTOR")).hasMessage("dkim activate needs DOMAIN SELECTOR");
        assertThat(Arguments.parse(List.of("dkim", "activate", "acme.test", "s1")).operands("dkim activate", 2, "DOMAIN", "SELECTOR"))
            .containsExactly("acme.test", "s1");
    }

    @Test
    void aWrongCommandLineExits64AndWhatTheApiLacksExits3() {
        assertThat(run("frobnicate")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("queue", "flush", "--route", "eu", "--url", "http://127.0.0.1:1", "--token-file", "/nonexistent")).isEqualTo(PostinoCli.NOT_SUPPORTED);
        assertThat(run("queue", "hold", "--domain", "example.net", "--route", "eu", "--url", "http://127.0.0.1:1", "--token-file", "/x"))
            .as("one destination at a time").isEqualTo(PostinoCli.USAGE);
        assertThat(run("queue", "hold", "--url", "http://127.0.0.1:1", "--token-file", "/x")).as("hold what").isEqualTo(PostinoCli.USAGE);
        assertThat(run("queue", "release", "--all", "--queue", "spool", "--url", "http://127.0.0.1:1", "--token-file", "/x")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("users", "disable", "--url", "http://127.0.0.1:1", "--token-file", "/x")).as("disable whom").isEqualTo(PostinoCli.USAGE);
        assertThat(run("config", "--queue", "spool")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("queue", "delete", "--url", "http://127.0.0.1:1", "--token-file", "/x")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("queue", "list", "--help")).isEqualTo(PostinoCli.OK);
    }

    private static int run(String... args) {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        return new PostinoCli(Map.of(), Path.of("/nonexistent"), Path.of("."), sink, sink).run(List.of(args));
    }
}
