package io.postino.server.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code postinoctl trace FILE.eml --from S --to R [--to R2 ...]}: asks the running server
 * ({@code POST /trace}) what it would do with that envelope and message, and prints its answer:
 * one step a line, {@code stage<TAB>name<TAB>decision<TAB>detail}, then the {@code route} of each
 * recipient, the {@code dkim} keys that would sign and the {@code verdict}. Exit status 0 when
 * the server would accept the mail, 1 when it would refuse it (or the request failed).
 */
final class TraceCommand {
    static final String HELP = String.join("\n",
        "Usage: postinoctl trace FILE.eml --from SENDER --to RCPT [--to RCPT2 ...] [--user LOGIN] [--client IP]",
        "                         [--port 25|587|465] [--helo NAME] [--json]",
        "Dry run on the running server: which SMTP hooks, matchers and mailets would act on this mail, what each",
        "decides, the route, the DKIM key and the final verdict. Nothing is queued, sent, counted or recorded;",
        "a check that cannot run without that (an SMTP callout, AUTH's password) is reported as not evaluated.",
        "--from '' is the null sender. --user: as if logged in with AUTH (the password is not checked);",
        "--client: the client's address (default 192.0.2.1, a client on the Internet); --port: the listener",
        "(default 587 with --user, else 25); FILE - reads the message from standard input.",
        "Output: stage<TAB>name<TAB>decision<TAB>detail a step, then route<TAB>RCPT<TAB>ROUTE a recipient,",
        "dkim<TAB>d=DOMAIN s=SELECTOR a signature, verdict<TAB>accepted|refused<TAB>CODE ENHANCED TEXT.",
        "Exit status: 0 the mail would be accepted, 1 it would be refused (or the request failed).");

    private final PostinoCli cli;
    private final Arguments arguments;

    TraceCommand(PostinoCli cli, Arguments arguments) {
        this.cli = cli;
        this.arguments = arguments;
    }

    int run() throws Arguments.UsageException, WebAdminClient.RequestFailed {
        if (cli.helpShown(arguments, "trace")) {
            return PostinoCli.OK;
        }
        arguments.allowOnly("trace", Arguments.union(Arguments.CONNECTION, "from", "to", "user", "client", "port", "helo"));
        String file = arguments.operands("trace", 1, "FILE.eml").get(0);
        String from = arguments.option("from").orElseThrow(() -> new Arguments.UsageException("trace needs --from SENDER ('' for the null sender)"));
        List<String> to = arguments.options("to");
        if (to.isEmpty()) {
            throw new Arguments.UsageException("trace needs --to RCPT (once per recipient)");
        }
        ObjectNode body = PostinoCli.object();
        body.put("from", from);
        ArrayNode recipients = body.putArray("to");
        to.forEach(recipients::add);
        arguments.option("user").ifPresent(user -> body.put("user", user));
        arguments.option("client").ifPresent(client -> body.put("client", client));
        arguments.option("helo").ifPresent(helo -> body.put("helo", helo));
        Optional<String> port = arguments.option("port");
        if (port.isPresent()) {
            try {
                body.put("port", Integer.parseInt(port.get()));
            } catch (NumberFormatException e) {
                throw new Arguments.UsageException("--port must be a number, got '" + port.get() + "'");
            }
        }
        body.put("message", message(file));
        JsonNode answer = cli.client(arguments).send("POST", "/trace", body).json();
        boolean accepted = answer.path("verdict").path("accepted").asBoolean(false);
        if (arguments.flag("json")) {
            cli.json(answer);
        } else {
            print(answer);
        }
        return accepted ? PostinoCli.OK : PostinoCli.FAILED;
    }

    private String message(String file) throws WebAdminClient.RequestFailed {
        try {
            if (file.equals("-")) {
                return new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
            }
            return Files.readString(cli.workingDirectory().resolve(Path.of(file)), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new WebAdminClient.RequestFailed(0, "cannot read the message " + file + ": " + e.getMessage());
        }
    }

    private void print(JsonNode answer) {
        for (JsonNode step : answer.path("steps")) {
            cli.out().println(String.join("\t", field(step, "stage"), field(step, "name"), field(step, "decision"), field(step, "detail")));
        }
        answer.path("route").fields().forEachRemaining(route -> cli.out().println("route\t" + route.getKey() + "\t" + oneLine(route.getValue().asText())));
        for (JsonNode key : answer.path("dkim")) {
            cli.out().println("dkim\t" + oneLine(key.asText()));
        }
        JsonNode verdict = answer.path("verdict");
        cli.out().println("verdict\t" + (verdict.path("accepted").asBoolean(false) ? "accepted" : "refused") + "\t"
            + oneLine(String.join(" ", field(verdict, "code"), field(verdict, "enhanced"), field(verdict, "text")).replaceAll(" +", " ").trim()));
    }

    private static String field(JsonNode node, String name) {
        return oneLine(node.path(name).asText(""));
    }

    /** Tabs and line breaks would break the one-record-a-line format. */
    private static String oneLine(String text) {
        return text.replaceAll("[\\t\\r\\n]+", " ");
    }
}
