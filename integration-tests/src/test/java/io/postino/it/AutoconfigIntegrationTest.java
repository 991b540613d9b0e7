package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Mail client autoconfiguration of the packaged server over real HTTPS: the client trusts only
 * the certificate given with POSTINO_TLS_CERTIFICATE and checks the name it asks for against it,
 * as a mail client does. Thunderbird's and Outlook's documents are read with a namespace-aware
 * DOM parser and checked for the fields those clients read; the Apple profile is parsed by
 * Python's plistlib. Organisations: acme (IMAP mailbox server, two domains), initech (POP3 with
 * STARTTLS), globex (no mailbox server).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AutoconfigIntegrationTest {
    private static final String ORGANISATIONS = "<organisations>\n"
        + "  <organisation id=\"acme\" name=\"Acme &amp; Co\"><domain>acme.test</domain><domain>acme-news.test</domain>\n"
        + "    <mailboxServer type=\"imap\" host=\"imap.acme.test\"/></organisation>\n"
        + "  <organisation id=\"initech\" name=\"Initech\"><domain>initech.test</domain>\n"
        + "    <mailboxServer type=\"pop3\" host=\"pop.initech.test\" tls=\"starttls\"/></organisation>\n"
        + "  <organisation id=\"globex\" name=\"Globex Hidden Name\"><domain>globex.test</domain></organisation>\n"
        + "</organisations>\n";
    private static final String REQUEST_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
    private static final String RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    private static final String AUTODISCOVER_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
    private static final Pattern UUID = Pattern.compile("[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}");

    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private PostinoProcess postino;
    private SSLContext trustingPostino;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("autoconfig");
        sink = SmtpSink.start();
        Path tls = temporary.resolve("tls");
        TestCertificates.write(tls, "postino.test", "autoconfig.acme.test", "autodiscover.acme.test");
        // The renewal of aRenewedCertificateIsServedWithoutRestart, trusted from the start.
        TestCertificates.write(temporary.resolve("renewed"), "postino.test", "autoconfig.acme.test", "autodiscover.acme.test");
        installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port(), Map.of(
            "POSTINO_TLS_CERTIFICATE", tls.resolve("fullchain.pem").toString(),
            "POSTINO_TLS_PRIVATE_KEY", tls.resolve("privkey.pem").toString(),
            "JAVA_OPTS", "-Xms128m -Xmx512m -Dpostino.tls.watchSeconds=1"));
        trustingPostino = trusting(tls.resolve("fullchain.pem"), temporary.resolve("renewed/fullchain.pem"));
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    @Test
    void thunderbirdGetsTheSubmissionPortsAndTheMailboxServerOfTheOrganisation() throws Exception {
        Answer answer = https("postino.test", "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress="
            + URLEncoder.encode("Alice@Acme.test", StandardCharsets.UTF_8), null);
        assertThat(answer.status()).as(answer.text()).isEqualTo(200);
        assertThat(answer.header("content-type")).startsWith("application/xml");
        Element provider = thunderbirdProvider(answer);
        assertThat(provider.getAttribute("id")).isEqualTo("acme.test");
        // Only the domain asked about: the organisation's other domains are not listed.
        assertThat(texts(provider, "domain")).containsExactly("acme.test");
        assertThat(text(provider, "displayName")).isEqualTo("Acme & Co");

        List<Element> incoming = children(provider, "incomingServer");
        assertThat(incoming).hasSize(1);
        assertThat(incoming.get(0).getAttribute("type")).isEqualTo("imap");
        assertServer(incoming.get(0), "imap.acme.test", 993, "SSL");

        List<Element> outgoing = children(provider, "outgoingServer");
        assertThat(outgoing).hasSize(2);
        assertThat(outgoing).allSatisfy(server -> assertThat(server.getAttribute("type")).isEqualTo("smtp"));
        // Implicit TLS first (RFC 8314), then STARTTLS; the relay port 25 is not offered.
        assertServer(outgoing.get(0), "postino.test", postino.smtpsPort, "SSL");
        assertServer(outgoing.get(1), "postino.test", postino.submissionPort, "STARTTLS");
    }

    @Test
    void thunderbirdAtTheAutoconfigNameWorksWithAndWithoutTheAddress() throws Exception {
        Answer withAddress = https("autoconfig.acme.test", "GET", "/mail/config-v1.1.xml?emailaddress=alice%40acme-news.test", null);
        assertThat(withAddress.status()).as(withAddress.text()).isEqualTo(200);
        assertThat(texts(thunderbirdProvider(withAddress), "domain")).containsExactly("acme-news.test");

        Answer withoutAddress = https("autoconfig.acme.test", "GET", "/mail/config-v1.1.xml", null);
        assertThat(withoutAddress.status()).as(withoutAddress.text()).isEqualTo(200);
        Element provider = thunderbirdProvider(withoutAddress);
        assertThat(provider.getAttribute("id")).isEqualTo("acme.test");
        assertThat(children(provider, "outgoingServer")).hasSize(2);
    }

    @Test
    void aPop3MailboxServerWithStartTlsIsDescribedAsSuch() throws Exception {
        Answer answer = https("postino.test", "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=peter@initech.test", null);
        assertThat(answer.status()).as(answer.text()).isEqualTo(200);
        Element incoming = children(thunderbirdProvider(answer), "incomingServer").get(0);
        assertThat(incoming.getAttribute("type")).isEqualTo("pop3");
        assertServer(incoming, "pop.initech.test", 110, "STARTTLS");
    }

    @Test
    void anOrganisationWithoutMailboxServerGetsOnlyTheOutgoingServer() throws Exception {
        Answer answer = https("postino.test", "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob@globex.test", null);
        assertThat(answer.status()).as(answer.text()).isEqualTo(200);
        Element provider = thunderbirdProvider(answer);
        assertThat(children(provider, "incomingServer")).isEmpty();
        assertThat(children(provider, "outgoingServer")).hasSize(2);
    }

    @Test
    void anUnknownDomainIs404ForEveryDocument() throws Exception {
        Answer thunderbird = https("postino.test", "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=eve@unknown.test", null);
        assertThat(thunderbird.status()).isEqualTo(404);
        assertThat(thunderbird.text()).contains("not one this server sends for");
        Answer outlook = https("postino.test", "POST", "/autodiscover/autodiscover.xml", autodiscoverRequest("eve@unknown.test"));
        assertThat(outlook.status()).isEqualTo(404);
        Answer apple = https("postino.test", "GET", "/apple/eve@unknown.test.mobileconfig", null);
        assertThat(apple.status()).isEqualTo(404);
        for (Answer answer : List.of(thunderbird, outlook, apple)) {
            assertThat(answer.text()).doesNotContain(String.valueOf(postino.smtpsPort)).doesNotContain("<");
        }
    }

    @Test
    void anotherOrganisationsDomainIsNotAnsweredUnderThisOrganisationsName() throws Exception {
        List<Answer> answers = List.of(
            https("autoconfig.acme.test", "GET", "/mail/config-v1.1.xml?emailaddress=bob@globex.test", null),
            https("autoconfig.acme.test", "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=peter@initech.test", null),
            https("autodiscover.acme.test", "POST", "/autodiscover/autodiscover.xml", autodiscoverRequest("bob@globex.test")),
            https("autodiscover.acme.test", "GET", "/apple/peter@initech.test.mobileconfig", null));
        for (Answer answer : answers) {
            assertThat(answer.status()).as(answer.text()).isEqualTo(404);
            assertThat(answer.text()).doesNotContain("Globex Hidden Name").doesNotContain("pop.initech.test")
                .doesNotContain(String.valueOf(postino.submissionPort));
        }
        // The same addresses under Postino's own name (where an SRV record leads a client) are answered.
        assertThat(https("postino.test", "GET", "/mail/config-v1.1.xml?emailaddress=bob@globex.test", null).status()).isEqualTo(200);
    }

    @Test
    void outlookAutodiscoverAnswersTheSmtpSettings() throws Exception {
        for (String path : List.of("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml")) {
            Answer answer = https("autodiscover.acme.test", "POST", path, autodiscoverRequest("alice@acme.test"));
            assertThat(answer.status()).as(path + ": " + answer.text()).isEqualTo(200);
            assertThat(answer.header("content-type")).startsWith("text/xml");
            Document document = parse(answer.body());
            Element root = document.getDocumentElement();
            assertThat(root.getLocalName()).isEqualTo("Autodiscover");
            assertThat(root.getNamespaceURI()).isEqualTo(AUTODISCOVER_SCHEMA);
            Element response = only(root.getElementsByTagNameNS(RESPONSE_SCHEMA, "Response"));
            Element account = only(response.getElementsByTagNameNS(RESPONSE_SCHEMA, "Account"));
            assertThat(outlookText(account, "AccountType")).isEqualTo("email");
            assertThat(outlookText(account, "Action")).isEqualTo("settings");

            List<Element> protocols = new ArrayList<>();
            NodeList all = account.getElementsByTagNameNS(RESPONSE_SCHEMA, "Protocol");
            for (int i = 0; i < all.getLength(); i++) {
                protocols.add((Element) all.item(i));
            }
            assertThat(protocols).extracting(protocol -> outlookText(protocol, "Type")).containsExactly("IMAP", "SMTP", "SMTP");
            Element imap = protocols.get(0);
            assertThat(outlookText(imap, "Server")).isEqualTo("imap.acme.test");
            assertThat(outlookText(imap, "Port")).isEqualTo("993");
            Element smtps = protocols.get(1);
            assertThat(outlookText(smtps, "Server")).isEqualTo("postino.test");
            assertThat(outlookText(smtps, "Port")).isEqualTo(String.valueOf(postino.smtpsPort));
            assertThat(outlookText(smtps, "SSL")).isEqualTo("on");
            assertThat(outlookText(smtps, "Encryption")).isEqualTo("SSL");
            assertThat(outlookText(smtps, "LoginName")).isEqualTo("alice@acme.test");
            assertThat(outlookText(smtps, "AuthRequired")).isEqualTo("on");
            Element submission = protocols.get(2);
            assertThat(outlookText(submission, "Port")).isEqualTo(String.valueOf(postino.submissionPort));
            assertThat(outlookText(submission, "Encryption")).isEqualTo("TLS");
            assertThat(outlookText(submission, "LoginName")).isEqualTo("alice@acme.test");
        }
    }

    @Test
    void malformedAutodiscoverRequestsAre400WithAReason() throws Exception {
        Answer notXml = https("postino.test", "POST", "/autodiscover/autodiscover.xml", "<Autodiscover><Request>");
        assertThat(notXml.status()).isEqualTo(400);
        assertThat(notXml.text()).contains("not well-formed XML");

        Answer wrongRoot = https("postino.test", "POST", "/autodiscover/autodiscover.xml", "<Discover xmlns=\"" + REQUEST_SCHEMA + "\"/>");
        assertThat(wrongRoot.status()).isEqualTo(400);
        assertThat(wrongRoot.text()).contains("An autodiscover request is <Autodiscover");

        Answer noAddress = https("postino.test", "POST", "/autodiscover/autodiscover.xml",
            "<Autodiscover xmlns=\"" + REQUEST_SCHEMA + "\"><Request></Request></Autodiscover>");
        assertThat(noAddress.status()).isEqualTo(400);
        assertThat(noAddress.text()).contains("no <Request><EMailAddress>");

        Answer mobileSync = https("postino.test", "POST", "/autodiscover/autodiscover.xml", autodiscoverRequest("alice@acme.test")
            .replace(RESPONSE_SCHEMA, "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"));
        assertThat(mobileSync.status()).isEqualTo(400);
        assertThat(mobileSync.text()).contains("Only the Outlook response schema");

        Answer get = https("postino.test", "GET", "/autodiscover/autodiscover.xml", null);
        assertThat(get.status()).isEqualTo(405);
        assertThat(get.header("allow")).isEqualTo("POST");
    }

    @Test
    void anXxeAttemptIsRefusedWithoutReadingTheFileOrFetchingTheUrl() throws Exception {
        Path secret = temporary.resolve("secret.txt");
        Files.writeString(secret, "TOP-SECRET-" + System.nanoTime());
        try (ServerSocket trap = new ServerSocket()) {
            trap.bind(new InetSocketAddress("127.0.0.1", 0));
            trap.setSoTimeout(1500);
            for (String entity : List.of("SYSTEM \"file://" + secret + "\"", "SYSTEM \"http://127.0.0.1:" + trap.getLocalPort() + "/x\"")) {
                String request = "<?xml version=\"1.0\"?>\n<!DOCTYPE Autodiscover [<!ENTITY xxe " + entity + ">]>\n"
                    + "<Autodiscover xmlns=\"" + REQUEST_SCHEMA + "\"><Request><EMailAddress>&xxe;@acme.test</EMailAddress>"
                    + "<AcceptableResponseSchema>" + RESPONSE_SCHEMA + "</AcceptableResponseSchema></Request></Autodiscover>";
                Answer answer = https("postino.test", "POST", "/autodiscover/autodiscover.xml", request);
                assertThat(answer.status()).isEqualTo(400);
                assertThat(answer.text()).contains("declares a DOCTYPE").doesNotContain("TOP-SECRET");
            }
            // A parser that resolved the external entity would have connected by now.
            try (Socket fetched = trap.accept()) {
                throw new AssertionError("the autodiscover parser fetched the external entity from " + fetched.getRemoteSocketAddress());
            } catch (SocketTimeoutException expected) {
                // nothing connected
            }
        }
        // The billion laughs need a DOCTYPE as well.
        Answer laughs = https("postino.test", "POST", "/autodiscover/autodiscover.xml", "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY a \"aaaa\">"
            + "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><Autodiscover xmlns=\"" + REQUEST_SCHEMA + "\"><Request><EMailAddress>&b;</EMailAddress>"
            + "</Request></Autodiscover>");
        assertThat(laughs.status()).isEqualTo(400);
    }

    @Test
    void appleGetsAMailProfileWithStableUuidsPerUser() throws Exception {
        Answer answer = https("postino.test", "GET", "/apple/alice@acme.test.mobileconfig", null);
        assertThat(answer.status()).as(answer.text()).isEqualTo(200);
        assertThat(answer.header("content-type")).isEqualTo("application/x-apple-aspen-config");
        assertThat(answer.header("content-disposition")).contains("filename=\"acme.test.mobileconfig\"");
        Map<String, String> profile = plist(answer.body());
        assertThat(profile).containsEntry("PayloadType", "str:Configuration")
            .containsEntry("PayloadVersion", "int:1")
            .containsEntry("PayloadRemovalDisallowed", "bool:False")
            .containsEntry("PayloadOrganization", "str:Acme & Co")
            .containsEntry("PayloadContent.0.PayloadType", "str:com.apple.mail.managed")
            .containsEntry("PayloadContent.0.PayloadVersion", "int:1")
            .containsEntry("PayloadContent.0.EmailAddress", "str:alice@acme.test")
            .containsEntry("PayloadContent.0.EmailAccountType", "str:EmailTypeIMAP")
            .containsEntry("PayloadContent.0.IncomingMailServerHostName", "str:imap.acme.test")
            .containsEntry("PayloadContent.0.IncomingMailServerPortNumber", "int:993")
            .containsEntry("PayloadContent.0.IncomingMailServerUseSSL", "bool:True")
            .containsEntry("PayloadContent.0.IncomingMailServerAuthentication", "str:EmailAuthPassword")
            .containsEntry("PayloadContent.0.IncomingMailServerUsername", "str:alice@acme.test")
            .containsEntry("PayloadContent.0.OutgoingMailServerHostName", "str:postino.test")
            .containsEntry("PayloadContent.0.OutgoingMailServerPortNumber", "int:" + postino.smtpsPort)
            .containsEntry("PayloadContent.0.OutgoingMailServerUseSSL", "bool:True")
            .containsEntry("PayloadContent.0.OutgoingMailServerAuthentication", "str:EmailAuthPassword")
            .containsEntry("PayloadContent.0.OutgoingMailServerUsername", "str:alice@acme.test");
        assertThat(profile).doesNotContainKey("PayloadContent.1.PayloadType");
        String uuid = profile.get("PayloadUUID").substring(4);
        String accountUuid = profile.get("PayloadContent.0.PayloadUUID").substring(4);
        assertThat(uuid).matches(UUID).isNotEqualTo(accountUuid);
        assertThat(accountUuid).matches(UUID);

        Map<String, String> again = plist(https("postino.test", "GET", "/apple/alice@acme.test.mobileconfig", null).body());
        assertThat(again.get("PayloadUUID")).isEqualTo(profile.get("PayloadUUID"));
        assertThat(again.get("PayloadContent.0.PayloadUUID")).isEqualTo(profile.get("PayloadContent.0.PayloadUUID"));
        assertThat(again.get("PayloadIdentifier")).isEqualTo(profile.get("PayloadIdentifier"));

        Map<String, String> other = plist(https("postino.test", "GET", "/apple/carol@acme.test.mobileconfig", null).body());
        assertThat(other.get("PayloadUUID")).isNotEqualTo(profile.get("PayloadUUID"));
        assertThat(other.get("PayloadContent.0.PayloadUUID")).isNotEqualTo(profile.get("PayloadContent.0.PayloadUUID"));
        assertThat(other).containsEntry("PayloadContent.0.EmailAddress", "str:carol@acme.test");
    }

    @Test
    void appleRefusesWhatItCannotDescribe() throws Exception {
        Answer noMailbox = https("postino.test", "GET", "/apple/bob@globex.test.mobileconfig", null);
        assertThat(noMailbox.status()).isEqualTo(404);
        assertThat(noMailbox.text()).contains("declares no mailbox server");
        Answer notAnAddress = https("postino.test", "GET", "/apple/not-an-address.mobileconfig", null);
        assertThat(notAnAddress.status()).isEqualTo(400);
        assertThat(notAnAddress.text()).contains("is not an e-mail address");
    }

    @Test
    void webAdminListsTheDnsRecordsOfEachDomainToTheOrganisationAndTheOperator() throws Exception {
        HttpResponse<String> records = postino.webAdmin("GET", "/organisations/acme/autoconfig-records", null);
        assertThat(records.statusCode()).as(records.body()).isEqualTo(200);
        assertThat(records.body())
            .contains("\"zoneLine\":\"_submissions._tcp.acme.test. 3600 IN SRV 0 1 " + postino.smtpsPort + " postino.test.\"")
            .contains("\"zoneLine\":\"_submission._tcp.acme.test. 3600 IN SRV 0 1 " + postino.submissionPort + " postino.test.\"")
            .contains("\"zoneLine\":\"_submission._tcp.acme-news.test. 3600 IN SRV 0 1 " + postino.submissionPort + " postino.test.\"")
            .contains("\"zoneLine\":\"_imaps._tcp.acme.test. 3600 IN SRV 0 1 993 imap.acme.test.\"")
            .contains("\"zoneLine\":\"autoconfig.acme.test. 3600 IN CNAME postino.test.\"")
            .contains("\"zoneLine\":\"autodiscover.acme.test. 3600 IN CNAME postino.test.\"")
            .contains("\"zoneLine\":\"_autodiscover._tcp.acme.test. 3600 IN SRV 0 0 " + postino.autoconfigPort + " postino.test.\"")
            .doesNotContain("globex")
            .doesNotContain(" " + postino.smtpPort + " ");
        assertThat(postino.webAdmin("GET", "/organisations/initech/autoconfig-records", null).body())
            .contains("_pop3._tcp.initech.test. 3600 IN SRV 0 1 110 pop.initech.test.");
        assertThat(postino.webAdmin("GET", "/organisations/nobody/autoconfig-records", null).statusCode()).isEqualTo(404);

        HttpResponse<String> made = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:globex\"}");
        assertThat(made.statusCode()).isEqualTo(201);
        Matcher token = Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"").matcher(made.body());
        assertThat(token.find()).isTrue();
        Map<String, String> globex = Map.of("Authorization", "Bearer " + token.group(1));
        HttpResponse<String> own = postino.webAdmin("GET", "/organisations/globex/autoconfig-records", null, globex);
        assertThat(own.statusCode()).as(own.body()).isEqualTo(200);
        assertThat(own.body()).contains("_submission._tcp.globex.test.").contains("declares no <mailboxServer>");
        assertThat(postino.webAdmin("GET", "/organisations/acme/autoconfig-records", null, globex).statusCode()).isEqualTo(403);
        assertThat(postino.webAdmin("GET", "/organisations/acme/autoconfig-records", null, Map.of()).statusCode()).isEqualTo(401);
    }

    @Test
    void theListenerSpeaksOnlyTlsAndTheCertificateNamesThePostinoHost() throws Exception {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", postino.autoconfigPort), 5000);
            plain.setSoTimeout(10_000);
            plain.getOutputStream().write("GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: postino.test\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
            String reply = new String(plain.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(reply).doesNotContain("clientConfig");
        }
        // A client checking a name the certificate does not cover fails the handshake.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> https("autoconfig.globex.test", "GET", "/mail/config-v1.1.xml", null))
            .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }

    @Test
    void aRenewedCertificateIsServedWithoutRestart() throws Exception {
        X509Certificate renewed = certificate(temporary.resolve("renewed/fullchain.pem"));
        assertThat(servedCertificate()).isNotEqualTo(renewed);
        for (String file : List.of("privkey.pem", "fullchain.pem")) {
            Path next = temporary.resolve("tls/" + file + ".next");
            Files.copy(temporary.resolve("renewed/" + file), next);
            Files.move(next, temporary.resolve("tls/" + file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!servedCertificate().equals(renewed) && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        assertThat(servedCertificate()).as("the certificate served 60 s after the renewal").isEqualTo(renewed);
        assertThat(postino.output()).contains("autoconfiguration (HTTPS): reloaded the TLS certificate");
        assertThat(https("autoconfig.acme.test", "GET", "/mail/config-v1.1.xml", null).status()).isEqualTo(200);
    }

    @Test
    void aPortInUseStopsStartUpWithItsNameAndOffOpensNoListener() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Map.Entry<Integer, String> result = PostinoProcess.runExpectingFailure(installation, temporary.resolve("data-taken"), sink.port(),
                Map.of("POSTINO_AUTOCONFIG_PORT", String.valueOf(taken.getLocalPort())));
            assertThat(result.getKey()).isEqualTo(2);
            assertThat(result.getValue())
                .contains("Cannot listen for mail client autoconfiguration (HTTPS) on 127.0.0.1:" + taken.getLocalPort())
                .contains("Set POSTINO_AUTOCONFIG_PORT to another port (or off)");
        }
        try (PostinoProcess off = PostinoProcess.start(installation, temporary.resolve("data-off"), "127.0.0.1", sink.port(),
            Map.of("POSTINO_AUTOCONFIG_PORT", "off"))) {
            assertThat(off.output()).contains("Mail client autoconfiguration is off").contains("autoconfiguration off");
            try (Socket socket = new Socket()) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> socket.connect(new InetSocketAddress("127.0.0.1", off.autoconfigPort), 2000))
                    .isInstanceOf(IOException.class);
            }
        }
    }

    private X509Certificate servedCertificate() throws IOException {
        Socket tcp = new Socket();
        tcp.connect(new InetSocketAddress("127.0.0.1", postino.autoconfigPort), 10_000);
        try (SSLSocket socket = (SSLSocket) trustingPostino.getSocketFactory().createSocket(tcp, "postino.test", postino.autoconfigPort, true)) {
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    // ---- HTTPS as a mail client does it: trust the server's certificate, check the name asked for

    record Answer(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private static X509Certificate certificate(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static SSLContext trusting(Path... certificates) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        for (int i = 0; i < certificates.length; i++) {
            store.setCertificateEntry("postino-" + i, certificate(certificates[i]));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }

    /** One request to the autoconfig listener on 127.0.0.1, as if {@code host} resolved there (SNI, name check and Host). */
    private Answer https(String host, String method, String target, String body) throws IOException {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        Socket tcp = new Socket();
        tcp.connect(new InetSocketAddress("127.0.0.1", postino.autoconfigPort), 10_000);
        try (SSLSocket socket = (SSLSocket) trustingPostino.getSocketFactory().createSocket(tcp, host, postino.autoconfigPort, true)) {
            socket.setSoTimeout(30_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            parameters.setServerNames(List.of(new SNIHostName(host)));
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            StringBuilder request = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n");
            if (body != null) {
                request.append("Content-Type: text/xml; charset=utf-8\r\nContent-Length: ").append(content.length).append("\r\n");
            }
            request.append("\r\n");
            socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(content);
            socket.getOutputStream().flush();
            byte[] raw = socket.getInputStream().readAllBytes();
            return parseAnswer(raw);
        }
    }

    private static Answer parseAnswer(byte[] raw) throws IOException {
        String all = new String(raw, StandardCharsets.ISO_8859_1);
        int end = all.indexOf("\r\n\r\n");
        if (!all.startsWith("HTTP/1.1 ") || end < 0) {
            throw new IOException("not an HTTP answer: " + all);
        }
        String[] lines = all.substring(0, end).split("\r\n");
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
        String length = headers.get("content-length");
        if (length != null) {
            assertThat(body).hasSize(Integer.parseInt(length));
        }
        return new Answer(Integer.parseInt(lines[0].substring(9, 12)), headers, body);
    }

    // ---- documents

    private static String autodiscoverRequest(String address) {
        return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" + REQUEST_SCHEMA + "\">\n  <Request>\n"
            + "    <EMailAddress>" + address + "</EMailAddress>\n"
            + "    <AcceptableResponseSchema>" + RESPONSE_SCHEMA + "</AcceptableResponseSchema>\n  </Request>\n</Autodiscover>\n";
    }

    private static Document parse(byte[] xml) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
    }

    private static Element thunderbirdProvider(Answer answer) throws Exception {
        Element root = parse(answer.body()).getDocumentElement();
        assertThat(root.getTagName()).isEqualTo("clientConfig");
        assertThat(root.getNamespaceURI()).isNull();
        assertThat(root.getAttribute("version")).isEqualTo("1.1");
        List<Element> providers = children(root, "emailProvider");
        assertThat(providers).hasSize(1);
        return providers.get(0);
    }

    private static void assertServer(Element server, String hostname, int port, String socketType) {
        assertThat(text(server, "hostname")).isEqualTo(hostname);
        assertThat(text(server, "port")).isEqualTo(String.valueOf(port));
        assertThat(text(server, "socketType")).isEqualTo(socketType);
        assertThat(text(server, "authentication")).isEqualTo("password-cleartext");
        assertThat(text(server, "username")).isEqualTo("%EMAILADDRESS%");
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && element.getTagName().equals(name)) {
                found.add(element);
            }
        }
        return found;
    }

    private static List<String> texts(Element parent, String name) {
        return children(parent, name).stream().map(Element::getTextContent).toList();
    }

    private static String text(Element parent, String name) {
        List<Element> found = children(parent, name);
        assertThat(found).as("<" + name + "> in <" + parent.getTagName() + ">").hasSize(1);
        return found.get(0).getTextContent();
    }

    private static String outlookText(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && RESPONSE_SCHEMA.equals(element.getNamespaceURI()) && element.getLocalName().equals(name)) {
                found.add(element);
            }
        }
        assertThat(found).as("<" + name + "> in <" + parent.getLocalName() + ">").hasSize(1);
        return found.get(0).getTextContent();
    }

    private static Element only(NodeList nodes) {
        assertThat(nodes.getLength()).isEqualTo(1);
        return (Element) nodes.item(0);
    }

    /**
     * The profile as Python's plistlib reads it (strict XML property list), flattened to
     * {@code PayloadContent.0.EmailAddress -> str:alice@acme.test}.
     */
    private static Map<String, String> plist(byte[] profile) throws Exception {
        String script = String.join("\n",
            "import plistlib, sys",
            "data = plistlib.loads(sys.stdin.buffer.read(), fmt=plistlib.FMT_XML)",
            "def walk(path, value):",
            "    if isinstance(value, dict):",
            "        for key, item in value.items(): walk(path + [key], item)",
            "    elif isinstance(value, list):",
            "        for index, item in enumerate(value): walk(path + [str(index)], item)",
            "    else:",
            "        print('.'.join(path) + '=' + type(value).__name__ + ':' + str(value))",
            "walk([], data)");
        Process python = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
        python.getOutputStream().write(profile);
        python.getOutputStream().close();
        String output = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!python.waitFor(30, TimeUnit.SECONDS)) {
            python.destroyForcibly();
            throw new AssertionError("python3 plistlib did not finish within 30 s");
        }
        assertThat(python.exitValue()).as("plistlib: " + output).isZero();
        Map<String, String> flat = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            if (!line.isEmpty()) {
                int equals = line.indexOf('=');
                flat.put(line.substring(0, equals), line.substring(equals + 1));
            }
        }
        return flat;
    }
}
