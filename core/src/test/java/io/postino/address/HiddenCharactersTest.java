package io.postino.address;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HiddenCharactersTest {
    @Test
    void findsControlsFormatCharactersAndSeparators() {
        assertThat(HiddenCharacters.first("alice\u0085@x")).hasValue(0x85);
        assertThat(HiddenCharacters.first("\u0000")).hasValue(0);
        assertThat(HiddenCharacters.first("ab\u202ecd")).hasValue(0x202e);
        assertThat(HiddenCharacters.first("a\u200bb")).hasValue(0x200b);
        assertThat(HiddenCharacters.first("\ufeffa")).hasValue(0xfeff);
        assertThat(HiddenCharacters.first("a\u2028")).hasValue(0x2028);
        assertThat(HiddenCharacters.first("a\u2029")).hasValue(0x2029);
        assertThat(HiddenCharacters.first("tag\udb40\udc41")).hasValue(0xe0041);
    }

    @Test
    void lettersOfAnyScriptAndTheJoinersPass() {
        assertThat(HiddenCharacters.first("jösé@bücher.example")).isEmpty();
        assertThat(HiddenCharacters.first("用户 δοκιμή")).isEmpty();
        assertThat(HiddenCharacters.first("\ud83d\udc69\u200d\ud83d\udcbb")).as("ZWJ in an emoji sequence").isEmpty();
        assertThat(HiddenCharacters.first("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")).as("ZWNJ in Persian").isEmpty();
    }

    @Test
    void namesACodePointAsUnicodeDoes() {
        assertThat(HiddenCharacters.name(0x202e)).isEqualTo("U+202E");
        assertThat(HiddenCharacters.name(0x85)).isEqualTo("U+0085");
        assertThat(HiddenCharacters.name(0xe0041)).isEqualTo("U+E0041");
    }
}
