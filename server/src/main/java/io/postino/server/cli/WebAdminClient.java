package io.postino.server.cli;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.apache.commons.configuration2.PropertiesConfiguration;
import org.apache.commons.configuration2.builder.fluent.Configurations;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.postino.server.PostinoSettings;

/**
 * WebAdmin as {@code postinoctl} reaches it: the URL and the operator's token of the local
 * installation unless told otherwise, one request at a time, and every refusal turned into a
 * sentence with the status and the server's own message.
 */
final class WebAdminClient {
    static final String URL_VARIABLE = "POSTINO_URL";
    static final String TOKEN_FILE_VARIABLE = "POSTINO_TOKEN_FILE";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** A request failed or was refused; the message is for the operator. */
    static final class RequestFailed extends Exception {
        final int status;

        RequestFailed(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /** What WebAdmin answered. */
    record Answer(int status, String body) {
        JsonNode json() throws RequestFailed {
            try {
                return body.isBlank() ? JSON.nullNode() : JSON.readTree(body);
            } catch (IOException e) {
                throw new RequestFailed(status, "WebAdmin answered something that is not JSON: " + abbreviate(body));
            }
        }
    }

    private final URI base;
    private final Path tokenFile;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private String token;

    WebAdminClient(URI base, Path tokenFile) {
        this.base = base;
        this.tokenFile = tokenFile;
    }

    /**
     * {@code --url}, else {@code POSTINO_URL}, else what webadmin.properties of the server's
     * configuration directory ({@code POSTINO_CONF_DIR}, else the installation's conf/) and the
     * environment say ({@code POSTINO_WEBADMIN_PORT}); {@code --token-file}, else
     * {@code POSTINO_TOKEN_FILE}, else {@code <data>/webadmin/operator.token}.
     */
    static WebAdminClient locate(Arguments arguments, Map<String, String> environment, Path home, Path workingDirectory)
        throws RequestFailed {
        String url = arguments.option("url").orElse(environment.get(URL_VARIABLE));
        String tokenFile = arguments.option("token-file").orElse(environment.get(TOKEN_FILE_VARIABLE));
        PostinoSettings settings = null;
        if (url == null || tokenFile == null) {
            try {
                settings = PostinoSettings.from(environment, home);
            } catch (PostinoSettings.InvalidSettingException e) {
                throw new RequestFailed(0, "cannot tell where WebAdmin is (give --url and --token-file): " + e.getMessage());
            }
        }
        URI base = URI.create(url != null ? url : localUrl(PostinoCli.configurationDirectory(environment, home, workingDirectory), settings));
        if (base.getScheme() == null || base.getHost() == null) {
            throw new RequestFailed(0, "--url must be like http://127.0.0.1:8000, not '" + base + "'");
        }
        Path token = tokenFile != null ? workingDirectory.resolve(tokenFile)
            : settings.dataDirectory().resolve("webadmin").resolve("operator.token");
        return new WebAdminClient(base, token);
    }

    private static String localUrl(Path conf, PostinoSettings settings) throws RequestFailed {
        Path file = conf.resolve("webadmin.properties");
        try {
            // The file names its port as ${sys:postino.webadmin.port}, which the server sets from the environment.
            settings.systemProperties().forEach(System::setProperty);
            PropertiesConfiguration properties = new Configurations().properties(file.toFile());
            String host = properties.getString("host", "127.0.0.1").trim();
            if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
                host = "127.0.0.1";
            }
            if (host.contains(":") && !host.startsWith("[")) {
                host = "[" + host + "]";
            }
            String scheme = properties.getBoolean("https.enabled", false) ? "https" : "http";
            return scheme + "://" + host + ":" + properties.getInt("port");
        } catch (Exception e) {
            throw new RequestFailed(0, file + ": cannot tell WebAdmin's port from it (give --url): " + e.getMessage());
        }
    }

    URI base() {
        return base;
    }

    private String token() throws RequestFailed {
        if (token == null) {
            try {
                token = Files.readString(tokenFile, StandardCharsets.US_ASCII).trim();
            } catch (IOException e) {
                throw new RequestFailed(0, "cannot read the WebAdmin token from " + tokenFile + " (" + e.getMessage()
                    + "): run as Postino's user, or give --token-file");
            }
        }
        return token;
    }

    Answer get(String path) throws RequestFailed {
        return send("GET", path, null);
    }

    /** A request whose answer must be 2xx; anything else is a {@link RequestFailed} naming the request. */
    Answer send(String method, String path, Object jsonBody) throws RequestFailed {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path))
            .timeout(TIMEOUT)
            .header("Authorization", "Bearer " + token());
        try {
            if (jsonBody != null) {
                request.header("Content-Type", "application/json");
                request.method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(jsonBody)));
            } else {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            Answer answer = new Answer(response.statusCode(), response.body() == null ? "" : response.body());
            if (answer.status() >= 300) {
                throw new RequestFailed(answer.status(), method + " " + path + ": " + answer.status() + " " + serverMessage(answer.body()));
            }
            return answer;
        } catch (IOException e) {
            throw new RequestFailed(0, "cannot reach WebAdmin at " + base + " (" + e + "): is Postino running? (--url)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RequestFailed(0, "interrupted");
        }
    }

    /** James' errors are {"statusCode", "type", "message", "details"}; show message and details. */
    private static String serverMessage(String body) {
        try {
            JsonNode error = JSON.readTree(body);
            if (error != null && error.hasNonNull("message")) {
                return error.get("message").asText() + (error.hasNonNull("details") ? ": " + error.get("details").asText() : "");
            }
        } catch (IOException e) {
            // not JSON: show it as it came
        }
        return abbreviate(body);
    }

    private static String abbreviate(String text) {
        String line = text.strip().replaceAll("\\s+", " ");
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }

    static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20").replace("%40", "@");
    }
}
