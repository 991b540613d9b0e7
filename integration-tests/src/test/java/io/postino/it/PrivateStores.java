package io.postino.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL and a Redis of a test's own, on free loopback ports, that the test can stop and
 * start again (the machine's own services are shared and stay up). PostgreSQL runs from Debian's
 * binaries as the postgres user, with trust authentication on 127.0.0.1 only.
 */
final class PrivateStores {
    private PrivateStores() {
    }

    static final class Postgres implements AutoCloseable {
        private static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
        final int port;
        private final Path data;

        private Postgres(Path data, int port) {
            this.data = data;
            this.port = port;
        }

        static boolean available() {
            return Files.isExecutable(BIN.resolve("initdb")) && Files.isExecutable(Path.of("/usr/sbin/runuser"));
        }

        /**
         * A new cluster in a directory of its own under the system temporary directory: the
         * postgres user cannot enter a test's private (0700) working directory.
         */
        static Postgres create() throws Exception {
            Path directory = Files.createTempDirectory("postino-it-pg");
            Path data = directory.resolve("pgdata");
            run("chown", "postgres", directory.toString());
            asPostgres(BIN.resolve("initdb") + " -D " + data + " -A trust -U postgres --no-sync");
            Postgres postgres = new Postgres(data, PostinoProcess.freePort());
            postgres.start();
            asPostgres(BIN.resolve("createdb") + " -h 127.0.0.1 -p " + postgres.port + " -U postgres postino");
            return postgres;
        }

        String jdbcUrl() {
            return "jdbc:postgresql://127.0.0.1:" + port + "/postino";
        }

        void start() throws Exception {
            asPostgres(BIN.resolve("pg_ctl") + " -D " + data + " -w -t 60 -l " + data.resolveSibling("postgres.log")
                + " -o \"-p " + port + " -c listen_addresses=127.0.0.1 -k " + data.getParent() + "\" start");
            awaitPort(port, true);
        }

        void stop() throws Exception {
            asPostgres(BIN.resolve("pg_ctl") + " -D " + data + " -w -t 60 -m fast stop");
            awaitPort(port, false);
        }

        /**
         * Stops (SIGSTOP) the postmaster and every backend: the server hangs as on a stalled
         * disk or a lost network, connections open but nothing answers.
         */
        void freeze() throws Exception {
            signal("STOP");
        }

        /** Lets a {@link #freeze frozen} server go on. */
        void thaw() throws Exception {
            signal("CONT");
        }

        private void signal(String signal) throws Exception {
            String postmaster = Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim();
            run("bash", "-c", "kill -" + signal + " " + postmaster + " $(pgrep -P " + postmaster + ")");
        }

        @Override
        public void close() throws Exception {
            try {
                if (Files.exists(data.resolve("postmaster.pid"))) {
                    thaw();
                    stop();
                }
            } finally {
                run("rm", "-rf", "--", data.getParent().toString());
            }
        }
    }

    static final class Redis implements AutoCloseable {
        final int port;
        private Process process;

        private Redis(int port) {
            this.port = port;
        }

        static Redis create() throws Exception {
            Redis redis = new Redis(PostinoProcess.freePort());
            redis.start();
            return redis;
        }

        void start() throws Exception {
            process = new ProcessBuilder("redis-server", "--bind", "127.0.0.1", "--port", String.valueOf(port), "--save", "", "--appendonly", "no")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            awaitPort(port, true);
        }

        void stop() throws Exception {
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
            awaitPort(port, false);
        }

        @Override
        public void close() throws Exception {
            if (process != null && process.isAlive()) {
                stop();
            }
        }
    }

    private static void asPostgres(String command) throws Exception {
        run("/usr/sbin/runuser", "-u", "postgres", "--", "bash", "-c", command);
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
    }

    private static void awaitPort(int port, boolean open) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (Instant.now().isBefore(deadline)) {
            boolean accepting;
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
                accepting = true;
            } catch (IOException e) {
                accepting = false;
            }
            if (accepting == open) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException("port " + port + " did not " + (open ? "open" : "close") + " within 60 s");
    }
}
