package io.postino.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code bin/postino start|stop|status} of the packaged distribution: a background server with
 * its PID file in the data directory, started only once it answers SMTP, stopped with SIGTERM,
 * and LSB exit statuses (status: 0 running, 1 dead with its PID file left, 3 not running).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServiceCommandsIntegrationTest {
    /** bin/postino start waits up to 120 s (POSTINO_START_TIMEOUT) by default. */
    private static final Duration START = Duration.ofSeconds(180);
    private static final Duration QUICK = Duration.ofSeconds(30);
    private static final Duration STOP = Duration.ofSeconds(90);

    private Path temporary;
    private Path installation;
    private SmtpSink sink;
    private final Set<Long> started = new HashSet<>();
    private int dataDirectories;

    @BeforeAll
    void install() throws Exception {
        temporary = TestFiles.createTemporaryDirectory("service-commands");
        installation = Installations.copyOfDistribution(temporary.resolve("postino"));
        sink = SmtpSink.start();
    }

    /** Whatever a test left running, by the PIDs it saw. */
    @AfterEach
    void killLeftovers() throws Exception {
        for (long pid : started) {
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            if (process.isPresent() && alive(pid)) {
                process.get().destroyForcibly();
            }
        }
        started.clear();
    }

    @AfterAll
    void remove() throws Exception {
        TestFiles.stopAll(null, sink, temporary);
    }

    private PostinoProcess prepared(Map<String, String> overrides) throws Exception {
        return PostinoProcess.prepare(installation, temporary.resolve("data-" + ++dataDirectories), sink.port(), overrides);
    }

    private long pidIn(PostinoProcess postino) throws Exception {
        long pid = Long.parseLong(Files.readString(pidFile(postino), StandardCharsets.US_ASCII).trim());
        started.add(pid);
        return pid;
    }

    private static Path pidFile(PostinoProcess postino) {
        return postino.dataDirectory.resolve("postino.pid");
    }

    /**
     * Not ended: the server is nobody's child once bin/postino has returned, and the init process
     * may leave it a zombie for a while, which ProcessHandle still calls alive.
     */
    private static boolean alive(long pid) throws IOException {
        Path stat = Path.of("/proc", String.valueOf(pid), "stat");
        if (!Files.exists(stat)) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
        try {
            String text = Files.readString(stat, StandardCharsets.US_ASCII);
            return text.charAt(text.lastIndexOf(')') + 2) != 'Z';
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }

    @Test
    void startAnswersAtOnceStatusSeesItAndStopEndsItWithItsPidFile() throws Exception {
        PostinoProcess postino = prepared(Map.of());
        assertThat(postino.command(QUICK, "status").exitStatus()).isEqualTo(3);

        PostinoProcess.CommandResult start = postino.command(START, "start");

        assertThat(start.exitStatus()).as(start.output()).isZero();
        assertThat(start.output()).contains("postino: started (PID ").contains("operator token made, kept in ");
        String token = java.nio.file.Files.readString(postino.dataDirectory.resolve("webadmin/operator.token")).strip();
        assertThat(start.output()).as("the token itself stays in its file").doesNotContain(token);
        assertThat(java.nio.file.Files.readString(postino.dataDirectory.resolve("logs/console.out"))).doesNotContain(token);
        long pid = pidIn(postino);
        assertThat(start.output()).contains("PID " + pid + ")");
        try (SmtpClient client = SmtpClient.connect("127.0.0.1", postino.smtpPort)) {
            assertThat(client.readReply().code()).as("the greeting right after start returned").isEqualTo(220);
        }
        PostinoProcess.CommandResult status = postino.command(QUICK, "status");
        assertThat(status.exitStatus()).as(status.output()).isZero();
        assertThat(status.output()).contains("running (PID " + pid + ")");
        PostinoProcess.CommandResult again = postino.command(QUICK, "start");
        assertThat(again.exitStatus()).isZero();
        assertThat(again.output()).contains("already running as PID " + pid);
        PostinoProcess.CommandResult foreground = postino.command(QUICK, "run");
        assertThat(foreground.exitStatus()).isEqualTo(1);
        assertThat(foreground.output()).contains("already running as PID " + pid);
        assertThat(Files.readString(postino.dataDirectory.resolve("logs/console.out")))
            .as("the background console holds no log lines, the log file does")
            .doesNotContain("INFO");
        assertThat(Files.readString(postino.dataDirectory.resolve("logs/postino.log"))).contains("Postino started");

        PostinoProcess.CommandResult stop = postino.command(STOP, "stop");

        assertThat(stop.exitStatus()).as(stop.output()).isZero();
        assertThat(stop.output()).contains("stopped (PID " + pid + ")");
        assertThat(alive(pid)).isFalse();
        assertThat(pidFile(postino)).doesNotExist();
        assertThat(postino.command(QUICK, "status").exitStatus()).isEqualTo(3);
        PostinoProcess.CommandResult stopAgain = postino.command(QUICK, "stop");
        assertThat(stopAgain.exitStatus()).isZero();
        assertThat(stopAgain.output()).contains("not running");
    }

    @Test
    void aServerKilledLeavesItsPidFileWhichStatusReportsAndStartReplaces() throws Exception {
        PostinoProcess postino = prepared(Map.of());
        assertThat(postino.command(START, "start").exitStatus()).isZero();
        long pid = pidIn(postino);
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        Instant deadline = Instant.now().plusSeconds(30);
        while (alive(pid) && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        assertThat(alive(pid)).as("killed with SIGKILL").isFalse();

        PostinoProcess.CommandResult status = postino.command(QUICK, "status");

        assertThat(status.exitStatus()).as(status.output()).isEqualTo(1);
        assertThat(status.output()).contains("not running, but its PID file " + pidFile(postino) + " remains (PID " + pid + ")");
        PostinoProcess.CommandResult start = postino.command(START, "start");
        assertThat(start.exitStatus()).as(start.output()).isZero();
        assertThat(start.output()).contains("removed the PID file " + pidFile(postino) + " left by a server that is gone (PID " + pid + ")");
        long second = pidIn(postino);
        assertThat(second).isNotEqualTo(pid);
        assertThat(alive(second)).isTrue();
        assertThat(postino.command(STOP, "stop").exitStatus()).isZero();
        assertThat(alive(second)).isFalse();
    }

    @Test
    void aStartThatFailsSaysWhyWithTheServersExitStatus() throws Exception {
        PostinoProcess postino = prepared(Map.of("POSTINO_SMTP_PORT", "70000"));

        PostinoProcess.CommandResult start = postino.command(START, "start");

        assertThat(start.exitStatus()).as(start.output()).isEqualTo(2);
        assertThat(start.output()).contains("the server ended during start-up (exit status 2)")
            .contains("POSTINO_SMTP_PORT must be a port number from 1 to 65535, got '70000'");
        assertThat(pidFile(postino)).doesNotExist();
        assertThat(postino.command(QUICK, "status").exitStatus()).isEqualTo(3);
    }

    @Test
    void aServerNotAnsweringWithinTheStartTimeoutIsReportedAndCanBeStopped() throws Exception {
        PostinoProcess postino = prepared(Map.of("POSTINO_START_TIMEOUT", "1"));

        Instant before = Instant.now();
        PostinoProcess.CommandResult start = postino.command(START, "start");

        assertThat(start.exitStatus()).as(start.output()).isEqualTo(1);
        assertThat(Duration.between(before, Instant.now())).isLessThan(Duration.ofSeconds(20));
        assertThat(start.output()).contains("did not answer SMTP within 1s (POSTINO_START_TIMEOUT); it is still running");
        long pid = pidIn(postino);
        assertThat(alive(pid)).isTrue();
        PostinoProcess.CommandResult stop = postino.command(STOP, "stop");
        assertThat(stop.exitStatus()).as(stop.output()).isZero();
        assertThat(alive(pid)).isFalse();
    }

    @Test
    void aServerStillRunningAfterTheStopTimeoutIsReportedAndLeftRunning() throws Exception {
        PostinoProcess postino = prepared(Map.of());
        assertThat(postino.command(START, "start").exitStatus()).isZero();
        long pid = pidIn(postino);
        // Stopped, it cannot act on SIGTERM until it is continued.
        signal("STOP", pid);
        PostinoProcess impatient = PostinoProcess.prepare(installation, postino.dataDirectory, sink.port(), Map.of("POSTINO_STOP_TIMEOUT", "1"));

        PostinoProcess.CommandResult stop = impatient.command(QUICK, "stop");

        assertThat(stop.exitStatus()).as(stop.output()).isEqualTo(1);
        assertThat(stop.output()).contains("PID " + pid + " is still running 1s after SIGTERM (POSTINO_STOP_TIMEOUT)")
            .contains("kill -KILL " + pid);
        assertThat(alive(pid)).isTrue();
        assertThat(postino.command(QUICK, "status").exitStatus()).isZero();
        signal("CONT", pid);
        Instant deadline = Instant.now().plus(STOP);
        while (alive(pid) && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
        }
        assertThat(alive(pid)).as("ended by the SIGTERM it received while stopped").isFalse();
        assertThat(pidFile(postino)).as("removed by the server as it ended").doesNotExist();
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).redirectErrorStream(true).start();
        assertThat(kill.waitFor()).as("kill -%s %d", name, pid).isZero();
    }

    @Test
    void aCommandItDoesNotKnowIsRefused() throws Exception {
        PostinoProcess.CommandResult unknown = prepared(Map.of()).command(QUICK, "restart-now");

        assertThat(unknown.exitStatus()).isEqualTo(2);
        assertThat(unknown.output()).contains("unknown command 'restart-now': use run, start, stop or status");
    }
}
