package io.postino.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

/** {@code postinoctl trace} against a WebAdmin stand-in on loopback that answers what the server would. */
class TraceCommandTest {
    private static final String ACCEPTED = "{\"steps\":[{\"stage\":\"smtp\",\"name\":\"EnforceSenderIdentity\",\"decision\":\"pass\",\"detail\":\"MAIL\"},"
        + "{\"stage\":\"mailet\",\"name\":\"relay/All SignDkim\",\"decision\":\"sign\",\"detail\":\"d=acme.test\\ts=s1\"}],"
        + "\"route\":{\"bob@example.net\":\"MX of example.net\"},\"dkim\":[\"d=acme.test s=s1\"],"
        + "\"verdict\":{\"accepted\":true,\"code\":\"250\",\"enhanced\":\"2.0.0\",\"text\":\"Message would be accepted\"}}";
    private static final String REFUSED = "{\"steps\":[],\"route\":{},\"dkim\":[],"
        + "\"verdict\":{\"accepted\":false,\"code\":\"550\",\"enhanced\":\"5.7.1\",\"text\":\"Sender not allowed\"}}";

    @TempDir
    Path directory;
    private HttpServer server;
    private final List<String> bodies = new ArrayList<>();
    private volatile String answer = ACCEPTED;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/trace", exchange -> {
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] reply = answer.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, reply.length);
            exchange.getResponseBody().write(reply);
            exchange.close();
        });
        server.start();
        Files.writeString(directory.resolve("token"), "pst_test");
        Files.writeString(directory.resolve("mail.eml"), "From: alice@acme.test\n\nHello\n");
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private int run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--url", "http://127.0.0.1:" + server.getAddress().getPort(), "--token-file", directory.resolve("token").toString()));
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        return new PostinoCli(Map.of(), directory, directory, print, print).run(all);
    }

    @Test
    void anAcceptedMailPrintsOneStepALineThenRouteDkimAndVerdictAndExits0() {
        int status = run("trace", "mail.eml", "--from", "alice@acme.test", "--to", "bob@example.net", "--to", "carol@example.net", "--user", "alice@acme.test");

        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(String.join("\n",
            "smtp\tEnforceSenderIdentity\tpass\tMAIL",
            "mailet\trelay/All SignDkim\tsign\td=acme.test s=s1",
            "route\tbob@example.net\tMX of example.net",
            "dkim\td=acme.test s=s1",
            "verdict\taccepted\t250 2.0.0 Message would be accepted", ""));
        assertThat(bodies).singleElement().asString()
            .contains("\"to\":[\"bob@example.net\",\"carol@example.net\"]")
            .contains("\"user\":\"alice@acme.test\"")
            .contains("\"message\":\"From: alice@acme.test\\n\\nHello\\n\"");
    }

    @Test
    void aRefusedMailExits1() {
        answer = REFUSED;

        assertThat(run("trace", "mail.eml", "--from", "mallory@acme.test", "--to", "bob@example.net")).isEqualTo(PostinoCli.FAILED);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("verdict\trefused\t550 5.7.1 Sender not allowed\n");
    }

    @Test
    void withoutFromOrToOrWithAnotherCommandsOptionTheCommandLineIsWrong() {
        assertThat(run("trace", "mail.eml", "--to", "bob@example.net")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("trace", "mail.eml", "--from", "a@acme.test")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("trace", "mail.eml", "--from", "a@acme.test", "--to", "b@example.net", "--queue", "x")).isEqualTo(PostinoCli.USAGE);
        assertThat(run("trace", "mail.eml", "--from", "a@acme.test", "--to", "b@example.net", "--port", "smtp")).isEqualTo(PostinoCli.USAGE);
        assertThat(bodies).isEmpty();
    }
}
