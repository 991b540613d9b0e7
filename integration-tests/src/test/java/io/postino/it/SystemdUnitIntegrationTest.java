package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The systemd unit the distribution ships ({@code systemd/postino.service}): the files it names
 * are in the distribution, it is started the way bin/postino's start command works (forking,
 * PID file in the data directory), hardened, and systemd itself finds nothing wrong with it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SystemdUnitIntegrationTest {
    /** Where the unit expects the distribution to be unpacked. */
    private static final String INSTALLATION = "/opt/postino";

    private Path distribution;
    private Path unit;
    private Map<String, List<String>> service;

    @BeforeAll
    void read() throws IOException {
        distribution = PostinoProcess.distribution();
        unit = distribution.resolve("systemd/postino.service");
        assertThat(unit).isRegularFile();
        service = section("Service");
    }

    /** key -> values of one section, in order (a key may be given more than once). */
    private Map<String, List<String>> section(String name) throws IOException {
        Map<String, List<String>> keys = new LinkedHashMap<>();
        String current = null;
        for (String raw : Files.readAllLines(unit, StandardCharsets.UTF_8)) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[")) {
                current = line.substring(1, line.length() - 1);
                continue;
            }
            int equals = line.indexOf('=');
            assertThat(equals).as("a key=value line in [%s]: %s", current, line).isPositive();
            if (name.equals(current)) {
                keys.computeIfAbsent(line.substring(0, equals), k -> new ArrayList<>()).add(line.substring(equals + 1));
            }
        }
        return keys;
    }

    private String one(String key) {
        assertThat(service).as("[Service] %s=", key).containsKey(key);
        assertThat(service.get(key)).as("[Service] %s= given once", key).hasSize(1);
        return service.get(key).get(0);
    }

    /** A path of the unit under /opt/postino, in the distribution. */
    private Path inDistribution(String path) {
        assertThat(path).startsWith(INSTALLATION + "/");
        return distribution.resolve(path.substring(INSTALLATION.length() + 1));
    }

    @Test
    void itStartsTheDistributionsLauncherWhichWaitsForSmtpAndWritesThePidFileOfTheDataDirectory() {
        String[] start = one("ExecStart").split(" ");
        assertThat(start).hasSize(2);
        assertThat(inDistribution(start[0])).isRegularFile().isExecutable();
        assertThat(start[1]).isEqualTo("start");
        assertThat(one("Type")).isEqualTo("forking");
        String data = one("Environment").replaceFirst("^POSTINO_DATA_DIR=", "");
        assertThat(data).isEqualTo("/var/lib/postino");
        // bin/postino writes <data>/postino.pid.
        assertThat(one("PIDFile")).isEqualTo(data + "/postino.pid");
        assertThat(one("StateDirectory")).isEqualTo("postino");
        assertThat(one("ReadWritePaths")).isEqualTo(data);
        assertThat(one("Restart")).isEqualTo("on-failure");
        assertThat(Integer.parseInt(one("TimeoutStartSec"))).as("longer than bin/postino start's own 120 s").isGreaterThan(120);
    }

    @Test
    void itRunsUnprivilegedAndHardenedWithOnlyTheRightToBindLowPorts() {
        assertThat(one("User")).isEqualTo("postino");
        assertThat(one("NoNewPrivileges")).isEqualTo("yes");
        assertThat(one("ProtectSystem")).isEqualTo("strict");
        assertThat(one("ProtectHome")).isEqualTo("yes");
        assertThat(one("PrivateTmp")).isEqualTo("yes");
        assertThat(one("CapabilityBoundingSet")).isEqualTo("CAP_NET_BIND_SERVICE");
        assertThat(one("AmbientCapabilities")).isEqualTo("CAP_NET_BIND_SERVICE");
    }

    @Test
    void theDocumentationItNamesIsInTheDistribution() throws IOException {
        String documentation = section("Unit").get("Documentation").get(0);
        assertThat(documentation).startsWith("file:");
        assertThat(inDistribution(documentation.substring("file:".length()))).isRegularFile();
    }

    /** With the distribution's real path for /opt/postino, so that systemd finds the executable. */
    @Test
    void systemdAnalyzeVerifyFindsNothingToSay() throws Exception {
        Assumptions.assumeTrue(onPath("systemd-analyze"), "systemd-analyze is not installed (Debian's systemd package)");
        Path copy = TestFiles.createTemporaryDirectory("systemd-unit").resolve("postino.service");
        Files.writeString(copy, Files.readString(unit, StandardCharsets.UTF_8).replace(INSTALLATION, distribution.toString()),
            StandardCharsets.UTF_8);
        Path out = copy.resolveSibling("verify.out");
        Process verify = new ProcessBuilder("systemd-analyze", "verify", copy.toString()).redirectErrorStream(true)
            .redirectOutput(out.toFile()).start();
        boolean verified = verify.waitFor(60, TimeUnit.SECONDS);
        if (!verified) {
            verify.destroyForcibly();
        }
        assertThat(verified).as("systemd-analyze verify ends").isTrue();
        String output = Files.readString(out, StandardCharsets.UTF_8);

        // It only warns (exit status 0) about an unknown or misspelt key: any output is a finding.
        assertThat(output).as("systemd-analyze verify output").isEmpty();
        assertThat(verify.exitValue()).isZero();
        TestFiles.deleteRecursively(copy.getParent());
    }

    /**
     * The exposure rating the README quotes ("3.4, OK"), from systemd's own offline analysis of
     * the unit file (no systemd needed as PID 1): 4.0 at most, so that a hardening option taken
     * out (or one that this systemd version does not know) fails here.
     */
    @Test
    void systemdAnalyzeSecurityRatesItOk() throws Exception {
        Assumptions.assumeTrue(onPath("systemd-analyze"), "systemd-analyze is not installed (Debian's systemd package)");
        Path copy = TestFiles.createTemporaryDirectory("systemd-security").resolve("postino.service");
        Files.writeString(copy, Files.readString(unit, StandardCharsets.UTF_8).replace(INSTALLATION, distribution.toString()),
            StandardCharsets.UTF_8);
        // --threshold is ten times the rating: exit status 0 when the rating is at most 4.0.
        Path out = copy.resolveSibling("security.out");
        Process security = new ProcessBuilder("systemd-analyze", "security", "--offline=true", "--threshold=40", "--no-pager",
            copy.toString()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        boolean ended = security.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            security.destroyForcibly();
        }
        assertThat(ended).as("systemd-analyze security ends").isTrue();
        String output = Files.readString(out, StandardCharsets.UTF_8);

        assertThat(output).contains("Overall exposure level for postino.service:");
        assertThat(security.exitValue()).as(output).isZero();
        TestFiles.deleteRecursively(copy.getParent());
    }

    private static boolean onPath(String command) {
        for (String directory : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, command))) {
                return true;
            }
        }
        return false;
    }
}
