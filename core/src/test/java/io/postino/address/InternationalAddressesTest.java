package io.postino.address;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.james.core.MailAddress;
import org.junit.jupiter.api.Test;

class InternationalAddressesTest {
    @Test
    void idnDomainsBecomeTheirALabels() {
        assertThat(InternationalAddresses.asciiDomain("bücher.example")).isEqualTo("xn--bcher-kva.example");
        assertThat(InternationalAddresses.asciiDomain("例子.测试")).isEqualTo("xn--fsqu00a.xn--0zwm56d");
        assertThat(InternationalAddresses.asciiDomain("BÜCHER.Example")).isEqualTo("xn--bcher-kva.example");
    }

    @Test
    void deviationCharactersKeepTheirOwnDomain() {
        // IDNA 2003 (java.net.IDN) maps these to strasse.de and drops the ZWNJ: other domains.
        assertThat(InternationalAddresses.asciiDomain("straße.de")).isEqualTo("xn--strae-oqa.de");
        assertThat(InternationalAddresses.asciiDomain("ςόλος.gr")).isEqualTo("xn--wxaihc1c.gr");
    }

    @Test
    void asciiDomainsAreLeftAsTheyAre() {
        assertThat(InternationalAddresses.asciiDomain("Example.COM")).isEqualTo("Example.COM");
    }

    @Test
    void invalidIdnsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> InternationalAddresses.asciiDomain("ü-.example"))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a valid internationalised domain name");
    }

    @Test
    void storedFormIsWhatJamesCanHold() throws Exception {
        String stored = InternationalAddresses.storedForm("jösé@bücher.example");

        assertThat(stored).isEqualTo("\"jösé\"@xn--bcher-kva.example");
        assertThat(new MailAddress(stored).asString()).isEqualTo(stored);
        assertThat(InternationalAddresses.storedForm("jose@bücher.example")).isEqualTo("jose@xn--bcher-kva.example");
        assertThat(InternationalAddresses.storedForm("用户@例子.测试")).isEqualTo("\"用户\"@xn--fsqu00a.xn--0zwm56d");
        assertThat(InternationalAddresses.storedForm("\"jö sé\"@example.com")).isEqualTo("\"jö sé\"@example.com");
        assertThat(InternationalAddresses.storedForm("")).isEmpty();
    }

    @Test
    void aLocalPartThatIsNoDotStringIsRefused() {
        assertThatThrownBy(() -> InternationalAddresses.storedForm("jö..sé@example.com")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> InternationalAddresses.storedForm("jö(sé@example.com")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void wireFormUnquotesOnlyWhatStoredFormQuoted() {
        assertThat(InternationalAddresses.wireForm("\"jösé\"@xn--bcher-kva.example")).isEqualTo("jösé@xn--bcher-kva.example");
        assertThat(InternationalAddresses.wireForm("\"jö sé\"@example.com")).isEqualTo("\"jö sé\"@example.com");
        assertThat(InternationalAddresses.wireForm("\"john\"@example.com")).isEqualTo("\"john\"@example.com");
        assertThat(InternationalAddresses.wireForm("john@example.com")).isEqualTo("john@example.com");
        assertThat(InternationalAddresses.wireForm("<>")).isEqualTo("<>");
    }

    @Test
    void unicodeDomainIsForPeople() {
        assertThat(InternationalAddresses.unicodeDomain("xn--bcher-kva.example")).isEqualTo("bücher.example");
    }
}
