package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The README's *The first hour*, step by step, on a fresh copy of the packaged distribution, with
 * the means the README gives the admin: {@code bin/postino start} with the README's variables (as
 * {@code ./run.sh start} runs it), the README's sink script, the organisation added to
 * {@code conf/organisations.xml} while the server runs, the user made with {@code bin/postinoctl}
 * (what {@code ./run.sh ctl} runs), the Thunderbird document fetched as {@code curl --resolve}
 * does, each mail sent with the server, port, socket type and authentication that document
 * names, and the console driven in headless Chromium (playwright-core,
 * src/test/resources/firsthour/console-steps.cjs). Every command line it stands in for is looked
 * up in README.md first, so that the README and this test cannot drift apart. Skipped, saying
 * why, without python3, node, Chromium or playwright-core (scripts/ensure-test-packages).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FirstHourIntegrationTest {
    private static final Path PLAYWRIGHT = Path.of("/var/cache/postino-tests/playwright/node_modules");
    private static final List<Path> CHROMIUM = List.of(Path.of("/usr/lib/chromium/chromium"), Path.of("/usr/bin/chromium"));
    private static final Duration START = Duration.ofSeconds(180);
    private static final Duration QUICK = Duration.ofSeconds(60);
    private static final Duration STOP = Duration.ofSeconds(90);
    /** The name PostinoProcess gives as POSTINO_HOSTNAME, which this test's "DNS" says is this machine. */
    private static final Map<String, String> DNS = Map.of("postino.test", "127.0.0.1");

    private Path checkout;
    private String quickStart;
    private Path temporary;
    private Path installation;
    private Process sink;
    private Path sinkOutput;
    private PostinoProcess postino;
    private Long serverPid;

    @BeforeAll
    void readTheReadmeAndInstall() throws Exception {
        checkout = Path.of(System.getProperty("postino.checkout", "..")).toAbsolutePath().normalize();
        String readme = Files.readString(checkout.resolve("README.md"), StandardCharsets.UTF_8);
        int start = readme.indexOf("\n## The first hour\n");
        assertThat(start).as("README.md has a section 'The first hour'").isNotNegative();
        int end = readme.indexOf("\n## ", start + 1);
        quickStart = readme.substring(start, end < 0 ? readme.length() : end);
        temporary = TestFiles.createTemporaryDirectory("first-hour");
        installation = Installations.copyOfDistribution(temporary.resolve("postino"));
    }

    @AfterAll
    void stopWhatIsLeft() throws Exception {
        // A failed step leaves the background server running: by its PID, from the PID file if start did not return.
        Path pidFile = temporary.resolve("data/postino.pid");
        if (serverPid == null && Files.isRegularFile(pidFile)) {
            serverPid = Long.parseLong(Files.readString(pidFile, StandardCharsets.US_ASCII).trim());
        }
        if (serverPid != null) {
            ProcessHandle.of(serverPid).ifPresent(ProcessHandle::destroyForcibly);
        }
        if (sink != null) {
            sink.destroy();
            if (!sink.waitFor(10, TimeUnit.SECONDS)) {
                sink.destroyForcibly();
            }
        }
        TestFiles.deleteRecursively(temporary);
    }

    @Test
    void anAdminGoesFromInstallationToAMailSentWithThunderbirdsSettingsFoundHeldAndReleasedInTheConsole() throws Exception {
        Optional<Path> python = Optional.of(Path.of("/usr/bin/python3")).filter(Files::isExecutable);
        Optional<Path> node = Optional.of(Path.of("/usr/bin/node")).filter(Files::isExecutable);
        Optional<Path> chromium = CHROMIUM.stream().filter(Files::isExecutable).findFirst();
        Assumptions.assumeTrue(python.isPresent() && node.isPresent() && chromium.isPresent()
                && Files.isDirectory(PLAYWRIGHT.resolve("playwright-core")),
            "the first hour needs python3, node, Debian's chromium and playwright-core in " + PLAYWRIGHT + " (scripts/ensure-test-packages)");

        // 1. Ports: the README's four variables; PostinoProcess gives each (and WebAdmin's) a free port.
        assertThat(assignments(readme("export POSTINO_SMTP_PORT=2525 POSTINO_SUBMISSION_PORT=2587 POSTINO_SMTPS_PORT=2465 "
            + "POSTINO_AUTOCONFIG_PORT=8443")).keySet())
            .containsExactly("POSTINO_SMTP_PORT", "POSTINO_SUBMISSION_PORT", "POSTINO_SMTPS_PORT", "POSTINO_AUTOCONFIG_PORT");

        // 2. The sink, then bin/postino start with the README's variables, as ./run.sh start runs it.
        String sinkLine = readme("python3 scripts/smtp-sink.py 127.0.0.1:2526 &");
        int sinkPort = PostinoProcess.freePort();
        startSink(python.get(), sinkLine.split(" ")[1], sinkPort);
        Map<String, String> variables = assignments(readme("POSTINO_SMARTHOST=127.0.0.1:2526 POSTINO_RECIPIENT_DNS_CHECK=false ./run.sh start"));
        assertThat(variables).containsEntry("POSTINO_SMARTHOST", "127.0.0.1:2526").containsEntry("POSTINO_RECIPIENT_DNS_CHECK", "false");
        variables.put("POSTINO_SMARTHOST", "127.0.0.1:" + sinkPort);
        assertThat(Files.readString(checkout.resolve("run.sh"), StandardCharsets.UTF_8))
            .as("./run.sh runs bin/postino, and ./run.sh ctl bin/postinoctl")
            .contains("exec \"$dist/bin/postino\" \"$@\"", "exec \"$dist/bin/postinoctl\" \"$@\"");
        postino = PostinoProcess.prepare(installation, temporary.resolve("data"), sinkPort, variables);
        PostinoProcess.CommandResult started = postino.command(START, "start");
        assertThat(started.exitStatus()).as(started.output()).isZero();
        serverPid = Long.parseLong(Files.readString(postino.dataDirectory.resolve("postino.pid"), StandardCharsets.US_ASCII).trim());
        readme("TOKEN=$(cat var/webadmin/operator.token)");
        assertThat(started.output()).as("start names the token's file, and keeps the token out of its console")
            .contains("operator token made, kept in " + postino.dataDirectory.resolve("webadmin/operator.token"))
            .doesNotContain(postino.operatorToken());

        // 3. The organisation, added inside <organisations> of conf/organisations.xml while the server runs.
        Matcher xml = Pattern.compile("```xml\n(.*?)```", Pattern.DOTALL).matcher(quickStart);
        assertThat(xml.find()).as("an XML block in the first hour").isTrue();
        Installations.replaceInFile(installation.resolve("conf/organisations.xml"), "</organisations>", xml.group(1) + "</organisations>");
        readme("curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8000/organisations");
        awaitOrganisation("acme");

        // 4. The domain, then the user with bin/postinoctl and the password on standard input.
        readme("curl -XPUT http://127.0.0.1:8000/domains/acme.test -H \"Authorization: Bearer $TOKEN\"");
        assertThat(postino.webAdmin("PUT", "/domains/acme.test", null).statusCode()).isEqualTo(204);
        Matcher user = Pattern.compile("echo '([^']+)' \\| \\./run\\.sh ctl users add (\\S+)")
            .matcher(readme("echo 'change-me' | ./run.sh ctl users add alice@acme.test"));
        assertThat(user.find()).isTrue();
        String password = user.group(1);
        String address = user.group(2);
        PostinoProcess.CommandResult added = postinoctl(password + "\n", "users", "add", address);
        assertThat(added.exitStatus()).as(added.output()).isZero();
        assertThat(added.output()).contains(address + "\tadded");

        // 5. What Thunderbird is told, asked as the README's curl --resolve asks it.
        Matcher resolve = Pattern.compile("curl -k --resolve ([a-z0-9.]+):(\\d+):127\\.0\\.0\\.1 \"https://\\1:\\2(/[^\"]+)\"")
            .matcher(readme("curl -k --resolve autoconfig.acme.test:8443:127.0.0.1 "
                + "\"https://autoconfig.acme.test:8443/mail/config-v1.1.xml?emailaddress=alice@acme.test\""));
        assertThat(resolve.find()).isTrue();
        List<Element> outgoing = outgoingServers(resolve.group(1), resolve.group(3));
        assertThat(outgoing).as("SSL first, then STARTTLS, as the README says").hasSize(2);
        assertThat(text(outgoing.get(0), "socketType")).isEqualTo("SSL");
        assertThat(text(outgoing.get(1), "socketType")).isEqualTo("STARTTLS");

        // 6. The first mail with the first server the document names, as the README's swaks line sends it.
        readme("swaks --server 127.0.0.1:2465 --tls-on-connect \\");
        readme("--auth PLAIN --auth-user alice@acme.test --auth-password change-me \\");
        String first = recipient(readme("--from alice@acme.test --to someone@example.net"));
        assertThat(sendAsThunderbird(outgoing.get(0), address, password, first).code()).isEqualTo(250);
        assertThat(awaitSinkPrints(first, Duration.ofSeconds(60))).as("the sink printed the first mail").isTrue();

        // 7. The console: log in with the token, find the mail by its recipient, hold Acme's queue.
        readme("http://127.0.0.1:8000/console/");
        String queue = "outgoing." + "acme";
        readme("*Hold* on `" + queue + "`");
        String console = browser("hold", first, queue);
        assertThat(console).contains("\"who\":\"Operator\"", queue + " held");
        String second = recipient(readme("(the swaks line with `--to later@example.net`)"));
        assertThat(sendAsThunderbird(outgoing.get(1), address, password, second).code()).isEqualTo(250);
        assertThat(awaitSinkPrints(second, Duration.ofSeconds(5))).as("nothing delivered while the queue is held").isFalse();
        readme("*Release*: the sink prints it.");
        assertThat(browser("release", second, queue)).contains(queue + " released");
        assertThat(awaitSinkPrints(second, Duration.ofSeconds(60))).as("the held mail, delivered once released").isTrue();

        // 8. Stop.
        readme("`./run.sh stop`");
        PostinoProcess.CommandResult stopped = postino.command(STOP, "stop");
        assertThat(stopped.exitStatus()).as(stopped.output()).isZero();
        assertThat(stopped.output()).contains("stopped (PID " + serverPid + ")");
        assertThat(postino.dataDirectory.resolve("postino.pid")).doesNotExist();
        serverPid = null;
    }

    /** The line of the README's first hour that holds {@code text}, which it must. */
    private String readme(String text) {
        assertThat(quickStart).as("README.md, The first hour").contains(text);
        int at = quickStart.indexOf(text);
        int from = quickStart.lastIndexOf('\n', at) + 1;
        int to = quickStart.indexOf('\n', at);
        return quickStart.substring(from, to < 0 ? quickStart.length() : to).strip();
    }

    /** The NAME=value words at the start of a shell line (after {@code export}, if given). */
    private static Map<String, String> assignments(String line) {
        Map<String, String> variables = new LinkedHashMap<>();
        for (String word : line.replaceFirst("^export ", "").split(" +")) {
            Matcher assignment = Pattern.compile("([A-Z_]+)=(\\S+)").matcher(word);
            if (!assignment.matches()) {
                break;
            }
            variables.put(assignment.group(1), assignment.group(2));
        }
        return variables;
    }

    private static String recipient(String line) {
        Matcher to = Pattern.compile("--to ([^\\s`]+)").matcher(line);
        assertThat(to.find()).as("--to in " + line).isTrue();
        return to.group(1);
    }

    private void startSink(Path python, String script, int port) throws Exception {
        sinkOutput = temporary.resolve("sink.out");
        sink = new ProcessBuilder(python.toString(), checkout.resolve(script).toString(), "127.0.0.1:" + port)
            .redirectErrorStream(true).redirectOutput(sinkOutput.toFile()).start();
        Instant deadline = Instant.now().plusSeconds(30);
        while (Instant.now().isBefore(deadline) && sink.isAlive()) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("the sink did not listen within 30 s: " + Files.readString(sinkOutput));
    }

    /** Whether the sink has printed a mail for the recipient by the end of {@code timeout}. */
    private boolean awaitSinkPrints(String recipient, Duration timeout) throws Exception {
        String heading = "---------- mail from ";
        Instant deadline = Instant.now().plus(timeout);
        do {
            for (String line : Files.readAllLines(sinkOutput, StandardCharsets.UTF_8)) {
                if (line.startsWith(heading) && line.contains(" for " + recipient + " ")) {
                    return true;
                }
            }
            Thread.sleep(200);
        } while (Instant.now().isBefore(deadline));
        return false;
    }

    private void awaitOrganisation(String id) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        String organisations = "";
        while (Instant.now().isBefore(deadline)) {
            organisations = postino.webAdmin("GET", "/organisations", null).body();
            if (organisations.contains("\"id\":\"" + id + "\"")) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("the edit of conf/organisations.xml was not picked up within 30 s: " + organisations);
    }

    /** bin/postinoctl as ./run.sh ctl runs it: the token and WebAdmin's port found through the server's variables. */
    private PostinoProcess.CommandResult postinoctl(String input, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", installation.resolve("bin/postinoctl").toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(temporary.resolve("postinoctl.out").toFile());
        builder.environment().put("POSTINO_WEBADMIN_PORT", String.valueOf(postino.webAdminPort));
        builder.environment().put("POSTINO_DATA_DIR", postino.dataDirectory.toString());
        Process process = builder.start();
        process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        if (!process.waitFor(QUICK.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("postinoctl " + String.join(" ", arguments) + " did not end within " + QUICK);
        }
        return new PostinoProcess.CommandResult(process.exitValue(), Files.readString(temporary.resolve("postinoctl.out")));
    }

    /**
     * The outgoing servers of Thunderbird's document at {@code https://host/target}, reached on
     * 127.0.0.1 with {@code host} as TLS server name and Host header, the certificate not checked
     * (curl's -k: the generated one is self-signed).
     */
    private List<Element> outgoingServers(String host, String target) throws Exception {
        Socket tcp = new Socket();
        tcp.connect(new InetSocketAddress("127.0.0.1", postino.autoconfigPort), 10_000);
        byte[] raw;
        try (SSLSocket socket = (SSLSocket) SmtpClient.trustAll().getSocketFactory().createSocket(tcp, host, postino.autoconfigPort, true)) {
            socket.setSoTimeout(30_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(host)));
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            socket.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            raw = socket.getInputStream().readAllBytes();
        }
        String answer = new String(raw, StandardCharsets.UTF_8);
        assertThat(answer).startsWith("HTTP/1.1 200 ");
        String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Element root = factory.newDocumentBuilder().parse(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))).getDocumentElement();
        assertThat(root.getLocalName()).isEqualTo("clientConfig");
        Element provider = children(root, "emailProvider").get(0);
        assertThat(children(provider, "incomingServer")).as("Thunderbird takes no configuration without an incoming server").hasSize(1);
        List<Element> outgoing = children(provider, "outgoingServer");
        assertThat(outgoing).allSatisfy(server -> assertThat(server.getAttribute("type")).isEqualTo("smtp"));
        return outgoing;
    }

    /**
     * One mail as Thunderbird sends it with one outgoingServer of the document: its host name (as
     * this test's DNS resolves it), port, socket type (SSL: TLS from the start; STARTTLS: TLS
     * before anything else), authentication (password-cleartext: AUTH PLAIN, offered only in TLS)
     * and user name (%EMAILADDRESS%: the address).
     */
    private static SmtpClient.Reply sendAsThunderbird(Element server, String address, String password, String recipient) throws Exception {
        String host = DNS.get(text(server, "hostname"));
        assertThat(host).as("the document names POSTINO_HOSTNAME, " + DNS.keySet()).isNotNull();
        int port = Integer.parseInt(text(server, "port"));
        String socketType = text(server, "socketType");
        assertThat(text(server, "authentication")).isEqualTo("password-cleartext");
        String login = text(server, "username").replace("%EMAILADDRESS%", address);
        try (SmtpClient client = socketType.equals("SSL") ? SmtpClient.connectTls(host, port) : SmtpClient.connect(host, port)) {
            SmtpClient.Reply ehlo = client.greetingAndEhlo();
            if (socketType.equals("STARTTLS")) {
                assertThat(ehlo.text()).contains("STARTTLS").doesNotContain("AUTH");
                assertThat(client.startTls().code()).isEqualTo(220);
                ehlo = client.command("EHLO client.test");
            } else {
                assertThat(socketType).isEqualTo("SSL");
            }
            assertThat(ehlo.text()).containsPattern("AUTH[ =].*PLAIN");
            assertThat(client.authPlain(login, password).code()).isEqualTo(235);
            return client.send(address, List.of(recipient),
                "From: " + address + "\r\nTo: " + recipient + "\r\nSubject: the first hour\r\n\r\nSent with the settings Thunderbird is given.");
        }
    }

    /** One step of console-steps.cjs in headless Chromium; returns the JSON line it printed. */
    private String browser(String step, String recipient, String queue) throws Exception {
        Path screenshots = Path.of("target", "first-hour-screenshots").toAbsolutePath();
        Files.createDirectories(screenshots);
        Path script = Path.of(getClass().getResource("/firsthour/console-steps.cjs").toURI());
        Path output = temporary.resolve("browser-" + step + ".json");
        ProcessBuilder builder = new ProcessBuilder("/usr/bin/node", script.toString()).redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().put("NODE_PATH", PLAYWRIGHT.toString());
        builder.environment().put("CONSOLE_URL", "http://127.0.0.1:" + postino.webAdminPort + "/console/");
        builder.environment().put("TOKEN", postino.operatorToken());
        builder.environment().put("STEP", step);
        builder.environment().put("RECIPIENT", recipient);
        builder.environment().put("QUEUE", queue);
        builder.environment().put("SCREENSHOTS", screenshots.toString());
        builder.environment().put("CHROMIUM", CHROMIUM.stream().filter(Files::isExecutable).findFirst().orElseThrow().toString());
        Process browser = builder.start();
        try {
            assertThat(browser.waitFor(3, TimeUnit.MINUTES)).as("the browser step " + step + " ends").isTrue();
        } finally {
            browser.descendants().forEach(ProcessHandle::destroyForcibly);
            browser.destroyForcibly();
        }
        String said = Files.readString(output, StandardCharsets.UTF_8);
        assertThat(said).as("browser step " + step).contains("\"ok\":true").contains("\"consoleErrors\":[]").contains(recipient);
        return said;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node node = nodes.item(i);
            if (node instanceof Element element && name.equals(element.getLocalName())) {
                found.add(element);
            }
        }
        return found;
    }

    private static String text(Element parent, String name) {
        List<Element> found = children(parent, name);
        assertThat(found).as("<%s> in <%s>", name, parent.getLocalName()).hasSize(1);
        return found.get(0).getTextContent().strip();
    }
}
