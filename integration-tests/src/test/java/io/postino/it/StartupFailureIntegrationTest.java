package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A broken configuration stops start-up with the file and the problem, never a silent server. */
class StartupFailureIntegrationTest {
    private Path temporary;
    private Path installation;

    @BeforeEach
    void setUp() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("startup");
        installation = Installations.copyOfDistribution(temporary.resolve("postino"));
    }

    @AfterEach
    void tearDown() throws Exception {
        TestFiles.deleteRecursively(temporary);
    }

    @Test
    void malformedXmlNamesTheFileAndLine() throws Exception {
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"), "<maxmessagesize>25600</maxmessagesize>", "<maxmessagesize>25600");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).containsPattern("conf/smtpserver\\.xml:\\d+:\\d+: malformed XML");
    }

    @Test
    void anInvalidOrganisationsFileNamesTheFileLineAndReason() throws Exception {
        Files.writeString(installation.resolve("conf/organisations.xml"), "<organisations>\n"
            + "  <organisation id=\"acme\"><domain>acme.test</domain></organisation>\n"
            + "  <organisation id=\"beta\"><domain>acme.test</domain></organisation>\n"
            + "</organisations>\n");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("conf/organisations.xml:3: domain 'acme.test' already belongs to organisation 'acme'");
    }

    @Test
    void webAdminBeyondLoopbackWithoutHttpsIsRefused() throws Exception {
        Installations.replaceInFile(installation.resolve("conf/webadmin.properties"), "host=127.0.0.1", "host=0.0.0.0");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("conf/webadmin.properties: host=0.0.0.0 would expose WebAdmin beyond this machine without TLS");
    }

    @Test
    void aTlsKeyThatIsNotTheCertificatesIsRefused() throws Exception {
        Path first = temporary.resolve("first");
        Path second = temporary.resolve("second");
        TestCertificates.write(first, "one.test");
        TestCertificates.write(second, "two.test");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525,
            Map.of("POSTINO_TLS_CERTIFICATE", first.resolve("fullchain.pem").toString(),
                "POSTINO_TLS_PRIVATE_KEY", second.resolve("privkey.pem").toString()));

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("POSTINO_TLS_PRIVATE_KEY: " + second.resolve("privkey.pem") + " is not the key of the first certificate");
    }

    @Test
    void aMissingRequiredFileIsNamed() throws Exception {
        Files.delete(installation.resolve("conf/mailetcontainer.xml"));

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("conf/mailetcontainer.xml: required file is missing");
    }

    @Test
    void anUnknownMailetClassStopsStartUp() throws Exception {
        Installations.replaceInFile(installation.resolve("conf/mailetcontainer.xml"),
            "class=\"io.postino.mailets.AddMissingMessageIdAndDate\"", "class=\"com.example.NoSuchMailet\"");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(1);
        assertThat(result.getValue()).contains("Postino could not start").contains("com.example.NoSuchMailet")
            .contains("check: conf/mailetcontainer.xml");
    }

    @Test
    void aPortInUseIsNamedWithTheVariableThatChangesIt() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525,
                Map.of("POSTINO_SMTP_PORT", String.valueOf(taken.getLocalPort())));

            assertThat(result.getKey()).isEqualTo(2);
            assertThat(result.getValue()).contains("Cannot listen for SMTP on 127.0.0.1:" + taken.getLocalPort())
                .contains("Set POSTINO_SMTP_PORT");
        }
    }

    @Test
    void anInvalidSettingIsExplained() throws Exception {
        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525,
            Map.of("POSTINO_SMARTHOST", "relay.example.com:notaport"));

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("The port of POSTINO_SMARTHOST must be a port number");
    }

    @Test
    void aNegativeMinFreeNamesTheFileListenerAndElement() throws Exception {
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"), "<minFree>200M</minFree>", "<minFree>-5M</minFree>");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("conf/smtpserver.xml: <smtpserver> number 1: "
            + "<handler class=\"io.postino.server.smtp.RequireFreeSpace\">: <minFree> must be a size such as 200M or 1G")
            .contains("got '-5M': it cannot be negative");
    }

    @Test
    void aConnectionLimitThatIsNoWholeNumberIsRefusedInsteadOfMeaningNoLimit() throws Exception {
        Installations.replaceInFile(installation.resolve("conf/smtpserver.xml"), "<connectionLimit>1000</connectionLimit>",
            "<connectionLimit>1k</connectionLimit>");

        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525);

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("conf/smtpserver.xml: <smtpserver> number 1: <connectionLimit> must be a whole number "
            + "of connections from 0 (no limit) to 999999999, got '1k'");
    }

    @Test
    void aProcessConnectionLimitOfZeroIsRefusedInsteadOfAdmittingNobody() throws Exception {
        Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data"), 2525,
            Map.of("JAVA_OPTS", "-Xms128m -Xmx512m -Dpostino.smtp.maxConnections=0"));

        assertThat(result.getKey()).isEqualTo(2);
        assertThat(result.getValue()).contains("-Dpostino.smtp.maxConnections (in JAVA_OPTS) must be a whole number of connections "
            + "from 1 to 999999999 (default 4000), got '0': no SMTP client could connect");
    }

    @Test
    void helpExplainsTheVariables() throws Exception {
        Process help = new ProcessBuilder("bash", installation.resolve("bin/postino").toString(), "--help").redirectErrorStream(true).start();
        String output = new String(help.getInputStream().readAllBytes());

        assertThat(help.waitFor()).isZero();
        assertThat(output).contains("POSTINO_SMTP_PORT", "POSTINO_SUBMISSION_PORT", "POSTINO_SMTPS_PORT", "POSTINO_WEBADMIN_PORT",
            "POSTINO_BIND", "POSTINO_DATA_DIR", "POSTINO_SMARTHOST");
    }
}
