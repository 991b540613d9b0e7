package io.postino.server.webadmin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebAdminTokensTest {
    @TempDir
    Path directory;

    @Test
    void theOperatorTokenIsMadeOnceReadableByTheOwnerOnly() throws Exception {
        WebAdminTokens first = WebAdminTokens.open(directory);
        WebAdminTokens second = WebAdminTokens.open(directory);

        assertThat(first.operatorCreated()).isTrue();
        assertThat(second.operatorCreated()).isFalse();
        assertThat(second.operatorToken()).isEqualTo(first.operatorToken()).startsWith("pst_");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(first.operatorFile()))).isEqualTo("rw-------");
        assertThat(second.scopeOf(first.operatorToken())).contains(WebAdminTokens.Scope.OPERATOR);
        assertThat(second.scopeOf("pst_guess")).isEmpty();
    }

    @Test
    void scopedTokensAreKeptAsHashesAndSurviveARestart() throws Exception {
        WebAdminTokens tokens = WebAdminTokens.open(directory);
        WebAdminTokens.Made made = tokens.issue(WebAdminTokens.Scope.parse("organisation:acme"), "Acme IT");

        WebAdminTokens reopened = WebAdminTokens.open(directory);

        assertThat(reopened.scopeOf(made.token()).map(WebAdminTokens.Scope::asString)).contains("organisation:acme");
        assertThat(Files.readString(directory.resolve("tokens.json"))).doesNotContain(made.token()).contains(made.issued().sha256());
    }

    @Test
    void aRevokedTokenStopsWorking() throws Exception {
        WebAdminTokens tokens = WebAdminTokens.open(directory);
        WebAdminTokens.Made made = tokens.issue(WebAdminTokens.Scope.parse("organisation:acme"), "");

        assertThat(tokens.revoke(made.issued().id())).isTrue();

        assertThat(tokens.scopeOf(made.token())).isEmpty();
        assertThat(WebAdminTokens.open(directory).scopeOf(made.token())).isEmpty();
        assertThat(tokens.revoke(made.issued().id())).isFalse();
    }

    @Test
    void scopesAreOrganisationsOnly() {
        assertThatThrownBy(() -> WebAdminTokens.Scope.parse("admin")).hasMessageContaining("organisation:<id>");
        assertThatThrownBy(() -> WebAdminTokens.Scope.parse("organisation:")).hasMessageContaining("organisation:<id>");
        assertThatThrownBy(() -> WebAdminTokens.open(directory).issue(WebAdminTokens.Scope.OPERATOR, ""))
            .hasMessageContaining("only organisation tokens");
    }
}
