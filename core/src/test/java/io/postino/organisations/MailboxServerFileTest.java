package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code <mailboxServer>}: the organisation's own IMAP or POP3 server, named by the autoconfiguration documents. */
class MailboxServerFileTest {
    @TempDir
    Path directory;

    private Path write(String mailboxServer) throws IOException {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, "<?xml version=\"1.0\"?>\n<organisations>\n  <organisation id=\"acme\">\n    <domain>acme.test</domain>\n"
            + "    " + mailboxServer + "\n  </organisation>\n</organisations>\n", StandardCharsets.UTF_8);
        return file;
    }

    private MailboxServer read(String mailboxServer) throws Exception {
        return OrganisationsFile.read(write(mailboxServer)).byId("acme").orElseThrow().mailboxServer().orElseThrow();
    }

    @Test
    void theProtocolAndTlsModeGiveTheDefaultPort() throws Exception {
        assertThat(read("<mailboxServer type=\"imap\" host=\"IMAP.Acme.test\"/>"))
            .isEqualTo(new MailboxServer(MailboxServer.Type.IMAP, "imap.acme.test", 993, true));
        assertThat(read("<mailboxServer type=\"imap\" host=\"imap.acme.test\" tls=\"starttls\"/>"))
            .isEqualTo(new MailboxServer(MailboxServer.Type.IMAP, "imap.acme.test", 143, false));
        assertThat(read("<mailboxServer type=\"pop3\" host=\"pop.acme.test\"/>"))
            .isEqualTo(new MailboxServer(MailboxServer.Type.POP3, "pop.acme.test", 995, true));
        assertThat(read("<mailboxServer type=\"pop3\" host=\"pop.acme.test\" tls=\"starttls\"/>").port()).isEqualTo(110);
        assertThat(read("<mailboxServer type=\"imap\" host=\"10.0.0.7\" port=\"10993\"/>").port()).isEqualTo(10993);
    }

    @Test
    void withoutTheElementThereIsNone() throws Exception {
        assertThat(OrganisationsFile.read(write("")).byId("acme").orElseThrow().mailboxServer()).isEmpty();
    }

    @Test
    void anUnknownProtocolOrTlsModeIsRefusedWithItsLine() throws Exception {
        for (String bad : new String[]{"<mailboxServer type=\"smtp\" host=\"mx.acme.test\"/>",
            "<mailboxServer type=\"imap\" host=\"imap.acme.test\" tls=\"none\"/>",
            "<mailboxServer type=\"imap\"/>",
            "<mailboxServer type=\"imap\" host=\"imap.acme.test\" port=\"0\"/>"}) {
            Path file = write(bad);
            assertThatThrownBy(() -> OrganisationsFile.read(file)).as(bad)
                .isInstanceOf(OrganisationsException.class)
                .hasMessageStartingWith(file + ":5:");
        }
    }
}
