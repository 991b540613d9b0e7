package io.postino.it;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A disk that can lose power: {@code powercut/powercut_fs.py} (FUSE, Debian's {@code fuse3} and
 * {@code python3-fusepy}) mounted at a directory, keeping on its backing directory only what was
 * fsync'd (file data) or what a directory fsync made durable (names). {@link #cutPower} kills it
 * with SIGKILL, so the backing directory is exactly what a machine would find after a power cut;
 * {@link #mount} on the same backing directory shows that state again.
 */
final class PowerCutFileSystem implements AutoCloseable {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(20);

    private final Path backing;
    private final Path mountpoint;
    private final Path log;
    private final boolean ignoreFsync;
    private Process process;

    private PowerCutFileSystem(Path backing, Path mountpoint, boolean ignoreFsync) {
        this.backing = backing;
        this.mountpoint = mountpoint;
        this.ignoreFsync = ignoreFsync;
        this.log = mountpoint.resolveSibling(mountpoint.getFileName() + "-fuse.log");
    }

    /** Why this machine cannot run the file system (no /dev/fuse, fusermount3 or fusepy), if it cannot. */
    static Optional<String> unavailable() throws InterruptedException {
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return Optional.of("/dev/fuse is missing");
        }
        if (findOnPath("fusermount3").isEmpty()) {
            return Optional.of("fusermount3 is not installed (Debian package fuse3; scripts/ensure-test-packages installs it)");
        }
        if (!Files.isExecutable(PYTHON)) {
            return Optional.of(PYTHON + " is missing");
        }
        try {
            Process check = new ProcessBuilder(PYTHON.toString(), "-c", "import fusepy").redirectErrorStream(true).start();
            if (!check.waitFor(30, TimeUnit.SECONDS)) {
                check.destroyForcibly();
                return Optional.of("python3 did not answer within 30 s");
            }
            if (check.exitValue() != 0) {
                String[] lines = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\n");
                return Optional.of("python3 cannot import fusepy (Debian package python3-fusepy; scripts/ensure-test-packages installs it): "
                    + lines[lines.length - 1]);
            }
        } catch (IOException e) {
            return Optional.of("cannot run " + PYTHON + ": " + e.getMessage());
        }
        return Optional.empty();
    }

    private static Optional<Path> findOnPath(String command) {
        for (String directory : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path candidate = Path.of(directory, command);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Mounts a disk kept in {@code backing} (empty for a new disk) at {@code mountpoint}. */
    static PowerCutFileSystem mount(Path backing, Path mountpoint, boolean ignoreFsync) throws Exception {
        PowerCutFileSystem fs = new PowerCutFileSystem(backing, mountpoint, ignoreFsync);
        fs.mount();
        return fs;
    }

    /** Mounts the disk again: after {@link #cutPower}, what was synced before the cut. */
    void mount() throws Exception {
        if (mounted()) {
            detach();
        }
        Files.createDirectories(backing);
        Files.createDirectories(mountpoint);
        List<String> command = new ArrayList<>(List.of(PYTHON.toString(), script().toString()));
        if (ignoreFsync) {
            command.add("--ignore-fsync");
        }
        command.add(backing.toString());
        command.add(mountpoint.toString());
        process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Instant deadline = Instant.now().plus(MOUNT_TIMEOUT);
        while (!mounted()) {
            if (!process.isAlive() || Instant.now().isAfter(deadline)) {
                process.destroyForcibly();
                throw new IllegalStateException("powercut_fs did not mount " + mountpoint + ":\n" + output());
            }
            Thread.sleep(50);
        }
    }

    private static Path script() throws URISyntaxException {
        URL resource = PowerCutFileSystem.class.getResource("/powercut/powercut_fs.py");
        if (resource == null) {
            throw new IllegalStateException("powercut/powercut_fs.py is not on the test class path");
        }
        return Path.of(resource.toURI());
    }

    private boolean mounted() throws IOException {
        String target = " " + mountpoint.toAbsolutePath() + " ";
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (line.contains(target) && line.contains("fuse.powercut")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The power goes: the file system process is killed at once, so nothing it was not told to
     * sync is kept, and every later operation on the mount fails. The dead mount stays in place
     * until {@link #mount} or {@link #close}: were it detached while the application runs, its
     * paths would lead to the directory under the mount, on the real disk.
     */
    void cutPower() throws Exception {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Detaches the mount, lazily, so that a file still open in it cannot prevent that. */
    private void detach() throws Exception {
        List<String> command = List.of("fusermount3", "-u", "-z", mountpoint.toString());
        for (int attempt = 1; mounted(); attempt++) {
            Process unmount = new ProcessBuilder(command).redirectErrorStream(true).start();
            unmount.waitFor(30, TimeUnit.SECONDS);
            if (mounted() && attempt >= 50) {
                throw new IllegalStateException("could not unmount " + mountpoint + ": "
                    + new String(unmount.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            if (mounted()) {
                Thread.sleep(200);
            }
        }
    }

    String output() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
        if (mounted()) {
            detach();
        }
    }
}
