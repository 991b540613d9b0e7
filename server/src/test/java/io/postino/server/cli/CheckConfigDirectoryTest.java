package io.postino.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postinoctl check-config} without {@code --conf} checks the directory the server reads:
 * {@code POSTINO_CONF_DIR} when set (as {@code ./run.sh ctl} sets it to the checkout's conf/),
 * not the installation's conf/.
 */
class CheckConfigDirectoryTest {
    @TempDir
    Path temporary;

    private int checkConfig(Map<String, String> environment, Path home, Path workingDirectory, ByteArrayOutputStream out) {
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        return new PostinoCli(environment, home, workingDirectory, print, print).run(List.of("check-config"));
    }

    @Test
    void theServersConfigurationDirectoryIsCheckedNotTheInstallations() throws Exception {
        Path home = Files.createDirectories(temporary.resolve("installation"));
        Path caller = Files.createDirectories(temporary.resolve("checkout"));
        copy(Path.of("..", "conf"), caller.resolve("conf"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int status = checkConfig(Map.of("POSTINO_CONF_DIR", "conf"), home, caller, out);

        assertThat(status).as(out.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains(caller.resolve("conf") + ": valid");
    }

    @Test
    void withoutTheVariableTheInstallationsConfIsChecked() {
        Path home = temporary.resolve("installation-without-conf");
        assertThat(PostinoCli.configurationDirectory(Map.of(), home, temporary)).isEqualTo(home.resolve("conf"));
        assertThat(PostinoCli.configurationDirectory(Map.of("POSTINO_CONF_DIR", " "), home, temporary)).isEqualTo(home.resolve("conf"));
        assertThat(PostinoCli.configurationDirectory(Map.of("POSTINO_CONF_DIR", "/etc/postino"), home, temporary))
            .isEqualTo(Path.of("/etc/postino"));
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                }
            }
        }
    }
}
