package io.postino.server.users;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.james.core.Username;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DisabledUsersTest {
    @TempDir
    Path data;

    private Path file() {
        return data.resolve("store").resolve(DisabledUsers.FILE);
    }

    @Test
    void aMissingFileIsNobodyDisabled() throws Exception {
        DisabledUsers users = DisabledUsers.keptIn(file());

        assertThat(users.logins()).isEmpty();
        assertThat(users.isDisabled(Username.of("alice@acme.test"))).isFalse();
        assertThat(file()).doesNotExist();
    }

    @Test
    void aDisabledUserStaysDisabledAfterARestart() throws Exception {
        DisabledUsers.keptIn(file()).disable("alice@acme.test");

        DisabledUsers again = DisabledUsers.keptIn(file());

        assertThat(again.isDisabled(Username.of("alice@acme.test"))).isTrue();
        assertThat(again.logins()).containsExactly("alice@acme.test");
        assertThat(Files.readString(file(), StandardCharsets.UTF_8)).isEqualTo("alice@acme.test\n");
    }

    @Test
    void anEnabledUserStaysEnabledAfterARestart() throws Exception {
        DisabledUsers users = DisabledUsers.keptIn(file());
        users.disable("alice@acme.test");
        users.disable("bob@acme.test");

        users.enable("alice@acme.test");

        DisabledUsers again = DisabledUsers.keptIn(file());
        assertThat(again.isDisabled("alice@acme.test")).isFalse();
        assertThat(again.logins()).containsExactly("bob@acme.test");
    }

    @Test
    void caseDoesNotMatter() throws Exception {
        DisabledUsers users = DisabledUsers.keptIn(file());

        users.disable("Alice@ACME.test");

        assertThat(users.isDisabled("alice@acme.test")).isTrue();
        assertThat(users.isDisabled(Username.of("ALICE@acme.TEST"))).isTrue();
        assertThat(users.logins()).containsExactly("alice@acme.test");
    }

    @Test
    void enablingTheLastUserLeavesAnEmptyFileAndNoTemporaryOne() throws Exception {
        DisabledUsers users = DisabledUsers.keptIn(file());
        users.disable("alice@acme.test");

        users.enable("alice@acme.test");
        users.enable("nobody@acme.test");

        assertThat(Files.readString(file(), StandardCharsets.UTF_8)).isEmpty();
        try (var names = Files.list(file().getParent())) {
            assertThat(names).containsExactly(file());
        }
    }

    @Test
    void blankLinesAndCommentsOfAnEditedFileAreSkipped() throws Exception {
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "# left by the operator\n\n  bob@acme.test  \n", StandardCharsets.UTF_8);

        assertThat(DisabledUsers.keptIn(file()).logins()).containsExactly("bob@acme.test");
    }

    @Test
    void anOrganisationCannotEnableWhatTheOperatorDisabledButMayUndoItsOwn() {
        DisabledUsers users = DisabledUsers.inMemory();
        users.disable("alice@acme.test");
        users.disable("bob@acme.test", "organisation:acme");

        assertThat(users.enable("alice@acme.test", "organisation:acme")).isFalse();
        assertThat(users.isDisabled("alice@acme.test")).isTrue();
        assertThat(users.enable("bob@acme.test", "organisation:acme")).isTrue();
        assertThat(users.isDisabled("bob@acme.test")).isFalse();
        assertThat(users.enable("alice@acme.test", DisabledUsers.OPERATOR)).isTrue();
        assertThat(users.isDisabled("alice@acme.test")).isFalse();
    }

    @Test
    void whoDisabledIsKeptInTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path directory) throws Exception {
        java.nio.file.Path file = directory.resolve("disabled-users.txt");
        DisabledUsers users = DisabledUsers.keptIn(file);
        users.disable("alice@acme.test");
        users.disable("bob@acme.test", "organisation:acme");

        assertThat(java.nio.file.Files.readString(file)).isEqualTo("alice@acme.test\nbob@acme.test organisation:acme\n");
        assertThat(DisabledUsers.keptIn(file).enable("alice@acme.test", "organisation:acme")).isFalse();
    }
}
