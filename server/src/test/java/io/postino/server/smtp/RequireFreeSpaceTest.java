package io.postino.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.junit.jupiter.api.Test;

class RequireFreeSpaceTest {
    private static void init(String minFree) throws ConfigurationException {
        BaseConfiguration config = new BaseConfiguration();
        config.addProperty("minFree", minFree);
        new RequireFreeSpace(null).init(config);
    }

    @Test
    void minFreeIsOctetsOrKMG() {
        assertThat(RequireFreeSpace.parseMinFree("0")).isZero();
        assertThat(RequireFreeSpace.parseMinFree("512")).isEqualTo(512);
        assertThat(RequireFreeSpace.parseMinFree("64k")).isEqualTo(64L << 10);
        assertThat(RequireFreeSpace.parseMinFree(" 200M ")).isEqualTo(200L << 20);
        assertThat(RequireFreeSpace.parseMinFree("8589934591G")).isEqualTo(8589934591L << 30);
    }

    @Test
    void aBadMinFreeStopsTheHandlerNamingFileElementAndValue() {
        assertThatThrownBy(() -> init("-1"))
            .isInstanceOf(ConfigurationException.class)
            .hasMessage("conf/smtpserver.xml: <handler class=\"io.postino.server.smtp.RequireFreeSpace\">: <minFree> must be a size "
                + "such as 200M or 1G (a whole number of octets, or with K, M or G), got '-1': it cannot be negative");
        assertThatThrownBy(() -> init("8589934592G")).hasMessageContaining("<minFree> '8589934592G' is too large");
        assertThatThrownBy(() -> init("99999999999999999999")).hasMessageContaining("is too large");
        assertThatThrownBy(() -> init("2T")).hasMessageContaining("got '2T'");
    }
}
