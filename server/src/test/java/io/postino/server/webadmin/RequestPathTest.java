package io.postino.server.webadmin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class RequestPathTest {
    @Test
    void pathsThatJettyAndSparkReadAlikeAreAccepted() {
        for (String path : List.of("/users/alice@acme.test", "/users/alice%40acme.test", "/users/alice+tag@acme.test",
            "/organisations/acme/suppressions/x%40y.test", "/dkim/domains/acme.test/keys", "/users/", "/", "/tracking",
            "/organisations/acme/suppressions/a%25b@y.test")) {
            assertThat(RequestPath.problem(path, false)).as(path).isEmpty();
        }
    }

    @Test
    void pathParametersEncodedOrNotAreRefused() {
        for (String path : List.of("/users/carol@beta.test;x@acme.test", "/users/carol@beta.test%3Bx@acme.test",
            "/users/carol@beta.test%3bx@acme.test", "/users;x/carol@beta.test", "/users/carol@beta.test;")) {
            assertThat(RequestPath.problem(path, true)).as(path).isPresent();
        }
    }

    @Test
    void backslashesDotSegmentsAndEmptySegmentsAreRefused() {
        for (String path : List.of("/users/carol@beta.test\\x@acme.test", "/users/carol@beta.test%5Cx@acme.test",
            "/users/carol@beta.test%5cx@acme.test", "/users/../users/carol@beta.test", "/users/./carol@beta.test",
            "/users/%2e%2e/domains", "/users/%2E./domains", "/users/.%2e", "/dkim/domains/acme.test/..", "//users/carol@beta.test",
            "/users//carol@beta.test")) {
            assertThat(RequestPath.problem(path, true)).as(path).isPresent();
        }
    }

    @Test
    void encodedSlashesOnlyWhereAllowed() {
        assertThat(RequestPath.problem("/users/x%2F..%2Fcarol@beta.test", false)).isPresent();
        assertThat(RequestPath.problem("/users/x%2f..%2fcarol@beta.test", false)).isPresent();
        assertThat(RequestPath.problem("/mailRepositories/var%2Fmail%2Ferror%2F/mails", true)).isEmpty();
    }

    @Test
    void controlCharactersAndBadEncodingAreRefused() {
        for (String path : List.of("/users/a%00b@acme.test", "/users/a%0Ab@acme.test", "/users/a%7Fb@acme.test", "/users/a%zzb",
            "/users/a%4", "users/alice@acme.test", "")) {
            assertThat(RequestPath.problem(path, true)).as(path).isPresent();
        }
        assertThat(RequestPath.problem(null, true)).isPresent();
    }
}
