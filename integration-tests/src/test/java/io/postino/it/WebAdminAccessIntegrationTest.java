package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * WebAdmin over real HTTP: nothing without a token, an organisation's token only for its own
 * data, no CORS header and no preflight answer, and what a browser marks cross-site refused even
 * with a valid token.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebAdminAccessIntegrationTest {
    private static final String ORGANISATIONS = "<organisations>"
        + "<organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain></organisation>"
        + "<organisation id=\"beta\" name=\"Beta\"><domain>beta.test</domain></organisation>"
        + "</organisations>";

    private Path temporary;
    private SmtpSink sink;
    private PostinoProcess postino;
    private String acmeToken;
    private String acmeTokenId;

    @BeforeAll
    void start() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("webadmin");
        sink = SmtpSink.start();
        Path installation = Installations.copyWithOrganisations(temporary.resolve("postino"), ORGANISATIONS);
        postino = PostinoProcess.start(installation, temporary.resolve("data"), "127.0.0.1", sink.port());
        for (String domain : List.of("acme.test", "beta.test")) {
            assertThat(postino.webAdmin("PUT", "/domains/" + domain, null).statusCode()).isEqualTo(204);
        }
        HttpResponse<String> made = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:acme\",\"description\":\"Acme IT\"}");
        assertThat(made.statusCode()).isEqualTo(201);
        acmeToken = field(made.body(), "token");
        acmeTokenId = field(made.body(), "id");
    }

    @AfterAll
    void stop() throws Exception {
        TestFiles.stopAll(postino, sink, temporary);
    }

    private static String field(String json, String name) {
        Matcher matcher = Pattern.compile("\"" + name + "\":\"([^\"]+)\"").matcher(json);
        assertThat(matcher.find()).as(name + " in " + json).isTrue();
        return matcher.group(1);
    }

    private HttpResponse<String> as(String token, String method, String path, String body) throws Exception {
        return postino.webAdmin(method, path, body, Map.of("Authorization", "Bearer " + token));
    }

    private HttpResponse<String> anonymous(String method, String path, Map<String, String> headers) throws Exception {
        return postino.webAdmin(method, path, null, headers);
    }

    @Test
    void theOperatorTokenWasMadeOnFirstStartPrintedOnceAndKeptForTheOwnerOnly() throws Exception {
        Path file = postino.dataDirectory.resolve("webadmin/operator.token");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(postino.output()).contains("WebAdmin operator token (shown this once; kept in " + file);
        assertThat(Files.readString(postino.dataDirectory.resolve("logs/postino.log"))).doesNotContain(postino.operatorToken());
    }

    @Test
    void everyRouteNeedsAToken() throws Exception {
        for (String path : List.of("/domains", "/users", "/mailQueues", "/organisations", "/tracking", "/metrics", "/healthcheck",
            "/tokens", "/authentication/blocks", "/dkim/domains/acme.test", "/nowhere")) {
            HttpResponse<String> response = anonymous("GET", path, Map.of());
            assertThat(response.statusCode()).as(path).isEqualTo(path.equals("/nowhere") ? 404 : 401);
        }
        HttpResponse<String> creation = postino.webAdmin("PUT", "/users/mallory@acme.test", "{\"password\":\"x\"}", Map.of());
        assertThat(creation.statusCode()).isEqualTo(401);
        assertThat(creation.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(value -> assertThat(value).startsWith("Bearer"));
        assertThat(as("pst_not-a-token", "GET", "/domains", null).statusCode()).isEqualTo(401);
        assertThat(postino.webAdmin("HEAD", "/users/mallory@acme.test", null).statusCode()).as("not created").isEqualTo(404);
    }

    @Test
    void noAnswerCarriesACorsHeaderAndPreflightsAreRefused() throws Exception {
        Map<String, String> evil = Map.of("Origin", "https://evil.example");
        List<HttpResponse<String>> answers = List.of(
            anonymous("GET", "/domains", evil),
            anonymous("GET", "/nowhere", evil),
            anonymous("OPTIONS", "/users/x@acme.test", Map.of("Origin", "https://evil.example", "Access-Control-Request-Method", "DELETE")),
            anonymous("OPTIONS", "/nowhere", Map.of("Access-Control-Request-Method", "PUT")),
            postino.webAdmin("GET", "/domains", null));
        for (HttpResponse<String> answer : answers) {
            assertThat(answer.headers().map().keySet()).as(answer.request().method() + " " + answer.uri())
                .noneMatch(header -> header.toLowerCase().startsWith("access-control-"));
        }
        assertThat(answers.get(2).statusCode()).isIn(401, 403);
        assertThat(answers.get(3).statusCode()).isIn(401, 403, 404);
    }

    @Test
    void whatABrowserMarksCrossSiteIsRefusedEvenWithTheOperatorToken() throws Exception {
        String token = postino.operatorToken();
        HttpResponse<String> crossSite = postino.webAdmin("PUT", "/users/mallory@acme.test", "{\"password\":\"x\"}",
            Map.of("Authorization", "Bearer " + token, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"));
        HttpResponse<String> foreignOrigin = postino.webAdmin("DELETE", "/domains/beta.test", null,
            Map.of("Authorization", "Bearer " + token, "Origin", "http://attacker.test"));
        HttpResponse<String> methodOverride = postino.webAdmin("POST", "/domains/beta.test", null,
            Map.of("Authorization", "Bearer " + token, "X-HTTP-Method-Override", "DELETE"));

        assertThat(crossSite.statusCode()).isEqualTo(403);
        assertThat(foreignOrigin.statusCode()).isEqualTo(403);
        assertThat(methodOverride.statusCode()).isEqualTo(400);
        assertThat(postino.webAdmin("HEAD", "/users/mallory@acme.test", null).statusCode()).isEqualTo(404);
        assertThat(postino.webAdmin("GET", "/domains", null).body()).contains("beta.test");
    }

    @Test
    void anOrganisationsTokenReachesItsOwnDataOnly() throws Exception {
        assertThat(as(acmeToken, "GET", "/organisations/acme", null).statusCode()).isEqualTo(200);
        assertThat(as(acmeToken, "PUT", "/users/alice@acme.test", "{\"password\":\"a-long-password\"}").statusCode()).isEqualTo(204);
        assertThat(as(acmeToken, "GET", "/organisations/acme/users", null).body()).contains("alice@acme.test");
        assertThat(as(acmeToken, "PUT", "/organisations/acme/suppressions/gone%40example.com", "{\"reason\":\"manual\"}").statusCode()).isIn(200, 201, 204);
        assertThat(as(acmeToken, "GET", "/organisations/acme/suppressions", null).body()).contains("gone@example.com");
        assertThat(as(acmeToken, "GET", "/ratelimits/organisations/acme", null).statusCode()).isEqualTo(200);
        assertThat(as(acmeToken, "GET", "/tracking?organisation=acme", null).statusCode()).isEqualTo(200);
        assertThat(as(acmeToken, "GET", "/dkim/domains/acme.test", null).statusCode()).isIn(200, 404);

        for (String[] forbidden : new String[][]{
            {"GET", "/organisations/beta"}, {"GET", "/organisations/beta/users"}, {"GET", "/organisations/beta/suppressions"},
            {"PUT", "/users/bob@beta.test"}, {"GET", "/dkim/domains/beta.test"}, {"GET", "/ratelimits/organisations/beta"},
            {"GET", "/tracking?organisation=beta"}, {"GET", "/tracking"}, {"GET", "/organisations"}, {"GET", "/users"},
            {"GET", "/mailQueues"}, {"PUT", "/domains/evil.test"}, {"GET", "/tokens"}, {"POST", "/tokens"}, {"GET", "/metrics"}}) {
            HttpResponse<String> response = as(acmeToken, forbidden[0], forbidden[1], forbidden[0].equals("GET") ? null : "{\"password\":\"x\"}");
            assertThat(response.statusCode()).as(String.join(" ", forbidden)).isEqualTo(403);
        }
        assertThat(postino.webAdmin("HEAD", "/users/bob@beta.test", null).statusCode()).isEqualTo(404);
    }

    /** Carol is Beta's; Acme's token must not reach her under any spelling of her login in the path. */
    @Test
    void anOrganisationsTokenCannotReachAnotherOrganisationsUserBehindPathTricks() throws Exception {
        String carolsPassword = "carols-own-password";
        assertThat(postino.webAdmin("PUT", "/users/carol@beta.test", "{\"password\":\"" + carolsPassword + "\"}").statusCode()).isEqualTo(204);
        Map<String, String> acme = Map.of("Authorization", "Bearer " + acmeToken);
        // Refused as paths (400): what Jetty strips or decodes before the route sees it.
        List<String> ambiguous = List.of("carol@beta.test;x@acme.test", "carol@beta.test%3Bx@acme.test", "carol@beta.test%3bx@acme.test",
            "x%2F..%2Fcarol@beta.test", "x%2f..%2fcarol@beta.test", "x@acme.test/../carol@beta.test", "x@acme.test/%2e%2e/carol@beta.test",
            "carol@beta.test%5Cx@acme.test");
        // Refused by the scope (403): another organisation's login, however encoded.
        List<String> foreign = List.of("carol%40beta.test", "carol@BETA.TEST", "carol@beta.test%40acme.test", "carol%2540beta.test%40acme.test",
            "carol@beta.test.");
        for (String login : ambiguous) {
            assertThat(postino.webAdminRaw("PUT", "/users/" + login + "?force", acme, "{\"password\":\"pwned\"}").status()).as("PUT " + login).isEqualTo(400);
            assertThat(postino.webAdminRaw("DELETE", "/users/" + login, acme, null).status()).as("DELETE " + login).isEqualTo(400);
            assertThat(postino.webAdminRaw("HEAD", "/users/" + login, acme, null).status()).as("HEAD " + login).isEqualTo(400);
            assertThat(postino.webAdminRaw("GET", "/ratelimits/users/" + login, acme, null).status()).as("usage " + login).isEqualTo(400);
        }
        for (String login : foreign) {
            assertThat(postino.webAdminRaw("PUT", "/users/" + login + "?force", acme, "{\"password\":\"pwned\"}").status()).as("PUT " + login).isEqualTo(403);
            assertThat(postino.webAdminRaw("DELETE", "/users/" + login, acme, null).status()).as("DELETE " + login).isEqualTo(403);
            assertThat(postino.webAdminRaw("HEAD", "/users/" + login, acme, null).status()).as("HEAD " + login).isEqualTo(403);
            assertThat(postino.webAdminRaw("GET", "/ratelimits/users/" + login, acme, null).status()).as("usage " + login).isEqualTo(403);
        }
        PostinoProcess.RawAnswer refused = postino.webAdminRaw("PUT", "/users/carol@beta.test;x@acme.test?force", acme, "{\"password\":\"pwned\"}");
        assertThat(refused.body()).contains("\"statusCode\":400").contains("path parameters");
        assertThat(postino.webAdminRaw("DELETE", "/users/carol@beta.test;x@acme.test", Map.of("Authorization", "Bearer " + postino.operatorToken()), null)
            .status()).as("the operator's token too").isEqualTo(400);

        assertThat(postino.webAdmin("HEAD", "/users/carol@beta.test", null).statusCode()).as("carol is still there").isEqualTo(200);
        try (SmtpClient smtp = SmtpClient.connectTls("127.0.0.1", postino.smtpsPort)) {
            smtp.greetingAndEhlo();
            assertThat(smtp.authPlain("carol@beta.test", carolsPassword).code()).as("carol's password is still hers").isEqualTo(235);
        }
        // What stays usable: an encoded '@' in its own logins, and the operator's encoded mail repository paths.
        assertThat(postino.webAdminRaw("PUT", "/users/dave%40acme.test", acme, "{\"password\":\"a-long-password\"}").status()).isEqualTo(204);
        assertThat(postino.webAdmin("GET", "/mailRepositories/var%2Fmail%2Ferror%2F", null).statusCode()).isNotEqualTo(400);
    }

    /**
     * DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 is, to the
     * browser, its own origin, so it sends its own name as Host and Origin (or no Origin at all).
     */
    @Test
    void aPageWhoseNameWasReboundToThisMachineIsRefusedEvenWithTheOperatorsToken() throws Exception {
        String operator = "Bearer " + postino.operatorToken();
        String evil = "evil.example:" + postino.webAdminPort;
        List<PostinoProcess.RawAnswer> refused = List.of(
            postino.webAdminRaw("PUT", "/users/rebound@acme.test", Map.of("Host", evil, "Origin", "http://" + evil, "Authorization", operator),
                "{\"password\":\"x\"}"),
            postino.webAdminRaw("GET", "/domains", Map.of("Host", evil, "Sec-Fetch-Site", "same-origin", "Authorization", operator), null),
            postino.webAdminRaw("GET", "/domains", Map.of("Host", "evil.example", "Authorization", operator), null),
            postino.webAdminRaw("GET", "/domains", Map.of("Host", "localhost.evil.example:" + postino.webAdminPort, "Authorization", operator), null),
            // Jetty would take the Host from these: they must not let the page name 127.0.0.1.
            postino.webAdminRaw("GET", "/domains", Map.of("Host", evil, "X-Forwarded-Host", "127.0.0.1:" + postino.webAdminPort,
                "Authorization", operator), null),
            postino.webAdminRaw("GET", "/domains", Map.of("Host", evil, "Forwarded", "host=\"127.0.0.1:" + postino.webAdminPort + "\"",
                "Authorization", operator), null));
        for (PostinoProcess.RawAnswer answer : refused) {
            assertThat(answer.status()).isEqualTo(403);
            assertThat(answer.body()).contains("\"statusCode\":403");
        }
        assertThat(postino.webAdmin("HEAD", "/users/rebound@acme.test", null).statusCode()).as("not created").isEqualTo(404);

        for (String own : List.of("127.0.0.1:", "localhost:", "[::1]:")) {
            assertThat(postino.webAdminRaw("GET", "/domains", Map.of("Host", own + postino.webAdminPort, "Authorization", operator), null).status())
                .as(own).isEqualTo(200);
        }
        assertThat(postino.webAdminRaw("GET", "/domains", Map.of("Host", "localhost:" + postino.webAdminPort,
            "Origin", "http://localhost:" + postino.webAdminPort, "Authorization", operator), null).status()).as("its own page").isEqualTo(200);
    }

    @Test
    void aRevokedTokenStopsWorkingAtOnce() throws Exception {
        HttpResponse<String> made = postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:beta\"}");
        String token = field(made.body(), "token");
        assertThat(as(token, "GET", "/organisations/beta", null).statusCode()).isEqualTo(200);
        assertThat(postino.webAdmin("GET", "/tokens", null).body()).contains(acmeTokenId).doesNotContain(token);

        assertThat(postino.webAdmin("DELETE", "/tokens/" + field(made.body(), "id"), null).statusCode()).isEqualTo(204);

        assertThat(as(token, "GET", "/organisations/beta", null).statusCode()).isEqualTo(401);
        assertThat(postino.webAdmin("POST", "/tokens", "{\"scope\":\"organisation:nobody\"}").statusCode()).isEqualTo(400);
    }
}
