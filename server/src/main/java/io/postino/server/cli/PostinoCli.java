package io.postino.server.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.postino.server.ConfigurationCheck;
import io.postino.server.PostinoSettings;

/**
 * {@code postinoctl}: the operator's command line. {@code check-config} runs the server's own
 * start-up checks on conf/ without starting it; every other command is a WebAdmin request with
 * the operator's token. Output is tab-separated, one record a line, or JSON with {@code --json}.
 */
public final class PostinoCli {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int INVALID_CONFIGURATION = 2;
    static final int NOT_SUPPORTED = 3;
    static final int USAGE = 64;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PROBLEM = Pattern.compile("^(\\S+?):(?:(\\d+):(?:\\d+:)?)? (.*)$", Pattern.DOTALL);

    private final Map<String, String> environment;
    private final Path home;
    private final Path workingDirectory;
    private final PrintStream out;
    private final PrintStream err;

    PostinoCli(Map<String, String> environment, Path home, Path workingDirectory, PrintStream out, PrintStream err) {
        this.environment = environment;
        this.home = home;
        this.workingDirectory = workingDirectory;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        Path home = Path.of(System.getProperty("postino.home", ".")).toAbsolutePath().normalize();
        Path cwd = Path.of(System.getProperty("postino.cwd", ".")).toAbsolutePath().normalize();
        System.exit(new PostinoCli(System.getenv(), home, cwd, System.out, System.err).run(Arrays.asList(args)));
    }

    int run(List<String> args) {
        Arguments arguments;
        try {
            arguments = Arguments.parse(args);
        } catch (Arguments.UsageException e) {
            err.println("postinoctl: " + e.getMessage() + ". Run postinoctl --help.");
            return USAGE;
        }
        String command = arguments.word(0).orElse("");
        try {
            switch (command) {
                case "":
                    out.println(Help.overview());
                    return arguments.flag("help") ? OK : USAGE;
                case "check-config":
                    return checkConfig(arguments);
                case "config":
                    return new ConfigCommand(this, arguments, environment, home, workingDirectory).run();
                case "queue":
                    return new QueueCommands(this, arguments).run();
                case "users":
                    return users(arguments);
                case "dkim":
                    return dkim(arguments);
                case "trace":
                    return new TraceCommand(this, arguments).run();
                case "help":
                    out.println(Help.of(arguments.word(1).orElse("")));
                    return OK;
                default:
                    throw new Arguments.UsageException("unknown command '" + command + "'");
            }
        } catch (Arguments.UsageException e) {
            err.println("postinoctl: " + e.getMessage() + ". Run postinoctl " + (command.isEmpty() ? "" : command + " ") + "--help.");
            return USAGE;
        } catch (NotSupported e) {
            err.println("postinoctl: " + e.getMessage());
            return NOT_SUPPORTED;
        } catch (WebAdminClient.RequestFailed e) {
            err.println("postinoctl: " + e.getMessage());
            return FAILED;
        }
    }

    /** What the REST API does not offer; said rather than done some other way. */
    static final class NotSupported extends Exception {
        NotSupported(String message) {
            super(message);
        }
    }

    boolean helpShown(Arguments arguments, String topic) {
        if (arguments.flag("help")) {
            out.println(Help.of(topic));
            return true;
        }
        return false;
    }

    WebAdminClient client(Arguments arguments) throws WebAdminClient.RequestFailed {
        return WebAdminClient.locate(arguments, environment, home, workingDirectory);
    }

    PrintStream out() {
        return out;
    }

    /** Where relative file names on the command line are read from. */
    Path workingDirectory() {
        return workingDirectory;
    }

    void json(JsonNode node) {
        try {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectNode object() {
        return JSON.createObjectNode();
    }

    static ArrayNode array() {
        return JSON.createArrayNode();
    }

    /** One record: fields separated by tabs; a tab or line break inside a field becomes a space. */
    void row(String... fields) {
        out.println(String.join("\t", Arrays.stream(fields).map(field -> field == null ? "-" : field.replaceAll("[\t\r\n]", " "))
            .toArray(String[]::new)));
    }

    /**
     * The directory the server reads: {@code POSTINO_CONF_DIR} (relative: to the caller's
     * directory, as bin/postino takes it), else the installation's conf/. {@code ./run.sh ctl}
     * sets it to the checkout's conf/, which the server serves, not the build's copy.
     */
    static Path configurationDirectory(Map<String, String> environment, Path home, Path workingDirectory) {
        String directory = environment.get("POSTINO_CONF_DIR");
        return directory == null || directory.isBlank() ? home.resolve("conf") : workingDirectory.resolve(directory.trim());
    }

    private int checkConfig(Arguments arguments) throws Arguments.UsageException {
        if (helpShown(arguments, "check-config")) {
            return OK;
        }
        arguments.allowOnly("check-config", Set.of("conf", "json", "help"));
        arguments.operands("check-config", 1);
        Path conf = arguments.option("conf").map(workingDirectory::resolve)
            .orElseGet(() -> configurationDirectory(environment, home, workingDirectory)).normalize();
        List<String> problems = new ArrayList<>();
        try {
            // The files refer to the settings as ${sys:postino.*}, as when the server starts.
            PostinoSettings settings = PostinoSettings.from(environment, conf.getParent() == null ? home : conf.getParent());
            settings.systemProperties().forEach(System::setProperty);
        } catch (PostinoSettings.InvalidSettingException e) {
            problems.add("environment: " + e.getMessage());
        }
        problems.addAll(ConfigurationCheck.problems(conf));
        if (arguments.flag("json")) {
            ObjectNode result = object();
            result.put("directory", conf.toString());
            result.put("valid", problems.isEmpty());
            ArrayNode list = result.putArray("problems");
            for (String problem : problems) {
                ObjectNode item = list.addObject();
                Matcher matcher = PROBLEM.matcher(problem);
                if (matcher.matches()) {
                    item.put("file", matcher.group(1));
                    if (matcher.group(2) != null) {
                        item.put("line", Integer.parseInt(matcher.group(2)));
                    }
                    item.put("message", matcher.group(3));
                } else {
                    item.put("message", problem);
                }
            }
            json(result);
        } else if (problems.isEmpty()) {
            out.println(conf + ": valid");
        } else {
            problems.forEach(problem -> out.println(problem.replaceAll("\\R", " ")));
            err.println("postinoctl: " + conf + ": " + problems.size() + " problem(s); Postino would not start");
        }
        return problems.isEmpty() ? OK : INVALID_CONFIGURATION;
    }

    private int users(Arguments arguments) throws Arguments.UsageException, WebAdminClient.RequestFailed {
        String sub = arguments.word(1).orElse("");
        if (helpShown(arguments, "users")) {
            return OK;
        }
        arguments.allowOnly("users " + sub, Arguments.CONNECTION);
        switch (sub) {
            case "add": {
                String login = arguments.operands("users add", 2, "LOGIN").get(0);
                char[] password = password("Password for " + login + ": ");
                client(arguments).send("PUT", "/users/" + WebAdminClient.encode(login), Map.of("password", new String(password)));
                return report(arguments, "added", login);
            }
            case "passwd": {
                String login = arguments.operands("users passwd", 2, "LOGIN").get(0);
                WebAdminClient client = client(arguments);
                // PUT ?force would create a missing user: a mistyped login must not become a new account.
                client.send("HEAD", "/users/" + WebAdminClient.encode(login), null);
                char[] password = password("New password for " + login + ": ");
                client.send("PUT", "/users/" + WebAdminClient.encode(login) + "?force", Map.of("password", new String(password)));
                return report(arguments, "password-changed", login);
            }
            case "disable": {
                String login = arguments.operands("users disable", 2, "LOGIN").get(0);
                client(arguments).send("PUT", "/disabledUsers/" + WebAdminClient.encode(login), null);
                return report(arguments, "disabled", login);
            }
            case "enable": {
                String login = arguments.operands("users enable", 2, "LOGIN").get(0);
                WebAdminClient client = client(arguments);
                // Enabling answers 204 for any login: a mistyped one must not look enabled.
                client.send("HEAD", "/users/" + WebAdminClient.encode(login), null);
                client.send("DELETE", "/disabledUsers/" + WebAdminClient.encode(login), null);
                return report(arguments, "enabled", login);
            }
            default:
                throw new Arguments.UsageException("users needs add, passwd, disable or enable");
        }
    }

    private int report(Arguments arguments, String what, String login) {
        if (arguments.flag("json")) {
            ObjectNode result = object();
            result.put("user", login);
            result.put("result", what);
            json(result);
        } else {
            row(login, what);
        }
        return OK;
    }

    /** From the terminal (asked twice), else the first line of standard input: never from the command line. */
    private char[] password(String prompt) throws WebAdminClient.RequestFailed {
        Console console = System.console();
        char[] password;
        if (console != null) {
            password = console.readPassword("%s", prompt);
            char[] again = console.readPassword("%s", "Again: ");
            if (password == null || again == null || !Arrays.equals(password, again)) {
                throw new WebAdminClient.RequestFailed(0, "the two passwords differ; nothing was changed");
            }
        } else {
            try {
                String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                password = line == null ? null : line.toCharArray();
            } catch (IOException e) {
                throw new WebAdminClient.RequestFailed(0, "cannot read the password from standard input: " + e.getMessage());
            }
        }
        if (password == null || password.length == 0) {
            throw new WebAdminClient.RequestFailed(0, "no password given (one line on standard input, or at the prompt)");
        }
        return password;
    }

    private int dkim(Arguments arguments) throws Arguments.UsageException, WebAdminClient.RequestFailed {
        String sub = arguments.word(1).orElse("");
        if (helpShown(arguments, "dkim")) {
            return OK;
        }
        switch (sub) {
            case "generate": {
                arguments.allowOnly("dkim generate", Arguments.union(Arguments.CONNECTION, "selector", "algorithm", "bits"));
                String domain = arguments.operands("dkim generate", 2, "DOMAIN").get(0);
                StringBuilder query = new StringBuilder();
                for (String name : List.of("selector", "algorithm", "bits")) {
                    arguments.option(name).ifPresent(value -> query.append(query.length() == 0 ? "?" : "&")
                        .append(name).append('=').append(WebAdminClient.encode(value)));
                }
                JsonNode key = client(arguments).send("POST", "/dkim/domains/" + WebAdminClient.encode(domain) + "/keys" + query, null).json();
                return keys(arguments, List.of(key));
            }
            case "activate": {
                arguments.allowOnly("dkim activate", Arguments.CONNECTION);
                List<String> operands = arguments.operands("dkim activate", 2, "DOMAIN", "SELECTOR");
                JsonNode key = client(arguments).send("POST", "/dkim/domains/" + WebAdminClient.encode(operands.get(0)) + "/keys/"
                    + WebAdminClient.encode(operands.get(1)) + "/activate", null).json();
                return keys(arguments, List.of(key));
            }
            case "records": {
                arguments.allowOnly("dkim records", Arguments.CONNECTION);
                String domain = arguments.operands("dkim records", 2, "DOMAIN").get(0);
                JsonNode all = client(arguments).get("/dkim/domains/" + WebAdminClient.encode(domain)).json();
                List<JsonNode> keys = new ArrayList<>();
                all.forEach(keys::add);
                return keys(arguments, keys);
            }
            default:
                throw new Arguments.UsageException("dkim needs generate, activate or records");
        }
    }

    /** Per key: DNS name, TXT, the record's text, active|inactive, selector, algorithm. */
    private int keys(Arguments arguments, List<JsonNode> keys) {
        if (arguments.flag("json")) {
            ArrayNode list = array();
            keys.forEach(list::add);
            json(list);
            return OK;
        }
        for (JsonNode key : keys) {
            row(key.path("dnsName").asText(), "TXT", key.path("txt").asText(), key.path("active").asBoolean() ? "active" : "inactive",
                key.path("selector").asText(), key.path("algorithm").asText());
        }
        return OK;
    }

    static String lower(String text) {
        return text.toLowerCase(Locale.ROOT);
    }

    static Map<String, Object> map() {
        return new LinkedHashMap<>();
    }
}
