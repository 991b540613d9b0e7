package io.postino.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The packaged Postino ({@code bin/postino} of the distribution built by Maven) running as a
 * separate process on free loopback ports, with only ports, data directory and smarthost set,
 * through the environment variables an operator uses.
 */
final class PostinoProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    final Path installation;
    final Path dataDirectory;
    final int smtpPort;
    final int submissionPort;
    final int smtpsPort;
    final int webAdminPort;
    final int autoconfigPort;
    private final Path log;
    private Process process;
    private final Map<String, String> environment;

    private PostinoProcess(Path installation, Path dataDirectory, String bind, int smarthostPort) throws IOException {
        this(installation, dataDirectory, dataDirectory.resolveSibling(dataDirectory.getFileName() + "-console.log"), bind, smarthostPort);
    }

    private PostinoProcess(Path installation, Path dataDirectory, Path log, String bind, int smarthostPort) throws IOException {
        this.installation = installation;
        this.dataDirectory = dataDirectory;
        this.smtpPort = freePort();
        this.submissionPort = freePort();
        this.smtpsPort = freePort();
        this.webAdminPort = freePort();
        this.autoconfigPort = freePort();
        this.log = log;
        this.environment = new HashMap<>();
        environment.put("POSTINO_SMTP_PORT", String.valueOf(smtpPort));
        environment.put("POSTINO_SUBMISSION_PORT", String.valueOf(submissionPort));
        environment.put("POSTINO_SMTPS_PORT", String.valueOf(smtpsPort));
        environment.put("POSTINO_WEBADMIN_PORT", String.valueOf(webAdminPort));
        environment.put("POSTINO_AUTOCONFIG_PORT", String.valueOf(autoconfigPort));
        environment.put("POSTINO_BIND", bind);
        environment.put("POSTINO_DATA_DIR", dataDirectory.toString());
        environment.put("POSTINO_SMARTHOST", "127.0.0.1:" + smarthostPort);
        environment.put("POSTINO_HOSTNAME", "postino.test");
        environment.put("POSTINO_DNS_SERVERS", SharedDns.address());
        environment.put("JAVA_OPTS", "-Xms128m -Xmx512m");
    }

    static Path distribution() {
        String path = System.getProperty("postino.distribution");
        if (path == null || !Files.isExecutable(Path.of(path, "bin", "postino"))) {
            throw new IllegalStateException("No packaged distribution at '" + path + "': run the tests with 'mvn verify'");
        }
        return Path.of(path);
    }

    static PostinoProcess start(Path installation, Path dataDirectory, String bind, int smarthostPort) throws Exception {
        return start(installation, dataDirectory, bind, smarthostPort, Map.of());
    }

    /** @param overrides environment variables to set or replace, e.g. POSTINO_DNS_SERVERS */
    static PostinoProcess start(Path installation, Path dataDirectory, String bind, int smarthostPort,
                                Map<String, String> overrides) throws Exception {
        PostinoProcess postino = new PostinoProcess(installation, dataDirectory, bind, smarthostPort);
        postino.environment.putAll(overrides);
        postino.launch();
        return postino;
    }

    /**
     * As {@link #start(Path, Path, String, int, Map)}, with the console written to {@code log}:
     * elsewhere than beside the data directory, when that is a disk the test fills up.
     */
    static PostinoProcess startLoggingTo(Path log, Path installation, Path dataDirectory, String bind, int smarthostPort) throws Exception {
        PostinoProcess postino = new PostinoProcess(installation, dataDirectory, log, bind, smarthostPort);
        postino.launch();
        return postino;
    }

    /**
     * Ports and environment chosen as for {@link #start}, nothing started: for bin/postino's
     * service commands ({@link #command}), which start the server in the background themselves.
     */
    static PostinoProcess prepare(Path installation, Path dataDirectory, int smarthostPort, Map<String, String> overrides) throws IOException {
        PostinoProcess postino = new PostinoProcess(installation, dataDirectory, "127.0.0.1", smarthostPort);
        postino.environment.putAll(overrides);
        return postino;
    }

    /** What one bin/postino command printed (stdout and stderr) and its exit status. */
    record CommandResult(int exitStatus, String output) {
    }

    /** Runs {@code bin/postino <arguments>} with this environment and waits at most {@code timeout}. */
    CommandResult command(Duration timeout, String... arguments) throws Exception {
        List<String> line = new java.util.ArrayList<>(List.of("bash", installation.resolve("bin/postino").toString()));
        line.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(line).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process command = builder.start();
        command.getOutputStream().close();
        java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(command.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e + ")";
            }
        });
        if (!command.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            command.destroyForcibly();
            throw new AssertionError("bin/postino " + String.join(" ", arguments) + " did not end within " + timeout);
        }
        return new CommandResult(command.exitValue(), output.get(10, TimeUnit.SECONDS));
    }

    /** Runs bin/postino expecting it to fail; returns its exit status and output. */
    static Map.Entry<Integer, String> runExpectingFailure(Path installation, Path dataDirectory, int smarthostPort) throws Exception {
        return runExpectingFailure(installation, dataDirectory, smarthostPort, Map.of());
    }

    static Map.Entry<Integer, String> runExpectingFailure(Path installation, Path dataDirectory, int smarthostPort,
                                                          Map<String, String> overrides) throws Exception {
        PostinoProcess postino = new PostinoProcess(installation, dataDirectory, "127.0.0.1", smarthostPort);
        postino.environment.putAll(overrides);
        Files.createDirectories(dataDirectory.getParent());
        postino.process = postino.builder().start();
        if (!postino.process.waitFor(120, TimeUnit.SECONDS)) {
            postino.process.destroyForcibly();
            throw new AssertionError("Postino kept running although it was expected to fail:\n" + postino.output());
        }
        return Map.entry(postino.process.exitValue(), postino.output());
    }

    private ProcessBuilder builder() {
        ProcessBuilder builder = new ProcessBuilder(List.of("bash", installation.resolve("bin/postino").toString()))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(environment);
        return builder;
    }

    void launch() throws Exception {
        // The console log is appended to across restarts: only this launch's lines count.
        int launchOffset = output().length();
        process = builder().start();
        Instant deadline = Instant.now().plus(START_TIMEOUT);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Postino exited with " + process.exitValue() + ":\n" + output());
            }
            if (output().substring(launchOffset).contains("Postino started") && accepts(smtpPort)) {
                return;
            }
            Thread.sleep(200);
        }
        process.destroyForcibly();
        throw new IllegalStateException("Postino did not start within " + START_TIMEOUT + ":\n" + output());
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    String output() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** SIGKILL: no shutdown hook, no flush; what was acknowledged must still be on disk. */
    void killHard() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                killHard();
            }
        }
    }

    /** A WebAdmin request with the operator's token. */
    HttpResponse<String> webAdmin(String method, String path, String jsonBody) throws IOException, InterruptedException {
        return webAdmin(method, path, jsonBody, Map.of("Authorization", "Bearer " + operatorToken()));
    }

    /** A WebAdmin request with exactly these headers (none for no credential). */
    HttpResponse<String> webAdmin(String method, String path, String jsonBody, Map<String, String> headers)
        throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + webAdminPort + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json");
        headers.forEach(request::header);
        request.method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** What {@link #webAdminRaw} got: the status code and everything after the header. */
    record RawAnswer(int status, String body) {
    }

    /**
     * A WebAdmin request written as given, as {@code curl --path-as-is} sends it: the target is
     * not normalised and any header may be set, {@code Host} included (one is added when
     * {@code headers} has none). {@code Connection: close} ends the answer.
     */
    RawAnswer webAdminRaw(String method, String target, Map<String, String> headers, String jsonBody) throws IOException {
        StringBuilder request = new StringBuilder(method + " " + target + " HTTP/1.1\r\n");
        if (headers.keySet().stream().noneMatch(name -> name.equalsIgnoreCase("Host"))) {
            request.append("Host: 127.0.0.1:").append(webAdminPort).append("\r\n");
        }
        headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
        byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
        if (jsonBody != null) {
            request.append("Content-Type: application/json\r\n");
        }
        request.append("Content-Length: ").append(body.length).append("\r\nConnection: close\r\n\r\n");
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", webAdminPort), 10_000);
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().write(body);
            socket.getOutputStream().flush();
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!answer.startsWith("HTTP/1.1 ")) {
                throw new IOException("not an HTTP answer: " + answer);
            }
            int headerEnd = answer.indexOf("\r\n\r\n");
            return new RawAnswer(Integer.parseInt(answer.substring(9, 12)), headerEnd < 0 ? "" : answer.substring(headerEnd + 4));
        }
    }

    /** The operator's WebAdmin token, as an operator finds it: in the data directory. */
    String operatorToken() throws IOException {
        return Files.readString(dataDirectory.resolve("webadmin/operator.token"), StandardCharsets.US_ASCII).trim();
    }

    /** Makes every delayed mail of the outgoing queue due now, as an operator's flush does. */
    /** Flushes the delayed mail of the outgoing queue and of its per-organisation queues (outgoing.acme, ...). */
    void flushOutgoingQueue() throws IOException, InterruptedException {
        String queues = webAdmin("GET", "/mailQueues", null).body();
        java.util.regex.Matcher names = java.util.regex.Pattern.compile("\"(outgoing(\\.[a-z0-9_\\-]+)?)\"").matcher(queues);
        while (names.find()) {
            HttpResponse<String> response = webAdmin("PATCH", "/mailQueues/" + names.group(1) + "/mails?delayed=true", "{\"delayed\": false}");
            if (response.statusCode() != 204) {
                throw new IOException("flush of " + names.group(1) + " failed: " + response.statusCode() + " " + response.body());
            }
        }
    }

    /**
     * A port free now and not handed out before in this JVM: the kernel may give a port just
     * closed again, and two listeners of one process (or a sink) would then collide.
     */
    static int freePort() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            }
        }
        throw new IOException("no free port not handed out before");
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
