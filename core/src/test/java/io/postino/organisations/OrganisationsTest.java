package io.postino.organisations;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrganisationsTest {
    private static final String ACME = "<organisations><organisation id=\"acme\"><domain>acme.test</domain></organisation></organisations>";
    private static final String ACME_AND_BETA = "<organisations><organisation id=\"acme\"><domain>acme.test</domain></organisation>"
        + "<organisation id=\"beta\"><domain>beta.test</domain></organisation></organisations>";

    @TempDir
    Path directory;

    @Test
    void reloadAppliesAValidFile() throws Exception {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, ACME, StandardCharsets.UTF_8);
        Organisations organisations = Organisations.load(file);

        Files.writeString(file, ACME_AND_BETA, StandardCharsets.UTF_8);
        ReloadOutcome outcome = organisations.reload();

        assertThat(outcome.applied()).isTrue();
        assertThat(outcome.organisations()).isEqualTo(2);
        assertThat(organisations.current().byId("beta")).isPresent();
    }

    @Test
    void reloadWithAnInvalidFileKeepsThePreviousConfigurationAndReportsTheProblem() throws Exception {
        Path file = directory.resolve("organisations.xml");
        Files.writeString(file, ACME, StandardCharsets.UTF_8);
        Organisations organisations = Organisations.load(file);

        Files.writeString(file, "<organisations>\n<organisation id=\"beta\"></organisation></organisations>", StandardCharsets.UTF_8);
        ReloadOutcome outcome = organisations.reload();

        assertThat(outcome.applied()).isFalse();
        assertThat(outcome.problem()).hasValueSatisfying(problem -> assertThat(problem.line()).isEqualTo(2));
        assertThat(organisations.lastReload()).isEqualTo(outcome);
        assertThat(organisations.current().byId("acme")).isPresent();
        assertThat(organisations.current().byId("beta")).isEmpty();
    }
}
